package seal_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tally/app/seal"
)

func TestPAE(t *testing.T) {
	tests := []struct {
		name, payloadType, payload, want string
	}{
		// The example of the DSSE protocol specification.
		{"SpecExample", "http://example.com/HelloWorld", "hello world", "DSSEv1 29 http://example.com/HelloWorld 11 hello world"},
		{"Empty", "", "", "DSSEv1 0  0 "},
		{"MultiByte", "ë", "Ç", "DSSEv1 2 ë 2 Ç"},
		{"SpacesInBody", "t", "a b  c", "DSSEv1 1 t 6 a b  c"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, string(seal.PAE(tt.payloadType, []byte(tt.payload))))
		})
	}
}

func TestDigest(t *testing.T) {
	raw := mustSign(submissionType, []byte(`{}`), fixedKey(1))
	sum := sha256.Sum256(raw)
	assert.Equal(t, hex.EncodeToString(sum[:]), seal.Digest(raw))
}

func TestSign(t *testing.T) {
	k1, k2 := fixedKey(1), fixedKey(2)
	payload := []byte(`{"station":"0101A","counts":{"A":512}}`)

	t.Run("OK", func(t *testing.T) {
		raw, err := seal.Sign(submissionType, payload, k1)
		require.NoError(t, err)
		assert.False(t, bytes.ContainsAny(raw, " \n"), "compact JSON")

		var generic map[string]any
		require.NoError(t, json.Unmarshal(raw, &generic))
		assert.Equal(t, submissionType, generic["payloadType"])
		assert.Equal(t, base64.StdEncoding.EncodeToString(payload), generic["payload"])

		env, err := seal.Parse(raw, testMaxSize)
		require.NoError(t, err)
		require.Len(t, env.Signatures, 1)
		assert.Equal(t, k1.ID(), env.Signatures[0].KeyID)
		assert.True(t, ed25519.Verify(k1.Public().Key, seal.PAE(submissionType, payload), env.Signatures[0].Sig),
			"the signature is over the PAE")
	})
	t.Run("TwoSigners", func(t *testing.T) {
		raw, err := seal.Sign(submissionType, payload, k1, k2)
		require.NoError(t, err)
		env, err := seal.Parse(raw, testMaxSize)
		require.NoError(t, err)
		require.Len(t, env.Signatures, 2)
		assert.Equal(t, k1.ID(), env.Signatures[0].KeyID)
		assert.Equal(t, k2.ID(), env.Signatures[1].KeyID)
	})

	tests := []struct {
		name        string
		payloadType string
		payload     []byte
		signers     []*seal.PrivateKey
		msg         string
	}{
		{"ErrNoSigner", submissionType, payload, nil, "envelope: no signer"},
		{"ErrNilSigner", submissionType, payload, []*seal.PrivateKey{k1, nil}, "envelope: signer 1 is nil"},
		{"ErrSameSignerTwice", submissionType, payload, []*seal.PrivateKey{k1, k1}, "signs twice"},
		{"ErrEmptyPayload", submissionType, nil, []*seal.PrivateKey{k1}, "envelope: payload: empty"},
		{"ErrEmptyPayloadType", "", payload, []*seal.PrivateKey{k1}, "envelope: payloadType: empty"},
		{"ErrPayloadTypeControl", "a\x00b", payload, []*seal.PrivateKey{k1}, "control character"},
		{"ErrPayloadTypeTooLong", strings.Repeat("x", 257), payload, []*seal.PrivateKey{k1}, "longer than 256"},
		{"ErrPayloadTypeUTF8", "a\xffb", payload, []*seal.PrivateKey{k1}, "UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := seal.Sign(tt.payloadType, tt.payload, tt.signers...)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.msg)
		})
	}
}

func TestParse(t *testing.T) {
	k1 := fixedKey(1)
	payload := []byte(`{"station":"0101A"}`)
	valid := mustSign(submissionType, payload, k1)

	t.Run("OK", func(t *testing.T) {
		env, err := seal.Parse(valid, len(valid))
		require.NoError(t, err)
		assert.Equal(t, submissionType, env.PayloadType)
		assert.Equal(t, payload, env.Payload)
	})
	t.Run("Whitespace", func(t *testing.T) {
		var pretty bytes.Buffer
		require.NoError(t, json.Indent(&pretty, valid, "", "  "))
		pretty.WriteString("\n")
		env, err := seal.Parse(pretty.Bytes(), testMaxSize)
		require.NoError(t, err)
		assert.Equal(t, payload, env.Payload)
	})
	t.Run("FieldOrder", func(t *testing.T) {
		p := partsOf(valid)
		raw := []byte(`{"signatures":[{"sig":"` + p.Sig + `","keyid":"` + p.KeyID + `"}],"payload":"` + p.Payload + `","payloadType":"` + p.Type + `"}`)
		env, err := seal.Parse(raw, testMaxSize)
		require.NoError(t, err)
		assert.Equal(t, payload, env.Payload)
	})
	t.Run("URLSafeBase64", func(t *testing.T) {
		// A payload whose standard base64 has both '+' and '/'.
		odd := []byte{0xfb, 0xff, 0xbf, 0x01}
		raw := mustSign(submissionType, odd, k1)
		p := partsOf(raw)
		require.True(t, strings.ContainsAny(p.Payload, "+/"))
		url := strings.NewReplacer("+", "-", "/", "_")
		env, err := seal.Parse(envJSON(`"`+p.Type+`"`, `"`+url.Replace(p.Payload)+`"`, `[`+sigJSON(p.KeyID, url.Replace(p.Sig))+`]`), testMaxSize)
		require.NoError(t, err)
		assert.Equal(t, odd, env.Payload)
		_, err = seal.Open(envJSON(`"`+p.Type+`"`, `"`+url.Replace(p.Payload)+`"`, `[`+sigJSON(p.KeyID, url.Replace(p.Sig))+`]`), testMaxSize, submissionType, fixedRing(k1))
		require.NoError(t, err)
	})
	t.Run("EscapedStrings", func(t *testing.T) {
		// JSON escapes are part of JSON: "\u0041" is "A".
		p := partsOf(valid)
		raw := envJSON(`"application\/vnd.tally.submission+json"`, `"`+p.Payload+`"`, `[`+sigJSON(p.KeyID, p.Sig)+`]`)
		env, err := seal.Parse(raw, testMaxSize)
		require.NoError(t, err)
		assert.Equal(t, submissionType, env.PayloadType)
	})
	t.Run("SixteenSignatures", func(t *testing.T) {
		signers := make([]*seal.PrivateKey, 16)
		for i := range signers {
			signers[i] = fixedKey(byte(i + 1))
		}
		env, err := seal.Parse(mustSign(submissionType, payload, signers...), testMaxSize)
		require.NoError(t, err)
		assert.Len(t, env.Signatures, 16)
	})

	for _, tc := range escapeCases() {
		t.Run(tc.name, func(t *testing.T) {
			env, err := seal.Parse(tc.raw, testMaxSize)
			if tc.msg != "" {
				require.ErrorIs(t, err, seal.ErrMalformed)
				assert.Contains(t, err.Error(), tc.msg)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.wantType, env.PayloadType)
			assert.Equal(t, payload, env.Payload)

			// encoding/json reads the same strings.
			var std struct {
				PayloadType string `json:"payloadType"`
			}
			require.NoError(t, json.Unmarshal(tc.raw, &std))
			assert.Equal(t, std.PayloadType, env.PayloadType)
		})
	}

	for _, tc := range malformedEnvelopes() {
		t.Run(tc.name, func(t *testing.T) {
			env, err := seal.Parse(tc.raw, tc.maxSize)
			require.Error(t, err)
			assert.Nil(t, env)
			assert.ErrorIs(t, err, tc.kind)
			assert.Contains(t, err.Error(), tc.msg)
			assert.True(t, strings.HasPrefix(err.Error(), "envelope: "), err.Error())
			for _, other := range []error{seal.ErrMalformed, seal.ErrTooLarge, seal.ErrPayloadType, seal.ErrUntrusted, seal.ErrBadSignature} {
				if other != tc.kind {
					assert.False(t, errors.Is(err, other), "wraps only %v", tc.kind)
				}
			}
		})
	}
}

func TestOpen(t *testing.T) {
	station, other, commission := fixedKey(1), fixedKey(2), fixedKey(3)
	payload := []byte(`{"station":"0101A","counts":{"A":512,"B":301}}`)
	valid := mustSign(submissionType, payload, station)
	ring := fixedRing(station)

	t.Run("OK", func(t *testing.T) {
		o, err := seal.Open(valid, testMaxSize, submissionType, ring)
		require.NoError(t, err)
		assert.Equal(t, payload, o.Payload)
		assert.Equal(t, submissionType, o.PayloadType)
		assert.Equal(t, []string{station.ID()}, o.SignedBy)
		assert.Equal(t, seal.Digest(valid), o.Digest)
	})
	t.Run("DigestOfBytesAsReceived", func(t *testing.T) {
		spaced := append([]byte(" "), valid...)
		o, err := seal.Open(spaced, testMaxSize, submissionType, ring)
		require.NoError(t, err)
		assert.Equal(t, seal.Digest(spaced), o.Digest)
		assert.NotEqual(t, seal.Digest(valid), o.Digest)
	})
	t.Run("UnknownSignerIgnored", func(t *testing.T) {
		raw := mustSign(submissionType, payload, other, station)
		o, err := seal.Open(raw, testMaxSize, submissionType, ring)
		require.NoError(t, err)
		assert.Equal(t, []string{station.ID()}, o.SignedBy)
	})
	t.Run("UnknownSignerWithBadSignatureIgnored", func(t *testing.T) {
		raw := mutate(mustSign(submissionType, payload, other, station), func(e *seal.Envelope) {
			e.Signatures[0].Sig[0] ^= 1
		})
		o, err := seal.Open(raw, testMaxSize, submissionType, ring)
		require.NoError(t, err)
		assert.Equal(t, []string{station.ID()}, o.SignedBy)
	})
	t.Run("TwoTrustedSigners", func(t *testing.T) {
		raw := mustSign(submissionType, payload, station, commission)
		o, err := seal.Open(raw, testMaxSize, submissionType, fixedRing(station, commission))
		require.NoError(t, err)
		assert.Equal(t, []string{station.ID(), commission.ID()}, o.SignedBy)
	})

	tests := []struct {
		name     string
		raw      []byte
		wantType string
		ring     *seal.Keyring
		kind     error
		msg      string
	}{
		{
			name: "ErrPayloadType", raw: valid, wantType: receiptType, ring: ring, kind: seal.ErrPayloadType,
			msg: `envelope: payload type "application/vnd.tally.submission+json", want "application/vnd.tally.receipt+json"`,
		},
		{
			name: "ErrUntrusted", raw: mustSign(submissionType, payload, other), wantType: submissionType, ring: ring,
			kind: seal.ErrUntrusted, msg: "envelope: no signature by a trusted key (signed by " + seal.Fingerprint(other.ID()) + ")",
		},
		{
			name: "ErrUntrustedEmptyRing", raw: valid, wantType: submissionType, ring: fixedRing(), kind: seal.ErrUntrusted,
			msg: "no signature by a trusted key",
		},
		{
			name: "ErrUntrustedNilRing", raw: valid, wantType: submissionType, ring: nil, kind: seal.ErrUntrusted,
			msg: "no signature by a trusted key",
		},
		{
			name: "ErrTamperedPayload",
			raw: mutate(valid, func(e *seal.Envelope) {
				e.Payload = bytes.Replace(e.Payload, []byte("512"), []byte("612"), 1)
			}),
			wantType: submissionType, ring: ring, kind: seal.ErrBadSignature,
			msg: "envelope: signatures[0]: the signature by trusted key " + seal.Fingerprint(station.ID()) + " does not verify",
		},
		{
			name: "ErrTamperedPayloadType",
			raw: mutate(mustSign(receiptType, payload, station), func(e *seal.Envelope) {
				e.PayloadType = submissionType
			}),
			wantType: submissionType, ring: ring, kind: seal.ErrBadSignature, msg: "does not verify",
		},
		{
			name: "ErrTamperedSignature",
			raw: mutate(valid, func(e *seal.Envelope) {
				e.Signatures[0].Sig[10] ^= 0x40
			}),
			wantType: submissionType, ring: ring, kind: seal.ErrBadSignature, msg: "does not verify",
		},
		{
			name: "ErrSignatureFromOtherEnvelope",
			raw: mutate(valid, func(e *seal.Envelope) {
				e.Signatures[0].Sig = partsOfSig(mustSign(submissionType, []byte(`{"station":"0101A","counts":{}}`), station))
			}),
			wantType: submissionType, ring: ring, kind: seal.ErrBadSignature, msg: "does not verify",
		},
		{
			// A forger who knows only the public key claims its key id.
			name: "ErrForgedKeyID",
			raw: mutate(mustSign(submissionType, payload, other), func(e *seal.Envelope) {
				e.Signatures[0].KeyID = station.ID()
			}),
			wantType: submissionType, ring: ring, kind: seal.ErrBadSignature, msg: "does not verify",
		},
		{
			// One good trusted signature does not excuse a bad one.
			name: "ErrOneOfTwoTrustedBad",
			raw: mutate(mustSign(submissionType, payload, station, commission), func(e *seal.Envelope) {
				e.Signatures[1].Sig[0] ^= 1
			}),
			wantType: submissionType, ring: fixedRing(station, commission), kind: seal.ErrBadSignature,
			msg: "envelope: signatures[1]: the signature by trusted key " + seal.Fingerprint(commission.ID()),
		},
		{
			name: "ErrMalformed", raw: valid[:len(valid)-3], wantType: submissionType, ring: ring,
			kind: seal.ErrMalformed, msg: "truncated",
		},
		{
			name: "ErrTooLarge", raw: valid, wantType: submissionType, ring: ring,
			kind: seal.ErrTooLarge, msg: "more than the limit of 10",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			maxSize := testMaxSize
			if tt.kind == seal.ErrTooLarge {
				maxSize = 10
			}
			o, err := seal.Open(tt.raw, maxSize, tt.wantType, tt.ring)
			require.Error(t, err)
			assert.Nil(t, o)
			assert.ErrorIs(t, err, tt.kind)
			assert.Contains(t, err.Error(), tt.msg)
		})
	}
}

func partsOfSig(raw []byte) []byte {
	var env seal.Envelope
	if err := json.Unmarshal(raw, &env); err != nil {
		panic(err)
	}
	return env.Signatures[0].Sig
}
