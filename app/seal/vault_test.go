package seal_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tally/app/seal"
)

// tinyKDF keeps the tests fast; DefaultKDF is measured by a benchmark.
var tinyKDF = seal.KDFParams{Time: 1, MemoryKiB: 64, Threads: 1}

var testPIN = []byte("739251")

// saltAndNonce is the fixed randomness of test vaults: 16 bytes of salt,
// then 24 bytes of nonce.
func saltAndNonce() []byte {
	b := make([]byte, 40)
	for i := range b {
		b[i] = byte(i * 7)
	}
	return b
}

// fixedVault is the vault of fixedKey(9) under testPIN and tinyKDF.
func fixedVault() []byte {
	v, err := seal.SealVault(fixedKey(9), testPIN, tinyKDF, bytes.NewReader(saltAndNonce()))
	if err != nil {
		panic(err)
	}
	return v
}

// withParams returns a copy of vault with its KDF parameters replaced.
func withParams(vault []byte, time, memoryKiB uint32, threads uint8) []byte {
	v := bytes.Clone(vault)
	binary.BigEndian.PutUint32(v[9:], time)
	binary.BigEndian.PutUint32(v[13:], memoryKiB)
	v[17] = threads
	return v
}

func TestDefaultKDF(t *testing.T) {
	assert.Equal(t, seal.KDFParams{Time: 3, MemoryKiB: 64 * 1024, Threads: 4}, seal.DefaultKDF)
}

func TestSealVault(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		v := fixedVault()
		require.Len(t, v, seal.VaultSize)
		assert.Equal(t, 106, seal.VaultSize)
		assert.Equal(t, "TALLYKV1", string(v[:8]))
		assert.Equal(t, byte(1), v[8])
		assert.Equal(t, uint32(1), binary.BigEndian.Uint32(v[9:]))
		assert.Equal(t, uint32(64), binary.BigEndian.Uint32(v[13:]))
		assert.Equal(t, byte(1), v[17])
		assert.Equal(t, saltAndNonce(), v[18:58], "salt then nonce")
		assert.NotContains(t, string(v), string(bytes.Repeat([]byte{9}, 32)), "the seed is not in the clear")

		params, err := seal.VaultKDF(v)
		require.NoError(t, err)
		assert.Equal(t, tinyKDF, params)
	})
	t.Run("FreshSaltEachTime", func(t *testing.T) {
		a, err := seal.SealVault(fixedKey(9), testPIN, tinyKDF, nil)
		require.NoError(t, err)
		b, err := seal.SealVault(fixedKey(9), testPIN, tinyKDF, nil)
		require.NoError(t, err)
		assert.NotEqual(t, a[18:58], b[18:58])
		assert.NotEqual(t, a[58:], b[58:])
	})
	t.Run("ErrEmptyPIN", func(t *testing.T) {
		_, err := seal.SealVault(fixedKey(9), nil, tinyKDF, nil)
		require.ErrorIs(t, err, seal.ErrPINTooShort)
	})
	t.Run("ErrNoKey", func(t *testing.T) {
		_, err := seal.SealVault(nil, testPIN, tinyKDF, nil)
		require.Error(t, err)
	})
	t.Run("ErrParams", func(t *testing.T) {
		_, err := seal.SealVault(fixedKey(9), testPIN, seal.KDFParams{Time: 0, MemoryKiB: 64, Threads: 1}, nil)
		require.ErrorContains(t, err, "vault: KDF parameters: time 0 is outside 1–64")
	})
	t.Run("ErrRandom", func(t *testing.T) {
		_, err := seal.SealVault(fixedKey(9), testPIN, tinyKDF, iotest.ErrReader(errors.New("no entropy")))
		require.ErrorContains(t, err, "no entropy")
	})
}

func TestOpenVault(t *testing.T) {
	vault := fixedVault()

	t.Run("OK", func(t *testing.T) {
		k, err := seal.OpenVault(vault, testPIN)
		require.NoError(t, err)
		assert.Equal(t, fixedKey(9).ID(), k.ID())
	})
	t.Run("Passphrase", func(t *testing.T) {
		pin := []byte("Komisioni i vendvotimit 0101A — ë ç")
		v, err := seal.SealVault(fixedKey(9), pin, tinyKDF, nil)
		require.NoError(t, err)
		k, err := seal.OpenVault(v, pin)
		require.NoError(t, err)
		assert.Equal(t, fixedKey(9).ID(), k.ID())
	})

	wrongPINs := []struct{ name, pin string }{
		{"ErrWrongPIN", "739252"},
		{"ErrEmptyPIN", ""},
		{"ErrPINPrefix", "73925"},
		{"ErrPINLonger", "7392510"},
	}
	for _, tt := range wrongPINs {
		t.Run(tt.name, func(t *testing.T) {
			k, err := seal.OpenVault(vault, []byte(tt.pin))
			require.ErrorIs(t, err, seal.ErrWrongPIN)
			assert.Nil(t, k)
			assert.EqualError(t, err, "vault: wrong PIN or passphrase")
		})
	}

	t.Run("ErrTamperedAnyByte", func(t *testing.T) {
		// Flipping the lowest bit of any byte keeps the parameters cheap
		// (at most 64 MiB for one pass) or puts them out of bounds.
		for i := range vault {
			v := bytes.Clone(vault)
			v[i] ^= 0x01
			_, err := seal.OpenVault(v, testPIN)
			if i <= 8 {
				assert.ErrorIs(t, err, seal.ErrVaultCorrupt, "byte %d", i)
				continue
			}
			assert.True(t, errors.Is(err, seal.ErrWrongPIN) || errors.Is(err, seal.ErrVaultCorrupt), "byte %d: %v", i, err)
		}
	})
	t.Run("ErrTamperedParams", func(t *testing.T) {
		_, err := seal.OpenVault(withParams(vault, 2, 64, 1), testPIN)
		require.ErrorIs(t, err, seal.ErrWrongPIN, "a weaker time is detected")
		_, err = seal.OpenVault(withParams(vault, 1, 32, 1), testPIN)
		require.ErrorIs(t, err, seal.ErrWrongPIN, "less memory is detected")
	})

	corrupt := []struct {
		name string
		data []byte
		msg  string
	}{
		{"ErrEmpty", nil, "vault: not a Tally key vault"},
		{"ErrMagic", append([]byte("TALLYKV2"), vault[8:]...), "vault: not a Tally key vault"},
		{"ErrVersion", append(append([]byte("TALLYKV1"), 2), vault[9:]...), "vault: unknown version 2"},
		{"ErrTruncated", vault[:len(vault)-1], "vault: truncated: 105 bytes, want 106"},
		{"ErrTruncatedHeader", vault[:20], "vault: truncated: 20 bytes, want 106"},
		{"ErrTooLong", append(bytes.Clone(vault), 0), "vault: 107 bytes, want 106"},
		{"ErrMemoryTooLarge", withParams(vault, 1, 1<<20+1, 1), "memory 1048577 KiB is more than 1048576 KiB"},
		{"ErrMemoryHuge", withParams(vault, 1, 0xffffffff, 1), "is more than 1048576 KiB"},
		{"ErrTimeZero", withParams(vault, 0, 64, 1), "time 0 is outside 1–64"},
		{"ErrTimeTooLarge", withParams(vault, 65, 64, 1), "time 65 is outside 1–64"},
		{"ErrThreadsZero", withParams(vault, 1, 64, 0), "threads 0 is outside 1–64"},
		{"ErrThreadsTooMany", withParams(vault, 1, 1024, 65), "threads 65 is outside 1–64"},
		{"ErrMemoryPerThread", withParams(vault, 1, 31, 4), "memory 31 KiB is less than 8 KiB per thread (4 threads)"},
	}
	for _, tt := range corrupt {
		t.Run(tt.name, func(t *testing.T) {
			k, err := seal.OpenVault(tt.data, testPIN)
			require.ErrorIs(t, err, seal.ErrVaultCorrupt)
			assert.False(t, errors.Is(err, seal.ErrWrongPIN))
			assert.Nil(t, k)
			assert.Contains(t, err.Error(), tt.msg)
		})
	}
	t.Run("ErrEveryTruncation", func(t *testing.T) {
		for n := range len(vault) {
			_, err := seal.OpenVault(vault[:n], testPIN)
			assert.ErrorIs(t, err, seal.ErrVaultCorrupt, "length %d", n)
		}
	})
}

func TestVaultFile(t *testing.T) {
	vault := fixedVault()

	t.Run("OK", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "station.vault")
		require.NoError(t, seal.WriteVaultFile(path, vault))
		fi, err := os.Stat(path)
		require.NoError(t, err)
		if runtime.GOOS != "windows" {
			assert.Equal(t, fs.FileMode(0o600), fi.Mode().Perm())
		}
		got, err := seal.ReadVaultFile(path)
		require.NoError(t, err)
		assert.Equal(t, vault, got)
	})
	t.Run("Replace", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "station.vault")
		require.NoError(t, seal.WriteVaultFile(path, vault))
		newPIN, err := seal.SealVault(fixedKey(9), []byte("new passphrase"), tinyKDF, nil)
		require.NoError(t, err)
		require.NoError(t, seal.WriteVaultFile(path, newPIN))
		got, err := seal.ReadVaultFile(path)
		require.NoError(t, err)
		assert.Equal(t, newPIN, got)
		entries, err := os.ReadDir(filepath.Dir(path))
		require.NoError(t, err)
		assert.Len(t, entries, 1, "no temporary file left behind")
	})
	t.Run("ErrWriteNotAVault", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "station.vault")
		require.ErrorIs(t, seal.WriteVaultFile(path, vault[:50]), seal.ErrVaultCorrupt)
		_, err := os.Stat(path)
		assert.ErrorIs(t, err, fs.ErrNotExist)
	})
	t.Run("ErrReadNotAVault", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "station.vault")
		require.NoError(t, os.WriteFile(path, bytes.Repeat([]byte("x"), 10000), 0o600))
		_, err := seal.ReadVaultFile(path)
		require.ErrorIs(t, err, seal.ErrVaultCorrupt)
	})
	t.Run("ErrMissing", func(t *testing.T) {
		_, err := seal.ReadVaultFile(filepath.Join(t.TempDir(), "none"))
		require.ErrorIs(t, err, fs.ErrNotExist)
	})
}

func TestCheckPINStrength(t *testing.T) {
	tests := []struct {
		pin  string
		want error
	}{
		{"739251", nil},
		{"90817263", nil},
		{"Komisioni 0101A", nil},
		{"ëçëçë1", nil},
		{"", seal.ErrPINTooShort},
		{"73925", seal.ErrPINTooShort},
		{"ëçëçë", seal.ErrPINTooShort},
		{"111111", seal.ErrPINTooWeak},
		{"000000", seal.ErrPINTooWeak},
		{"aaaaaaaa", seal.ErrPINTooWeak},
		{"123456", seal.ErrPINTooWeak},
		{"654321", seal.ErrPINTooWeak},
		{"345678", seal.ErrPINTooWeak},
		{"1234567890", seal.ErrPINTooWeak},
		{"0987654321", seal.ErrPINTooWeak},
		{"abcdef", seal.ErrPINTooWeak},
		{"121212", seal.ErrPINTooWeak},
		{"123123", seal.ErrPINTooWeak},
		{"112233", seal.ErrPINTooWeak},
		{"159753", seal.ErrPINTooWeak},
		{"Password", seal.ErrPINTooWeak},
		{"QWERTY", seal.ErrPINTooWeak},
	}
	for _, tt := range tests {
		name := "OK"
		if tt.want != nil {
			name = "Err"
		}
		t.Run(name+"/"+tt.pin, func(t *testing.T) {
			assert.Equal(t, tt.want, seal.CheckPINStrength(tt.pin))
		})
	}
}
