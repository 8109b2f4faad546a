package reviewer_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"tally/app/audit"
	"tally/app/commission"
	"tally/app/election"
	"tally/app/election/electiontest"
	"tally/app/enrollment"
	"tally/app/review"
	"tally/app/seal"
	"tally/app/station"
	"tally/server"
	"tally/storage/commissionlite"
	"tally/storage/reviewdb"
	"tally/storage/stationdb"
	"tally/sync/client"
	"tally/sync/reviewer"
	"tally/sync/worker"
)

const testPIN = "4719-2853"

var testKDF = seal.KDFParams{Time: 1, MemoryKiB: 64, Threads: 1}

// definition is the demo municipal election trimmed to its first
// municipality: a station fills two forms.
var definition = sync.OnceValue(func() []byte {
	_, signed, err := electiontest.Election(electiontest.Options{Kind: election.Municipal, Seed: 3, Municipalities: 1})
	if err != nil {
		panic(err)
	}
	return signed
})

// fastBackoff keeps the waits of the tests short.
var fastBackoff = worker.Backoff{Base: 20 * time.Millisecond, Max: 200 * time.Millisecond, Offline: 40 * time.Millisecond}

// front passes requests to the commission's server; while down it drops
// the connection without an answer, and a test may answer in its place.
type front struct {
	next      http.Handler
	down      atomic.Bool
	mu        sync.Mutex
	intercept func(w http.ResponseWriter, r *http.Request) bool
	decisions atomic.Int64 // PUT /v1/decisions/… that arrived
}

func (f *front) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPut && strings.HasPrefix(r.URL.Path, "/v1/decisions/") {
		f.decisions.Add(1)
	}
	if f.down.Load() {
		conn, _, err := http.NewResponseController(w).Hijack()
		if err == nil {
			_ = conn.Close()
		}
		return
	}
	f.mu.Lock()
	ic := f.intercept
	f.mu.Unlock()
	if ic != nil && ic(w, r) {
		return
	}
	f.next.ServeHTTP(w, r)
}

func (f *front) step(ic func(w http.ResponseWriter, r *http.Request) bool) {
	f.mu.Lock()
	f.intercept = ic
	f.mu.Unlock()
}

// writeProblem answers as tallyd refuses.
func writeProblem(w http.ResponseWriter, status int, kind, detail string) {
	w.Header().Set("Content-Type", server.ProblemContentType)
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(server.Problem{Type: server.ProblemTypePrefix + kind, Title: http.StatusText(status),
		Status: status, Detail: detail})
}

// rig is a real commission behind a front, stations that seal and send
// with their own store and worker, and the municipality's supervisor on
// a real reviewdb.
type rig struct {
	t      *testing.T
	ctx    context.Context
	comm   *commission.Service
	cstore commission.Store
	front  *front
	url    string
	def    *election.Definition

	rstore *reviewdb.DB
	svc    *review.Service
	key    *seal.PrivateKey // the supervisor's
}

func newRig(t *testing.T) *rig {
	t.Helper()
	ctx := context.Background()
	r := &rig{t: t, ctx: ctx}
	var err error
	r.cstore, err = commissionlite.Open(ctx, t.TempDir()+"/tallyd.db")
	require.NoError(t, err)
	t.Cleanup(func() { _ = r.cstore.Close() })
	r.comm = commission.New(r.cstore, commission.Options{ReceiptKey: electiontest.Key(electiontest.ReceiptSeed)})
	t.Cleanup(r.comm.Close)
	r.def, err = r.comm.ImportElection(ctx, definition(), electiontest.Fingerprint(), "test")
	require.NoError(t, err)
	srv, err := server.New(server.Config{Service: r.comm})
	require.NoError(t, err)
	r.front = &front{next: srv.Handler()}
	ts := httptest.NewServer(r.front)
	t.Cleanup(ts.Close)
	r.url = ts.URL

	r.rstore, err = reviewdb.Open(ctx, t.TempDir()+"/supervisor.db")
	require.NoError(t, err)
	t.Cleanup(func() { _ = r.rstore.Close() })
	r.svc = review.New(r.rstore, review.Options{KDF: testKDF})
	muni := r.def.Municipalities[0].Code
	_, err = r.svc.Provision(ctx, review.ProvisionRequest{Definition: definition(), Fingerprint: electiontest.Fingerprint(),
		Municipality: muni, PIN: []byte(testPIN), By: "Drita Berisha"})
	require.NoError(t, err)
	r.key, err = r.svc.Unlock(ctx, []byte(testPIN))
	require.NoError(t, err)
	codes, err := r.comm.IssueCodes(ctx, enrollment.RoleSupervisor, []string{muni}, "test")
	require.NoError(t, err)
	req, err := r.svc.EnrollmentRequest(ctx, r.key, codes[0].Code)
	require.NoError(t, err)
	_, err = r.client().Enroll(ctx, req)
	require.NoError(t, err)
	require.NoError(t, r.svc.RecordEnrollment(ctx, r.url))
	return r
}

func (r *rig) client() *client.Client {
	r.t.Helper()
	c, err := client.New(client.Config{Servers: []election.Server{{URL: r.url}}, ElectionID: r.def.Election.ID,
		ReceiptKey: r.def.Election.Keys.Receipt})
	require.NoError(r.t, err)
	r.t.Cleanup(c.Close)
	return c
}

// reviewer makes the supervisor's worker with short waits; onState, if
// given, sees every state.
func (r *rig) reviewer(onState func(reviewer.State)) *reviewer.Worker {
	w := reviewer.New(r.svc, r.client(), reviewer.Options{Backoff: fastBackoff, OnState: onState})
	w.SetKey(r.key)
	return w
}

// pollingStations are the municipality's polling stations.
func (r *rig) pollingStations() []*election.Station {
	var out []*election.Station
	for i := range r.def.Stations {
		if st := &r.def.Stations[i]; st.Kind == election.Polling {
			out = append(out, st)
		}
	}
	return out
}

// stationApp is a station's laptop: its store, its key, its worker.
type stationApp struct {
	r   *rig
	me  *election.Station
	st  *station.Service
	key *seal.PrivateKey
	w   *worker.Worker
}

// station provisions and enrolls a station's laptop.
func (r *rig) station(me *election.Station) *stationApp {
	r.t.Helper()
	sdb, err := stationdb.Open(r.ctx, r.t.TempDir()+"/station.db")
	require.NoError(r.t, err)
	r.t.Cleanup(func() { _ = sdb.Close() })
	a := &stationApp{r: r, me: me, st: station.New(sdb, station.Options{KDF: testKDF})}
	_, err = a.st.Provision(r.ctx, station.ProvisionRequest{Definition: definition(),
		Fingerprint: electiontest.Fingerprint(), Station: me.Code, PIN: []byte(testPIN), By: "Arta Krasniqi"})
	require.NoError(r.t, err)
	a.key, err = a.st.Unlock(r.ctx, []byte(testPIN))
	require.NoError(r.t, err)
	c := r.client()
	codes, err := r.comm.IssueCodes(r.ctx, enrollment.RoleStation, []string{me.Code}, "test")
	require.NoError(r.t, err)
	req, err := a.st.EnrollmentRequest(r.ctx, a.key, codes[0].Code)
	require.NoError(r.t, err)
	_, err = c.Enroll(r.ctx, req)
	require.NoError(r.t, err)
	require.NoError(r.t, a.st.RecordEnrollment(r.ctx, r.url))
	a.w = worker.New(a.st, c, worker.Options{Backoff: fastBackoff})
	a.w.SetKey(a.key)
	return a
}

// forms are the station's forms.
func (a *stationApp) forms() []station.FormKey {
	var out []station.FormKey
	for _, f := range a.me.Forms {
		out = append(out, station.FormKey{Contest: f.Contest, Form: f.Form})
	}
	return out
}

// seal types both entries of a form with the demo numbers for the round,
// attaches a photo, and seals it.
func (a *stationApp) seal(key station.FormKey, round int) *station.Version {
	t := a.r.t
	t.Helper()
	l, err := a.r.def.Layout(key.Contest, key.Form)
	require.NoError(t, err)
	f := election.DemoForm(a.r.def, l, a.me, uint64(round))
	typed := station.Typed{Values: map[election.Field]string{election.FieldMembers: strconv.Itoa(f.Members)}}
	for k, v := range f.Counts {
		typed.Values[k] = strconv.Itoa(v)
	}
	ctx := a.r.ctx
	v, err := a.st.Open(ctx, key)
	require.NoError(t, err)
	if v.State == station.StateSealed || v.State == station.StateReturned {
		require.NoError(t, a.st.Correct(ctx, key, "Arta Krasniqi"))
	}
	first := typed
	first.Photo = append([]byte{0xFF, 0xD8, 0xFF}, []byte(a.me.Code+"/"+key.String()+"/"+strconv.Itoa(round))...)
	require.NoError(t, a.st.Enter(ctx, key, station.First, "Arta Krasniqi", first))
	require.NoError(t, a.st.Enter(ctx, key, station.Second, "Besnik Gashi", typed))
	sealed, err := a.st.Seal(ctx, key, a.key)
	require.NoError(t, err)
	return sealed
}

// send delivers the station's outbox and photos, and reads its record.
func (a *stationApp) send() {
	a.r.t.Helper()
	require.NoError(a.r.t, a.w.Drain(a.r.ctx))
	require.Zero(a.r.t, a.w.State().Queued)
}

func (a *stationApp) formState(key station.FormKey) station.FormStatus {
	a.r.t.Helper()
	st, err := a.st.Status(a.r.ctx)
	require.NoError(a.r.t, err)
	for _, f := range st.Forms {
		if f.Key == key {
			return f
		}
	}
	require.FailNow(a.r.t, "no such form", "%s", key)
	return station.FormStatus{}
}

// counts are what the supervisor's store holds.
type counts struct {
	envelopes, records, decisions, outbox, audit int
	overviewAt                                   time.Time
}

func (r *rig) counts() counts {
	r.t.Helper()
	var c counts
	require.NoError(r.t, r.rstore.View(r.ctx, func(rd review.Reader) error {
		envs, err := rd.Envelopes("")
		if err != nil {
			return err
		}
		recs, err := rd.StationRecords()
		if err != nil {
			return err
		}
		ds, err := rd.Decisions()
		if err != nil {
			return err
		}
		out, err := rd.Outbox()
		if err != nil {
			return err
		}
		if o, err := rd.Overview(); err == nil {
			c.overviewAt = o.FetchedAt
		}
		c.envelopes, c.records, c.decisions, c.outbox = len(envs), len(recs), len(ds), len(out)
		return rd.AuditRecords(func(audit.Record) error { c.audit++; return nil })
	}))
	return c
}

// commissionDecisions are the decisions the commission stored on a
// station's record.
func (r *rig) commissionDecisions(code string) []commission.Decision {
	r.t.Helper()
	rec, err := r.comm.StationRecord(r.ctx, code)
	require.NoError(r.t, err)
	return rec.Decisions
}
