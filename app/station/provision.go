package station

import (
	"context"
	"errors"
	"fmt"

	"tally/app/audit"
	"tally/app/election"
	"tally/app/seal"
)

// OpenDefinition verifies a signed election definition before the station
// is chosen, and returns it with the fingerprint of the commission's key
// that signed it, for the user to compare with the printed one.
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

// ProvisionRequest is what the chair gives to bind this laptop to a station.
type ProvisionRequest struct {
	Definition  []byte // the signed election definition
	Fingerprint string // of the commission's definition key, as printed
	Station     string // the station's code
	PIN         []byte // the chair's PIN or passphrase
	By          string // the chair's name
}

// ErrFingerprintMismatch refuses a definition signed by another key than
// the one whose fingerprint the commission printed.
var ErrFingerprintMismatch = errors.New("the definition is not signed by the key whose fingerprint was printed")

// Provision imports and verifies the signed definition, checks the
// commission's fingerprint, makes the station's key pair and seals it under
// the PIN. Nothing is stored unless all of it succeeds.
func (s *Service) Provision(ctx context.Context, req ProvisionRequest) (*Provisioning, error) {
	def, fingerprint, err := OpenDefinition(req.Definition)
	if err != nil {
		return nil, err
	}
	defKey, err := seal.ParsePublicKey(def.Election.Keys.Definition)
	if err != nil {
		return nil, err
	}
	if !seal.MatchesFingerprint(req.Fingerprint, defKey.ID) {
		return nil, fmt.Errorf("%w: printed %q, the definition's is %s", ErrFingerprintMismatch, req.Fingerprint, fingerprint)
	}
	st, ok := def.Station(req.Station)
	if !ok {
		return nil, fmt.Errorf("station %q is not in election %s", req.Station, def.Election.ID)
	}
	by, err := personName(req.By)
	if err != nil {
		return nil, err
	}
	if err := seal.CheckPINStrength(string(req.PIN)); err != nil {
		return nil, err
	}
	key, err := seal.GenerateKey(s.rand)
	if err != nil {
		return nil, err
	}
	vault, err := seal.SealVault(key, req.PIN, s.kdf, s.rand)
	if err != nil {
		return nil, err
	}
	at := s.clock()
	p := &Provisioning{
		Election: def.Election.ID, Station: st.Code, DefinitionKeyID: defKey.ID,
		PublicKey: seal.EncodePublicKey(key.Public()), Vault: vault, ProvisionedAt: at,
	}
	err = s.store.Update(ctx, func(tx Tx) error {
		switch _, err := tx.Provisioning(); {
		case err == nil:
			return ErrAlreadyProvisioned
		case !errors.Is(err, ErrNotProvisioned):
			return err
		}
		if err := tx.PutDefinition(req.Definition); err != nil {
			return err
		}
		if err := tx.PutProvisioning(p); err != nil {
			return err
		}
		return tx.Audit(at, audit.Event{Action: "station.provision", Subject: st.Code, Actor: by,
			Details: map[string]any{"election": def.Election.ID, "station_key": key.ID(), "definition_key": defKey.ID}})
	})
	if err != nil {
		return nil, err
	}
	return p, nil
}

// Unlock opens the station's key with the chair's PIN, under the throttle
// that slows guessing. A wrong PIN is counted and audited even though the
// unlock fails. The key derivation runs outside any transaction, so that
// typing elsewhere never waits on it.
func (s *Service) Unlock(ctx context.Context, pin []byte) (*seal.PrivateKey, error) {
	var p *Provisioning
	err := s.store.View(ctx, func(r Reader) error {
		var err error
		p, err = r.Provisioning()
		return err
	})
	if err != nil {
		return nil, err
	}
	now := s.now()
	throttle := p.Throttle
	if err := throttle.Check(now); err != nil {
		return nil, err
	}
	key, openErr := seal.OpenVault(p.Vault, pin)
	wrong := errors.Is(openErr, seal.ErrWrongPIN)
	if openErr != nil && !wrong {
		return nil, openErr
	}
	err = s.store.Update(ctx, func(tx Tx) error {
		p, err := tx.Provisioning()
		if err != nil {
			return err
		}
		if !wrong && p.Throttle.Failures == 0 {
			return nil // nothing to record
		}
		action := "station.unlock"
		if wrong {
			p.Throttle.Fail(now)
			action = "station.pin_wrong"
		} else {
			p.Throttle.Succeed()
		}
		if err := tx.PutProvisioning(p); err != nil {
			return err
		}
		return tx.Audit(s.clock(), audit.Event{Action: action, Subject: p.Station,
			Details: map[string]any{"failures": p.Throttle.Failures}})
	})
	if err != nil {
		return nil, err
	}
	if wrong {
		return nil, openErr
	}
	return key, nil
}

func personName(name string) (string, error) {
	n, err := election.NormalizeText(election.FieldEnteredBy, name, election.MaxPersonLength)
	if err != nil {
		return "", err
	}
	if n == "" {
		return "", &election.InputError{Field: election.FieldEnteredBy, Key: election.InputRequired}
	}
	return n, nil
}
