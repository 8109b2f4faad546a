package station

import (
	"context"
	"errors"
	"fmt"

	"tally/app/audit"
	"tally/app/election"
	"tally/app/provision"
	"tally/app/seal"
)

// OpenDefinition verifies a signed election definition before the station
// is chosen, and returns it with the fingerprint of the commission's key
// that signed it (provision.OpenDefinition).
func OpenDefinition(signed []byte) (*election.Definition, string, error) {
	return provision.OpenDefinition(signed)
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
var ErrFingerprintMismatch = provision.ErrFingerprintMismatch

// Provision imports and verifies the signed definition, checks the
// commission's fingerprint, makes the station's key pair and seals it under
// the PIN. Nothing is stored unless all of it succeeds.
func (s *Service) Provision(ctx context.Context, req ProvisionRequest) (*Provisioning, error) {
	def, defKeyID, err := provision.CheckDefinition(req.Definition, req.Fingerprint)
	if err != nil {
		return nil, err
	}
	st, ok := def.Station(req.Station)
	if !ok {
		return nil, fmt.Errorf("station %q is not in election %s", req.Station, def.Election.ID)
	}
	by, err := provision.PersonName(req.By)
	if err != nil {
		return nil, err
	}
	key, vault, err := provision.NewKey(req.PIN, s.kdf, s.rand)
	if err != nil {
		return nil, err
	}
	at := s.clock()
	p := &Provisioning{
		Election: def.Election.ID, Station: st.Code, DefinitionKeyID: defKeyID,
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
			Details: map[string]any{"election": def.Election.ID, "station_key": key.ID(), "definition_key": defKeyID}})
	})
	if err != nil {
		return nil, err
	}
	return p, nil
}

// Unlock opens the station's key with the chair's PIN, under the throttle
// that slows guessing (provision.Unlock). A wrong PIN is counted and
// audited even though the unlock fails.
func (s *Service) Unlock(ctx context.Context, pin []byte) (*seal.PrivateKey, error) {
	return provision.Unlock(ctx, keyStore{s}, s.now(), pin)
}

// keyStore is the station's sealed key and its throttle, for
// provision.Unlock.
type keyStore struct{ s *Service }

func (k keyStore) SealedKey(ctx context.Context) ([]byte, seal.Throttle, error) {
	var p *Provisioning
	err := k.s.store.View(ctx, func(r Reader) error {
		var err error
		p, err = r.Provisioning()
		return err
	})
	if err != nil {
		return nil, seal.Throttle{}, err
	}
	return p.Vault, p.Throttle, nil
}

func (k keyStore) RecordAttempt(ctx context.Context, wrong bool, change func(*seal.Throttle) bool) error {
	return k.s.store.Update(ctx, func(tx Tx) error {
		p, err := tx.Provisioning()
		if err != nil {
			return err
		}
		if !change(&p.Throttle) {
			return nil
		}
		if err := tx.PutProvisioning(p); err != nil {
			return err
		}
		action := "station.unlock"
		if wrong {
			action = "station.pin_wrong"
		}
		return tx.Audit(k.s.clock(), audit.Event{Action: action, Subject: p.Station,
			Details: map[string]any{"failures": p.Throttle.Failures}})
	})
}
