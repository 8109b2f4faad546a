package reviewer_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tally/app/commission"
	"tally/app/election"
	"tally/app/election/electiontest"
	"tally/app/enrollment"
	"tally/app/review"
	"tally/app/seal"
	"tally/storage/reviewdb"
	"tally/sync/reviewer"
)

// TestSyncAndDecide: two stations seal and send both their forms; a pass
// fetches the overview, their records, every envelope and photo; each
// opens verified here; the supervisor returns one form and approves
// another, the next pass sends both, the commission stores them, and the
// station's own sync then finds its form returned with the reason.
func TestSyncAndDecide(t *testing.T) {
	r := newRig(t)
	sts := r.pollingStations()
	require.GreaterOrEqual(t, len(sts), 3)
	a, b := r.station(sts[0]), r.station(sts[1])
	var sealed []string
	for _, s := range []*stationApp{a, b} {
		for _, f := range s.forms() {
			sealed = append(sealed, s.seal(f, 1).Digest)
		}
		s.send()
	}

	w := r.reviewer(nil)
	require.NoError(t, w.Drain(r.ctx))
	s := w.State()
	assert.True(t, s.Online)
	assert.False(t, s.NeedsKey)
	assert.Empty(t, s.LastError)
	assert.Empty(t, s.Unverified)
	assert.Equal(t, 2, s.Stations, "the records of the two stations with versions")
	assert.Zero(t, s.Envelopes)
	assert.Zero(t, s.Photos)
	assert.Zero(t, s.Decisions)
	assert.False(t, s.FetchedAt.IsZero())
	c := r.counts()
	assert.Equal(t, len(sealed), c.envelopes)
	assert.Equal(t, 2, c.records)

	for _, d := range sealed {
		sub, err := r.svc.OpenSubmission(r.ctx, d)
		require.NoError(t, err, "verified here")
		assert.True(t, sub.Head)
		assert.True(t, sub.HavePhoto, "the photo came with it")
		require.NotNil(t, sub.Receipt)
	}
	dash, err := r.svc.Dashboard(r.ctx, review.Filter{})
	require.NoError(t, err)
	assert.Equal(t, 2, dash.Counts[review.Received])
	assert.Equal(t, dash.Total-2, dash.Counts[review.NotStarted])

	// Nothing new: no record is read again, nothing is stored.
	require.NoError(t, w.Drain(r.ctx))
	assert.Zero(t, w.State().Stations)
	assert.Equal(t, c.envelopes, r.counts().envelopes)

	formA := a.forms()[0]
	ret, err := r.svc.Decide(r.ctx, sealed[0], election.Return, "Line C does not match the paper", r.key)
	require.NoError(t, err)
	app, err := r.svc.Decide(r.ctx, sealed[2], election.Approve, "", r.key)
	require.NoError(t, err)
	dash, err = r.svc.Dashboard(r.ctx, review.Filter{})
	require.NoError(t, err)
	assert.Equal(t, 2, dash.Pending)

	require.NoError(t, w.Drain(r.ctx))
	s = w.State()
	assert.Zero(t, s.Decisions)
	assert.Equal(t, 2, s.Sent)
	assert.Empty(t, s.Refused)
	pending, err := r.svc.PendingDecisions(r.ctx)
	require.NoError(t, err)
	assert.Empty(t, pending)
	got := r.commissionDecisions(a.me.Code)
	require.Len(t, got, 1)
	assert.Equal(t, ret.Digest, got[0].Digest)
	require.Len(t, r.commissionDecisions(b.me.Code), 1)
	assert.Equal(t, app.Digest, r.commissionDecisions(b.me.Code)[0].Digest)
	opened, err := r.svc.OpenSubmission(r.ctx, sealed[0])
	require.NoError(t, err)
	require.Len(t, opened.Decisions, 1)
	assert.True(t, opened.Decisions[0].Delivered)

	// The station's own sync brings the decision: the form is returned.
	a.send()
	fa := a.formState(formA)
	assert.Equal(t, "returned", string(fa.State))
	assert.Equal(t, "Line C does not match the paper", fa.Reason)

	// The next pass reads the changed records again; the dashboard shows
	// the decisions as the commission has them.
	require.NoError(t, w.Drain(r.ctx))
	assert.Equal(t, 2, w.State().Stations)
	row := rowOf(t, r, a.me.Code)
	assert.Equal(t, review.Returned, row.Forms[0].State)

	// A correction from the station: its record is read again and the new
	// version fetched; the dashboard shows it received.
	v2 := a.seal(formA, 2)
	a.send()
	require.NoError(t, w.Drain(r.ctx))
	assert.Equal(t, 1, w.State().Stations)
	sub, err := r.svc.OpenSubmission(r.ctx, v2.Digest)
	require.NoError(t, err)
	assert.Equal(t, 2, sub.Submission.Version)
	require.Len(t, sub.History, 2)
	assert.True(t, sub.History[1].Previous)
	assert.Equal(t, review.Received, rowOf(t, r, a.me.Code).Forms[0].State)
	n, _, err := r.svc.VerifyAudit(r.ctx)
	require.NoError(t, err)
	assert.Positive(t, n)
}

// TestOffline: while no server answers, the state says offline with the
// reason and nothing stored changes; a decision waits in the outbox and
// goes once the server is back.
func TestOffline(t *testing.T) {
	r := newRig(t)
	a := r.station(r.pollingStations()[0])
	v := a.seal(a.forms()[0], 1)
	a.send()
	require.NoError(t, r.reviewer(nil).Drain(r.ctx))
	_, err := r.svc.Decide(r.ctx, v.Digest, election.Approve, "", r.key)
	require.NoError(t, err)
	before := r.counts()

	r.front.down.Store(true)
	ctx, cancel := context.WithCancel(r.ctx)
	defer cancel()
	var w *reviewer.Worker
	w = r.reviewer(func(s reviewer.State) {
		if !s.Online && s.LastError != "" && !s.NextTry.IsZero() {
			cancel()
		}
	})
	require.ErrorIs(t, w.Drain(ctx), reviewer.ErrStopped)
	s := w.State()
	assert.False(t, s.Online)
	assert.Contains(t, s.LastError, "no answer from the commission's server")
	assert.Equal(t, before, r.counts(), "nothing stored changed")
	assert.Zero(t, r.front.decisions.Load())

	r.front.down.Store(false)
	require.NoError(t, w.Drain(r.ctx))
	s = w.State()
	assert.True(t, s.Online)
	assert.Empty(t, s.LastError)
	assert.Equal(t, 1, s.Sent)
	assert.Len(t, r.commissionDecisions(a.me.Code), 1)
	assert.Zero(t, r.counts().outbox)
}

// TestRetryAfter: a server that asks to wait is left alone for as long
// as it asked.
func TestRetryAfter(t *testing.T) {
	r := newRig(t)
	r.front.step(func(w http.ResponseWriter, req *http.Request) bool {
		if !strings.HasPrefix(req.URL.Path, "/v1/municipalities/") {
			return false
		}
		w.Header().Set("Retry-After", "120")
		writeProblem(w, http.StatusServiceUnavailable, "unavailable", "the server is busy")
		return true
	})
	ctx, cancel := context.WithCancel(r.ctx)
	defer cancel()
	start := time.Now()
	w := r.reviewer(func(s reviewer.State) {
		if s.LastError != "" && !s.NextTry.IsZero() {
			cancel()
		}
	})
	require.ErrorIs(t, w.Drain(ctx), reviewer.ErrStopped)
	s := w.State()
	assert.True(t, s.Online, "the server answered")
	assert.Contains(t, s.LastError, "the server is busy")
	assert.False(t, s.NextTry.Before(start.Add(120*time.Second)), "not before the server's Retry-After: %s", s.NextTry)
}

// TestRefusedDecision: the commission's refusal of a decision is recorded
// with its reason, the decision stays in the outbox, and it is not sent
// again, not even after a restart.
func TestRefusedDecision(t *testing.T) {
	r := newRig(t)
	a := r.station(r.pollingStations()[0])
	v := a.seal(a.forms()[0], 1)
	a.send()
	w := r.reviewer(nil)
	require.NoError(t, w.Drain(r.ctx))
	d, err := r.svc.Decide(r.ctx, v.Digest, election.Return, "the photo is of another form", r.key)
	require.NoError(t, err)

	r.front.step(func(w http.ResponseWriter, req *http.Request) bool {
		if req.Method != http.MethodPut || !strings.HasPrefix(req.URL.Path, "/v1/decisions/") {
			return false
		}
		writeProblem(w, http.StatusForbidden, "forbidden", "the supervisor's key was revoked")
		return true
	})
	require.NoError(t, w.Drain(r.ctx), "a refusal completes the pass")
	s := w.State()
	require.Len(t, s.Refused, 1)
	assert.Equal(t, d.Digest, s.Refused[0].Digest)
	assert.Equal(t, "the supervisor's key was revoked", s.Refused[0].Reason)
	assert.Zero(t, s.Decisions)
	assert.EqualValues(t, 1, r.front.decisions.Load())
	assert.Equal(t, 1, r.counts().outbox, "the refused decision stays in the outbox")
	refused, err := r.svc.RefusedDecisions(r.ctx)
	require.NoError(t, err)
	assert.Equal(t, "the supervisor's key was revoked", refused[d.Digest].Reason)

	// Not sent again, by this worker or the next.
	r.front.step(nil)
	require.NoError(t, w.Drain(r.ctx))
	w2 := r.reviewer(nil)
	require.NoError(t, w2.Drain(r.ctx))
	assert.EqualValues(t, 1, r.front.decisions.Load())
	require.Len(t, w2.State().Refused, 1)
	assert.Empty(t, r.commissionDecisions(a.me.Code))
	assert.Equal(t, review.Refused, rowOf(t, r, a.me.Code).Forms[0].State)

	// A new decision on the same version goes, and the commission takes it.
	again, err := r.svc.Decide(r.ctx, v.Digest, election.Return, "the photo is of another form", r.key)
	require.NoError(t, err)
	w2.Wake()
	require.NoError(t, w2.Drain(r.ctx))
	assert.EqualValues(t, 2, r.front.decisions.Load(), "the new one only")
	stored := r.commissionDecisions(a.me.Code)
	require.Len(t, stored, 1)
	assert.Equal(t, again.Digest, stored[0].Digest)
	assert.Equal(t, review.Returned, rowOf(t, r, a.me.Code).Forms[0].State)
	assert.Empty(t, w2.State().Refused, "the new decision replaced the refused one")
}

// TestConflictFetched: a second envelope for a version the commission
// holds is refused there as a conflict; the supervisor's sync fetches the
// commission's list of conflicts and the station's record, and the
// conflict shows with the version it contradicts.
func TestConflictFetched(t *testing.T) {
	r := newRig(t)
	a := r.station(r.pollingStations()[0])
	key := a.forms()[0]
	v1 := a.seal(key, 1)
	a.send()
	w := r.reviewer(nil)
	require.NoError(t, w.Drain(r.ctx))
	assert.Zero(t, w.State().Conflicts)

	// The station's key signs another version 1, as a copied laptop would.
	l, err := r.def.Layout(key.Contest, key.Form)
	require.NoError(t, err)
	f := election.DemoForm(r.def, l, a.me, 7)
	f.PhotoSHA256 = strings.Repeat("ab", 32)
	payload, err := json.Marshal(election.Submission{Format: election.SubmissionFormat, Form: *f, Version: 1,
		SealedAt: time.Now().UTC().Truncate(time.Second), Sequence: 9})
	require.NoError(t, err)
	other, err := seal.Sign(election.SubmissionPayloadType, payload, a.key)
	require.NoError(t, err)
	_, err = r.comm.Submit(r.ctx, other)
	require.Equal(t, commission.EConflict, commission.KindOf(err), "%v", err)

	w.Wake()
	require.NoError(t, w.Drain(r.ctx))
	assert.Equal(t, 1, w.State().Conflicts)
	c, err := r.svc.Conflicts(r.ctx)
	require.NoError(t, err)
	require.Len(t, c.Conflicts, 1)
	got := c.Conflicts[0]
	assert.Equal(t, seal.Digest(other), got.Digest)
	assert.Equal(t, review.ConflictSameVersion, got.Kind)
	assert.Equal(t, v1.Digest, got.Stored)
	assert.True(t, got.Standing)
	assert.Equal(t, review.Conflict, rowOf(t, r, a.me.Code).State)
	d, err := r.svc.Dashboard(r.ctx, review.Filter{})
	require.NoError(t, err)
	assert.Equal(t, 1, d.Conflicts)
}

// TestDrainNeedsKey: without the supervisor's key nothing is fetched.
func TestDrainNeedsKey(t *testing.T) {
	r := newRig(t)
	w := reviewer.New(r.svc, r.client(), reviewer.Options{Backoff: fastBackoff})
	assert.True(t, w.State().NeedsKey)
	require.ErrorIs(t, w.Drain(r.ctx), reviewer.ErrNeedKey)
	assert.True(t, r.counts().overviewAt.IsZero())
}

func rowOf(t *testing.T, r *rig, code string) review.StationRow {
	t.Helper()
	d, err := r.svc.Dashboard(r.ctx, review.Filter{Search: code})
	require.NoError(t, err)
	for _, row := range d.Stations {
		if row.Code == code {
			return row
		}
	}
	require.FailNow(t, "no such station", code)
	return review.StationRow{}
}

// TestWaitsForEnrollment: before the commission enrolls the supervisor's
// key, the worker sends nothing (a login would be refused) and says why;
// the enrollment and a wake-up start it.
func TestWaitsForEnrollment(t *testing.T) {
	r := newRig(t)
	a := r.station(r.pollingStations()[0])
	a.seal(a.forms()[0], 1)
	a.send()

	// A second laptop of the same municipality, provisioned, not enrolled.
	store, err := reviewdb.Open(r.ctx, t.TempDir()+"/supervisor.db")
	require.NoError(t, err)
	t.Cleanup(func() { _ = store.Close() })
	svc := review.New(store, review.Options{KDF: testKDF})
	muni := r.def.Municipalities[0].Code
	_, err = svc.Provision(r.ctx, review.ProvisionRequest{Definition: definition(), Fingerprint: electiontest.Fingerprint(),
		Municipality: muni, PIN: []byte(testPIN), By: "Besa Hoxha"})
	require.NoError(t, err)
	key, err := svc.Unlock(r.ctx, []byte(testPIN))
	require.NoError(t, err)
	var requests atomic.Int64
	r.front.step(func(http.ResponseWriter, *http.Request) bool { requests.Add(1); return false })

	// changed holds one wake-up while the state changed since it was last
	// read: the test reads the whole state then.
	changed := make(chan struct{}, 1)
	w := reviewer.New(svc, r.client(), reviewer.Options{Backoff: fastBackoff, OnState: func(reviewer.State) {
		select {
		case changed <- struct{}{}:
		default:
		}
	}})
	until := func(what string, cond func(reviewer.State) bool) {
		t.Helper()
		deadline := time.After(30 * time.Second)
		for !cond(w.State()) {
			select {
			case <-changed:
			case <-deadline:
				require.FailNow(t, "waited too long", "for %s", what)
			}
		}
	}
	w.SetKey(key)
	require.ErrorIs(t, w.Drain(r.ctx), reviewer.ErrNotEnrolled)
	assert.True(t, w.State().NotEnrolled)
	assert.Zero(t, requests.Load(), "nothing is sent before the enrollment")

	ctx, cancel := context.WithCancel(r.ctx)
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	defer func() {
		cancel()
		require.NoError(t, <-done)
	}()
	until("the worker waiting", func(s reviewer.State) bool { return s.NotEnrolled })
	assert.Zero(t, requests.Load())

	codes, err := r.comm.IssueCodes(r.ctx, enrollment.RoleSupervisor, []string{muni}, "test")
	require.NoError(t, err)
	req, err := svc.EnrollmentRequest(r.ctx, key, codes[0].Code)
	require.NoError(t, err)
	_, err = r.client().Enroll(r.ctx, req)
	require.NoError(t, err)
	require.NoError(t, svc.RecordEnrollment(r.ctx, r.url))
	w.Wake()
	until("a pass after the enrollment", func(s reviewer.State) bool {
		return !s.NotEnrolled && !s.Syncing && !s.FetchedAt.IsZero() && s.Envelopes == 0 && s.LastError == ""
	})
	envs := 0
	require.NoError(t, store.View(r.ctx, func(rd review.Reader) error {
		list, err := rd.Envelopes("")
		envs = len(list)
		return err
	}))
	assert.Equal(t, 1, envs, "the station's submission, fetched once enrolled")
}
