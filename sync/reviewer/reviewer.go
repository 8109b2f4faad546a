// Package reviewer keeps a municipal supervisor's laptop in step with the
// commission, in the background of the supervisor's app and as `tally
// supervisor sync`: each pass logs in, fetches the signed key list, the
// municipality's overview, the records of the stations whose forms
// changed, the commission's list of conflicts, and every envelope and
// photo not held yet, each checked and stored by app/review; then it sends the decisions waiting in the
// outbox. Failures are retried with backoff and no limit; the
// commission's refusal of a decision is recorded with its reason and not
// sent again. It publishes where it stands for the screens.
package reviewer

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"tally/app/review"
	"tally/app/seal"
	"tally/server"
	"tally/sync/client"
	"tally/sync/worker"
)

// Sender is what the worker needs of the commission's client.
type Sender interface {
	Login(ctx context.Context, key *seal.PrivateKey) error
	SignedKeyList(ctx context.Context) ([]byte, error)
	MunicipalityRaw(ctx context.Context, code string) ([]byte, error)
	ConflictsRaw(ctx context.Context, code string) ([]byte, error)
	StationRaw(ctx context.Context, code string) ([]byte, error)
	Submission(ctx context.Context, digest string) ([]byte, error)
	Attachment(ctx context.Context, sha string) ([]byte, error)
	Decide(ctx context.Context, digest string, envelope []byte) (*server.DecisionView, error)
}

// DefaultPoll is how often a following worker fetches again after a pass
// that succeeded.
const DefaultPoll = 30 * time.Second

// Problem is something fetched that was not stored, or a decision the
// commission refused, with why.
type Problem struct {
	Digest string `json:"digest"`
	Reason string `json:"reason"`
}

// State is where the supervisor's sync stands, for the screens.
type State struct {
	// Online is true when the last request got an answer from a server.
	Online bool `json:"online"`
	// NeedsKey is true while the worker waits for the supervisor's PIN:
	// everything a supervisor reads needs a login.
	NeedsKey bool `json:"needs_key,omitempty"`
	// NotEnrolled is true while the commission has not enrolled the
	// supervisor's key: nothing is tried before (a login would be refused).
	NotEnrolled bool `json:"not_enrolled,omitempty"`
	// Syncing is true during a pass.
	Syncing bool `json:"syncing,omitempty"`
	// FetchedAt is when the municipality's overview was last fetched;
	// zero before the first fetch of this run.
	FetchedAt time.Time `json:"fetched_at,omitzero"`
	// Stations counts the station records fetched in the last pass.
	Stations int `json:"stations"`
	// Conflicts counts the conflicts in the commission's list as last
	// fetched.
	Conflicts int `json:"conflicts"`
	// Envelopes and Photos count what the views name and is not stored
	// yet (a photo the station has not uploaded yet stays here).
	Envelopes int `json:"envelopes"`
	Photos    int `json:"photos"`
	// Decisions counts the decisions waiting to be sent, the refused ones
	// left out; Sent the decisions delivered in this run.
	Decisions int `json:"decisions"`
	Sent      int `json:"sent"`
	// Refused are the decisions the commission refused, with its reason,
	// that no later decision on their form replaced;
	// Unverified the envelopes, photos and records fetched in this run
	// that were not stored because they did not check out here.
	Refused    []Problem `json:"refused,omitempty"`
	Unverified []Problem `json:"unverified,omitempty"`
	// NextTry is when the next pass is due after a failure; zero when
	// none waits.
	NextTry   time.Time `json:"next_try,omitzero"`
	LastError string    `json:"last_error,omitempty"`
}

// Options configure a Worker.
type Options struct {
	// Backoff spaces the passes after a failure, as the station's worker
	// spaces its attempts; zero: worker.DefaultBackoff.
	Backoff worker.Backoff
	Now     func() time.Time // time.Now when nil
	OnState func(State)      // called after every change, from the worker's goroutine
	Rand    *rand.Rand       // the jitter's source; seeded from the clock when nil
	// Poll is how often Run fetches again after a pass that succeeded;
	// DefaultPoll when zero.
	Poll time.Duration
}

// Worker syncs one supervisor's laptop.
type Worker struct {
	svc     *review.Service
	send    Sender
	backoff worker.Backoff
	now     func() time.Time
	onState func(State)
	rng     *rand.Rand
	poll    time.Duration

	wake chan struct{}

	mu       sync.Mutex
	key      *seal.PrivateKey
	loggedIn bool
	state    State
	// holdUntil is when the server last asked, with Retry-After, to be
	// left alone until.
	holdUntil time.Time

	// Only the worker's goroutine uses what follows.
	failures   int                       // failed passes in a row
	unverified map[string]string         // digest or hash → why it was not stored, in this run
	refused    map[string]review.Refusal // nil until read from the store
}

// New makes a Worker.
func New(svc *review.Service, c Sender, o Options) *Worker {
	w := &Worker{svc: svc, send: c, backoff: o.Backoff, now: o.Now, onState: o.OnState, rng: o.Rand, poll: o.Poll,
		wake: make(chan struct{}, 1), unverified: map[string]string{}}
	if w.backoff == (worker.Backoff{}) {
		w.backoff = worker.DefaultBackoff
	}
	if w.now == nil {
		w.now = time.Now
	}
	if w.rng == nil {
		w.rng = rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 0x5e7))
	}
	if w.poll <= 0 {
		w.poll = DefaultPoll
	}
	w.state.NeedsKey = true
	return w
}

// SetKey hands the worker the supervisor's unlocked key, to log in with.
func (w *Worker) SetKey(key *seal.PrivateKey) {
	w.mu.Lock()
	w.key, w.loggedIn = key, false
	w.state.NeedsKey = key == nil
	w.mu.Unlock()
	w.Wake()
}

// Wake makes the worker fetch and send now: a decision was made, or the
// network is back.
func (w *Worker) Wake() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// State is the latest state.
func (w *Worker) State() State {
	w.mu.Lock()
	defer w.mu.Unlock()
	s := w.state
	s.Refused = append([]Problem(nil), s.Refused...)
	s.Unverified = append([]Problem(nil), s.Unverified...)
	return s
}

// ErrNeedKey ends Drain without the supervisor's key.
var ErrNeedKey = errors.New("the supervisor's key is needed to log in to the commission's server: unlock it with the PIN")

// ErrNotEnrolled ends Drain on a laptop whose key the commission has not
// enrolled yet.
var ErrNotEnrolled = errors.New("the supervisor's key is not enrolled with the commission yet: enroll it with the one-time code first")

// ErrStopped ends Drain when its context ends first.
var ErrStopped = errors.New("stopped before the sync was complete")

// Drain makes passes until one completes: everything the views name is
// fetched (or could not be, for a reason that another try will not
// change) and every decision is sent or refused. It waits out failures;
// it returns ErrStopped if ctx ends first, ErrNeedKey without the key.
func (w *Worker) Drain(ctx context.Context) error {
	return w.loop(ctx, false)
}

// Run syncs for as long as ctx lasts: a pass every Poll, at once on Wake,
// after a wait that grows on failure. Before the supervisor's key is
// enrolled it waits for Wake (the enrollment wakes it).
func (w *Worker) Run(ctx context.Context) error {
	return w.loop(ctx, true)
}

func (w *Worker) loop(ctx context.Context, follow bool) error {
	for {
		var next time.Time
		w.mu.Lock()
		key := w.key
		w.mu.Unlock()
		p, err := w.svc.Provisioning(ctx)
		switch {
		case err != nil && ctx.Err() != nil && follow:
			return nil
		case err != nil && ctx.Err() != nil:
			return ErrStopped
		case err != nil:
			return err
		}
		enrolled := p.EnrolledAt != nil
		w.publish(func(s *State) { s.NotEnrolled = !enrolled })
		switch {
		case !enrolled && !follow:
			return ErrNotEnrolled
		case !enrolled:
			// Nothing to try before the enrollment, which wakes the worker.
		case key == nil:
			if !follow {
				return ErrNeedKey
			}
			w.publish(func(s *State) { s.NeedsKey = true })
		default:
			done, err := w.pass(ctx, key)
			switch {
			case ctx.Err() != nil:
				if follow {
					return nil
				}
				return ErrStopped
			case err != nil:
				return err
			case done && !follow:
				return nil
			case done:
				next = w.now().Add(w.poll)
			default:
				next = w.retryAt()
			}
		}
		var timer *time.Timer
		var due <-chan time.Time
		if !next.IsZero() {
			timer = time.NewTimer(max(0, next.Sub(w.now())))
			due = timer.C
		}
		select {
		case <-ctx.Done():
		case <-due:
		case <-w.wake:
		}
		if timer != nil {
			timer.Stop()
		}
		if ctx.Err() != nil {
			if follow {
				return nil
			}
			return ErrStopped
		}
	}
}

// failure is a pass cut short by the network or the server: it is tried
// again after a wait.
type failure struct {
	what string
	err  error
}

func (f *failure) Error() string { return f.what + ": " + f.err.Error() }

// pass fetches and sends once. done is false when a failure cut it short
// (shown in the state, tried again later); err is a failure of this
// laptop's store, which ends the worker.
func (w *Worker) pass(ctx context.Context, key *seal.PrivateKey) (done bool, err error) {
	w.publish(func(s *State) { s.Syncing, s.NeedsKey = true, false })
	defer w.publish(func(s *State) { s.Syncing = false })
	if hold := w.hold(); !hold.IsZero() {
		w.publish(func(s *State) { s.NextTry = hold })
		return false, nil
	}
	err = w.fetchAndSend(ctx, key)
	var f *failure
	if errors.As(err, &f) {
		w.failures++
		w.holdFor(client.RetryAfterOf(f.err))
		answered := answered(f.err)
		at := w.now().Add(backoffWait(w.backoff, w.failures, answered, client.RetryAfterOf(f.err), w.rng))
		if hold := w.hold(); hold.After(at) {
			at = hold
		}
		w.publish(func(s *State) {
			s.Online, s.LastError, s.NextTry = answered, f.Error(), at
		})
		return false, nil
	}
	if err != nil {
		return false, err
	}
	w.failures = 0
	w.publish(func(s *State) { s.Online, s.LastError, s.NextTry = true, "", time.Time{} })
	return true, nil
}

// retryAt is when the pass that failed is tried again.
func (w *Worker) retryAt() time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.state.NextTry
}

func (w *Worker) fetchAndSend(ctx context.Context, key *seal.PrivateKey) error {
	_, muni, err := w.svc.Scope(ctx)
	if err != nil {
		return err
	}
	if err := w.login(ctx, key); err != nil {
		return err
	}
	// The key list first: nothing verifies without it.
	raw, err := w.send.SignedKeyList(ctx)
	if err != nil {
		return &failure{"the list of enrolled keys", err}
	}
	w.online()
	if _, err := w.svc.RecordKeyList(ctx, raw); err != nil {
		// An older list than the one stored (a server's cache, or a
		// replay) is not taken; what is stored still serves.
		if !errors.Is(err, review.ErrStaleKeyList) {
			return &failure{"the list of enrolled keys", err}
		}
		w.note("keys", err)
	}
	body, err := w.send.MunicipalityRaw(ctx, muni.Code)
	if err != nil {
		return &failure{"the overview of municipality " + muni.Code, err}
	}
	overview, err := review.ParseOverview(body)
	if err == nil {
		err = w.svc.RecordOverview(ctx, overview)
	}
	if err != nil {
		return &failure{"the overview of municipality " + muni.Code, err}
	}
	w.publish(func(s *State) { s.FetchedAt = w.now() })

	// The conflicts before the records: a record is read again when the
	// list names a conflict of its station that it does not.
	body, err = w.send.ConflictsRaw(ctx, muni.Code)
	if err != nil {
		return &failure{"the conflicts of municipality " + muni.Code, err}
	}
	conflicts, err := review.ParseConflicts(body)
	if err == nil {
		err = w.svc.RecordConflicts(ctx, conflicts)
	}
	if err != nil {
		return &failure{"the conflicts of municipality " + muni.Code, err}
	}
	w.publish(func(s *State) { s.Conflicts = len(conflicts.Conflicts) })

	todo, err := w.svc.Missing(ctx)
	if err != nil {
		return err
	}
	fetched := 0
	for _, code := range todo.Stations {
		body, err := w.send.StationRaw(ctx, code)
		if err != nil {
			if client.IsRefused(err) {
				w.note(code, err)
				continue
			}
			return &failure{"the record of station " + code, err}
		}
		rec, err := review.ParseStationRecord(body)
		if err == nil {
			err = w.svc.RecordStation(ctx, rec)
		}
		if err != nil {
			w.note(code, err)
			continue
		}
		w.forget(code)
		fetched++
	}
	w.publish(func(s *State) { s.Stations = fetched })

	if todo, err = w.svc.Missing(ctx); err != nil {
		return err
	}
	if err := w.fetchEnvelopes(ctx, todo); err != nil {
		return err
	}
	return w.sendDecisions(ctx)
}

// fetchEnvelopes fetches the envelopes, then the photos, not held yet.
func (w *Worker) fetchEnvelopes(ctx context.Context, todo *review.ToFetch) error {
	envLeft, photoLeft := len(todo.Envelopes), len(todo.Photos)
	show := func() { w.publish(func(s *State) { s.Envelopes, s.Photos = envLeft, photoLeft }) }
	show()
	for _, digest := range todo.Envelopes {
		if _, bad := w.unverified[digest]; bad {
			continue // it did not verify in this run; fetched again in the next
		}
		raw, err := w.send.Submission(ctx, digest)
		if err != nil {
			if client.IsRefused(err) {
				w.note(digest, err)
				continue
			}
			return &failure{"the submission " + short(digest), err}
		}
		if _, err := w.svc.RecordSubmission(ctx, raw); err != nil {
			w.note(digest, err)
			continue
		}
		envLeft--
		show()
	}
	for _, sha := range todo.Photos {
		if _, bad := w.unverified[sha]; bad {
			continue
		}
		data, err := w.send.Attachment(ctx, sha)
		if err != nil {
			if client.IsRefused(err) {
				// Most often: the station has not uploaded it yet.
				continue
			}
			return &failure{"the photo " + short(sha), err}
		}
		if err := w.svc.RecordPhoto(ctx, sha, data); err != nil {
			w.note(sha, err)
			continue
		}
		photoLeft--
		show()
	}
	return nil
}

// sendDecisions sends the outbox, oldest first; a refusal is recorded
// with its reason and the decision is not sent again.
func (w *Worker) sendDecisions(ctx context.Context) error {
	if w.refused == nil {
		refused, err := w.svc.RefusedDecisions(ctx)
		if err != nil {
			return err
		}
		w.refused = refused
	}
	pending, err := w.svc.PendingDecisions(ctx)
	if err != nil {
		return err
	}
	waiting := 0
	for _, p := range pending {
		if _, no := w.refused[p.Digest]; !no {
			waiting++
		}
	}
	if err := w.showDecisions(ctx, waiting); err != nil {
		return err
	}
	for _, p := range pending {
		if _, no := w.refused[p.Digest]; no {
			continue
		}
		answer, err := w.send.Decide(ctx, p.Digest, p.Decision.Envelope)
		var refused *client.RefusedError
		switch {
		case errors.As(err, &refused):
			reason := refused.Reason
			if reason == "" {
				reason = refused.Error()
			}
			if err := w.svc.RecordDecisionRefused(ctx, p.Digest, reason); err != nil {
				return err
			}
			w.refused[p.Digest] = review.Refusal{Decision: p.Digest, Reason: reason, At: w.now()}
		case err != nil:
			return &failure{fmt.Sprintf("the decision on station %s's %s/%s", p.Decision.Station, p.Decision.Contest,
				p.Decision.Form), err}
		default:
			if err := w.svc.RecordDecisionSent(ctx, p.Digest,
				review.DecisionAnswer{Digest: answer.Digest, ReceivedAt: answer.ReceivedAt}); err != nil {
				return err
			}
			w.publish(func(s *State) { s.Sent++ })
		}
		waiting--
		if err := w.showDecisions(ctx, waiting); err != nil {
			return err
		}
	}
	return nil
}

// showDecisions publishes how many decisions wait, and the refusals that
// still want a new decision (a refused decision the supervisor has
// decided again on is not one).
func (w *Worker) showDecisions(ctx context.Context, waiting int) error {
	standing, err := w.svc.StandingRefusals(ctx)
	if err != nil {
		return err
	}
	refused := make([]Problem, 0, len(standing))
	for _, r := range standing {
		refused = append(refused, Problem{Digest: r.Decision, Reason: r.Reason})
	}
	sortProblems(refused)
	w.publish(func(s *State) { s.Decisions, s.Refused = waiting, refused })
	return nil
}

// login logs in once per key; the client renews the token itself.
func (w *Worker) login(ctx context.Context, key *seal.PrivateKey) error {
	w.mu.Lock()
	done := w.loggedIn
	w.mu.Unlock()
	if done {
		return nil
	}
	if err := w.send.Login(ctx, key); err != nil {
		return &failure{"login", err}
	}
	w.mu.Lock()
	w.loggedIn = true
	w.mu.Unlock()
	w.online()
	return nil
}

// note keeps why something fetched was not stored, for the state.
func (w *Worker) note(what string, err error) {
	w.unverified[what] = err.Error()
	w.showUnverified()
}

func (w *Worker) forget(what string) {
	if _, ok := w.unverified[what]; ok {
		delete(w.unverified, what)
		w.showUnverified()
	}
}

func (w *Worker) showUnverified() {
	list := make([]Problem, 0, len(w.unverified))
	for d, why := range w.unverified {
		list = append(list, Problem{Digest: d, Reason: why})
	}
	sortProblems(list)
	w.publish(func(s *State) { s.Unverified = list })
}

func (w *Worker) online() {
	w.publish(func(s *State) { s.Online = true })
}

// answered reports whether a failed request got an answer from a server.
func answered(err error) bool {
	var r *client.RetryError
	if errors.As(err, &r) {
		return r.Status != 0
	}
	// A refusal, or what this laptop refused of an answer, came from a
	// server that answered.
	return true
}

// holdFor makes every request wait d, as a server asked.
func (w *Worker) holdFor(d time.Duration) {
	if d <= 0 {
		return
	}
	w.mu.Lock()
	if until := w.now().Add(d); until.After(w.holdUntil) {
		w.holdUntil = until
	}
	w.mu.Unlock()
}

// hold is when requests may go again, zero when they may now.
func (w *Worker) hold() time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.holdUntil.After(w.now()) {
		return w.holdUntil
	}
	return time.Time{}
}

// publish changes the state and makes it known.
func (w *Worker) publish(change func(*State)) {
	w.mu.Lock()
	change(&w.state)
	s, on := w.state, w.onState
	w.mu.Unlock()
	if on != nil {
		on(s)
	}
}

func short(digest string) string {
	if len(digest) > 12 {
		return digest[:12] + "…"
	}
	return digest
}
