package station

import (
	"context"
	"errors"
	"fmt"

	"tally/app/audit"
	"tally/app/election"
	"tally/app/seal"
)

// maxAnswerEnvelope bounds a receipt's or a decision's envelope.
const maxAnswerEnvelope = election.MaxAnswerSize*2 + 4096

// ErrForeignAnswer refuses a receipt or decision meant for another
// election, station, or a version this station never sealed.
var ErrForeignAnswer = errors.New("not an answer to this station")

// RecordReceipt verifies a receipt under the commission's receipt key from
// the definition and stores it; the receipted version leaves the outbox in
// the same transaction. The same receipt again changes nothing.
func (s *Service) RecordReceipt(ctx context.Context, raw []byte) (*StoredReceipt, error) {
	sc, err := s.loadScope(ctx)
	if err != nil {
		return nil, err
	}
	key, err := seal.ParsePublicKey(sc.def.Election.Keys.Receipt)
	if err != nil {
		return nil, err
	}
	ring, err := seal.NewKeyring(key)
	if err != nil {
		return nil, err
	}
	opened, err := seal.Open(raw, maxAnswerEnvelope, election.ReceiptPayloadType, ring)
	if err != nil {
		return nil, fmt.Errorf("receipt: %w", err)
	}
	r, err := election.ParseReceipt(opened.Payload)
	if err != nil {
		return nil, err
	}
	if r.Election != sc.def.Election.ID || r.Station != sc.station.Code {
		return nil, fmt.Errorf("%w: receipt for station %s of election %s", ErrForeignAnswer, r.Station, r.Election)
	}
	stored := &StoredReceipt{Submission: r.Submission, Digest: opened.Digest, Number: r.Number,
		ReceivedAt: r.ReceivedAt, Envelope: raw, StoredAt: s.clock()}
	err = s.store.Update(ctx, func(tx Tx) error {
		v, err := tx.Version(r.Submission)
		if errors.Is(err, ErrNotFound) {
			return fmt.Errorf("%w: receipt for submission %s, which this station never sealed", ErrForeignAnswer, r.Submission)
		} else if err != nil {
			return err
		}
		if v.Key.Contest != r.Contest || v.Key.Form != r.Form || v.Version != r.Version {
			return fmt.Errorf("%w: the receipt names %s/%s version %d, the submission is %s version %d",
				ErrForeignAnswer, r.Contest, r.Form, r.Version, v.Key, v.Version)
		}
		switch old, err := tx.Receipt(r.Submission); {
		case err == nil && old.Digest == stored.Digest:
			stored = old
			return errUnchanged
		case err == nil:
			return fmt.Errorf("submission %s already has receipt %d; a different receipt %d is refused",
				r.Submission, old.Number, r.Number)
		case !errors.Is(err, ErrNotFound):
			return err
		}
		if err := tx.PutReceipt(stored); err != nil {
			return err
		}
		return tx.Audit(stored.StoredAt, audit.Event{Action: "receipt.store", Subject: v.Key.String(), Actor: key.ID,
			Details: map[string]any{"version": v.Version, "submission": v.Digest, "number": r.Number,
				"received_at": r.ReceivedAt, "receipt": stored.Digest}})
	})
	if err := ignoreUnchanged(err); err != nil {
		return nil, err
	}
	return stored, nil
}

// RecordDecision verifies a supervisor's decision against the keys of the
// station's municipal supervisors and stores it. A decision on the head
// version moves the form to approved or returned; one on an older version
// is kept, and changes nothing else. The same decision again changes
// nothing.
func (s *Service) RecordDecision(ctx context.Context, raw []byte, supervisors *seal.Keyring) (*StoredDecision, error) {
	sc, err := s.loadScope(ctx)
	if err != nil {
		return nil, err
	}
	opened, err := seal.Open(raw, maxAnswerEnvelope, election.DecisionPayloadType, supervisors)
	if err != nil {
		return nil, fmt.Errorf("decision: %w", err)
	}
	d, err := election.ParseDecision(opened.Payload)
	if err != nil {
		return nil, err
	}
	if d.Election != sc.def.Election.ID || d.Station != sc.station.Code {
		return nil, fmt.Errorf("%w: decision for station %s of election %s", ErrForeignAnswer, d.Station, d.Election)
	}
	key := FormKey{Contest: d.Contest, Form: d.Form}
	stored := &StoredDecision{Digest: opened.Digest, Submission: d.Submission, Key: key, Verdict: d.Verdict,
		Reason: d.Reason, SignedBy: opened.SignedBy[0], DecidedAt: d.DecidedAt, Envelope: raw, StoredAt: s.clock()}
	err = s.store.Update(ctx, func(tx Tx) error {
		v, err := tx.Version(d.Submission)
		if errors.Is(err, ErrNotFound) {
			return fmt.Errorf("%w: decision on submission %s, which this station never sealed", ErrForeignAnswer, d.Submission)
		} else if err != nil {
			return err
		}
		if v.Key != key {
			return fmt.Errorf("%w: the decision names %s, the submission is %s", ErrForeignAnswer, key, v.Key)
		}
		known, err := tx.Decisions()
		if err != nil {
			return err
		}
		for _, old := range known {
			if old.Digest == stored.Digest {
				stored = &old
				return errUnchanged
			}
		}
		if err := tx.PutDecision(stored); err != nil {
			return err
		}
		sh, err := tx.Sheet(key)
		if err != nil {
			return err
		}
		applied := false
		op := map[election.Verdict]Op{election.Approve: OpApprove, election.Return: OpReturn}[d.Verdict]
		to := map[election.Verdict]State{election.Approve: StateApproved, election.Return: StateReturned}[d.Verdict]
		if sh.Head == d.Submission && check(sh.State, op) == nil {
			if err := sh.move(op, to); err != nil {
				return err
			}
			sh.Reason = d.Reason
			sh.Updated = stored.StoredAt
			if err := tx.PutSheet(sh); err != nil {
				return err
			}
			applied = true
		}
		return tx.Audit(stored.StoredAt, audit.Event{Action: "decision.store", Subject: key.String(), Actor: stored.SignedBy,
			Details: map[string]any{"version": v.Version, "submission": v.Digest, "verdict": d.Verdict,
				"reason": d.Reason, "decision": stored.Digest, "applied": applied}})
	})
	if err := ignoreUnchanged(err); err != nil {
		return nil, err
	}
	return stored, nil
}
