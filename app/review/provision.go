package review

import (
	"context"
	"errors"
	"fmt"

	"tally/app/audit"
	"tally/app/enrollment"
	"tally/app/provision"
	"tally/app/seal"
)

// ProvisionRequest is what the supervisor gives to bind this laptop to a
// municipality.
type ProvisionRequest struct {
	Definition   []byte // the signed election definition
	Fingerprint  string // of the commission's definition key, as printed
	Municipality string // the municipality's code
	PIN          []byte // the supervisor's PIN or passphrase
	By           string // the supervisor's name
}

// Provision imports and verifies the signed definition, checks the
// commission's fingerprint, makes the supervisor's key pair and seals it
// under the PIN. Nothing is stored unless all of it succeeds.
func (s *Service) Provision(ctx context.Context, req ProvisionRequest) (*Provisioning, error) {
	def, defKeyID, err := provision.CheckDefinition(req.Definition, req.Fingerprint)
	if err != nil {
		return nil, err
	}
	m, ok := def.Municipality(req.Municipality)
	if !ok {
		return nil, fmt.Errorf("municipality %q is not in election %s", req.Municipality, def.Election.ID)
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
		Election: def.Election.ID, Municipality: m.Code, DefinitionKeyID: defKeyID,
		PublicKey: seal.EncodePublicKey(key.Public()), Vault: vault, ProvisionedAt: at, ProvisionedBy: by,
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
		return tx.Audit(at, audit.Event{Action: "supervisor.provision", Subject: m.Code, Actor: by,
			Details: map[string]any{"election": def.Election.ID, "supervisor_key": key.ID(), "definition_key": defKeyID}})
	})
	if err != nil {
		return nil, err
	}
	return p, nil
}

// Unlock opens the supervisor's key with the PIN, under the throttle that
// slows guessing (provision.Unlock). A wrong PIN is counted and audited
// even though the unlock fails.
func (s *Service) Unlock(ctx context.Context, pin []byte) (*seal.PrivateKey, error) {
	return provision.Unlock(ctx, keyStore{s}, s.now(), pin)
}

// keyStore is the supervisor's sealed key and its throttle, for
// provision.Unlock.
type keyStore struct{ s *Service }

func (k keyStore) SealedKey(ctx context.Context) ([]byte, seal.Throttle, error) {
	p, err := k.s.Provisioning(ctx)
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
		action := "supervisor.unlock"
		if wrong {
			action = "supervisor.pin_wrong"
		}
		return tx.Audit(k.s.clock(), audit.Event{Action: action, Subject: p.Municipality,
			Details: map[string]any{"failures": p.Throttle.Failures}})
	})
}

// EnrollmentRequest makes the signed request that binds this supervisor's
// key to the municipality at the commission, with the printed one-time
// code.
func (s *Service) EnrollmentRequest(ctx context.Context, key *seal.PrivateKey, code string) ([]byte, error) {
	sc, err := s.loadScope(ctx)
	if err != nil {
		return nil, err
	}
	if err := sc.checkKey(key); err != nil {
		return nil, err
	}
	normal, err := enrollment.Normalize(code)
	if err != nil {
		return nil, err
	}
	return enrollment.SignRequest(enrollment.Request{Election: sc.def.Election.ID, Role: enrollment.RoleSupervisor,
		Unit: sc.municipality.Code, Code: normal, At: s.clock()}, key)
}

// RecordEnrollment notes that the commission enrolled the supervisor's key.
func (s *Service) RecordEnrollment(ctx context.Context, server string) error {
	return s.store.Update(ctx, func(tx Tx) error {
		p, err := tx.Provisioning()
		if err != nil {
			return err
		}
		if p.EnrolledAt != nil {
			return nil
		}
		at := s.clock()
		p.EnrolledAt, p.EnrolledWith = &at, server
		if err := tx.PutProvisioning(p); err != nil {
			return err
		}
		return tx.Audit(at, audit.Event{Action: "supervisor.enroll", Subject: p.Municipality, Actor: "commission",
			Details: map[string]any{"server": server}})
	})
}

// Provisioning is the laptop's provisioning record.
func (s *Service) Provisioning(ctx context.Context) (*Provisioning, error) {
	var p *Provisioning
	err := s.store.View(ctx, func(r Reader) error {
		var err error
		p, err = r.Provisioning()
		return err
	})
	return p, err
}

// checkKey refuses a key that is not the supervisor's.
func (sc *scope) checkKey(key *seal.PrivateKey) error {
	if key == nil || seal.EncodePublicKey(key.Public()) != sc.prov.PublicKey {
		return ErrWrongKey
	}
	return nil
}
