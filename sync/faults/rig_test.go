package faults_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tally/app/election"
	"tally/app/station"
	"tally/sync/client"
	"tally/sync/faults"
	"tally/sync/faults/harness"
	"tally/sync/worker"
)

// tallydBin is the tallyd command, built once for the test binary.
var tallydBin string

func TestMain(m *testing.M) { os.Exit(harness.Main(m, &tallydBin)) }

// testBackoff is short, so that a fault's retries come within
// milliseconds.
var testBackoff = worker.Backoff{Base: 10 * time.Millisecond, Max: 100 * time.Millisecond, Offline: 20 * time.Millisecond}

// waitLong bounds a wait for something that comes within milliseconds
// when all is well: it only keeps a broken test from hanging.
const waitLong = 20 * time.Second

// rig is a real tallyd process behind the fault proxy, and a real
// station, enrolled, whose worker sends through the proxy.
type rig struct {
	t      *testing.T
	ctx    context.Context
	proxy  *faults.Proxy
	el     *harness.Election
	tallyd *harness.Tallyd
	st     *harness.Station
	client *client.Client
	rec    *harness.Recorder
	w      *worker.Worker

	sealed []*station.Version
	stop   context.CancelFunc
	done   chan error
}

type rigOptions struct {
	// timeout is the client's timeout for one request (2 s when zero).
	timeout time.Duration
	// tls has the proxy serve HTTPS with shown as its certificate, and the
	// definition pin pins (the client trusts every certificate in trust as
	// a root, so that only the pin decides).
	tls   bool
	shown *faults.Certificate
	pins  []string
	trust []*faults.Certificate
}

func newRig(t *testing.T, o rigOptions) *rig {
	t.Helper()
	ctx := context.Background()
	r := &rig{t: t, ctx: ctx, rec: harness.NewRecorder()}
	var err error
	if o.tls {
		r.proxy, err = faults.NewTLSProxy("", o.shown)
	} else {
		r.proxy, err = faults.NewProxy("")
	}
	require.NoError(t, err)
	t.Cleanup(func() {
		_ = r.proxy.Close()
		if t.Failed() {
			r.logEvents()
		}
	})

	// The station learns the server's address from the signed definition:
	// the proxy's.
	r.el, err = harness.NewElection(harness.ElectionOptions{Seed: 7, Municipalities: 1,
		Servers: []election.Server{{URL: r.proxy.URL(), Pins: o.pins}}})
	require.NoError(t, err)
	r.tallyd, err = harness.Import(tallydBin, t.TempDir(), r.el)
	require.NoError(t, err)
	require.NoError(t, r.tallyd.Start())
	t.Cleanup(func() {
		_ = r.tallyd.Kill()
		if t.Failed() {
			t.Logf("tallyd's log:\n%s", r.tallyd.Log())
		}
	})
	r.proxy.SetUpstream(r.tallyd.URL())

	code := r.el.PollingStations()[0].Code
	r.st, err = harness.NewStation(ctx, filepath.Join(t.TempDir(), "station.db"), r.el, code)
	require.NoError(t, err)
	t.Cleanup(func() { _ = r.st.File.Close() })

	cfg := client.Config{Servers: r.st.Def.Election.Servers, ElectionID: r.st.Def.Election.ID,
		ReceiptKey: r.st.Def.Election.Keys.Receipt, Timeout: o.timeout}
	if cfg.Timeout == 0 {
		cfg.Timeout = 2 * time.Second
	}
	if o.tls {
		cfg.RootCAs = faults.Pool(o.trust...)
	}
	r.client, err = client.New(cfg)
	require.NoError(t, err)
	t.Cleanup(r.client.Close)

	// Enrolled through the proxy when it lets requests through, else
	// straight at tallyd.
	enroller := r.client
	if o.tls {
		enroller, err = client.New(client.Config{Servers: []election.Server{{URL: r.tallyd.URL()}},
			ElectionID: r.st.Def.Election.ID, ReceiptKey: r.st.Def.Election.Keys.Receipt})
		require.NoError(t, err)
		defer enroller.Close()
	}
	require.NoError(t, r.st.Enroll(ctx, enroller, r.el.Codes[code]))

	r.w = worker.New(r.st.Svc, r.client, worker.Options{Backoff: testBackoff, OnState: r.rec.OnState})
	r.w.SetKey(r.st.Key)
	return r
}

// sealQueue seals version 1 of both forms and a correction of the first:
// three versions in the outbox, the third behind the first.
func (r *rig) sealQueue() []*station.Version {
	r.t.Helper()
	forms := r.st.Forms()
	require.Len(r.t, forms, 2)
	for _, step := range []struct {
		form  station.FormKey
		round int
	}{{forms[0], 1}, {forms[1], 1}, {forms[0], 2}} {
		v, err := r.st.Seal(r.ctx, step.form, step.round)
		require.NoError(r.t, err)
		r.sealed = append(r.sealed, v)
	}
	return r.sealed
}

// run starts the worker in the background: it drains the outbox, as
// `tally sync` does, waiting out every retry until nothing is left to
// send (everything delivered, or refused) and every photo is up.
func (r *rig) run() {
	ctx, cancel := context.WithCancel(r.ctx)
	r.stop, r.done = cancel, make(chan error, 1)
	go func() { r.done <- r.w.Drain(ctx) }()
	r.t.Cleanup(r.stopWorker)
}

// stopWorker stops the worker if it still runs.
func (r *rig) stopWorker() {
	if r.stop == nil {
		return
	}
	r.stop()
	<-r.done
	r.stop = nil
}

// waitDrained waits until the worker's drain is over, with nothing left to
// send now.
func (r *rig) waitDrained() {
	r.t.Helper()
	select {
	case err := <-r.done:
		r.stop()
		r.stop = nil
		require.NoError(r.t, err)
	case <-time.After(waitLong):
		require.FailNow(r.t, "the drain did not end", "the worker's last state: %+v", r.last())
	}
}

// waitFor waits for a state of the worker for which cond holds.
func (r *rig) waitFor(what string, cond func(worker.State) bool) worker.State {
	r.t.Helper()
	i, s := r.rec.Wait(0, waitLong, cond)
	require.GreaterOrEqual(r.t, i, 0, "the worker never showed %s; its last state: %+v", what, r.last())
	return s
}

// logEvents logs what the proxy did, for a failed test.
func (r *rig) logEvents() {
	var b strings.Builder
	for _, ev := range r.proxy.Events() {
		fmt.Fprintf(&b, "%s %s %s %s upstream %d answered %d\n", ev.At.Format("15:04:05.000"), ev.Method, ev.Path, ev.Fault,
			ev.Upstream, ev.Status)
	}
	r.t.Logf("the proxy's requests:\n%s", b.String())
}

func (r *rig) last() worker.State {
	all := r.rec.States(0)
	if len(all) == 0 {
		return worker.State{}
	}
	return all[len(all)-1]
}

// retrying is a state in which the version waits to be sent again after
// at least n attempts, for a reason that contains why.
func retrying(digest string, n int, why string) func(worker.State) bool {
	return func(s worker.State) bool {
		it, ok := harness.Item(s, digest)
		return ok && it.Phase == worker.Waiting && it.Attempts >= n && strings.Contains(it.Reason, why)
	}
}

// delivered is a state in which every sealed version is delivered and
// every photo is up.
func (r *rig) delivered(s worker.State) bool {
	if s.Queued != 0 || s.Photos != 0 {
		return false
	}
	for _, v := range r.sealed {
		if it, ok := harness.Item(s, v.Digest); !ok || it.Phase != worker.Delivered {
			return false
		}
	}
	return true
}

// waitDelivered waits until the worker has delivered everything and
// uploaded every photo.
func (r *rig) waitDelivered() {
	r.t.Helper()
	r.waitDrained()
	require.True(r.t, r.delivered(r.w.State()), "the drain ended before everything was delivered: %+v", r.w.State())
}

// checkOrder checks that a correction never reached the proxy before the
// version it supersedes was delivered (answered 2xx in full).
func (r *rig) checkOrder() {
	r.t.Helper()
	for i, v := range r.sealed {
		for _, prev := range r.sealed[:i] {
			if prev.Key != v.Key || prev.Version != v.Version-1 {
				continue
			}
			first := r.sends(v.Digest)
			if len(first) == 0 {
				continue
			}
			for _, ev := range r.sends(prev.Digest) {
				if ev.Status >= 200 && ev.Status <= 299 && ev.Fault == faults.None {
					assert.False(r.t, first[0].At.Before(ev.At), "%s v%d went before v%d was delivered", v.Key, v.Version, prev.Version)
					break
				}
			}
		}
	}
}

// sends are the requests that carried the version to the proxy.
func (r *rig) sends(digest string) []faults.Event {
	var out []faults.Event
	for _, ev := range r.proxy.Events() {
		if ev.Method == "PUT" && ev.Path == faults.Submissions+digest {
			out = append(out, ev)
		}
	}
	return out
}

// phases is the phases a version went through, repeats folded.
func (r *rig) phases(digest string) []worker.Phase {
	var out []worker.Phase
	for _, s := range r.rec.States(0) {
		if it, ok := harness.Item(s, digest); ok && (len(out) == 0 || out[len(out)-1] != it.Phase) {
			out = append(out, it.Phase)
		}
	}
	return out
}

// wentThrough checks that the version went through the phases in this
// order (others may come between).
func (r *rig) wentThrough(digest string, want ...worker.Phase) {
	r.t.Helper()
	got := r.phases(digest)
	i := 0
	for _, p := range got {
		if i < len(want) && p == want[i] {
			i++
		}
	}
	assert.Equal(r.t, len(want), i, "the phases %v do not include %v in order", got, want)
}

// pending is what is in the station's outbox.
func (r *rig) pending() map[string]station.Pending {
	r.t.Helper()
	ps, err := r.st.Svc.Pending(r.ctx)
	require.NoError(r.t, err)
	out := map[string]station.Pending{}
	for _, p := range ps {
		out[p.Digest] = p
	}
	return out
}

// receipts are the receipts the station holds, by submission.
func (r *rig) receipts() map[string]station.StoredReceipt {
	r.t.Helper()
	rec, err := r.st.Record(r.ctx)
	require.NoError(r.t, err)
	return rec.Receipts
}

// requireHeld checks that nothing left the outbox: every version sealed
// is still there, without a receipt.
func (r *rig) requireHeld() {
	r.t.Helper()
	p := r.pending()
	rcs := r.receipts()
	for _, v := range r.sealed {
		require.Contains(r.t, p, v.Digest, "%s v%d left the outbox", v.Key, v.Version)
		require.NotContains(r.t, rcs, v.Digest)
	}
}

// finish stops the worker and checks the end: a further drain sends
// nothing; then, tallyd stopped and its database read, every sealed
// version is stored exactly once and holds the receipt the station
// verified and keeps, the outbox is empty, every photo is up, no conflict
// was recorded, and the station shows every form received.
func (r *rig) finish() *harness.Commission {
	r.t.Helper()
	r.stopWorker()
	before := len(r.proxy.Events())
	require.NoError(r.t, r.w.Drain(r.ctx))
	// It only reads the station's record, for the supervisors' decisions
	// (with the key; a login first if the token is gone).
	for _, ev := range r.proxy.Events()[before:] {
		if ev.Method != http.MethodGet || ev.Path != "/v1/stations/"+r.st.Code {
			assert.True(r.t, ev.Method == http.MethodPost && strings.HasPrefix(ev.Path, "/v1/auth/"),
				"a drain with nothing left sent %s %s", ev.Method, ev.Path)
		}
	}
	r.checkOrder()

	require.NoError(r.t, r.tallyd.Stop())
	c, err := harness.ReadCommission(r.ctx, r.tallyd.DB)
	require.NoError(r.t, err)
	rec, err := r.st.Record(r.ctx)
	require.NoError(r.t, err)
	assert.Empty(r.t, rec.Against(c, r.st, true))
	assert.Len(r.t, c.Submissions, len(r.sealed), "stored at the commission")
	assert.Empty(r.t, c.Duplicates())
	assert.Zero(r.t, c.Conflicts)
	assert.Len(r.t, c.Attachments, len(rec.Photos), "photos at the commission")

	status, err := r.st.Svc.Status(r.ctx)
	require.NoError(r.t, err)
	assert.Empty(r.t, status.Outbox)
	for _, f := range status.Forms {
		assert.True(r.t, f.Received, "%s shows as received", f.Key)
	}
	s := r.w.State()
	assert.True(r.t, s.Online)
	assert.Zero(r.t, s.Queued)
	return c
}
