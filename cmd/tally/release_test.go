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

	"tally/app/release"
	"tally/app/seal"
)

func TestVerifyRelease(t *testing.T) {
	key, err := seal.GenerateKey(rand.Reader)
	require.NoError(t, err)
	other, err := seal.GenerateKey(rand.Reader)
	require.NoError(t, err)
	tmp := t.TempDir()
	pub := filepath.Join(tmp, "release.pub")
	require.NoError(t, seal.WritePublicKeyFile(pub, key.Public()))
	otherPub := filepath.Join(tmp, "other.pub")
	require.NoError(t, seal.WritePublicKeyFile(otherPub, other.Public()))
	installed := filepath.Join(tmp, "tallyd")
	require.NoError(t, os.WriteFile(installed, []byte("the server"), 0o755))
	stranger := filepath.Join(tmp, "stranger")
	require.NoError(t, os.WriteFile(stranger, []byte("something else"), 0o755))

	// newRelease writes a release directory signed with key.
	newRelease := func(t *testing.T) string {
		dir := t.TempDir()
		m := &release.Manifest{Product: "tally", Version: "1.2.3", Commit: "0123abcd", SourceDateEpoch: 1767225600, Toolchain: "go1.26.8"}
		for name, data := range map[string]string{"tallyd_1.2.3_amd64.deb": "a package", "tally-1.2.3-windows-amd64-setup.exe": "an installer"} {
			require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644))
			sum, err := release.HashFile(filepath.Join(dir, name))
			require.NoError(t, err)
			f := release.File{Name: name, Size: int64(len(data)), SHA256: sum}
			if strings.HasSuffix(name, ".deb") {
				in, err := release.HashFile(installed)
				require.NoError(t, err)
				f.Installs = []release.Installed{{Path: "usr/bin/tallyd", SHA256: in}}
			}
			m.Files = append(m.Files, f)
		}
		env, err := release.Sign(m, key)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dir, release.ManifestFile), env, 0o644))
		require.NoError(t, os.WriteFile(filepath.Join(dir, release.SumsFile), release.Sums(m.Files), 0o644))
		require.NoError(t, seal.WritePublicKeyFile(filepath.Join(dir, release.KeyFile), key.Public()))
		return dir
	}
	verify := func(args ...string) (int, string, string) {
		var out, errOut bytes.Buffer
		code := run(append([]string{"verify-release"}, args...), strings.NewReader(""), &out, &errOut)
		return code, out.String(), errOut.String()
	}

	t.Run("OK", func(t *testing.T) {
		dir := newRelease(t)
		code, out, errOut := verify(dir, "--key", pub, installed)
		require.Equal(t, 0, code, errOut)
		assert.Contains(t, out, "release 1.2.3 of tally, commit 0123abcd")
		assert.Contains(t, out, "signed by release key "+seal.Fingerprint(key.ID()))
		assert.Contains(t, out, "ok      tallyd_1.2.3_amd64.deb\n")
		assert.Contains(t, out, installed+" is tallyd_1.2.3_amd64.deb: usr/bin/tallyd")
		assert.NotContains(t, out, "FAILED")
	})
	t.Run("OKFingerprintJSON", func(t *testing.T) {
		dir := newRelease(t)
		code, out, errOut := verify(dir, "--fingerprint", strings.ToLower(seal.Fingerprint(key.ID())), "--json")
		require.Equal(t, 0, code, errOut)
		var got releaseCheck
		require.NoError(t, json.Unmarshal([]byte(out), &got))
		assert.True(t, got.OK)
		assert.Equal(t, "1.2.3", got.Version)
		assert.Len(t, got.Files, 3) // SHA256SUMS and the two artifacts
	})
	t.Run("ErrTampered", func(t *testing.T) {
		dir := newRelease(t)
		require.NoError(t, os.WriteFile(filepath.Join(dir, "tallyd_1.2.3_amd64.deb"), []byte("a packagE"), 0o644))
		code, out, errOut := verify(dir, "--key", pub)
		assert.Equal(t, 1, code)
		assert.Contains(t, out, "FAILED  tallyd_1.2.3_amd64.deb: sha256")
		assert.Contains(t, out, "ok      tally-1.2.3-windows-amd64-setup.exe")
		assert.Contains(t, errOut, "1 file does not match the signed manifest: tallyd_1.2.3_amd64.deb (sha256")
	})
	t.Run("ErrUnknownInstalledFile", func(t *testing.T) {
		dir := newRelease(t)
		code, out, errOut := verify(dir, "--key", pub, installed, stranger)
		assert.Equal(t, 1, code)
		assert.Contains(t, out, "FAILED  "+stranger+": not a file of this release")
		assert.Contains(t, errOut, "no file of release 1.2.3 has the content of "+stranger)
	})
	t.Run("ErrOtherKey", func(t *testing.T) {
		dir := newRelease(t)
		code, _, errOut := verify(dir, "--key", otherPub)
		assert.Equal(t, 1, code)
		assert.Contains(t, errOut, release.ManifestFile)
		assert.Contains(t, errOut, "no signature by a trusted key")
	})
	t.Run("ErrFingerprint", func(t *testing.T) {
		dir := newRelease(t)
		code, _, errOut := verify(dir, "--fingerprint", seal.Fingerprint(other.ID()))
		assert.Equal(t, 1, code)
		assert.Contains(t, errOut, "not the "+seal.Fingerprint(other.ID())+" given")
	})
	t.Run("ErrUsage", func(t *testing.T) {
		dir := newRelease(t)
		for _, args := range [][]string{{}, {"--key", pub}, {dir}, {dir, "--key", pub, "--fingerprint", "AB"}} {
			code, _, errOut := verify(args...)
			assert.Equal(t, 2, code, "%q", args)
			assert.Contains(t, errOut, "verify-release", "%q", args)
		}
	})
}
