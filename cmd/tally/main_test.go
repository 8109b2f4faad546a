package main

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tally/app/election"
	"tally/app/seal"
)

func TestElectionInspect(t *testing.T) {
	dir := t.TempDir()
	keys := map[string]*seal.PrivateKey{}
	for _, n := range []string{"definition", "receipt", "publication", "other"} {
		k, err := seal.GenerateKey(rand.Reader)
		require.NoError(t, err)
		keys[n] = k
		require.NoError(t, seal.WritePublicKeyFile(filepath.Join(dir, n+".pub"), k.Public()))
	}
	d, err := election.Demo(election.DemoOptions{Seed: 9, Kind: election.Municipal, Keys: election.Keys{
		Definition:  seal.EncodePublicKey(keys["definition"].Public()),
		Receipt:     seal.EncodePublicKey(keys["receipt"].Public()),
		Publication: seal.EncodePublicKey(keys["publication"].Public()),
	}})
	require.NoError(t, err)
	signed, err := election.Sign(d, keys["definition"])
	require.NoError(t, err)
	file := filepath.Join(dir, "election.json")
	require.NoError(t, os.WriteFile(file, signed, 0o644))
	fp := seal.Fingerprint(keys["definition"].ID())

	inspect := func(args ...string) (int, string, string) {
		var out, errOut bytes.Buffer
		code := run(append([]string{"election", "inspect"}, args...), strings.NewReader(""), &out, &errOut)
		return code, out.String(), errOut.String()
	}

	t.Run("OKKeys", func(t *testing.T) {
		code, out, _ := inspect(file, "--keys", filepath.Join(dir, "definition.pub"))
		assert.Equal(t, 0, code)
		assert.Contains(t, out, fp)
		assert.NotContains(t, out, "NOT CHECKED")
		assert.Contains(t, out, "2498 polling")
	})
	t.Run("OKUncheckedWarns", func(t *testing.T) {
		code, out, _ := inspect(file)
		assert.Equal(t, 0, code)
		assert.Contains(t, out, "NOT CHECKED")
	})
	t.Run("OKFingerprintJSON", func(t *testing.T) {
		code, out, _ := inspect(file, "--fingerprint", "  "+fp+" ", "--json")
		require.Equal(t, 0, code)
		var got inspection
		require.NoError(t, json.Unmarshal([]byte(out), &got))
		assert.True(t, got.Trusted)
		assert.Equal(t, 76, got.Totals.Contests)
		assert.Equal(t, d.Election.ID, got.Election)
	})
	t.Run("ErrOtherKey", func(t *testing.T) {
		code, _, errOut := inspect(file, "--keys", filepath.Join(dir, "other.pub"))
		assert.Equal(t, 1, code)
		assert.Contains(t, errOut, "fingerprint")
	})
	t.Run("ErrFingerprint", func(t *testing.T) {
		code, _, errOut := inspect(file, "--fingerprint", seal.Fingerprint(keys["other"].ID()))
		assert.Equal(t, 1, code)
		assert.Contains(t, errOut, "do not use this definition")
	})
	t.Run("ErrElection", func(t *testing.T) {
		code, _, errOut := inspect(file, "--election", "another")
		assert.Equal(t, 1, code)
		assert.Contains(t, errOut, "another")
	})
	t.Run("ErrBothTrusts", func(t *testing.T) {
		code, _, _ := inspect(file, "--keys", "x", "--fingerprint", "y")
		assert.Equal(t, 2, code)
	})
	t.Run("ErrNoFile", func(t *testing.T) {
		code, _, errOut := inspect(filepath.Join(dir, "missing.json"))
		assert.Equal(t, 1, code)
		assert.Contains(t, errOut, "missing.json")
	})
}
