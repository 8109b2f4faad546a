package seal_test

import (
	"crypto/ed25519"
	"testing"

	"tally/app/seal"
)

// The envelope benchmarks use a submission-sized payload of about 2 KB.
// Compare BenchmarkOpen with BenchmarkEd25519VerifyBare: the server's
// ingest goal is stated as a fraction of the bare verify rate.

func BenchmarkSign(b *testing.B) {
	k := fixedKey(1)
	payload := samplePayload(2048)
	b.SetBytes(int64(len(payload)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := seal.Sign(submissionType, payload, k); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkOpen(b *testing.B) {
	k := fixedKey(1)
	raw := mustSign(submissionType, samplePayload(2048), k)
	ring := fixedRing(k)
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := seal.Open(raw, testMaxSize, submissionType, ring); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParse(b *testing.B) {
	raw := mustSign(submissionType, samplePayload(2048), fixedKey(1))
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := seal.Parse(raw, testMaxSize); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEd25519VerifyBare(b *testing.B) {
	k := fixedKey(1)
	pae := seal.PAE(submissionType, samplePayload(2048))
	sig := ed25519.Sign(ed25519.NewKeyFromSeed(make32(1)), pae)
	pub := k.Public().Key
	b.SetBytes(int64(len(pae)))
	b.ReportAllocs()
	for b.Loop() {
		if !ed25519.Verify(pub, pae, sig) {
			b.Fatal("does not verify")
		}
	}
}

func BenchmarkVaultOpenDefault(b *testing.B) {
	vault, err := seal.SealVault(fixedKey(9), testPIN, seal.DefaultKDF, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := seal.OpenVault(vault, testPIN); err != nil {
			b.Fatal(err)
		}
	}
}

// make32 is the seed of fixedKey(n).
func make32(n byte) []byte {
	s := make([]byte, 32)
	for i := range s {
		s[i] = n
	}
	return s
}
