package seal

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"unicode"
	"unicode/utf8"
)

// Limits of an envelope.
const (
	MaxSignatures     = 16  // signatures in one envelope
	MaxPayloadTypeLen = 256 // bytes of the payloadType
)

// Errors of Parse and Open. Every error they return wraps exactly one of
// these, so that callers can map it (to an HTTP status, a log level, a
// message for the supervisor), while its own text names what was wrong.
var (
	ErrMalformed    = errors.New("envelope: malformed")
	ErrTooLarge     = errors.New("envelope: too large")
	ErrPayloadType  = errors.New("envelope: unexpected payload type")
	ErrUntrusted    = errors.New("envelope: not signed by a trusted key")
	ErrBadSignature = errors.New("envelope: a signature by a trusted key does not verify")
)

// envelopeError is an error of Parse or Open: a sentence for people, and
// one of the sentinel errors for programs.
type envelopeError struct {
	kind error
	msg  string
}

func (e *envelopeError) Error() string { return e.msg }
func (e *envelopeError) Unwrap() error { return e.kind }

func newError(kind error, format string, args ...any) error {
	return &envelopeError{kind: kind, msg: "envelope: " + fmt.Sprintf(format, args...)}
}

// Envelope is a DSSE v1 envelope
// (https://github.com/secure-systems-lab/dsse/blob/master/envelope.md).
// In JSON, Payload and each Sig are standard base64.
type Envelope struct {
	PayloadType string      `json:"payloadType"`
	Payload     []byte      `json:"payload"`
	Signatures  []Signature `json:"signatures"`
}

// Signature is one signature of an Envelope: the key id of the signing key
// (see KeyID) and the Ed25519 signature over PAE(PayloadType, Payload).
type Signature struct {
	KeyID string `json:"keyid"`
	Sig   []byte `json:"sig"`
}

// Opened is an envelope that Open verified.
type Opened struct {
	PayloadType string
	Payload     []byte   // exactly the bytes that were signed
	SignedBy    []string // key ids of the trusted keys whose signatures verified
	Digest      string   // Digest of the envelope as received
}

// PAE is the DSSE v1 pre-authentication encoding, the message that is
// actually signed:
//
//	"DSSEv1" SP LEN(type) SP type SP LEN(body) SP body
//
// with LEN the length in bytes as ASCII decimal. Binding the payload type
// into the signed bytes means a signature over one kind of document can
// never be passed off as a signature over another.
func PAE(payloadType string, payload []byte) []byte {
	b := make([]byte, 0, len("DSSEv1")+len(payloadType)+len(payload)+24)
	b = append(b, "DSSEv1 "...)
	b = strconv.AppendInt(b, int64(len(payloadType)), 10)
	b = append(b, ' ')
	b = append(b, payloadType...)
	b = append(b, ' ')
	b = strconv.AppendInt(b, int64(len(payload)), 10)
	b = append(b, ' ')
	return append(b, payload...)
}

// Digest is the identity of an envelope: the lowercase hex SHA-256 of its
// bytes exactly as sent and received. A new version of a submission names
// the version it supersedes by this digest, and receipts quote it.
func Digest(raw []byte) string {
	sum := sha256.Sum256(raw)
	return hex.EncodeToString(sum[:])
}

// Sign makes a DSSE envelope of payload, signed by every signer, and
// returns its compact JSON.
func Sign(payloadType string, payload []byte, signers ...*PrivateKey) ([]byte, error) {
	if msg := checkPayloadType(payloadType); msg != "" {
		return nil, newError(ErrMalformed, "payloadType: %s", msg)
	}
	if len(payload) == 0 {
		return nil, newError(ErrMalformed, "payload: empty")
	}
	if len(signers) == 0 {
		return nil, errors.New("envelope: no signer")
	}
	if len(signers) > MaxSignatures {
		return nil, fmt.Errorf("envelope: %d signers, at most %d allowed", len(signers), MaxSignatures)
	}
	pae := PAE(payloadType, payload)
	env := Envelope{PayloadType: payloadType, Payload: payload, Signatures: make([]Signature, 0, len(signers))}
	seen := make(map[string]bool, len(signers))
	for i, s := range signers {
		if s == nil {
			return nil, fmt.Errorf("envelope: signer %d is nil", i)
		}
		if seen[s.ID()] {
			return nil, fmt.Errorf("envelope: key %s signs twice", s.ID())
		}
		seen[s.ID()] = true
		env.Signatures = append(env.Signatures, Signature{KeyID: s.ID(), Sig: s.sign(pae)})
	}
	return json.Marshal(env)
}

// Parse decodes an envelope strictly, without verifying anything. It
// refuses anything but exactly one JSON object of the DSSE form: input
// larger than maxSize bytes, invalid UTF-8 or JSON, trailing data, unknown
// or duplicate fields (names match exactly, case included), a missing or
// empty field, more than MaxSignatures signatures, a payloadType longer
// than MaxPayloadTypeLen bytes or with control characters, payload or sig
// that is not strict padded base64, a keyid that is not a KeyID, a sig that
// is not 64 bytes, and a keyid that signs twice.
//
// DSSE lets base64 be standard or URL-safe. Sign writes standard only;
// Parse accepts either alphabet but not a mix of both within one string,
// so every accepted string has exactly one decoding. Note that Digest is
// over the bytes received, so a re-encoded envelope (another alphabet,
// other whitespace) carries the same signed content under another digest.
func Parse(raw []byte, maxSize int) (*Envelope, error) {
	if len(raw) == 0 {
		return nil, newError(ErrMalformed, "empty input")
	}
	if len(raw) > maxSize {
		return nil, newError(ErrTooLarge, "%d bytes, more than the limit of %d", len(raw), maxSize)
	}
	// encoding/json would quietly turn invalid UTF-8 into U+FFFD.
	if !utf8.Valid(raw) {
		return nil, newError(ErrMalformed, "not valid UTF-8")
	}
	p := parser{dec: json.NewDecoder(bytes.NewReader(raw))}
	env, err := p.envelope()
	if err != nil {
		return nil, err
	}
	if _, err := p.dec.Token(); err != io.EOF {
		return nil, newError(ErrMalformed, "trailing data after the JSON object")
	}
	return env, nil
}

// Open parses raw (see Parse), checks that its payload type is wantType
// and verifies its signatures over PAE of the payload bytes exactly as
// decoded: nothing is re-serialised.
//
// Every signature whose keyid is in ring must verify; one that does not is
// evidence of tampering and fails with ErrBadSignature. Signatures by keys
// outside ring are ignored. At least one trusted signature is required,
// else Open fails with ErrUntrusted.
func Open(raw []byte, maxSize int, wantType string, ring *Keyring) (*Opened, error) {
	env, err := Parse(raw, maxSize)
	if err != nil {
		return nil, err
	}
	if env.PayloadType != wantType {
		return nil, newError(ErrPayloadType, "payload type %s, want %q", quoteShort(env.PayloadType), wantType)
	}
	pae := PAE(env.PayloadType, env.Payload)
	var signedBy []string
	for i, s := range env.Signatures {
		key, ok := ring.Lookup(s.KeyID)
		if !ok {
			continue
		}
		if len(key.Key) != ed25519.PublicKeySize || !ed25519.Verify(key.Key, pae, s.Sig) {
			return nil, newError(ErrBadSignature, "signatures[%d]: the signature by trusted key %s does not verify", i, Fingerprint(s.KeyID))
		}
		signedBy = append(signedBy, s.KeyID)
	}
	if len(signedBy) == 0 {
		return nil, newError(ErrUntrusted, "no signature by a trusted key (signed by %s)", signerList(env.Signatures))
	}
	return &Opened{
		PayloadType: env.PayloadType,
		Payload:     env.Payload,
		SignedBy:    signedBy,
		Digest:      Digest(raw),
	}, nil
}

// signerList names the signers of an untrusted envelope for the error.
func signerList(sigs []Signature) string {
	var b bytes.Buffer
	for i, s := range sigs {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(Fingerprint(s.KeyID))
	}
	return b.String()
}

// parser walks the JSON tokens of an envelope. Walking tokens rather than
// unmarshalling into a struct is what lets it see duplicate keys and
// case-variant names, which encoding/json would silently merge.
type parser struct {
	dec *json.Decoder
}

// token reads the next token; where is the path named in errors.
func (p *parser) token(where string) (json.Token, error) {
	tok, err := p.dec.Token()
	if err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF) {
		if where == "" {
			return nil, newError(ErrMalformed, "truncated: the JSON ends before the object is complete")
		}
		return nil, newError(ErrMalformed, "%s: truncated: the JSON ends before the object is complete", where)
	}
	if err != nil {
		if where == "" {
			return nil, newError(ErrMalformed, "not valid JSON: %v", err)
		}
		return nil, newError(ErrMalformed, "%s: not valid JSON: %v", where, err)
	}
	return tok, nil
}

func (p *parser) delim(where string, want json.Delim, what string) error {
	tok, err := p.token(where)
	if err != nil {
		return err
	}
	if d, ok := tok.(json.Delim); !ok || d != want {
		if where == "" {
			return newError(ErrMalformed, "not %s", what)
		}
		return newError(ErrMalformed, "%s: not %s", where, what)
	}
	return nil
}

func (p *parser) key(where string) (string, error) {
	tok, err := p.token(where)
	if err != nil {
		return "", err
	}
	k, ok := tok.(string)
	if !ok {
		// Token reports a non-string key as a syntax error; this is a
		// second line of defence.
		return "", newError(ErrMalformed, "%s: object key is not a string", where)
	}
	return k, nil
}

func (p *parser) str(where string) (string, error) {
	tok, err := p.token(where)
	if err != nil {
		return "", err
	}
	s, ok := tok.(string)
	if !ok {
		return "", newError(ErrMalformed, "%s: not a string", where)
	}
	return s, nil
}

func (p *parser) envelope() (*Envelope, error) {
	if err := p.delim("", '{', "a JSON object"); err != nil {
		return nil, err
	}
	var (
		env                              Envelope
		hasType, hasPayload, hasSigs     bool
		payloadType, payload, signatures = "payloadType", "payload", "signatures"
	)
	for p.dec.More() {
		k, err := p.key("")
		if err != nil {
			return nil, err
		}
		switch k {
		case payloadType:
			if hasType {
				return nil, newError(ErrMalformed, "duplicate field %q", k)
			}
			hasType = true
			s, err := p.str(k)
			if err != nil {
				return nil, err
			}
			if msg := checkPayloadType(s); msg != "" {
				return nil, newError(ErrMalformed, "payloadType: %s", msg)
			}
			env.PayloadType = s
		case payload:
			if hasPayload {
				return nil, newError(ErrMalformed, "duplicate field %q", k)
			}
			hasPayload = true
			s, err := p.str(k)
			if err != nil {
				return nil, err
			}
			if s == "" {
				return nil, newError(ErrMalformed, "payload: empty")
			}
			b, err := decodeBase64(s, true)
			if err != nil {
				return nil, newError(ErrMalformed, "payload: %v", err)
			}
			env.Payload = b
		case signatures:
			if hasSigs {
				return nil, newError(ErrMalformed, "duplicate field %q", k)
			}
			hasSigs = true
			sigs, err := p.signatures()
			if err != nil {
				return nil, err
			}
			env.Signatures = sigs
		default:
			return nil, newError(ErrMalformed, "unknown field %s", quoteShort(k))
		}
	}
	if err := p.delim("", '}', "a complete JSON object"); err != nil {
		return nil, err
	}
	switch {
	case !hasType:
		return nil, newError(ErrMalformed, "missing field %q", payloadType)
	case !hasPayload:
		return nil, newError(ErrMalformed, "missing field %q", payload)
	case !hasSigs:
		return nil, newError(ErrMalformed, "missing field %q", signatures)
	}
	return &env, nil
}

func (p *parser) signatures() ([]Signature, error) {
	if err := p.delim("signatures", '[', "a list"); err != nil {
		return nil, err
	}
	var sigs []Signature
	for p.dec.More() {
		if len(sigs) == MaxSignatures {
			return nil, newError(ErrMalformed, "signatures: more than %d", MaxSignatures)
		}
		s, err := p.signature(len(sigs))
		if err != nil {
			return nil, err
		}
		for j, prev := range sigs {
			if prev.KeyID == s.KeyID {
				return nil, newError(ErrMalformed, "signatures[%d].keyid: the same key as signatures[%d]", len(sigs), j)
			}
		}
		sigs = append(sigs, s)
	}
	if err := p.delim("signatures", ']', "a complete list"); err != nil {
		return nil, err
	}
	if len(sigs) == 0 {
		return nil, newError(ErrMalformed, "signatures: empty list")
	}
	return sigs, nil
}

func (p *parser) signature(i int) (Signature, error) {
	where := fmt.Sprintf("signatures[%d]", i)
	if err := p.delim(where, '{', "a JSON object"); err != nil {
		return Signature{}, err
	}
	var (
		s             Signature
		hasID, hasSig bool
	)
	for p.dec.More() {
		k, err := p.key(where)
		if err != nil {
			return Signature{}, err
		}
		switch k {
		case "keyid":
			if hasID {
				return Signature{}, newError(ErrMalformed, "%s: duplicate field %q", where, k)
			}
			hasID = true
			id, err := p.str(where + ".keyid")
			if err != nil {
				return Signature{}, err
			}
			if !isKeyID(id) {
				return Signature{}, newError(ErrMalformed, "%s.keyid: not a SHA-256 key id (64 lowercase hex characters)", where)
			}
			s.KeyID = id
		case "sig":
			if hasSig {
				return Signature{}, newError(ErrMalformed, "%s: duplicate field %q", where, k)
			}
			hasSig = true
			str, err := p.str(where + ".sig")
			if err != nil {
				return Signature{}, err
			}
			b, err := decodeBase64(str, true)
			if err != nil {
				return Signature{}, newError(ErrMalformed, "%s.sig: %v", where, err)
			}
			if len(b) != ed25519.SignatureSize {
				return Signature{}, newError(ErrMalformed, "%s.sig: %d bytes, an Ed25519 signature is %d", where, len(b), ed25519.SignatureSize)
			}
			s.Sig = b
		default:
			return Signature{}, newError(ErrMalformed, "%s: unknown field %s", where, quoteShort(k))
		}
	}
	if err := p.delim(where, '}', "a complete JSON object"); err != nil {
		return Signature{}, err
	}
	switch {
	case !hasID:
		return Signature{}, newError(ErrMalformed, "%s: missing field \"keyid\"", where)
	case !hasSig:
		return Signature{}, newError(ErrMalformed, "%s: missing field \"sig\"", where)
	}
	return s, nil
}

// checkPayloadType returns what is wrong with a payload type, or "".
func checkPayloadType(t string) string {
	if t == "" {
		return "empty"
	}
	if len(t) > MaxPayloadTypeLen {
		return fmt.Sprintf("%d bytes, longer than %d", len(t), MaxPayloadTypeLen)
	}
	if !utf8.ValidString(t) {
		return "not valid UTF-8"
	}
	for _, r := range t {
		if unicode.IsControl(r) {
			return fmt.Sprintf("contains the control character %U", r)
		}
	}
	return ""
}

// isKeyID reports whether s has the form of a KeyID.
func isKeyID(s string) bool {
	if len(s) != 2*sha256.Size {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// decodeBase64 decodes strict, padded base64: only alphabet characters (no
// line breaks, which encoding/base64 would skip), correct padding, and zero
// unused bits, so that a string has one decoding and a byte string has one
// encoding per alphabet. With allowURL, the URL-safe alphabet is accepted
// as well, but never mixed with the standard one.
func decodeBase64(s string, allowURL bool) ([]byte, error) {
	var std, url bool
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '=':
		case c == '+' || c == '/':
			std = true
		case c == '-' || c == '_':
			url = true
		default:
			return nil, fmt.Errorf("not base64: byte %d is %q", i, c)
		}
	}
	enc := base64.StdEncoding
	if url {
		switch {
		case !allowURL:
			return nil, errors.New("not standard base64: uses the URL-safe alphabet")
		case std:
			return nil, errors.New("not base64: mixes the standard and URL-safe alphabets")
		}
		enc = base64.URLEncoding
	}
	b, err := enc.Strict().DecodeString(s)
	if err != nil {
		var ce base64.CorruptInputError
		if errors.As(err, &ce) {
			return nil, fmt.Errorf("not valid padded base64 (at byte %d)", int64(ce))
		}
		return nil, fmt.Errorf("not valid padded base64: %v", err)
	}
	return b, nil
}

// quoteShort quotes a string from the input for an error message, cut
// short so that a hostile input cannot make a huge error.
func quoteShort(s string) string {
	const max = 40
	if len(s) <= max {
		return strconv.Quote(s)
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return strconv.Quote(s[:cut]) + "…"
}
