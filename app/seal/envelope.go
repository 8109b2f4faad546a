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
	raw, _, err := SignEnvelope(payloadType, payload, signers...)
	return raw, err
}

// SignEnvelope is Sign that also gives the envelope it encoded, for a
// caller that needs its signatures without parsing the bytes again.
func SignEnvelope(payloadType string, payload []byte, signers ...*PrivateKey) ([]byte, *Envelope, error) {
	if msg := checkPayloadType(payloadType); msg != "" {
		return nil, nil, newError(ErrMalformed, "payloadType: %s", msg)
	}
	if len(payload) == 0 {
		return nil, nil, newError(ErrMalformed, "payload: empty")
	}
	if len(signers) == 0 {
		return nil, nil, errors.New("envelope: no signer")
	}
	if len(signers) > MaxSignatures {
		return nil, nil, fmt.Errorf("envelope: %d signers, at most %d allowed", len(signers), MaxSignatures)
	}
	pae := PAE(payloadType, payload)
	env := Envelope{PayloadType: payloadType, Payload: payload, Signatures: make([]Signature, 0, len(signers))}
	seen := make(map[string]bool, len(signers))
	for i, s := range signers {
		if s == nil {
			return nil, nil, fmt.Errorf("envelope: signer %d is nil", i)
		}
		if seen[s.ID()] {
			return nil, nil, fmt.Errorf("envelope: key %s signs twice", s.ID())
		}
		seen[s.ID()] = true
		env.Signatures = append(env.Signatures, Signature{KeyID: s.ID(), Sig: s.sign(pae)})
	}
	raw, err := json.Marshal(env)
	if err != nil {
		return nil, nil, err
	}
	return raw, &env, nil
}

// Parse decodes an envelope strictly, without verifying anything. It
// refuses anything but exactly one JSON object of the DSSE form: input
// larger than maxSize bytes, invalid UTF-8 or JSON, trailing data, unknown
// or duplicate fields (names match exactly, case included), a missing or
// empty field, more than MaxSignatures signatures, a payloadType longer
// than MaxPayloadTypeLen bytes or with control characters, payload or sig
// that is not strict padded base64, a keyid that is not a KeyID, a sig that
// is not 64 bytes, and a keyid that signs twice. It also refuses JSON
// strings with a lone UTF-16 surrogate escape, which encode no character.
// Its errors wrap ErrMalformed or ErrTooLarge.
//
// DSSE makes keyid an optional hint; Tally requires it, so that a verifier
// knows which key to try without trying them all.
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
	// JSON text is UTF-8 (RFC 8259). The parser relies on this check; a
	// lenient decoder would turn invalid bytes into U+FFFD, so that
	// different inputs decode alike.
	if !utf8.Valid(raw) {
		return nil, newError(ErrMalformed, "not valid UTF-8")
	}
	return parseEnvelope(raw)
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
	return env.Open(raw, wantType, ring)
}

// Open verifies an envelope already parsed from raw, as the function Open
// does: for a receiver that read the envelope first to learn who signed
// it. raw must be the bytes env was parsed from.
func (env *Envelope) Open(raw []byte, wantType string, ring *Keyring) (*Opened, error) {
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
func isKeyID(s []byte) bool {
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
func decodeBase64(s []byte, allowURL bool) ([]byte, error) {
	var seen byte
	for i := 0; i < len(s); i++ {
		class := base64Class[s[i]]
		if class == 0 {
			return nil, fmt.Errorf("not base64: byte %d is %q", i, s[i])
		}
		seen |= class
	}
	std, url := seen&b64Std != 0, seen&b64URL != 0
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
	enc = enc.Strict()
	b := make([]byte, enc.DecodedLen(len(s)))
	n, err := enc.Decode(b, s)
	if err != nil {
		var ce base64.CorruptInputError
		if errors.As(err, &ce) {
			return nil, fmt.Errorf("not valid padded base64 (at byte %d)", int64(ce))
		}
		return nil, fmt.Errorf("not valid padded base64: %v", err)
	}
	return b[:n], nil
}

// The classes of the bytes of base64 text: in both alphabets (letters,
// digits, the padding), only in the standard one, only in the URL-safe
// one; 0 for any other byte.
const (
	b64Both = 1 << iota
	b64Std
	b64URL
)

// base64Class is the class of every byte, so that decodeBase64 looks each
// byte up once.
var base64Class = func() (t [256]byte) {
	for c := 'A'; c <= 'Z'; c++ {
		t[c] = b64Both
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c] = b64Both
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = b64Both
	}
	t['='] = b64Both
	t['+'], t['/'] = b64Std, b64Std
	t['-'], t['_'] = b64URL, b64URL
	return t
}()

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
