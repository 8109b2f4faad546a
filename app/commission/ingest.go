package commission

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"time"

	"tally/app/audit"
	"tally/app/election"
	"tally/app/enrollment"
	"tally/app/seal"
)

// MaxEnvelopeSize bounds a submission's envelope as received.
const MaxEnvelopeSize = election.MaxSubmissionSize*4/3 + 16<<10

// Receipt is what the commission answers to a stored submission.
type Receipt struct {
	Envelope   []byte // the signed receipt
	Submission *Submission
	// Repeat is true when the submission was already stored: the same
	// envelope again gets the same receipt.
	Repeat bool
}

// checked is a submission that verified, waiting for its commit.
type checked struct {
	sub  *Submission
	form *election.Submission // the payload, parsed
}

type outcome struct {
	receipt *Receipt
	err     error
}

type pending struct {
	c    *checked
	done chan outcome
}

// Submit takes a sealed submission in: it verifies everything it can
// before touching the store — the envelope, the enrolled and unrevoked
// station key, the payload against the definition, that the station signs
// its own forms — then commits it with others (group commit) and answers
// only once it is durable. The same envelope again gets the same receipt;
// another envelope for a stored version, or a version that does not
// supersede the form's head, is recorded as a conflict and refused with
// EConflict.
func (s *Service) Submit(ctx context.Context, raw []byte) (*Receipt, error) {
	return s.SubmitEnvelope(ctx, raw, nil)
}

// SubmitEnvelope is Submit for a caller that parsed the envelope already
// (with seal.Parse, from raw exactly): it is not parsed again. env nil
// parses raw.
func (s *Service) SubmitEnvelope(ctx context.Context, raw []byte, env *seal.Envelope) (*Receipt, error) {
	// Checking is CPU work (an Ed25519 verification, the payload's
	// parse): a few at a time, twice as many as there are cores, so that a
	// crowd of submissions does not queue cheaper requests (a status, the
	// public results) behind all of theirs.
	select {
	case s.checking <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	c, err := s.check(ctx, raw, env)
	<-s.checking
	if err != nil {
		return nil, err
	}
	p := &pending{c: c, done: make(chan outcome, 1)}
	select {
	case <-s.stop:
		return nil, Errorf(EUnavailable, "tallyd is shutting down; send it again")
	default:
	}
	select {
	case s.ingest <- p:
	case <-s.stop:
		return nil, Errorf(EUnavailable, "tallyd is shutting down; send it again")
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	// Once queued, the answer is awaited even if the caller goes away: the
	// commit happens regardless, and a retry will find it stored.
	o := <-p.done
	if o.err != nil {
		return nil, o.err
	}
	return o.receipt, nil
}

// check verifies a submission without the store's help, but for the
// enrolled key (cached).
func (s *Service) check(ctx context.Context, raw []byte, env *seal.Envelope) (*checked, error) {
	def, err := s.Definition(ctx)
	if err != nil {
		return nil, err
	}
	if s.receiptKey == nil {
		return nil, Errorf(EUnavailable, "no receipt key: tallyd cannot answer with receipts")
	}
	key, opened, err := s.openParsed(ctx, raw, env, MaxEnvelopeSize, election.SubmissionPayloadType, "submission", EInvalid, false)
	if err != nil {
		return nil, err
	}
	if key.Role != enrollment.RoleStation {
		return nil, Errorf(EForbidden, "key %s is a %s's, not a station's", key.ID, key.Role)
	}
	// A revoked key is refused at the commit, where a repeat of what it
	// sent before its revocation still gets its receipt.
	sub, _, err := election.ParseSubmission(opened.Payload, def)
	if err != nil {
		return nil, Errorf(EInvalid, "%v", err)
	}
	if sub.Form.Station != key.Unit {
		return nil, Errorf(EForbidden, "the key of station %s signed a form of station %s", key.Unit, sub.Form.Station)
	}
	st, _ := def.Station(sub.Form.Station) // ParseSubmission checked it exists
	return &checked{sub: &Submission{
		Digest: opened.Digest, FormRef: FormRef{Station: st.Code, Contest: sub.Form.Contest, Form: sub.Form.Kind},
		Municipality: st.Municipality, Version: sub.Version, Supersedes: sub.Supersedes, KeyID: key.ID,
		PhotoSHA256: sub.Form.PhotoSHA256, Envelope: raw, SealedAt: sub.SealedAt.UTC().Truncate(time.Microsecond),
	}, form: sub}, nil
}

// commitLoop commits what Submit queued, many at a time: whatever queued
// while the last commit ran shares the next one.
func (s *Service) commitLoop() {
	defer close(s.done)
	for {
		var first *pending
		select {
		case first = <-s.ingest:
		case <-s.stop:
			// Commit what was queued before the stop, then end.
			for {
				select {
				case p := <-s.ingest:
					s.commitBatch(s.gather(p))
				default:
					return
				}
			}
		}
		s.commitBatch(s.gather(first))
	}
}

func (s *Service) gather(first *pending) []*pending {
	batch := []*pending{first}
	for len(batch) < s.maxBatch {
		select {
		case p := <-s.ingest:
			batch = append(batch, p)
		default:
			return batch
		}
	}
	return batch
}

// commitBatch commits a batch in one transaction. A submission refused
// inside it (a conflict, a revoked key) is answered with its error while
// the rest commit; a failed commit answers every one with the failure, to
// be sent again.
func (s *Service) commitBatch(batch []*pending) {
	results := make([]outcome, len(batch))
	at := s.clock()
	err := s.store.Update(context.Background(), func(tx Tx) error {
		// Revoked since each was checked (perhaps on another node)? One
		// read for the whole batch.
		ids, err := tx.RevokedKeys()
		if err != nil {
			return err
		}
		revoked := make(map[string]bool, len(ids))
		for _, id := range ids {
			revoked[id] = true
		}
		// The version before each submission, for all of them in one go:
		// the common case is the next version of its form.
		prev := make([]VersionRef, 0, len(batch))
		for _, p := range batch {
			if sub := p.c.sub; sub.Version > 1 {
				prev = append(prev, VersionRef{FormRef: sub.FormRef, Version: sub.Version - 1})
			}
		}
		var stored map[VersionRef]string
		if len(prev) > 0 {
			if stored, err = tx.DigestsAt(prev); err != nil {
				return err
			}
		}
		for i, p := range batch {
			yieldEvery(i)
			results[i] = outcome{}
			r, err := s.commitOne(tx, p.c, at, revoked, stored)
			var e *Error
			switch {
			case err == nil:
				results[i].receipt = r
			case errors.As(err, &e) && e.Kind != EInternal:
				results[i].err = err // refused; its conflict, if any, is recorded
			default:
				return err
			}
		}
		return nil
	})
	if err == nil {
		s.tellStored(batch, results)
	}
	for i, p := range batch {
		yieldEvery(i)
		o := results[i]
		if err != nil {
			o = outcome{err: Errorf(EUnavailable, "the submission could not be stored; send it again (%v)", err)}
		} else if o.receipt != nil {
			o.receipt.Envelope, o.err = s.signReceipt(o.receipt.Submission)
			if o.err != nil {
				o.receipt = nil
			}
		}
		p.done <- o
	}
}

// Stored is a submission this service just stored, as its listeners hear
// of it: the stored row and its payload, parsed and checked.
type Stored struct {
	Submission *Submission
	Form       *election.Submission
}

// OnStored has f hear of the submissions this service stores, after each
// commit, from the committer: f must return at once (keep them, and look
// at them elsewhere). Only what this service stored is told; on a database
// shared by several nodes, what the others store is not.
func (s *Service) OnStored(f func([]Stored)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.listeners = append(s.listeners, f)
}

func (s *Service) tellStored(batch []*pending, results []outcome) {
	s.mu.RLock()
	listeners := s.listeners
	s.mu.RUnlock()
	if len(listeners) == 0 {
		return
	}
	var stored []Stored
	for i, o := range results {
		if o.receipt != nil && !o.receipt.Repeat {
			stored = append(stored, Stored{Submission: o.receipt.Submission, Form: batch[i].c.form})
		}
	}
	if len(stored) == 0 {
		return
	}
	for _, f := range listeners {
		f(stored)
	}
}

// committerYield is how many submissions the committer stores, or signs
// the receipts of, between two yields of its core.
const committerYield = 16

// yieldEvery lets other goroutines run every committerYield submissions.
// The committer is one goroutine that works through a whole batch (up to
// 256 inserts, then as many receipt signatures: tens of milliseconds of
// CPU) without waiting on anything; Go would take its core only every 10
// ms, and a short request woken meanwhile (a reader of the public results)
// would wait that long. With 100 readers beside the election-night burst
// on 2 cores, their p99 went from 29-35 ms to 16-22 ms.
func yieldEvery(i int) {
	if i%committerYield == committerYield-1 {
		runtime.Gosched()
	}
}

// commitOne decides one submission inside the batch's transaction.
// prev holds the digests of the versions before the batch's submissions
// that were stored when the batch began.
func (s *Service) commitOne(tx Tx, c *checked, at time.Time, revoked map[string]bool,
	prev map[VersionRef]string) (*Receipt, error) {
	sub := c.sub
	if revoked[sub.KeyID] {
		if old, err := tx.Submission(sub.Digest); err == nil {
			return &Receipt{Submission: old, Repeat: true}, nil // sent before the revocation
		} else if !errors.Is(err, ErrNotFound) {
			return nil, err
		}
		return nil, Errorf(EForbidden, "key %s was revoked", sub.KeyID)
	}
	// The common case first, in one write: the next version of its form
	// (version 1, or one that supersedes the stored version before it).
	// The store's uniqueness of digest and of version decides the rest.
	if supersedesStored(sub, prev) {
		if r, ok, err := s.insert(tx, sub, at); err != nil || ok {
			return r, err
		}
	}
	for attempt := 0; attempt < 2; attempt++ {
		if old, err := tx.Submission(sub.Digest); err == nil {
			return &Receipt{Submission: old, Repeat: true}, nil
		} else if !errors.Is(err, ErrNotFound) {
			return nil, err
		}
		if reason, err := s.conflictWithStored(tx, sub); err != nil {
			return nil, err
		} else if reason != "" {
			return nil, s.recordConflict(tx, sub, reason, at)
		}
		if r, ok, err := s.insert(tx, sub, at); err != nil || ok {
			return r, err
		}
		// Another node stored this digest or version meanwhile: decide again.
	}
	return nil, Errorf(EInternal, "submission %s: the store refused it twice without saying why", sub.Digest)
}

// supersedesStored reports whether a submission is version 1 or names the
// stored version before it, as read when the batch began: then it is new
// unless its version is taken. A version stored by the batch itself is
// not in prev, and takes the careful path.
func supersedesStored(sub *Submission, prev map[VersionRef]string) bool {
	if sub.Version == 1 {
		return true
	}
	d, ok := prev[VersionRef{FormRef: sub.FormRef, Version: sub.Version - 1}]
	return ok && d == sub.Supersedes
}

// insert stores a submission as new and audits it; false when the store
// already holds its digest or its version.
func (s *Service) insert(tx Tx, sub *Submission, at time.Time) (*Receipt, bool, error) {
	stored := *sub
	stored.ReceivedAt = at
	ok, err := tx.InsertSubmission(&stored)
	if err != nil || !ok {
		return nil, false, err
	}
	if err := tx.Audit(at, audit.Event{Action: "submission.store", Subject: formSubject(sub.FormRef),
		Actor: sub.KeyID, Details: map[string]any{"version": sub.Version, "digest": sub.Digest,
			"supersedes": sub.Supersedes, "number": stored.Number}}); err != nil {
		return nil, false, err
	}
	return &Receipt{Submission: &stored}, true, nil
}

// conflictWithStored says why a new submission contradicts the stored
// versions of its form, or "" when it is the next version.
func (s *Service) conflictWithStored(tx Tx, sub *Submission) (string, error) {
	if other, err := tx.SubmissionAt(sub.FormRef, sub.Version); err == nil {
		return fmt.Sprintf("version %d is already stored as %s, a different envelope", sub.Version, other.Digest), nil
	} else if !errors.Is(err, ErrNotFound) {
		return "", err
	}
	head, err := tx.Head(sub.FormRef)
	switch {
	case errors.Is(err, ErrNotFound):
		if sub.Version != 1 {
			return fmt.Sprintf("version %d supersedes %s, but no version is stored", sub.Version, sub.Supersedes), nil
		}
		return "", nil
	case err != nil:
		return "", err
	case sub.Version != head.Version+1 || sub.Supersedes != head.Digest:
		return fmt.Sprintf("version %d supersedes %s, but the head is version %d, %s",
			sub.Version, sub.Supersedes, head.Version, head.Digest), nil
	}
	return "", nil
}

func (s *Service) recordConflict(tx Tx, sub *Submission, reason string, at time.Time) error {
	c := &Conflict{Digest: sub.Digest, FormRef: sub.FormRef, Municipality: sub.Municipality, Version: sub.Version,
		Supersedes: sub.Supersedes, KeyID: sub.KeyID, Reason: reason, Envelope: sub.Envelope, At: at}
	fresh, err := tx.PutConflict(c)
	if err != nil {
		return err
	}
	if !fresh { // the same envelope again: recorded the first time
		return Errorf(EConflict, "%s", reason)
	}
	if err := tx.Audit(at, audit.Event{Action: "submission.conflict", Subject: formSubject(sub.FormRef),
		Actor: sub.KeyID, Details: map[string]any{"version": sub.Version, "digest": sub.Digest,
			"conflict": c.ID, "reason": reason}}); err != nil {
		return err
	}
	return Errorf(EConflict, "%s", reason)
}

func formSubject(f FormRef) string { return f.Station + "/" + f.Contest + "/" + string(f.Form) }

// signReceipt signs the receipt of a stored submission. Ed25519 signatures
// are deterministic, so the same submission always gets the same bytes.
func (s *Service) signReceipt(sub *Submission) ([]byte, error) {
	s.mu.RLock()
	def := s.def
	s.mu.RUnlock()
	return signJSON(election.ReceiptPayloadType, election.Receipt{
		Format: election.ReceiptFormat, Election: def.Election.ID, Station: sub.Station, Contest: sub.Contest,
		Form: sub.Form, Version: sub.Version, Submission: sub.Digest, Number: sub.Number, ReceivedAt: sub.ReceivedAt,
	}, s.receiptKey)
}

// ReceiptOf is the receipt of a stored submission, for a station that
// asks again.
func (s *Service) ReceiptOf(sub *Submission) ([]byte, error) { return s.signReceipt(sub) }

func signJSON(payloadType string, v any, key *seal.PrivateKey) ([]byte, error) {
	if key == nil {
		return nil, Errorf(EUnavailable, "no signing key")
	}
	payload, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return seal.Sign(payloadType, payload, key)
}
