// Package worker sends a station's outbox to the commission, in the
// background of the desktop app and as `tally sync`: oldest first per
// form, again and again with backoff and no limit until a receipt that
// verifies comes back, and never past a refusal. It publishes where each
// sealed version stands for the screens to show.
package worker

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"time"

	"tally/app/election"
	"tally/app/enrollment"
	"tally/app/seal"
	"tally/app/station"
	"tally/server"
	"tally/sync/client"
)

// Station is what the worker needs of the station's use cases.
type Station interface {
	Pending(ctx context.Context) ([]station.Pending, error)
	RecordReceipt(ctx context.Context, raw []byte) (*station.StoredReceipt, error)
	RecordAttempt(ctx context.Context, d station.Delivery) error
	PendingPhotos(ctx context.Context) ([]station.PhotoRef, error)
	PhotoData(ctx context.Context, sha string) ([]byte, error)
	RecordUpload(ctx context.Context, sha string) error
	Scope(ctx context.Context) (*election.Definition, *election.Station, error)
	RecordDecision(ctx context.Context, raw []byte, supervisors *seal.Keyring) (*station.StoredDecision, error)
}

// Sender is what the worker needs of the commission's client.
type Sender interface {
	Submit(ctx context.Context, digest string, envelope []byte) client.Outcome
	Login(ctx context.Context, key *seal.PrivateKey) error
	Upload(ctx context.Context, sha string, data []byte) error
	Station(ctx context.Context, code string) (*server.StationView, error)
	KeyList(ctx context.Context) (*enrollment.KeyList, error)
	Ping(ctx context.Context) error
}

// Phase is where one sealed version stands.
type Phase string

// The phases of a sealed version on its way.
const (
	Queued    Phase = "queued"    // waiting for its turn
	Sending   Phase = "sending"   // on the wire now
	Waiting   Phase = "retry"     // not delivered; tried again at RetryAt
	Blocked   Phase = "blocked"   // an earlier version of its form is not delivered yet
	Delivered Phase = "delivered" // the commission's receipt is stored
	Refused   Phase = "refused"   // the commission refused it; a person must look
)

// Item is one sealed version on its way.
type Item struct {
	Digest   string          `json:"digest"`
	Key      station.FormKey `json:"key"`
	Version  int             `json:"version"`
	Phase    Phase           `json:"phase"`
	Attempts int             `json:"attempts"`
	RetryAt  time.Time       `json:"retry_at,omitzero"`
	Reason   string          `json:"reason,omitempty"`
}

// State is the outbox as the screens show it.
type State struct {
	// Online is true when the last request got an answer from a server.
	Online bool `json:"online"`
	// Items are the versions in the outbox, in the order sealed, and the
	// versions delivered during this run.
	Items []Item `json:"items"`
	// Queued counts the versions not delivered yet.
	Queued int `json:"queued"`
	// NextTry is when the next attempt is due; zero when none waits.
	NextTry time.Time `json:"next_try,omitzero"`
	// Photos counts the photos not uploaded yet; PhotosNeedKey is true
	// when they wait for the chair's PIN (uploads need the station's key).
	Photos        int  `json:"photos"`
	PhotosNeedKey bool `json:"photos_need_key,omitempty"`
	// CheckedAt is when the station's record at the commission (the
	// supervisors' decisions, receipts whose answer was lost) was last
	// read; ChecksNeedKey is true while that waits for the chair's PIN.
	CheckedAt     time.Time `json:"checked_at,omitzero"`
	ChecksNeedKey bool      `json:"checks_need_key,omitempty"`
	// Decisions counts the supervisors' decisions on the station's
	// record that are stored here.
	Decisions int    `json:"decisions"`
	LastError string `json:"last_error,omitempty"`
}

// Options configure a Worker.
type Options struct {
	Backoff Backoff          // zero: DefaultBackoff
	Now     func() time.Time // time.Now when nil
	OnState func(State)      // called after every change, from the worker's goroutine
	Rand    *rand.Rand       // the jitter's source; seeded from the clock when nil
	// Poll is how often Run reads the station's record for decisions;
	// DefaultPoll when zero.
	Poll time.Duration
}

// Worker sends one station's outbox.
type Worker struct {
	st      Station
	send    Sender
	backoff Backoff
	now     func() time.Time
	onState func(State)
	rng     *rand.Rand

	wake chan struct{}

	mu        sync.Mutex
	key       *seal.PrivateKey
	loggedIn  bool
	keyNew    bool // SetKey was called: the record is read at the next pass
	state     State
	delivered []Item
	// holdUntil is when the server last asked, with Retry-After, to hear
	// from this station again: every request waits for it, not only the
	// one that was answered so.
	holdUntil time.Time
	// tried holds, for each version tried in this run and not delivered,
	// whether its last attempt got no answer from any server; only the
	// worker's goroutine uses it.
	tried map[string]bool
	// poll, checkDue: the record is read again at checkDue; zero: at the
	// first pass with the key. badDecision, seenDecision: decisions that
	// did not verify, and those stored, in this run.
	poll         time.Duration
	checkDue     time.Time
	badDecision  map[string]bool
	seenDecision map[string]bool
	// recorded is set when a check stored a receipt: the outbox changed.
	recorded bool
	// pingFailures counts the pings in a row that found no server.
	pingFailures int
}

// New makes a Worker.
func New(st Station, send Sender, o Options) *Worker {
	w := &Worker{st: st, send: send, backoff: o.Backoff, now: o.Now, onState: o.OnState, rng: o.Rand,
		wake: make(chan struct{}, 1), tried: map[string]bool{},
		poll: o.Poll, badDecision: map[string]bool{}, seenDecision: map[string]bool{}}
	if w.poll <= 0 {
		w.poll = DefaultPoll
	}
	if w.backoff == (Backoff{}) {
		w.backoff = DefaultBackoff
	}
	if w.now == nil {
		w.now = time.Now
	}
	if w.rng == nil {
		w.rng = rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 0x7a11))
	}
	return w
}

// SetKey hands the worker the station's unlocked key, for what needs a
// login (uploading photos, reading the supervisors' decisions);
// submissions go without it.
func (w *Worker) SetKey(key *seal.PrivateKey) {
	w.mu.Lock()
	w.key, w.loggedIn, w.keyNew = key, false, true
	w.mu.Unlock()
	w.Wake()
}

// Wake makes the worker look at the outbox now: something was sealed, or
// the network is back.
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
	return w.state
}

// ErrStopped ends Drain when its context ends first.
var ErrStopped = errors.New("stopped before the outbox was empty")

// Drain sends until nothing is left to send now: every version delivered
// or refused, and every photo uploaded (or waiting for the key). It waits
// out retries; it returns ErrStopped if ctx ends first.
func (w *Worker) Drain(ctx context.Context) error {
	return w.loop(ctx, false)
}

// Run sends for as long as ctx lasts, waking when something is due or
// Wake is called.
func (w *Worker) Run(ctx context.Context) error {
	return w.loop(ctx, true)
}

func (w *Worker) loop(ctx context.Context, follow bool) error {
	woken, checked := false, false
	stopped := func(err error) error {
		switch {
		case ctx.Err() != nil && follow:
			return nil
		case ctx.Err() != nil:
			return ErrStopped
		}
		return err
	}
	for {
		next, err := w.pass(ctx, woken)
		woken = false
		if err != nil {
			return stopped(err)
		}
		w.mu.Lock()
		if w.keyNew {
			w.keyNew, w.checkDue = false, time.Time{}
		}
		w.mu.Unlock()
		// Run reads the station's record whenever it is due; Drain once,
		// when nothing is left to send now.
		if (follow && !w.now().Before(w.checkDue)) || (!follow && next.IsZero() && !checked) {
			checked = true
			if w.checkDue, err = w.check(ctx, follow); err != nil {
				return stopped(err)
			}
			if w.recorded {
				w.recorded = false
				continue // a receipt came with the record: show the outbox anew
			}
		}
		if follow && !w.checkDue.IsZero() {
			next = earliest(next, w.checkDue)
		}
		if next.IsZero() && !follow {
			return nil
		}
		var timer *time.Timer
		var due <-chan time.Time
		if !next.IsZero() {
			timer = time.NewTimer(max(0, next.Sub(w.now())))
			due = timer.C
		}
		select {
		case <-ctx.Done():
			if follow {
				return nil
			}
			return ErrStopped
		case <-due:
		case <-w.wake:
			woken = true
		}
		if timer != nil {
			timer.Stop()
		}
	}
}

// pass sends what is due, in the order sealed, and uploads the photos
// that wait. It returns when the next attempt is due (zero: nothing waits).
// After a Wake (the network is back, something was sealed) the versions
// waiting out a retry go at once, unless a server asked to wait.
func (w *Worker) pass(ctx context.Context, woken bool) (time.Time, error) {
	pending, err := w.st.Pending(ctx)
	if err != nil {
		return time.Time{}, err
	}
	items := make([]Item, len(pending))
	for i, p := range pending {
		items[i] = itemOf(p, w.now())
	}
	w.publish(items)
	w.mu.Lock()
	online := w.state.Online
	w.mu.Unlock()
	held := map[station.FormKey]bool{} // forms whose earlier version is not delivered
	var next time.Time
	for i, p := range pending {
		if ctx.Err() != nil {
			return time.Time{}, ctx.Err()
		}
		it := &items[i]
		if held[p.Key] {
			it.Phase = Blocked
			continue
		}
		if it.Phase == Refused {
			held[p.Key] = true
			continue
		}
		if !w.goesNow(p, woken, online) && p.Delivery.NextAttempt.After(w.now()) {
			held[p.Key] = true
			next = earliest(next, p.Delivery.NextAttempt)
			continue
		}
		if hold := w.hold(); !hold.IsZero() {
			held[p.Key] = true
			it.Phase, it.RetryAt = Waiting, hold
			next = earliest(next, hold)
			continue
		}
		it.Phase = Sending
		w.publish(items)
		if err := w.sendOne(ctx, p, it); err != nil {
			return time.Time{}, err
		}
		if it.Phase != Delivered {
			held[p.Key] = true
			if it.Phase == Waiting {
				next = earliest(next, it.RetryAt)
			}
		}
		w.publish(items)
	}
	photoNext, err := w.uploadPhotos(ctx, items)
	if err != nil {
		return time.Time{}, err
	}
	if w.isOnline() && w.anyUnanswered() {
		// A server answered after a version got no answer: the network
		// is back, and that version goes now rather than at its time.
		next = w.now()
	}
	return earliest(next, photoNext), nil
}

// goesNow reports whether a version waiting out a retry goes at once. A
// version whose last attempt got no answer goes when the network is back:
// on a Wake, or once a server answered another request. A version tried
// in an earlier run goes on a Wake while no server answers. A server's
// errors keep their doubling wait.
func (w *Worker) goesNow(p station.Pending, woken, wasOnline bool) bool {
	if unanswered, ok := w.tried[p.Digest]; ok {
		return unanswered && (woken || w.isOnline())
	}
	return woken && !wasOnline
}

func (w *Worker) anyUnanswered() bool {
	for _, unanswered := range w.tried {
		if unanswered {
			return true
		}
	}
	return false
}

func (w *Worker) isOnline() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.state.Online
}

func earliest(a, b time.Time) time.Time {
	if a.IsZero() || (!b.IsZero() && b.Before(a)) {
		return b
	}
	return a
}

func itemOf(p station.Pending, now time.Time) Item {
	it := Item{Digest: p.Digest, Key: p.Key, Version: p.Version, Attempts: p.Delivery.Attempts, Phase: Queued}
	switch {
	case p.Delivery.Refused:
		it.Phase, it.Reason = Refused, p.Delivery.Reason
	case p.Delivery.NextAttempt.After(now):
		it.Phase, it.RetryAt, it.Reason = Waiting, p.Delivery.NextAttempt, p.Delivery.LastError
	}
	return it
}

// sendOne makes one attempt at one version and records what became of it.
func (w *Worker) sendOne(ctx context.Context, p station.Pending, it *Item) error {
	out := w.send.Submit(ctx, p.Digest, p.Envelope)
	now := w.now()
	w.setOnline(out.Status != 0)
	w.holdFor(out.RetryAfter)
	d := p.Delivery
	d.Digest = p.Digest
	d.Attempts++
	d.LastAttempt = now
	it.Attempts = d.Attempts
	w.tried[p.Digest] = out.Status == 0
	switch out.Kind {
	case client.Delivered:
		if _, err := w.st.RecordReceipt(ctx, out.Receipt); err != nil {
			// The client verified it; the station verifies again. A
			// receipt the station cannot store is not a delivery.
			out = client.Outcome{Kind: client.Retry, Status: out.Status, Reason: "the receipt could not be stored: " + err.Error()}
		} else {
			it.Phase, it.Reason, it.RetryAt = Delivered, "", time.Time{}
			delete(w.tried, p.Digest)
			w.remember(*it)
			return nil
		}
	case client.Refused:
		delete(w.tried, p.Digest)
		d.Refused, d.Reason, d.LastError, d.NextAttempt = true, out.Reason, out.Reason, time.Time{}
		it.Phase, it.Reason = Refused, out.Reason
		return w.st.RecordAttempt(ctx, d)
	}
	wait := w.backoff.wait(d.Attempts, out.Status != 0, out.RetryAfter, w.rng)
	d.NextAttempt, d.LastError = now.Add(wait), out.Reason
	it.Phase, it.RetryAt, it.Reason = Waiting, d.NextAttempt, out.Reason
	w.setError(out.Reason)
	return w.st.RecordAttempt(ctx, d)
}

// uploadPhotos uploads the photos of delivered versions, when the worker
// has the key to log in.
func (w *Worker) uploadPhotos(ctx context.Context, items []Item) (time.Time, error) {
	photos, err := w.st.PendingPhotos(ctx)
	if err != nil || len(photos) == 0 {
		w.setPhotos(len(photos), false, items)
		return time.Time{}, err
	}
	w.mu.Lock()
	key := w.key
	w.mu.Unlock()
	if key == nil {
		w.setPhotos(len(photos), true, items)
		return time.Time{}, nil // Wake comes with SetKey
	}
	if hold := w.hold(); !hold.IsZero() {
		w.setPhotos(len(photos), false, items)
		return hold, nil
	}
	if err := w.login(ctx, key); err != nil {
		w.setError("login: " + err.Error())
		w.setPhotos(len(photos), false, items)
		return w.failedRequest(err), nil
	}
	left := len(photos)
	for _, ph := range photos {
		data, err := w.st.PhotoData(ctx, ph.SHA256)
		if err != nil {
			return time.Time{}, err
		}
		if err := w.send.Upload(ctx, ph.SHA256, data); err != nil {
			w.setError("photo " + ph.SHA256[:12] + ": " + err.Error())
			w.setPhotos(left, false, items)
			return w.failedRequest(err), nil
		}
		w.setOnline(true)
		if err := w.st.RecordUpload(ctx, ph.SHA256); err != nil {
			return time.Time{}, err
		}
		left--
	}
	w.setPhotos(0, false, items)
	return time.Time{}, nil
}

// failedRequest notes a request other than a submission that failed, and
// returns when to try again: as a submission's first retry would, and
// never before the server's Retry-After.
func (w *Worker) failedRequest(err error) time.Time {
	w.setOnline(answered(err))
	w.holdFor(client.RetryAfterOf(err))
	return earliest(w.hold(), w.now().Add(w.backoff.wait(1, answered(err), client.RetryAfterOf(err), w.rng)))
}

// answered reports whether a failed request got an answer from a server.
func answered(err error) bool {
	var r *client.RetryError
	if errors.As(err, &r) {
		return r.Status != 0
	}
	return client.IsRefused(err)
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

func (w *Worker) remember(it Item) {
	w.mu.Lock()
	w.delivered = append(w.delivered, it)
	w.mu.Unlock()
}

func (w *Worker) setOnline(online bool) {
	w.mu.Lock()
	w.state.Online = online
	if online {
		w.state.LastError = ""
	}
	w.mu.Unlock()
}

func (w *Worker) setError(msg string) {
	w.mu.Lock()
	w.state.LastError = msg
	w.mu.Unlock()
}

func (w *Worker) setPhotos(n int, needKey bool, items []Item) {
	w.mu.Lock()
	w.state.Photos, w.state.PhotosNeedKey = n, needKey
	w.mu.Unlock()
	w.publish(items)
}

// publish makes the state of the items known.
func (w *Worker) publish(items []Item) {
	w.mu.Lock()
	s := w.state
	s.Items = append(append([]Item(nil), w.delivered...), pendingOnly(items)...)
	s.Queued, s.NextTry = 0, time.Time{}
	for _, it := range items {
		if it.Phase != Delivered {
			s.Queued++
		}
		if it.Phase == Waiting {
			s.NextTry = earliest(s.NextTry, it.RetryAt)
		}
	}
	w.state = s
	on := w.onState
	w.mu.Unlock()
	if on != nil {
		on(s)
	}
}

// republish makes the state known again after a change outside the items.
func (w *Worker) republish() {
	w.mu.Lock()
	s, on := w.state, w.onState
	w.mu.Unlock()
	if on != nil {
		on(s)
	}
}

func pendingOnly(items []Item) []Item {
	var out []Item
	for _, it := range items {
		if it.Phase != Delivered {
			out = append(out, it)
		}
	}
	return out
}
