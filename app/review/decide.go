package review

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"tally/app/audit"
	"tally/app/election"
	"tally/app/seal"
)

// Decide approves or returns (with a reason) the latest version of a
// station's form. The version must be fetched, verify here and be the
// latest known; the decision is signed with the supervisor's key (from
// Unlock) and queued for the commission in the same transaction as its
// audit record. The station sees it at its next sync.
func (s *Service) Decide(ctx context.Context, digest string, verdict election.Verdict, reason string,
	key *seal.PrivateKey) (*Decision, error) {
	sc, err := s.loadScope(ctx)
	if err != nil {
		return nil, err
	}
	if err := sc.checkKey(key); err != nil {
		return nil, err
	}
	if verdict != election.Approve && verdict != election.Return {
		return nil, fmt.Errorf("verdict %q is neither %q nor %q", verdict, election.Approve, election.Return)
	}
	reason, err = election.NormalizeText(election.Field("reason"), reason, election.MaxReasonChars)
	if err != nil {
		return nil, err
	}
	if strings.TrimSpace(reason) == "" {
		reason = ""
	}
	if verdict == election.Return && reason == "" {
		return nil, ErrReasonRequired
	}
	var made *Decision
	err = s.store.Update(ctx, func(tx Tx) error {
		opened, err := sc.open(tx, digest)
		if err != nil {
			return err
		}
		if !opened.Head {
			return fmt.Errorf("%w: %s/%s of station %s has version %d; %s is version %d", ErrNotHead,
				opened.Submission.Form.Contest, opened.Submission.Form.Kind, opened.Station.Code,
				opened.HeadVersion, digest, opened.Submission.Version)
		}
		at := s.clock()
		d := election.Decision{Format: election.DecisionFormat, Election: sc.def.Election.ID,
			Station: opened.Station.Code, Contest: opened.Submission.Form.Contest, Form: opened.Submission.Form.Kind,
			Submission: digest, Verdict: verdict, Reason: reason, DecidedAt: at}
		payload, err := json.Marshal(d)
		if err != nil {
			return err
		}
		// What the commission will check, checked here first.
		if _, err := election.ParseDecision(payload); err != nil {
			return err
		}
		env, err := seal.Sign(election.DecisionPayloadType, payload, key)
		if err != nil {
			return err
		}
		made = &Decision{Digest: seal.Digest(env), Submission: digest, Station: d.Station, Contest: d.Contest,
			Form: d.Form, Verdict: verdict, Reason: reason, SignedBy: key.ID(), DecidedAt: at, Envelope: env}
		if err := tx.AppendDecision(made); err != nil {
			return err
		}
		if err := tx.Enqueue(made.Digest, at); err != nil {
			return err
		}
		return tx.Audit(at, audit.Event{Action: "decision.sign", Subject: d.Station + "/" + d.Contest + "/" + string(d.Form),
			Actor: key.ID(), Details: map[string]any{"submission": digest, "version": opened.Submission.Version,
				"verdict": verdict, "reason": reason, "decision": made.Digest}})
	})
	if err != nil {
		return nil, err
	}
	return made, nil
}

// PendingDecision is a decision waiting in the outbox, with its envelope.
type PendingDecision struct {
	OutboxItem
	Decision Decision
}

// PendingDecisions lists the outbox, oldest first: what the sync worker
// sends (PUT /v1/decisions/{digest}).
func (s *Service) PendingDecisions(ctx context.Context) ([]PendingDecision, error) {
	var out []PendingDecision
	err := s.store.View(ctx, func(r Reader) error {
		items, err := r.Outbox()
		if err != nil {
			return err
		}
		for _, it := range items {
			d, err := r.Decision(it.Digest)
			if err != nil {
				return err
			}
			out = append(out, PendingDecision{OutboxItem: it, Decision: *d})
		}
		return nil
	})
	return out, err
}

// DecisionAnswer is what the commission answered to a decision sent.
type DecisionAnswer struct {
	Digest     string    // of the decision it stored
	ReceivedAt time.Time // when it stored it, its clock
}

// RecordDecisionSent notes that the commission stored a decision and
// takes it out of the outbox. The same answer again changes nothing.
func (s *Service) RecordDecisionSent(ctx context.Context, digest string, answer DecisionAnswer) error {
	if answer.Digest != digest {
		return fmt.Errorf("the commission's answer names decision %s, not %s", answer.Digest, digest)
	}
	return s.store.Update(ctx, func(tx Tx) error {
		d, err := tx.Decision(digest)
		if errors.Is(err, ErrNotFound) {
			return fmt.Errorf("decision %s was not made here: %w", digest, ErrNotFound)
		} else if err != nil {
			return err
		}
		switch _, err := tx.Delivery(digest); {
		case err == nil:
			return nil
		case !errors.Is(err, ErrNotFound):
			return err
		}
		at := s.clock()
		if err := tx.PutDelivery(&Delivery{Digest: digest, ReceivedAt: answer.ReceivedAt.UTC(), RecordedAt: at}); err != nil {
			return err
		}
		return tx.Audit(at, audit.Event{Action: "decision.delivered", Subject: d.Station + "/" + d.Contest + "/" + string(d.Form),
			Actor: "commission", Details: map[string]any{"decision": digest, "received_at": answer.ReceivedAt.UTC()}})
	})
}
