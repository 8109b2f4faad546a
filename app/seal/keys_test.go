package seal_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tally/app/seal"
)

func TestKeyID(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		k := fixedKey(1)
		sum := sha256.Sum256(k.Public().Key)
		assert.Equal(t, hex.EncodeToString(sum[:]), seal.KeyID(k.Public().Key))
		assert.Equal(t, seal.KeyID(k.Public().Key), k.ID())
		assert.Equal(t, k.ID(), k.Public().ID)
		assert.Regexp(t, `^[0-9a-f]{64}$`, k.ID())
	})
	t.Run("DifferentKeys", func(t *testing.T) {
		assert.NotEqual(t, fixedKey(1).ID(), fixedKey(2).ID())
	})
}

func TestFingerprint(t *testing.T) {
	tests := []struct {
		name, keyID, want string
	}{
		{"OK", "3f2a09c1" + strings.Repeat("0123456789abcdef", 3) + "ffffffff",
			"3F2A 09C1 0123 4567 89AB CDEF 0123 4567 89AB CDEF"},
		{"Short", "abcdef", "ABCD EF"},
		{"Empty", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, seal.Fingerprint(tt.keyID))
		})
	}
	t.Run("OfKeyID", func(t *testing.T) {
		id := fixedKey(1).ID()
		fp := seal.Fingerprint(id)
		assert.Len(t, fp, 40+9)
		assert.Equal(t, strings.ToUpper(id[:40]), strings.ReplaceAll(fp, " ", ""))
	})
}

func TestGenerateKey(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		k, err := seal.GenerateKey(nil)
		require.NoError(t, err)
		other, err := seal.GenerateKey(nil)
		require.NoError(t, err)
		assert.NotEqual(t, k.ID(), other.ID())
	})
	t.Run("FromReader", func(t *testing.T) {
		seed := bytes.Repeat([]byte{7}, 32)
		k, err := seal.GenerateKey(bytes.NewReader(seed))
		require.NoError(t, err)
		assert.Equal(t, fixedKey(7).ID(), k.ID())
	})
	t.Run("ErrShortRandom", func(t *testing.T) {
		_, err := seal.GenerateKey(bytes.NewReader(make([]byte, 10)))
		require.Error(t, err)
	})
}

func TestPrivateKeyFromSeed(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		seed := bytes.Repeat([]byte{3}, 32)
		k, err := seal.PrivateKeyFromSeed(seed)
		require.NoError(t, err)
		want := ed25519.NewKeyFromSeed(seed).Public().(ed25519.PublicKey)
		assert.Equal(t, want, k.Public().Key)
	})
	t.Run("ErrSeedLength", func(t *testing.T) {
		_, err := seal.PrivateKeyFromSeed(make([]byte, 31))
		require.EqualError(t, err, "seal: private key seed is 31 bytes, want 32")
	})
	t.Run("PublicIsACopy", func(t *testing.T) {
		k := fixedKey(1)
		p := k.Public()
		p.Key[0] ^= 0xff
		assert.NotEqual(t, p.Key, k.Public().Key)
	})
}

func TestParsePublicKey(t *testing.T) {
	k := fixedKey(1)
	text := seal.EncodePublicKey(k.Public())
	b64 := strings.TrimPrefix(text, "ed25519:")

	t.Run("OK", func(t *testing.T) {
		require.True(t, strings.HasPrefix(text, "ed25519:"))
		assert.Equal(t, base64.StdEncoding.EncodeToString(k.Public().Key), b64)
		pub, err := seal.ParsePublicKey(text)
		require.NoError(t, err)
		assert.Equal(t, k.Public(), pub)
	})

	tests := []struct {
		name, in, msg string
	}{
		{"ErrEmpty", "", `does not start with "ed25519:"`},
		{"ErrPrefix", "ssh-ed25519:" + b64, `does not start with "ed25519:"`},
		{"ErrPrefixCase", "Ed25519:" + b64, `does not start with "ed25519:"`},
		{"ErrNoPrefix", b64, `does not start with "ed25519:"`},
		{"ErrBase64", "ed25519:" + b64[:10] + "!" + b64[11:], "not base64"},
		{"ErrUnpadded", "ed25519:" + strings.TrimRight(b64, "="), "not valid padded base64"},
		{"ErrLineBreak", "ed25519:" + b64[:20] + "\n" + b64[20:], "not base64"},
		{"ErrSpace", "ed25519: " + b64, "not base64"},
		{"ErrURLSafe", "ed25519:-" + b64[1:], "URL-safe"},
		{"ErrShort", "ed25519:" + base64.StdEncoding.EncodeToString(make([]byte, 31)), "public key is 31 bytes, want 32"},
		{"ErrLong", "ed25519:" + base64.StdEncoding.EncodeToString(make([]byte, 64)), "public key is 64 bytes, want 32"},
		{"ErrPaddingBits", "ed25519:" + b64[:42] + "B=", "not valid padded base64"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := seal.ParsePublicKey(tt.in)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.msg)
			assert.True(t, strings.HasPrefix(err.Error(), "seal: public key"), err.Error())
		})
	}
}

func TestPublicKeyJSON(t *testing.T) {
	type doc struct {
		Receipt seal.PublicKey `json:"receipt"`
	}
	k := fixedKey(2).Public()

	t.Run("OK", func(t *testing.T) {
		raw, err := json.Marshal(doc{Receipt: k})
		require.NoError(t, err)
		assert.JSONEq(t, `{"receipt":"`+seal.EncodePublicKey(k)+`"}`, string(raw))
		var back doc
		require.NoError(t, json.Unmarshal(raw, &back))
		assert.Equal(t, k, back.Receipt)
	})
	t.Run("ErrInvalid", func(t *testing.T) {
		var back doc
		err := json.Unmarshal([]byte(`{"receipt":"ed25519:AAAA"}`), &back)
		require.ErrorContains(t, err, "public key is 3 bytes")
	})
	t.Run("ErrMarshalEmpty", func(t *testing.T) {
		_, err := json.Marshal(doc{})
		require.Error(t, err)
	})
}

func TestKeyring(t *testing.T) {
	a, b := fixedKey(1).Public(), fixedKey(2).Public()

	t.Run("OK", func(t *testing.T) {
		r, err := seal.NewKeyring(a)
		require.NoError(t, err)
		got, ok := r.Lookup(a.ID)
		require.True(t, ok)
		assert.Equal(t, a, got)
		_, ok = r.Lookup(b.ID)
		assert.False(t, ok)

		require.NoError(t, r.Add(b))
		require.NoError(t, r.Add(b))
		_, ok = r.Lookup(b.ID)
		assert.True(t, ok)
		assert.Equal(t, 2, r.Len())
	})
	t.Run("NilAndZero", func(t *testing.T) {
		var nilRing *seal.Keyring
		_, ok := nilRing.Lookup(a.ID)
		assert.False(t, ok)
		var zero seal.Keyring
		require.NoError(t, zero.Add(a))
		_, ok = zero.Lookup(a.ID)
		assert.True(t, ok)
	})
	t.Run("ErrWrongLength", func(t *testing.T) {
		short := seal.PublicKey{Key: a.Key[:31], ID: seal.KeyID(a.Key[:31])}
		_, err := seal.NewKeyring(short)
		require.EqualError(t, err, "seal: public key is 31 bytes, want 32")
	})
	t.Run("ErrIDMismatch", func(t *testing.T) {
		_, err := seal.NewKeyring(seal.PublicKey{Key: a.Key, ID: b.ID})
		require.ErrorContains(t, err, "does not belong to the key")
	})
	t.Run("ErrNoID", func(t *testing.T) {
		_, err := seal.NewKeyring(seal.PublicKey{Key: a.Key})
		require.ErrorContains(t, err, "does not belong to the key")
	})
	t.Run("NewPublicKey", func(t *testing.T) {
		p, err := seal.NewPublicKey(a.Key)
		require.NoError(t, err)
		assert.Equal(t, a, p)
		_, err = seal.NewPublicKey(a.Key[:5])
		require.Error(t, err)
	})
}

func TestPrivateKeyFile(t *testing.T) {
	k := fixedKey(5)

	t.Run("OK", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "receipt.key")
		require.NoError(t, seal.WritePrivateKeyFile(path, k))
		fi, err := os.Stat(path)
		require.NoError(t, err)
		if runtime.GOOS != "windows" {
			assert.Equal(t, fs.FileMode(0o600), fi.Mode().Perm())
		}
		got, err := seal.ReadPrivateKeyFile(path)
		require.NoError(t, err)
		assert.Equal(t, k.ID(), got.ID())

		var f map[string]string
		raw, err := os.ReadFile(path)
		require.NoError(t, err)
		require.NoError(t, json.Unmarshal(raw, &f))
		assert.Equal(t, map[string]string{
			"algorithm": "ed25519",
			"keyid":     k.ID(),
			"seed":      base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{5}, 32)),
		}, f)

		entries, err := os.ReadDir(filepath.Dir(path))
		require.NoError(t, err)
		assert.Len(t, entries, 1, "no temporary file left behind")
	})
	t.Run("ErrExists", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "receipt.key")
		require.NoError(t, os.WriteFile(path, []byte("keep me"), 0o600))
		err := seal.WritePrivateKeyFile(path, k)
		require.ErrorIs(t, err, fs.ErrExist)
		assert.ErrorContains(t, err, "refusing to overwrite")
		raw, err := os.ReadFile(path)
		require.NoError(t, err)
		assert.Equal(t, "keep me", string(raw))
		entries, err := os.ReadDir(filepath.Dir(path))
		require.NoError(t, err)
		assert.Len(t, entries, 1, "no temporary file left behind")
	})
	t.Run("ErrNoDirectory", func(t *testing.T) {
		err := seal.WritePrivateKeyFile(filepath.Join(t.TempDir(), "missing", "k.key"), k)
		require.Error(t, err)
	})
	t.Run("ErrGroupReadable", func(t *testing.T) {
		if runtime.GOOS == "windows" {
			t.Skip("no group and other permission bits on Windows")
		}
		path := filepath.Join(t.TempDir(), "receipt.key")
		require.NoError(t, seal.WritePrivateKeyFile(path, k))
		require.NoError(t, os.Chmod(path, 0o640))
		_, err := seal.ReadPrivateKeyFile(path)
		require.ErrorContains(t, err, "is accessible by group or others (mode 0640)")
	})

	write := func(t *testing.T, content string) string {
		path := filepath.Join(t.TempDir(), "k.key")
		require.NoError(t, os.WriteFile(path, []byte(content), 0o600))
		return path
	}
	seed := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{5}, 32))
	tests := []struct {
		name, content, msg string
	}{
		{"ErrKeyIDMismatch", `{"algorithm":"ed25519","keyid":"` + fixedKey(6).ID() + `","seed":"` + seed + `"}`, "does not match the key"},
		{"ErrAlgorithm", `{"algorithm":"rsa","keyid":"` + k.ID() + `","seed":"` + seed + `"}`, `algorithm "rsa", want "ed25519"`},
		{"ErrUnknownField", `{"algorithm":"ed25519","keyid":"` + k.ID() + `","seed":"` + seed + `","note":"x"}`, "unknown field"},
		{"ErrTrailing", `{"algorithm":"ed25519","keyid":"` + k.ID() + `","seed":"` + seed + `"} {}`, "trailing data"},
		{"ErrSeedBase64", `{"algorithm":"ed25519","keyid":"` + k.ID() + `","seed":"***"}`, "seed: not base64"},
		{"ErrSeedLength", `{"algorithm":"ed25519","keyid":"` + k.ID() + `","seed":"AAAA"}`, "seed is 3 bytes"},
		{"ErrNotJSON", `ed25519 ` + seed, "not a key file"},
		{"ErrTooLarge", strings.Repeat(" ", 5000), "larger than 4096 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := seal.ReadPrivateKeyFile(write(t, tt.content))
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.msg)
		})
	}
	t.Run("ErrMissing", func(t *testing.T) {
		_, err := seal.ReadPrivateKeyFile(filepath.Join(t.TempDir(), "none.key"))
		require.ErrorIs(t, err, fs.ErrNotExist)
	})
}

func TestPublicKeyFile(t *testing.T) {
	pub := fixedKey(5).Public()

	t.Run("OK", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "receipt.pub")
		require.NoError(t, seal.WritePublicKeyFile(path, pub))
		got, err := seal.ReadPublicKeyFile(path)
		require.NoError(t, err)
		assert.Equal(t, pub, got)

		var f map[string]string
		raw, err := os.ReadFile(path)
		require.NoError(t, err)
		require.NoError(t, json.Unmarshal(raw, &f))
		assert.Equal(t, map[string]string{
			"algorithm":  "ed25519",
			"keyid":      pub.ID,
			"public_key": seal.EncodePublicKey(pub),
		}, f)
	})
	t.Run("ErrExists", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "receipt.pub")
		require.NoError(t, seal.WritePublicKeyFile(path, pub))
		require.ErrorIs(t, seal.WritePublicKeyFile(path, fixedKey(6).Public()), fs.ErrExist)
	})
	t.Run("ErrKeyIDMismatch", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "receipt.pub")
		content := `{"algorithm":"ed25519","keyid":"` + fixedKey(6).ID() + `","public_key":"` + seal.EncodePublicKey(pub) + `"}`
		require.NoError(t, os.WriteFile(path, []byte(content), 0o644))
		_, err := seal.ReadPublicKeyFile(path)
		require.ErrorContains(t, err, "does not match the key")
	})
	t.Run("ErrInvalidKey", func(t *testing.T) {
		err := seal.WritePublicKeyFile(filepath.Join(t.TempDir(), "x.pub"), seal.PublicKey{})
		require.Error(t, err)
	})
}

func TestMatchesFingerprint(t *testing.T) {
	id := seal.KeyID(make([]byte, 32))
	fp := seal.Fingerprint(id)
	other := "0"
	if strings.HasSuffix(fp, "0") {
		other = "1"
	}
	for _, tc := range []struct {
		name  string
		typed string
		want  bool
	}{
		{"OK", fp, true},
		{"OKLowercaseNoSpaces", strings.ToLower(strings.ReplaceAll(fp, " ", "")), true},
		{"OKExtraSpaces", "  " + strings.ReplaceAll(fp, " ", "   ") + "\n", true},
		{"ErrOneDigit", fp[:len(fp)-1] + other, false},
		{"ErrPrefixOnly", fp[:20], false},
		{"ErrEmpty", "", false},
		{"ErrWholeKeyID", id, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, seal.MatchesFingerprint(tc.typed, id))
		})
	}
}
