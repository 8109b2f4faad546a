package seal_test

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"tally/app/seal"
)

// envelopeSeeds are the seed corpus of the envelope fuzz targets: valid
// envelopes, their truncations, tampered variants and every malformed case
// of the table tests.
func envelopeSeeds() (seeds [][]byte, signed map[string]bool) {
	station, other := fixedKey(1), fixedKey(2)
	payloads := [][]byte{
		[]byte(`{"station":"0101A"}`),
		samplePayload(600),
		{0xfb, 0xff, 0xbf, 0x01},
	}
	signed = make(map[string]bool)
	for _, p := range payloads {
		signed[string(p)] = true
		one := mustSign(submissionType, p, station)
		two := mustSign(submissionType, p, other, station)
		seeds = append(seeds, one, two, mustSign(receiptType, p, station), mustSign(submissionType, p, other))
		for _, n := range []int{0, 1, len(one) / 3, len(one) / 2, len(one) - 2, len(one) - 1} {
			seeds = append(seeds, one[:n])
		}
		seeds = append(seeds, mutate(one, func(e *seal.Envelope) { e.Signatures[0].Sig[0] ^= 1 }))
		seeds = append(seeds, mutate(one, func(e *seal.Envelope) { e.Payload = append(e.Payload, ' ') }))
		url := strings.NewReplacer("+", "-", "/", "_")
		seeds = append(seeds, []byte(url.Replace(string(one))))
	}
	for _, c := range malformedEnvelopes() {
		seeds = append(seeds, c.raw)
	}
	seeds = append(seeds, escapedEnvelopes()...)
	return seeds, signed
}

func FuzzParseEnvelope(f *testing.F) {
	seeds, _ := envelopeSeeds()
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		env, err := seal.Parse(raw, testMaxSize)
		if err != nil {
			if env != nil {
				t.Fatal("envelope and error both returned")
			}
			if !errors.Is(err, seal.ErrMalformed) && !errors.Is(err, seal.ErrTooLarge) {
				t.Fatalf("parse error wraps no parse sentinel: %v", err)
			}
			if !strings.HasPrefix(err.Error(), "envelope: ") {
				t.Fatalf("error without the envelope prefix: %v", err)
			}
			return
		}
		if !json.Valid(raw) {
			t.Fatalf("accepted invalid JSON: %q", raw)
		}
		// What Parse accepts, encoding/json must read the same way.
		var std struct {
			PayloadType string `json:"payloadType"`
			Payload     string `json:"payload"`
			Signatures  []struct {
				KeyID string `json:"keyid"`
				Sig   string `json:"sig"`
			} `json:"signatures"`
		}
		if err := json.Unmarshal(raw, &std); err != nil {
			t.Fatalf("encoding/json refuses what Parse accepts: %v", err)
		}
		if std.PayloadType != env.PayloadType || !isBase64Of(std.Payload, env.Payload) || len(std.Signatures) != len(env.Signatures) {
			t.Fatalf("encoding/json reads %+v, Parse %+v", std, env)
		}
		for i, s := range std.Signatures {
			if s.KeyID != env.Signatures[i].KeyID || !isBase64Of(s.Sig, env.Signatures[i].Sig) {
				t.Fatalf("signature %d: encoding/json reads %+v, Parse %+v", i, s, env.Signatures[i])
			}
		}
		if len(env.Signatures) == 0 || len(env.Signatures) > seal.MaxSignatures || len(env.Payload) == 0 {
			t.Fatalf("accepted an envelope out of bounds: %+v", env)
		}
		for _, s := range env.Signatures {
			if len(s.Sig) != ed25519.SignatureSize || len(s.KeyID) != 64 {
				t.Fatalf("accepted a malformed signature: %+v", s)
			}
		}
		again, err := json.Marshal(env)
		if err != nil {
			t.Fatalf("marshal a parsed envelope: %v", err)
		}
		env2, err := seal.Parse(again, len(again))
		if err != nil {
			t.Fatalf("re-parse %q: %v", again, err)
		}
		if env.PayloadType != env2.PayloadType || !bytes.Equal(env.Payload, env2.Payload) || len(env.Signatures) != len(env2.Signatures) {
			t.Fatalf("round trip changed the envelope: %+v != %+v", env, env2)
		}
		for i := range env.Signatures {
			if env.Signatures[i].KeyID != env2.Signatures[i].KeyID || !bytes.Equal(env.Signatures[i].Sig, env2.Signatures[i].Sig) {
				t.Fatalf("round trip changed signature %d", i)
			}
		}
	})
}

// isBase64Of reports whether s is the padded standard or URL-safe base64
// of b.
func isBase64Of(s string, b []byte) bool {
	return s == base64.StdEncoding.EncodeToString(b) || s == base64.URLEncoding.EncodeToString(b)
}

func FuzzOpenEnvelope(f *testing.F) {
	seeds, signed := envelopeSeeds()
	for _, s := range seeds {
		f.Add(s)
	}
	station := fixedKey(1)
	ring := fixedRing(station)
	f.Fuzz(func(t *testing.T, raw []byte) {
		o, err := seal.Open(raw, testMaxSize, submissionType, ring)
		if err != nil {
			if o != nil {
				t.Fatal("opened envelope and error both returned")
			}
			return
		}
		// Only the station key signs, and only these payloads: whatever
		// opens must be one of them, signed by it, whole.
		if !signed[string(o.Payload)] {
			t.Fatalf("opened a payload nobody signed: %q", o.Payload)
		}
		if o.PayloadType != submissionType {
			t.Fatalf("opened payload type %q", o.PayloadType)
		}
		if len(o.SignedBy) != 1 || o.SignedBy[0] != station.ID() {
			t.Fatalf("signed by %v", o.SignedBy)
		}
		if o.Digest != seal.Digest(raw) {
			t.Fatal("digest is not of the raw bytes")
		}
		env, err := seal.Parse(raw, testMaxSize)
		if err != nil {
			t.Fatalf("Open accepted what Parse refuses: %v", err)
		}
		for _, s := range env.Signatures {
			if s.KeyID == station.ID() && !ed25519.Verify(station.Public().Key, seal.PAE(o.PayloadType, o.Payload), s.Sig) {
				t.Fatal("accepted a bad signature by the trusted key")
			}
		}
	})
}

func FuzzOpenVault(f *testing.F) {
	vault := fixedVault()
	f.Add(vault, testPIN)
	f.Add(vault, []byte("739252"))
	f.Add(vault, []byte{})
	for _, n := range []int{0, 8, 9, 18, 57, 58, 105} {
		f.Add(vault[:n], testPIN)
	}
	f.Add(append(bytes.Clone(vault), 0), testPIN)
	for _, i := range []int{0, 8, 12, 16, 17, 20, 60, 105} {
		v := bytes.Clone(vault)
		v[i] ^= 0x01
		f.Add(v, testPIN)
	}
	f.Add(withParams(vault, 1, 1<<20+1, 1), testPIN)
	f.Add(withParams(vault, 0, 64, 1), testPIN)
	f.Add(withParams(vault, 1, 31, 4), testPIN)
	f.Add(withParams(vault, 2, 64, 1), testPIN)

	wantID := fixedKey(9).ID()
	f.Fuzz(func(t *testing.T, data, pin []byte) {
		if len(data) >= 18 {
			// Parameters within bounds but costly would make each run
			// take seconds; their bounds are checked by the table tests.
			cost := binary.BigEndian.Uint32(data[9:])
			mem := binary.BigEndian.Uint32(data[13:])
			threads := data[17]
			if cost <= 64 && mem <= 1<<20 && threads >= 1 && threads <= 64 && (cost > 4 || mem > 1024 || threads > 4) {
				t.Skip("costly parameters")
			}
		}
		k, err := seal.OpenVault(data, pin)
		if err != nil {
			if k != nil {
				t.Fatal("key and error both returned")
			}
			if !errors.Is(err, seal.ErrWrongPIN) && !errors.Is(err, seal.ErrVaultCorrupt) {
				t.Fatalf("error wraps neither ErrWrongPIN nor ErrVaultCorrupt: %v", err)
			}
			return
		}
		if !bytes.Equal(data, vault) || !bytes.Equal(pin, testPIN) {
			t.Fatalf("opened with pin %q and data %x", pin, data)
		}
		if k.ID() != wantID {
			t.Fatal("opened to another key")
		}
	})
}

func FuzzParsePublicKey(f *testing.F) {
	k := fixedKey(1)
	text := seal.EncodePublicKey(k.Public())
	f.Add(text)
	f.Add(strings.TrimPrefix(text, "ed25519:"))
	f.Add(strings.TrimRight(text, "="))
	f.Add(text[:20] + "\n" + text[20:])
	f.Add("ed25519:-" + text[9:])
	f.Add("ed25519:AAAA")
	f.Add("")
	f.Add("ed25519:")
	f.Fuzz(func(t *testing.T, s string) {
		pub, err := seal.ParsePublicKey(s)
		if err != nil {
			return
		}
		if len(pub.Key) != ed25519.PublicKeySize || pub.ID != seal.KeyID(pub.Key) {
			t.Fatalf("parsed an inconsistent key from %q", s)
		}
		if again := seal.EncodePublicKey(pub); again != s {
			t.Fatalf("text form is not canonical: %q parsed, %q written", s, again)
		}
	})
}
