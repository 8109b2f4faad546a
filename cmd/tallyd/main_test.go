package main

import (
	"bytes"
	"encoding/csv"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tally/app/election"
	"tally/app/seal"
)

func TestElectionDemo(t *testing.T) {
	dir := t.TempDir()
	var out, errOut bytes.Buffer
	require.Equal(t, 0, run([]string{"election", "demo", "--out", dir, "--seed", "5"}, &out, &errOut), errOut.String())
	assert.Contains(t, out.String(), "2498 polling")

	raw, err := os.ReadFile(filepath.Join(dir, definitionFile))
	require.NoError(t, err)
	pub, err := seal.ReadPublicKeyFile(filepath.Join(dir, keysDir, "definition.pub"))
	require.NoError(t, err)
	d, err := election.OpenSigned(raw, election.Trust{DefinitionKeyID: pub.ID})
	require.NoError(t, err)
	assert.Equal(t, "demo-assembly-5", d.Election.ID)
	for _, name := range commissionKeys {
		k, err := seal.ReadPrivateKeyFile(filepath.Join(dir, keysDir, name+".key"))
		require.NoError(t, err)
		assert.Contains(t, []string{d.Election.Keys.Definition, d.Election.Keys.Receipt, d.Election.Keys.Publication},
			seal.EncodePublicKey(k.Public()))
	}

	f, err := os.Open(filepath.Join(dir, codesFile))
	require.NoError(t, err)
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	require.NoError(t, err)
	assert.Len(t, rows, 1+len(d.Municipalities)+len(d.Stations), "a code per supervisor and per station")
	codes := map[string]bool{}
	for _, r := range rows[1:] {
		assert.False(t, codes[r[4]], "code %s twice", r[4])
		codes[r[4]] = true
	}
	info, err := f.Stat()
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), info.Mode().Perm())

	t.Run("ErrExists", func(t *testing.T) {
		var errOut bytes.Buffer
		assert.Equal(t, 1, run([]string{"election", "demo", "--out", dir}, &bytes.Buffer{}, &errOut))
		assert.Contains(t, errOut.String(), "--force")
		again, err := os.ReadFile(filepath.Join(dir, definitionFile))
		require.NoError(t, err)
		assert.Equal(t, raw, again, "nothing changed")
	})

	t.Run("OKForce", func(t *testing.T) {
		var errOut bytes.Buffer
		require.Equal(t, 0, run([]string{"election", "demo", "--out", dir, "--kind", "municipal", "--force"}, &bytes.Buffer{}, &errOut), errOut.String())
		again, err := os.ReadFile(filepath.Join(dir, definitionFile))
		require.NoError(t, err)
		assert.NotEqual(t, raw, again)
	})
}

func TestUsage(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		code int
		says string
	}{
		{"ErrNoCommand", nil, 2, "no command"},
		{"ErrUnknown", []string{"serve-forever"}, 2, "serve-forever"},
		{"ErrNoOut", []string{"election", "demo"}, 2, "--out"},
		{"ErrKind", []string{"election", "demo", "--out", "x", "--kind", "presidential"}, 2, "presidential"},
		{"ErrFlag", []string{"election", "demo", "--colour"}, 2, "colour"},
		{"ErrStray", []string{"election", "demo", "--out", "x", "extra"}, 2, "extra"},
		{"OKVersion", []string{"version"}, 0, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			assert.Equal(t, tc.code, run(tc.args, &out, &errOut))
			assert.Contains(t, errOut.String(), tc.says)
		})
	}
}
