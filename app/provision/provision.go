// Package provision is what binds a laptop to its place in an election,
// the same for a polling station and for a municipal supervisor: the
// signed definition verified under the fingerprint the commission
// printed, the person's name, the laptop's own key pair sealed under a
// PIN that passes the strength rule, and the unlocking of that key under
// the throttle that slows guessing. app/station and app/review keep what
// differs (the station or the municipality, their stores and audit
// records) and call this for the rest.
package provision

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"tally/app/election"
	"tally/app/seal"
)

// ErrFingerprintMismatch refuses a definition signed by another key than
// the one whose fingerprint the commission printed.
var ErrFingerprintMismatch = errors.New("the definition is not signed by the key whose fingerprint was printed")

// OpenDefinition verifies a signed election definition under the key it
// names, before anything else is chosen, and returns it with that key's
// fingerprint, for the person to compare with the printed one: whether
// the key is the commission's is what the printed fingerprint decides.
func OpenDefinition(signed []byte) (*election.Definition, string, error) {
	def, err := election.OpenSigned(signed, election.Trust{})
	if err != nil {
		return nil, "", err
	}
	key, err := seal.ParsePublicKey(def.Election.Keys.Definition)
	if err != nil {
		return nil, "", err
	}
	return def, seal.Fingerprint(key.ID), nil
}

// CheckDefinition opens a signed definition and checks that the key that
// signed it is the one whose fingerprint was printed (ErrFingerprintMismatch
// otherwise). It returns the definition and the id of that key.
func CheckDefinition(signed []byte, printed string) (*election.Definition, string, error) {
	def, fingerprint, err := OpenDefinition(signed)
	if err != nil {
		return nil, "", err
	}
	key, err := seal.ParsePublicKey(def.Election.Keys.Definition)
	if err != nil {
		return nil, "", err
	}
	if !seal.MatchesFingerprint(printed, key.ID) {
		return nil, "", fmt.Errorf("%w: printed %q, the definition's is %s", ErrFingerprintMismatch, printed, fingerprint)
	}
	return def, key.ID, nil
}

// PersonName is a person's name as the records keep it: normalised,
// bounded, and not empty.
func PersonName(name string) (string, error) {
	n, err := election.NormalizeText(election.FieldEnteredBy, name, election.MaxPersonLength)
	if err != nil {
		return "", err
	}
	if n == "" {
		return "", &election.InputError{Field: election.FieldEnteredBy, Key: election.InputRequired}
	}
	return n, nil
}

// NewKey checks the PIN against the strength rule (seal.CheckPINStrength),
// makes the laptop's key pair and seals it under the PIN. It returns the
// key and its vault, the only form in which the key is stored.
func NewKey(pin []byte, kdf seal.KDFParams, random io.Reader) (*seal.PrivateKey, []byte, error) {
	if err := seal.CheckPINStrength(string(pin)); err != nil {
		return nil, nil, err
	}
	key, err := seal.GenerateKey(random)
	if err != nil {
		return nil, nil, err
	}
	vault, err := seal.SealVault(key, pin, kdf, random)
	if err != nil {
		return nil, nil, err
	}
	return key, vault, nil
}

// KeyStore is where a laptop keeps its sealed key and the throttle on its
// PIN: the station's store or the supervisor's.
type KeyStore interface {
	// SealedKey reads the vault and the throttle.
	SealedKey(ctx context.Context) (vault []byte, throttle seal.Throttle, err error)
	// RecordAttempt runs change on the stored throttle inside one write
	// transaction; when change reports a change, the throttle is stored
	// with the audit record of the attempt (wrong: a wrong PIN).
	RecordAttempt(ctx context.Context, wrong bool, change func(*seal.Throttle) bool) error
}

// Unlock opens the laptop's key with the PIN, under the throttle that
// slows guessing. A wrong PIN is counted and audited even though the
// unlock fails; a right one after wrong ones clears the count. The key
// derivation runs outside any transaction, so that the store's other work
// never waits on it.
func Unlock(ctx context.Context, ks KeyStore, now time.Time, pin []byte) (*seal.PrivateKey, error) {
	vault, throttle, err := ks.SealedKey(ctx)
	if err != nil {
		return nil, err
	}
	if err := throttle.Check(now); err != nil {
		return nil, err
	}
	key, openErr := seal.OpenVault(vault, pin)
	wrong := errors.Is(openErr, seal.ErrWrongPIN)
	if openErr != nil && !wrong {
		return nil, openErr
	}
	err = ks.RecordAttempt(ctx, wrong, func(t *seal.Throttle) bool {
		switch {
		case wrong:
			t.Fail(now)
		case t.Failures == 0:
			return false // nothing to record
		default:
			t.Succeed()
		}
		return true
	})
	if err != nil {
		return nil, err
	}
	if wrong {
		return nil, openErr
	}
	return key, nil
}
