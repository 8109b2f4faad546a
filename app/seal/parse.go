package seal

import (
	"crypto/ed25519"
	"fmt"
	"unicode/utf16"
	"unicode/utf8"
)

// envelopeParser reads the JSON of one envelope. It is a small, strict
// JSON reader for exactly the envelope's shape rather than encoding/json,
// for two reasons: it must see what encoding/json hides (a duplicate key
// silently overrides, a name matches in any case), and it sits on the
// server's hot path, where decoding the payload's base64 straight from the
// input makes parsing cheap next to verifying the signature.
//
// It accepts RFC 8259 JSON only, and of that only an object with the
// envelope's fields, so it never has to skip a value it does not know. The
// input has been checked to be valid UTF-8.
type envelopeParser struct {
	data []byte
	pos  int
}

func parseEnvelope(raw []byte) (*Envelope, error) {
	p := envelopeParser{data: raw}
	env, err := p.envelope()
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	if p.pos < len(p.data) {
		return nil, newError(ErrMalformed, "trailing data after the JSON object (at byte %d)", p.pos)
	}
	return env, nil
}

func (p *envelopeParser) envelope() (*Envelope, error) {
	var (
		env                          Envelope
		hasType, hasPayload, hasSigs bool
	)
	err := p.object("", func(name []byte) error {
		switch string(name) {
		case "payloadType":
			if hasType {
				return newError(ErrMalformed, "duplicate field \"payloadType\"")
			}
			hasType = true
			s, err := p.str("payloadType")
			if err != nil {
				return err
			}
			t := string(s)
			if msg := checkPayloadType(t); msg != "" {
				return newError(ErrMalformed, "payloadType: %s", msg)
			}
			env.PayloadType = t
		case "payload":
			if hasPayload {
				return newError(ErrMalformed, "duplicate field \"payload\"")
			}
			hasPayload = true
			s, err := p.str("payload")
			if err != nil {
				return err
			}
			if len(s) == 0 {
				return newError(ErrMalformed, "payload: empty")
			}
			b, err := decodeBase64(s, true)
			if err != nil {
				return newError(ErrMalformed, "payload: %v", err)
			}
			env.Payload = b
		case "signatures":
			if hasSigs {
				return newError(ErrMalformed, "duplicate field \"signatures\"")
			}
			hasSigs = true
			sigs, err := p.signatures()
			if err != nil {
				return err
			}
			env.Signatures = sigs
		default:
			return newError(ErrMalformed, "unknown field %s", quoteShort(string(name)))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	switch {
	case !hasType:
		return nil, newError(ErrMalformed, "missing field \"payloadType\"")
	case !hasPayload:
		return nil, newError(ErrMalformed, "missing field \"payload\"")
	case !hasSigs:
		return nil, newError(ErrMalformed, "missing field \"signatures\"")
	}
	return &env, nil
}

func (p *envelopeParser) signatures() ([]Signature, error) {
	const where = "signatures"
	c, err := p.peek(where)
	if err != nil {
		return nil, err
	}
	if c != '[' {
		return nil, newError(ErrMalformed, "signatures: not a list")
	}
	p.pos++
	if c, err := p.peek(where); err != nil {
		return nil, err
	} else if c == ']' {
		return nil, newError(ErrMalformed, "signatures: empty list")
	}
	sigs := make([]Signature, 0, 1)
	for {
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
		c, err := p.peek(where)
		if err != nil {
			return nil, err
		}
		switch c {
		case ',':
			p.pos++
		case ']':
			p.pos++
			return sigs, nil
		default:
			return nil, p.syntax(where, "expected ',' or ']' after a signature")
		}
	}
}

func (p *envelopeParser) signature(i int) (Signature, error) {
	where := fmt.Sprintf("signatures[%d]", i)
	var (
		s             Signature
		hasID, hasSig bool
	)
	err := p.object(where, func(name []byte) error {
		switch string(name) {
		case "keyid":
			if hasID {
				return newError(ErrMalformed, "%s: duplicate field \"keyid\"", where)
			}
			hasID = true
			id, err := p.str(where + ".keyid")
			if err != nil {
				return err
			}
			if !isKeyID(id) {
				return newError(ErrMalformed, "%s.keyid: not a SHA-256 key id (64 lowercase hex characters)", where)
			}
			s.KeyID = string(id)
		case "sig":
			if hasSig {
				return newError(ErrMalformed, "%s: duplicate field \"sig\"", where)
			}
			hasSig = true
			str, err := p.str(where + ".sig")
			if err != nil {
				return err
			}
			b, err := decodeBase64(str, true)
			if err != nil {
				return newError(ErrMalformed, "%s.sig: %v", where, err)
			}
			if len(b) != ed25519.SignatureSize {
				return newError(ErrMalformed, "%s.sig: %d bytes, an Ed25519 signature is %d", where, len(b), ed25519.SignatureSize)
			}
			s.Sig = b
		default:
			return newError(ErrMalformed, "%s: unknown field %s", where, quoteShort(string(name)))
		}
		return nil
	})
	if err != nil {
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

// object reads a JSON object, calling field for each member with the
// reader placed on the member's value; field must read that value.
func (p *envelopeParser) object(where string, field func(name []byte) error) error {
	c, err := p.peek(where)
	if err != nil {
		return err
	}
	if c != '{' {
		return newError(ErrMalformed, "%snot a JSON object", prefix(where))
	}
	p.pos++
	if c, err := p.peek(where); err != nil {
		return err
	} else if c == '}' {
		p.pos++
		return nil
	}
	for {
		c, err := p.peek(where)
		if err != nil {
			return err
		}
		if c != '"' {
			return p.syntax(where, "expected a field name in double quotes")
		}
		name, err := p.str(where)
		if err != nil {
			return err
		}
		if c, err := p.peek(where); err != nil {
			return err
		} else if c != ':' {
			return p.syntax(where, "expected ':' after a field name")
		}
		p.pos++
		if err := field(name); err != nil {
			return err
		}
		c, err = p.peek(where)
		if err != nil {
			return err
		}
		switch c {
		case ',':
			p.pos++
		case '}':
			p.pos++
			return nil
		default:
			return p.syntax(where, "expected ',' or '}' after a field")
		}
	}
}

// str reads a JSON string and returns its content, unescaped. Without
// escapes, the content is a slice of the input.
func (p *envelopeParser) str(where string) ([]byte, error) {
	c, err := p.peek(where)
	if err != nil {
		return nil, err
	}
	if c != '"' {
		return nil, newError(ErrMalformed, "%snot a string", prefix(where))
	}
	start := p.pos + 1
	// A local index over a local slice: the payload's base64 is most of an
	// envelope, and this loop reads it byte by byte.
	data := p.data
	for i := start; i < len(data); i++ {
		switch c := data[i]; {
		case c == '"':
			p.pos = i + 1
			return data[start:i], nil
		case c == '\\':
			p.pos = i
			return p.escapedStr(where, start)
		case c < 0x20:
			p.pos = i
			return nil, p.syntax(where, "control character in a string")
		}
	}
	p.pos = len(data)
	return nil, p.truncated(where)
}

// escapedStr finishes reading a string that has escapes, from its content's
// start; the reader is on the first backslash.
func (p *envelopeParser) escapedStr(where string, start int) ([]byte, error) {
	out := append([]byte(nil), p.data[start:p.pos]...)
	for p.pos < len(p.data) {
		c := p.data[p.pos]
		switch {
		case c == '"':
			p.pos++
			return out, nil
		case c < 0x20:
			return nil, p.syntax(where, "control character in a string")
		case c != '\\':
			out = append(out, c)
			p.pos++
			continue
		}
		if p.pos+1 >= len(p.data) {
			return nil, p.truncated(where)
		}
		switch e := p.data[p.pos+1]; e {
		case '"', '\\', '/':
			out = append(out, e)
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r, err := p.unicodeEscape(where)
			if err != nil {
				return nil, err
			}
			out = utf8.AppendRune(out, r)
			continue
		default:
			return nil, p.syntax(where, "invalid escape in a string")
		}
		p.pos += 2
	}
	return nil, p.truncated(where)
}

// unicodeEscape reads \uXXXX, or a surrogate pair \uXXXX\uXXXX, at the
// reader. A lone surrogate is refused: it encodes no character, and
// encoding/json would replace it silently.
func (p *envelopeParser) unicodeEscape(where string) (rune, error) {
	r, err := p.hex4(where, p.pos+2)
	if err != nil {
		return 0, err
	}
	p.pos += 6
	if !utf16.IsSurrogate(r) {
		return r, nil
	}
	if r >= 0xdc00 {
		return 0, p.syntax(where, "lone UTF-16 surrogate in a string")
	}
	// A high surrogate must be followed by an escaped low one.
	for i, want := range []byte{'\\', 'u'} {
		if p.pos+i >= len(p.data) {
			return 0, p.truncated(where)
		}
		if p.data[p.pos+i] != want {
			return 0, p.syntax(where, "lone UTF-16 surrogate in a string")
		}
	}
	low, err := p.hex4(where, p.pos+2)
	if err != nil {
		return 0, err
	}
	pair := utf16.DecodeRune(r, low)
	if pair == utf8.RuneError {
		return 0, p.syntax(where, "lone UTF-16 surrogate in a string")
	}
	p.pos += 6
	return pair, nil
}

func (p *envelopeParser) hex4(where string, at int) (rune, error) {
	if at+4 > len(p.data) {
		return 0, p.truncated(where)
	}
	var r rune
	for _, c := range p.data[at : at+4] {
		var v byte
		switch {
		case '0' <= c && c <= '9':
			v = c - '0'
		case 'a' <= c && c <= 'f':
			v = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			v = c - 'A' + 10
		default:
			return 0, p.syntax(where, `invalid \u escape in a string`)
		}
		r = r<<4 | rune(v)
	}
	return r, nil
}

// peek skips white space and returns the next byte without reading it.
func (p *envelopeParser) peek(where string) (byte, error) {
	p.skipSpace()
	if p.pos >= len(p.data) {
		return 0, p.truncated(where)
	}
	return p.data[p.pos], nil
}

func (p *envelopeParser) skipSpace() {
	for p.pos < len(p.data) {
		switch p.data[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

func (p *envelopeParser) truncated(where string) error {
	return newError(ErrMalformed, "%struncated: the JSON ends before the object is complete", prefix(where))
}

func (p *envelopeParser) syntax(where, what string) error {
	return newError(ErrMalformed, "%snot valid JSON: %s (at byte %d)", prefix(where), what, p.pos)
}

func prefix(where string) string {
	if where == "" {
		return ""
	}
	return where + ": "
}
