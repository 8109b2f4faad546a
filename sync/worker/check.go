package worker

import (
	"context"
	"fmt"
	"time"

	"tally/app/enrollment"
	"tally/app/seal"
	"tally/app/station"
	"tally/server"
	"tally/sync/client"
)

// DefaultPoll is how often a following worker reads the station's record
// at the commission for the supervisors' decisions: 2,500 stations at
// once a minute are 42 light requests a second.
const DefaultPoll = time.Minute

// check reads the station's record at the commission, when the worker
// holds the key to log in: it stores the supervisors' decisions (verified
// against the signed list of the municipality's supervisors, not on the
// server's word) and the receipts of versions whose answer was lost. It
// returns when the next check is due; a failure is shown in the state and
// tried again after a wait, and never stops the sending.
//
// Without the key, a following worker only pings the server, so that the
// screens can say whether the commission is reachable while nothing is
// waiting to be sent.
func (w *Worker) check(ctx context.Context, follow bool) (time.Time, error) {
	w.mu.Lock()
	key := w.key
	w.state.ChecksNeedKey = key == nil
	w.mu.Unlock()
	if key == nil {
		if !follow {
			w.republish()
			return time.Time{}, nil
		}
		return w.ping(ctx)
	}
	if hold := w.hold(); !hold.IsZero() {
		return hold, nil
	}
	failed := func(what string, err error) (time.Time, error) {
		if ctx.Err() != nil {
			return time.Time{}, ctx.Err()
		}
		next := w.failedRequest(err)
		w.setError(what + ": " + err.Error())
		w.republish()
		return next, nil
	}
	if err := w.login(ctx, key); err != nil {
		return failed("login", err)
	}
	_, me, err := w.st.Scope(ctx)
	if err != nil {
		return time.Time{}, err
	}
	rec, err := w.send.Station(ctx, me.Code)
	if err != nil {
		return failed("the station's record", err)
	}
	w.setOnline(true)
	pending, err := w.st.Pending(ctx)
	if err != nil {
		return time.Time{}, err
	}
	waiting := map[string]station.Pending{}
	for _, p := range pending {
		waiting[p.Digest] = p
	}
	for _, sub := range rec.Submissions {
		p, ok := waiting[sub.Digest]
		if !ok {
			continue
		}
		if _, err := w.st.RecordReceipt(ctx, sub.Receipt); err != nil {
			w.setError(fmt.Sprintf("the receipt of %.12s: %v", sub.Digest, err))
			continue
		}
		delete(w.tried, sub.Digest)
		w.remember(Item{Digest: p.Digest, Key: p.Key, Version: p.Version, Attempts: p.Delivery.Attempts, Phase: Delivered})
		w.recorded = true
	}
	if len(rec.Decisions) > 0 {
		list, err := w.send.KeyList(ctx)
		if err != nil {
			return failed("the list of keys", err)
		}
		ring, err := list.Ring(enrollment.RoleSupervisor, me.Municipality)
		if err != nil {
			return time.Time{}, fmt.Errorf("the supervisors' keys of municipality %s: %w", me.Municipality, err)
		}
		w.recordDecisions(ctx, rec.Decisions, ring)
	}
	w.mu.Lock()
	w.state.CheckedAt, w.state.ChecksNeedKey = w.now(), false
	w.mu.Unlock()
	w.republish()
	return w.now().Add(w.poll), nil
}

// recordDecisions stores the decisions in the order the commission
// received them (the last one on a version stands). One that does not
// verify is named in the state and not tried again in this run.
func (w *Worker) recordDecisions(ctx context.Context, decisions []server.DecisionView, ring *seal.Keyring) {
	for _, d := range decisions {
		if w.badDecision[d.Digest] {
			continue
		}
		stored, err := w.st.RecordDecision(ctx, d.Envelope, ring)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			w.badDecision[d.Digest] = true
			w.setError(fmt.Sprintf("the decision %.12s on %.12s, not stored: %v", d.Digest, d.Submission, err))
			continue
		}
		if !w.seenDecision[stored.Digest] {
			w.seenDecision[stored.Digest] = true
			w.mu.Lock()
			w.state.Decisions++
			w.mu.Unlock()
		}
	}
}

// login logs the station in once per key.
func (w *Worker) login(ctx context.Context, key *seal.PrivateKey) error {
	w.mu.Lock()
	loggedIn := w.loggedIn
	w.mu.Unlock()
	if loggedIn {
		return nil
	}
	if err := w.send.Login(ctx, key); err != nil {
		return err
	}
	w.mu.Lock()
	w.loggedIn = true
	w.mu.Unlock()
	return nil
}

// ping asks whether the commission's server is there; it returns when to
// ask again: after the poll interval, or, while no server answers, after
// the offline wait, doubling up to the poll interval (an idle station
// need not knock every second). A SetKey's Wake ends the wait.
func (w *Worker) ping(ctx context.Context) (time.Time, error) {
	if hold := w.hold(); !hold.IsZero() {
		return hold, nil
	}
	err := w.send.Ping(ctx)
	if ctx.Err() != nil {
		return time.Time{}, ctx.Err()
	}
	w.setOnline(err == nil)
	if err == nil {
		w.pingFailures = 0
		w.republish()
		return w.now().Add(w.poll), nil
	}
	w.holdFor(client.RetryAfterOf(err))
	w.setError("the commission's server: " + err.Error())
	w.republish()
	w.pingFailures++
	wait := w.backoff.wait(1, false, 0, w.rng) << min(w.pingFailures-1, 16)
	return w.now().Add(min(wait, w.poll)), nil
}
