package seal_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"

	"tally/app/seal"
)

// Fixtures shared by the tests, fuzz targets and benchmarks. All of them
// are made by code from fixed seeds, so every run sees the same bytes.

const (
	submissionType = "application/vnd.tally.submission+json"
	receiptType    = "application/vnd.tally.receipt+json"
)

// fixedKey returns the key made from a seed of 32 bytes n.
func fixedKey(n byte) *seal.PrivateKey {
	k, err := seal.PrivateKeyFromSeed(bytes.Repeat([]byte{n}, 32))
	if err != nil {
		panic(err)
	}
	return k
}

// fixedRing returns a keyring trusting the given keys.
func fixedRing(keys ...*seal.PrivateKey) *seal.Keyring {
	pubs := make([]seal.PublicKey, len(keys))
	for i, k := range keys {
		pubs[i] = k.Public()
	}
	r, err := seal.NewKeyring(pubs...)
	if err != nil {
		panic(err)
	}
	return r
}

// mustSign signs payload with the signers or panics.
func mustSign(payloadType string, payload []byte, signers ...*seal.PrivateKey) []byte {
	raw, err := seal.Sign(payloadType, payload, signers...)
	if err != nil {
		panic(err)
	}
	return raw
}

// samplePayload is a submission-like JSON document of about size bytes.
func samplePayload(size int) []byte {
	var b strings.Builder
	b.WriteString(`{"election":"2025-assembly","station":"0101A","contest":"assembly","form":"station-results","version":1,"supersedes":"","counts":{`)
	codes := []string{"A", "B", "C", "D", "E", "F", "G", "H"}
	for i, c := range codes {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%q:%d", c, 100+i*37)
	}
	for n := 1; b.Len() < size-80; n++ {
		fmt.Fprintf(&b, ",\"I.%d\":%d", n, (n*7919)%750)
	}
	b.WriteString(`},"photo_sha256":"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"}`)
	return []byte(b.String())
}

// mutate decodes an envelope leniently, changes it, and encodes it again:
// a way to make envelopes that Sign would never make.
func mutate(raw []byte, change func(*seal.Envelope)) []byte {
	var env seal.Envelope
	if err := json.Unmarshal(raw, &env); err != nil {
		panic(err)
	}
	change(&env)
	out, err := json.Marshal(env)
	if err != nil {
		panic(err)
	}
	return out
}

// envelopeParts are the JSON values of a valid envelope, to build
// malformed variants around.
type envelopeParts struct {
	Type, Payload, KeyID, Sig string // Payload and Sig in standard base64
}

func partsOf(raw []byte) envelopeParts {
	var env seal.Envelope
	if err := json.Unmarshal(raw, &env); err != nil {
		panic(err)
	}
	return envelopeParts{
		Type:    env.PayloadType,
		Payload: base64.StdEncoding.EncodeToString(env.Payload),
		KeyID:   env.Signatures[0].KeyID,
		Sig:     base64.StdEncoding.EncodeToString(env.Signatures[0].Sig),
	}
}

// sigJSON writes one signature object.
func sigJSON(keyID, sig string) string {
	return fmt.Sprintf(`{"keyid":%q,"sig":%q}`, keyID, sig)
}

// envJSON writes an envelope from already-encoded JSON values.
func envJSON(typ, payload, sigs string) []byte {
	return []byte(`{"payloadType":` + typ + `,"payload":` + payload + `,"signatures":` + sigs + `}`)
}

// malformedCase is an input that Parse must refuse.
type malformedCase struct {
	name    string
	raw     []byte
	maxSize int
	kind    error
	msg     string // a part of the error's text
}

const testMaxSize = 64 << 10

// malformedEnvelopes lists inputs that Parse must refuse, built around a
// valid envelope by the fixed key 1.
func malformedEnvelopes() []malformedCase {
	valid := mustSign(submissionType, []byte(`{"station":"0101A"}`), fixedKey(1))
	p := partsOf(valid)
	q := func(s string) string { return fmt.Sprintf("%q", s) }
	oneSig := "[" + sigJSON(p.KeyID, p.Sig) + "]"
	std := func(typ, payload, sigs string) []byte { return envJSON(typ, payload, sigs) }

	var seventeen []string
	for i := range 17 {
		seventeen = append(seventeen, sigJSON(fixedKey(byte(i+1)).ID(), p.Sig))
	}
	sig63 := base64.StdEncoding.EncodeToString(make([]byte, 63))

	cases := []malformedCase{
		{name: "ErrEmpty", raw: nil, kind: seal.ErrMalformed, msg: "empty input"},
		{name: "ErrTooLarge", raw: valid, maxSize: len(valid) - 1, kind: seal.ErrTooLarge, msg: "more than the limit"},
		{name: "ErrInvalidUTF8", raw: std(`"a`+"\xff"+`b"`, q(p.Payload), oneSig), kind: seal.ErrMalformed, msg: "UTF-8"},
		{name: "ErrNotJSON", raw: []byte("DSSEv1 hello"), kind: seal.ErrMalformed, msg: "not a JSON object"},
		{name: "ErrNotObject", raw: []byte(`[]`), kind: seal.ErrMalformed, msg: "not a JSON object"},
		{name: "ErrNull", raw: []byte(`null`), kind: seal.ErrMalformed, msg: "not a JSON object"},
		{name: "ErrTruncated", raw: valid[:len(valid)/2], kind: seal.ErrMalformed, msg: "truncated"},
		{name: "ErrTruncatedBeforeEnd", raw: valid[:len(valid)-1], kind: seal.ErrMalformed, msg: "truncated"},
		{name: "ErrTrailingObject", raw: append(bytes.Clone(valid), "{}"...), kind: seal.ErrMalformed, msg: "trailing data"},
		{name: "ErrTrailingGarbage", raw: append(bytes.Clone(valid), " x"...), kind: seal.ErrMalformed, msg: "trailing data"},
		{name: "ErrTrailingComma", raw: []byte(`{"payloadType":` + q(p.Type) + `,"payload":` + q(p.Payload) + `,"signatures":` + oneSig + `,}`), kind: seal.ErrMalformed, msg: "not valid JSON"},
		{name: "ErrUnknownField", raw: []byte(`{"payloadType":` + q(p.Type) + `,"payload":` + q(p.Payload) + `,"signatures":` + oneSig + `,"comment":"hi"}`), kind: seal.ErrMalformed, msg: `unknown field "comment"`},
		{name: "ErrFieldNameCase", raw: []byte(`{"PayloadType":` + q(p.Type) + `,"payload":` + q(p.Payload) + `,"signatures":` + oneSig + `}`), kind: seal.ErrMalformed, msg: `unknown field "PayloadType"`},
		{name: "ErrDuplicatePayloadType", raw: []byte(`{"payloadType":"x/y","payloadType":` + q(p.Type) + `,"payload":` + q(p.Payload) + `,"signatures":` + oneSig + `}`), kind: seal.ErrMalformed, msg: `duplicate field "payloadType"`},
		{name: "ErrDuplicatePayload", raw: []byte(`{"payloadType":` + q(p.Type) + `,"payload":"QUFB","payload":` + q(p.Payload) + `,"signatures":` + oneSig + `}`), kind: seal.ErrMalformed, msg: `duplicate field "payload"`},
		{name: "ErrDuplicateSignatures", raw: []byte(`{"payloadType":` + q(p.Type) + `,"payload":` + q(p.Payload) + `,"signatures":` + oneSig + `,"signatures":` + oneSig + `}`), kind: seal.ErrMalformed, msg: `duplicate field "signatures"`},
		{name: "ErrDuplicateSigField", raw: std(q(p.Type), q(p.Payload), `[{"keyid":`+q(p.KeyID)+`,"sig":`+q(p.Sig)+`,"sig":`+q(p.Sig)+`}]`), kind: seal.ErrMalformed, msg: `signatures[0]: duplicate field "sig"`},
		{name: "ErrDuplicateKeyIDField", raw: std(q(p.Type), q(p.Payload), `[{"keyid":`+q(p.KeyID)+`,"keyid":`+q(p.KeyID)+`,"sig":`+q(p.Sig)+`}]`), kind: seal.ErrMalformed, msg: `signatures[0]: duplicate field "keyid"`},
		{name: "ErrMissingPayloadType", raw: []byte(`{"payload":` + q(p.Payload) + `,"signatures":` + oneSig + `}`), kind: seal.ErrMalformed, msg: `missing field "payloadType"`},
		{name: "ErrMissingPayload", raw: []byte(`{"payloadType":` + q(p.Type) + `,"signatures":` + oneSig + `}`), kind: seal.ErrMalformed, msg: `missing field "payload"`},
		{name: "ErrMissingSignatures", raw: []byte(`{"payloadType":` + q(p.Type) + `,"payload":` + q(p.Payload) + `}`), kind: seal.ErrMalformed, msg: `missing field "signatures"`},
		{name: "ErrEmptySignatures", raw: std(q(p.Type), q(p.Payload), `[]`), kind: seal.ErrMalformed, msg: "signatures: empty list"},
		{name: "ErrTooManySignatures", raw: std(q(p.Type), q(p.Payload), "["+strings.Join(seventeen, ",")+"]"), kind: seal.ErrMalformed, msg: "signatures: more than 16"},
		{name: "ErrSignaturesNotList", raw: std(q(p.Type), q(p.Payload), sigJSON(p.KeyID, p.Sig)), kind: seal.ErrMalformed, msg: "signatures: not a list"},
		{name: "ErrSignaturesNull", raw: std(q(p.Type), q(p.Payload), `null`), kind: seal.ErrMalformed, msg: "signatures: not a list"},
		{name: "ErrSignatureNotObject", raw: std(q(p.Type), q(p.Payload), `["sig"]`), kind: seal.ErrMalformed, msg: "signatures[0]: not a JSON object"},
		{name: "ErrSignatureUnknownField", raw: std(q(p.Type), q(p.Payload), `[{"keyid":`+q(p.KeyID)+`,"sig":`+q(p.Sig)+`,"alg":"ed25519"}]`), kind: seal.ErrMalformed, msg: `signatures[0]: unknown field "alg"`},
		{name: "ErrSignatureMissingKeyID", raw: std(q(p.Type), q(p.Payload), `[{"sig":`+q(p.Sig)+`}]`), kind: seal.ErrMalformed, msg: `signatures[0]: missing field "keyid"`},
		{name: "ErrSignatureMissingSig", raw: std(q(p.Type), q(p.Payload), `[{"keyid":`+q(p.KeyID)+`}]`), kind: seal.ErrMalformed, msg: `signatures[0]: missing field "sig"`},
		{name: "ErrPayloadTypeEmpty", raw: std(`""`, q(p.Payload), oneSig), kind: seal.ErrMalformed, msg: "payloadType: empty"},
		{name: "ErrPayloadTypeTooLong", raw: std(q(strings.Repeat("t", 257)), q(p.Payload), oneSig), kind: seal.ErrMalformed, msg: "payloadType: 257 bytes, longer than 256"},
		{name: "ErrPayloadTypeControl", raw: std(`"application/json\u0007"`, q(p.Payload), oneSig), kind: seal.ErrMalformed, msg: "payloadType: contains the control character U+0007"},
		{name: "ErrPayloadTypeNewline", raw: std(`"application/json\n"`, q(p.Payload), oneSig), kind: seal.ErrMalformed, msg: "control character U+000A"},
		{name: "ErrPayloadTypeNotString", raw: std(`42`, q(p.Payload), oneSig), kind: seal.ErrMalformed, msg: "payloadType: not a string"},
		{name: "ErrPayloadEmpty", raw: std(q(p.Type), `""`, oneSig), kind: seal.ErrMalformed, msg: "payload: empty"},
		{name: "ErrPayloadNull", raw: std(q(p.Type), `null`, oneSig), kind: seal.ErrMalformed, msg: "payload: not a string"},
		{name: "ErrPayloadNotBase64", raw: std(q(p.Type), `"not base64!"`, oneSig), kind: seal.ErrMalformed, msg: "payload: not base64"},
		{name: "ErrPayloadUnpadded", raw: std(q(p.Type), q(strings.TrimRight(p.Payload, "=")), oneSig), kind: seal.ErrMalformed, msg: "payload: not valid padded base64"},
		{name: "ErrPayloadLineBreak", raw: std(q(p.Type), q(p.Payload[:8]+"\n"+p.Payload[8:]), oneSig), kind: seal.ErrMalformed, msg: "payload: not base64"},
		{name: "ErrPayloadPaddingBits", raw: std(q(p.Type), `"QR=="`, oneSig), kind: seal.ErrMalformed, msg: "payload: not valid padded base64"},
		{name: "ErrPayloadMixedAlphabets", raw: std(q(p.Type), `"+-AA"`, oneSig), kind: seal.ErrMalformed, msg: "mixes the standard and URL-safe alphabets"},
		{name: "ErrKeyIDUppercase", raw: std(q(p.Type), q(p.Payload), "["+sigJSON(strings.ToUpper(p.KeyID), p.Sig)+"]"), kind: seal.ErrMalformed, msg: "signatures[0].keyid: not a SHA-256 key id (64 lowercase hex characters)"},
		{name: "ErrKeyIDShort", raw: std(q(p.Type), q(p.Payload), "["+sigJSON(p.KeyID, p.Sig)+","+sigJSON(p.KeyID[:63], p.Sig)+"]"), kind: seal.ErrMalformed, msg: "envelope: signatures[1].keyid: not a SHA-256 key id (64 lowercase hex characters)"},
		{name: "ErrKeyIDNotString", raw: std(q(p.Type), q(p.Payload), `[{"keyid":7,"sig":`+q(p.Sig)+`}]`), kind: seal.ErrMalformed, msg: "signatures[0].keyid: not a string"},
		{name: "ErrSigNotBase64", raw: std(q(p.Type), q(p.Payload), "["+sigJSON(p.KeyID, "sig")+"]"), kind: seal.ErrMalformed, msg: "signatures[0].sig: not valid padded base64"},
		{name: "ErrSigWrongLength", raw: std(q(p.Type), q(p.Payload), "["+sigJSON(p.KeyID, sig63)+"]"), kind: seal.ErrMalformed, msg: "signatures[0].sig: 63 bytes, an Ed25519 signature is 64"},
		{name: "ErrSameKeyTwice", raw: std(q(p.Type), q(p.Payload), "["+sigJSON(p.KeyID, p.Sig)+","+sigJSON(p.KeyID, p.Sig)+"]"), kind: seal.ErrMalformed, msg: "signatures[1].keyid: the same key as signatures[0]"},
	}
	for i := range cases {
		if cases[i].maxSize == 0 {
			cases[i].maxSize = testMaxSize
		}
	}
	return cases
}

// escapeCase is an envelope whose JSON strings use escapes.
type escapeCase struct {
	name     string
	raw      []byte
	wantType string // when it parses
	msg      string // a part of the error, when it does not
}

// escapeCases exercise the JSON string escapes, which the parser decodes
// itself.
func escapeCases() []escapeCase {
	p := partsOf(mustSign(submissionType, []byte(`{"station":"0101A"}`), fixedKey(1)))
	sigs := "[" + sigJSON(p.KeyID, p.Sig) + "]"
	payload := `"` + p.Payload + `"`
	return []escapeCase{
		{name: "OKEscapedSlash", raw: envJSON(`"application\/json"`, payload, sigs), wantType: "application/json"},
		{name: "OKUnicodeEscape", raw: envJSON(`"\u0061pplication/json"`, payload, sigs), wantType: "application/json"},
		{name: "OKSurrogatePair", raw: envJSON(`"t\ud83d\uDE00t"`, payload, sigs), wantType: "t\U0001F600t"},
		{name: "OKQuoteAndBackslash", raw: envJSON(`"a\"b\\c"`, payload, sigs), wantType: `a"b\c`},
		{name: "OKNonASCII", raw: envJSON(`"zgjedhje/ë"`, payload, sigs), wantType: "zgjedhje/ë"},
		{name: "OKEscapedFieldName", raw: []byte(`{"payload\u0054ype":"x","payload":` + payload + `,"signatures":` + sigs + `}`), wantType: "x"},
		{name: "OKEscapedBase64", raw: envJSON(`"x"`, `"\u00`+fmt.Sprintf("%02x", p.Payload[0])+p.Payload[1:]+`"`, sigs), wantType: "x"},
		{name: "OKWhitespaceEverywhere", raw: []byte(" \t\r\n{ \"payloadType\" :\n\"x\" , \"payload\"\t:" + payload + " ,\"signatures\" : [ " + sigJSON(p.KeyID, p.Sig) + " ] } \n"), wantType: "x"},
		{name: "ErrLoneHighSurrogate", raw: envJSON(`"t\ud83dt"`, payload, sigs), msg: "payloadType: not valid JSON: lone UTF-16 surrogate"},
		{name: "ErrLoneLowSurrogate", raw: envJSON(`"t\ude00t"`, payload, sigs), msg: "lone UTF-16 surrogate"},
		{name: "ErrHighThenNotLow", raw: envJSON(`"t\ud83d\u0041"`, payload, sigs), msg: "lone UTF-16 surrogate"},
		{name: "ErrInvalidEscape", raw: envJSON(`"t\x41"`, payload, sigs), msg: "payloadType: not valid JSON: invalid escape"},
		{name: "ErrInvalidUnicodeEscape", raw: envJSON(`"t\u00g1"`, payload, sigs), msg: `invalid \u escape`},
		{name: "ErrRawControlCharacter", raw: envJSON("\"t\tt\"", payload, sigs), msg: "payloadType: not valid JSON: control character in a string"},
		{name: "ErrEscapedControlCharacter", raw: envJSON(`"t\u001ft"`, payload, sigs), msg: "payloadType: contains the control character U+001F"},
		{name: "ErrDuplicateEscapedName", raw: []byte(`{"payloadType":"x","payload\u0054ype":"x","payload":` + payload + `,"signatures":` + sigs + `}`), msg: `duplicate field "payloadType"`},
		{name: "ErrTruncatedInEscape", raw: []byte(`{"payloadType":"t\u00`), msg: "payloadType: truncated"},
		{name: "ErrTruncatedAfterBackslash", raw: []byte(`{"payloadType":"t\`), msg: "payloadType: truncated"},
		{name: "ErrTruncatedInSurrogatePair", raw: []byte(`{"payloadType":"t\ud83d\`), msg: "payloadType: truncated"},
		{name: "ErrSingleQuotes", raw: []byte(`{'payloadType':'x'}`), msg: "not valid JSON: expected a field name in double quotes"},
		{name: "ErrMissingColon", raw: []byte(`{"payloadType" "x"}`), msg: "not valid JSON: expected ':' after a field name"},
		{name: "ErrMissingComma", raw: []byte(`{"payloadType":"x" "payload":"QUFB"}`), msg: "not valid JSON: expected ',' or '}' after a field"},
		{name: "ErrSignaturesMissingComma", raw: envJSON(`"x"`, payload, "["+sigJSON(p.KeyID, p.Sig)+" "+sigJSON(p.KeyID, p.Sig)+"]"), msg: "signatures: not valid JSON: expected ',' or ']' after a signature"},
	}
}

// escapedEnvelopes are the inputs of escapeCases, for the fuzz corpus.
func escapedEnvelopes() [][]byte {
	var out [][]byte
	for _, c := range escapeCases() {
		out = append(out, c.raw)
	}
	return out
}
