package election_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tally/app/election"
	"tally/app/seal"
)

func TestSignedDefinition(t *testing.T) {
	_, keys := demoKeys(t)
	d := demo(t, election.Assembly, 3)
	signed, err := election.Sign(d, keys["definition"])
	require.NoError(t, err)
	trusted := election.Trust{DefinitionKeyID: keys["definition"].ID(), ElectionID: d.Election.ID}

	t.Run("OK", func(t *testing.T) {
		got, err := election.OpenSigned(signed, trusted)
		require.NoError(t, err)
		assert.Equal(t, d.Totals(), got.Totals())
		assert.Equal(t, d.Election, got.Election)
	})

	t.Run("OKUntrustedFirstImport", func(t *testing.T) {
		got, err := election.OpenSigned(signed, election.Trust{})
		require.NoError(t, err)
		assert.Equal(t, d.Election.ID, got.Election.ID)
	})

	t.Run("ErrSignWithOtherKey", func(t *testing.T) {
		_, err := election.Sign(d, keys["receipt"])
		assert.ErrorContains(t, err, "not the definition key")
	})

	t.Run("ErrFingerprint", func(t *testing.T) {
		_, err := election.OpenSigned(signed, election.Trust{DefinitionKeyID: keys["receipt"].ID()})
		ps := problemsOf(t, err)
		assert.Equal(t, election.ProblemFingerprintMismatch, ps[0].Code)
		assert.True(t, election.IsSignatureProblem(err))
	})

	t.Run("ErrWrongElection", func(t *testing.T) {
		_, err := election.OpenSigned(signed, election.Trust{ElectionID: "another-election"})
		ps := problemsOf(t, err)
		assert.Equal(t, election.ProblemWrongElection, ps[0].Code)
		assert.False(t, election.IsSignatureProblem(err))
	})

	// A forger replaces the definition key with their own and signs: the
	// envelope verifies under the key it names, but not the trusted one.
	t.Run("ErrForgedKey", func(t *testing.T) {
		forger, err := seal.PrivateKeyFromSeed(bytes.Repeat([]byte{9}, 32))
		require.NoError(t, err)
		f := roundTrip(t, d)
		f.Election.Keys.Definition = seal.EncodePublicKey(forger.Public())
		forged, err := election.Sign(f, forger)
		require.NoError(t, err)
		_, err = election.OpenSigned(forged, trusted)
		assert.Equal(t, election.ProblemFingerprintMismatch, problemsOf(t, err)[0].Code)
	})

	t.Run("ErrTamperedPayload", func(t *testing.T) {
		var env map[string]any
		require.NoError(t, json.Unmarshal(signed, &env))
		payload, err := base64.StdEncoding.DecodeString(env["payload"].(string))
		require.NoError(t, err)
		payload = bytes.Replace(payload, []byte(`"registered":`), []byte(`"registered":1`), 1)
		env["payload"] = base64.StdEncoding.EncodeToString(payload)
		tampered, err := json.Marshal(env)
		require.NoError(t, err)
		_, err = election.OpenSigned(tampered, trusted)
		assert.Equal(t, election.ProblemBadSignature, problemsOf(t, err)[0].Code)
	})

	t.Run("ErrTruncated", func(t *testing.T) {
		_, err := election.OpenSigned(signed[:len(signed)-10], trusted)
		assert.Equal(t, election.ProblemBadSignature, problemsOf(t, err)[0].Code)
	})

	t.Run("ErrPayloadType", func(t *testing.T) {
		raw, err := json.Marshal(d)
		require.NoError(t, err)
		other, err := seal.Sign(election.SubmissionPayloadType, raw, keys["definition"])
		require.NoError(t, err)
		_, err = election.OpenSigned(other, trusted)
		assert.Equal(t, election.ProblemBadSignature, problemsOf(t, err)[0].Code)
	})

	t.Run("ErrSignedButInvalid", func(t *testing.T) {
		bad := roundTrip(t, d)
		bad.Stations[0].Registered = 9000
		signedBad, err := election.Sign(bad, keys["definition"])
		require.NoError(t, err)
		got, err := election.OpenSigned(signedBad, trusted)
		assert.Nil(t, got)
		assert.Equal(t, "$.stations[0].registered", problemsOf(t, err)[0].Path)
	})
}

func BenchmarkOpenSignedDefinition(b *testing.B) {
	_, keys := demoKeys(b)
	signed, err := election.Sign(demo(b, election.Assembly, 1), keys["definition"])
	require.NoError(b, err)
	b.SetBytes(int64(len(signed)))
	for b.Loop() {
		if _, err := election.OpenSigned(signed, election.Trust{DefinitionKeyID: keys["definition"].ID()}); err != nil {
			b.Fatal(err)
		}
	}
}
