package provision_test

import (
	"context"
	"crypto/rand"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tally/app/election"
	"tally/app/election/electiontest"
	"tally/app/provision"
	"tally/app/seal"
)

var cheapKDF = seal.KDFParams{Time: 1, MemoryKiB: 64, Threads: 1}

func signedDefinition(t *testing.T) []byte {
	t.Helper()
	_, signed, err := electiontest.Election(electiontest.Options{Municipalities: 1})
	require.NoError(t, err)
	return signed
}

func TestCheckDefinition(t *testing.T) {
	signed := signedDefinition(t)

	t.Run("OK", func(t *testing.T) {
		def, keyID, err := provision.CheckDefinition(signed, strings.ToLower(electiontest.Fingerprint()))
		require.NoError(t, err)
		assert.Equal(t, electiontest.Key(electiontest.DefinitionSeed).ID(), keyID)
		assert.NotEmpty(t, def.Election.ID)
		_, fp, err := provision.OpenDefinition(signed)
		require.NoError(t, err)
		assert.Equal(t, electiontest.Fingerprint(), fp)
	})
	t.Run("ErrFingerprintMismatch", func(t *testing.T) {
		other := seal.Fingerprint(electiontest.Key(9).ID())
		_, _, err := provision.CheckDefinition(signed, other)
		require.ErrorIs(t, err, provision.ErrFingerprintMismatch)
		assert.Contains(t, err.Error(), electiontest.Fingerprint(), "the message names the definition's fingerprint")
	})
	t.Run("ErrTampered", func(t *testing.T) {
		bad := append([]byte{}, signed...)
		i := len(bad) / 2
		bad[i] ^= 0x01
		_, _, err := provision.CheckDefinition(bad, electiontest.Fingerprint())
		require.Error(t, err)
		assert.NotErrorIs(t, err, provision.ErrFingerprintMismatch)
	})
}

func TestPersonName(t *testing.T) {
	n, err := provision.PersonName("  Drita Berisha \t")
	require.NoError(t, err)
	assert.Equal(t, "Drita Berisha", n)
	_, err = provision.PersonName(" \t")
	var in *election.InputError
	require.ErrorAs(t, err, &in)
	assert.Equal(t, election.FieldEnteredBy, in.Field)
	_, err = provision.PersonName(strings.Repeat("a", election.MaxPersonLength+1))
	require.ErrorAs(t, err, &in)
}

func TestNewKey(t *testing.T) {
	for name, pin := range map[string]string{"ErrPINTooShort": "ab1", "ErrPINTooWeak": "123456"} {
		t.Run(name, func(t *testing.T) {
			key, vault, err := provision.NewKey([]byte(pin), cheapKDF, rand.Reader)
			require.Error(t, err)
			assert.True(t, errors.Is(err, seal.ErrPINTooShort) || errors.Is(err, seal.ErrPINTooWeak), "%v", err)
			assert.Nil(t, key)
			assert.Nil(t, vault)
		})
	}
	t.Run("OK", func(t *testing.T) {
		key, vault, err := provision.NewKey([]byte("4719-2853"), cheapKDF, rand.Reader)
		require.NoError(t, err)
		opened, err := seal.OpenVault(vault, []byte("4719-2853"))
		require.NoError(t, err)
		assert.Equal(t, key.ID(), opened.ID())
	})
}

// memKeys is a KeyStore in memory that counts the attempts it records.
type memKeys struct {
	vault    []byte
	throttle seal.Throttle
	recorded []bool // wrong, for each attempt recorded
	failRead error
}

func (m *memKeys) SealedKey(context.Context) ([]byte, seal.Throttle, error) {
	return m.vault, m.throttle, m.failRead
}

func (m *memKeys) RecordAttempt(_ context.Context, wrong bool, change func(*seal.Throttle) bool) error {
	t := m.throttle
	if !change(&t) {
		return nil
	}
	m.throttle = t
	m.recorded = append(m.recorded, wrong)
	return nil
}

func TestUnlock(t *testing.T) {
	ctx := context.Background()
	key, vault, err := provision.NewKey([]byte("4719-2853"), cheapKDF, rand.Reader)
	require.NoError(t, err)
	ks := &memKeys{vault: vault}
	now := time.Date(2026, 10, 4, 20, 0, 0, 0, time.UTC)

	got, err := provision.Unlock(ctx, ks, now, []byte("4719-2853"))
	require.NoError(t, err)
	assert.Equal(t, key.ID(), got.ID())
	assert.Empty(t, ks.recorded, "a right PIN with no failures before records nothing")

	// Two wrong PINs are free, the third makes the next attempt wait.
	for i := 1; i <= 3; i++ {
		_, err = provision.Unlock(ctx, ks, now, []byte("0000-1111"))
		require.ErrorIs(t, err, seal.ErrWrongPIN)
		assert.Equal(t, i, ks.throttle.Failures)
	}
	assert.Equal(t, []bool{true, true, true}, ks.recorded)
	_, err = provision.Unlock(ctx, ks, now, []byte("4719-2853"))
	var soon *seal.TooSoonError
	require.ErrorAs(t, err, &soon, "even the right PIN waits")
	assert.Len(t, ks.recorded, 3, "an attempt refused by the throttle is not counted")

	// After the wait, the right PIN opens the key and clears the count.
	got, err = provision.Unlock(ctx, ks, now.Add(time.Minute), []byte("4719-2853"))
	require.NoError(t, err)
	assert.Equal(t, key.ID(), got.ID())
	assert.Zero(t, ks.throttle.Failures)
	assert.Equal(t, []bool{true, true, true, false}, ks.recorded)

	// A corrupt vault is not a wrong PIN: nothing is counted.
	ks.vault = []byte("not a vault")
	_, err = provision.Unlock(ctx, ks, now.Add(time.Hour), []byte("4719-2853"))
	require.ErrorIs(t, err, seal.ErrVaultCorrupt)
	assert.Len(t, ks.recorded, 4)

	ks.failRead = errors.New("disk gone")
	_, err = provision.Unlock(ctx, ks, now.Add(time.Hour), []byte("4719-2853"))
	require.ErrorContains(t, err, "disk gone")
}
