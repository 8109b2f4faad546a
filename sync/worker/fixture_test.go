package worker_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"tally/app/commission"
	"tally/app/election"
	"tally/app/election/electiontest"
	"tally/app/enrollment"
	"tally/app/seal"
	"tally/app/station"
	"tally/server"
	"tally/storage/commissionlite"
	"tally/storage/stationdb"
	"tally/sync/client"
	"tally/sync/worker"
)

const testPIN = "4719-2853"

func seededKey(tb testing.TB, n byte) *seal.PrivateKey { return electiontest.Key(n) }

// definition is the demo municipal election trimmed to its first
// municipality: a station fills two forms.
var definition = sync.OnceValue(func() []byte {
	_, signed, err := electiontest.Election(electiontest.Options{Kind: election.Municipal, Seed: 3, Municipalities: 1})
	if err != nil {
		panic(err)
	}
	return signed
})

// rig is a real commission behind a switchable front, and a real station
// enrolled with it.
type rig struct {
	t      testing.TB
	ctx    context.Context
	comm   *commission.Service
	cstore commission.Store
	front  *front
	url    string
	st     *station.Service
	sdb    *stationdb.DB
	def    *election.Definition
	me     *election.Station
	key    *seal.PrivateKey
	client *client.Client
}

// front passes requests to the commission's server, or, while down,
// drops the connection without an answer, like a network that is not
// there.
type front struct {
	next http.Handler
	down atomic.Bool
	hits atomic.Int64
}

func (f *front) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.hits.Add(1)
	if f.down.Load() {
		conn, _, err := http.NewResponseController(w).Hijack()
		if err == nil {
			_ = conn.Close()
		}
		return
	}
	f.next.ServeHTTP(w, r)
}

func newRig(tb testing.TB) *rig {
	tb.Helper()
	ctx := context.Background()
	r := &rig{t: tb, ctx: ctx}
	var err error
	r.cstore, err = commissionlite.Open(ctx, tb.TempDir()+"/tallyd.db")
	require.NoError(tb, err)
	tb.Cleanup(func() { _ = r.cstore.Close() })
	r.comm = commission.New(r.cstore, commission.Options{ReceiptKey: seededKey(tb, 2)})
	tb.Cleanup(r.comm.Close)
	_, err = r.comm.ImportElection(ctx, definition(), seal.Fingerprint(seededKey(tb, 1).ID()), "test")
	require.NoError(tb, err)
	srv, err := server.New(server.Config{Service: r.comm})
	require.NoError(tb, err)
	r.front = &front{next: srv.Handler()}
	ts := httptest.NewServer(r.front)
	tb.Cleanup(ts.Close)
	r.url = ts.URL

	r.sdb, err = stationdb.Open(ctx, tb.TempDir()+"/station.db")
	require.NoError(tb, err)
	tb.Cleanup(func() { _ = r.sdb.Close() })
	r.st = station.New(r.sdb, station.Options{KDF: seal.KDFParams{Time: 1, MemoryKiB: 64, Threads: 1}})
	r.def, _, err = station.OpenDefinition(definition())
	require.NoError(tb, err)
	r.me = &r.def.Stations[0]
	_, err = r.st.Provision(ctx, station.ProvisionRequest{Definition: definition(),
		Fingerprint: seal.Fingerprint(seededKey(tb, 1).ID()), Station: r.me.Code, PIN: []byte(testPIN), By: "Arta Krasniqi"})
	require.NoError(tb, err)
	r.key, err = r.st.Unlock(ctx, []byte(testPIN))
	require.NoError(tb, err)

	r.client, err = client.New(client.Config{Servers: []election.Server{{URL: r.url}}, ElectionID: r.def.Election.ID,
		ReceiptKey: r.def.Election.Keys.Receipt})
	require.NoError(tb, err)
	codes, err := r.comm.IssueCodes(ctx, enrollment.RoleStation, []string{r.me.Code}, "test")
	require.NoError(tb, err)
	req, err := r.st.EnrollmentRequest(ctx, r.key, codes[0].Code)
	require.NoError(tb, err)
	_, err = r.client.Enroll(ctx, req)
	require.NoError(tb, err)
	require.NoError(tb, r.st.RecordEnrollment(ctx, r.url))
	return r
}

// forms are the station's forms.
func (r *rig) forms() []station.FormKey {
	var out []station.FormKey
	for _, f := range r.me.Forms {
		out = append(out, station.FormKey{Contest: f.Contest, Form: f.Form})
	}
	return out
}

// seal types both entries of a form with the demo generator's numbers
// for the given round, attaches a photo, and seals it.
func (r *rig) seal(key station.FormKey, round int) *station.Version {
	r.t.Helper()
	l, err := r.def.Layout(key.Contest, key.Form)
	require.NoError(r.t, err)
	f := election.DemoForm(r.def, l, r.me, uint64(round))
	typed := station.Typed{Values: map[election.Field]string{election.FieldMembers: strconv.Itoa(f.Members)}}
	for k, v := range f.Counts {
		typed.Values[k] = strconv.Itoa(v)
	}
	v, err := r.st.Open(r.ctx, key)
	require.NoError(r.t, err)
	if v.State == station.StateSealed || v.State == station.StateReturned {
		require.NoError(r.t, r.st.Correct(r.ctx, key, "Arta Krasniqi"))
	}
	first := typed
	first.Photo = append([]byte{0xFF, 0xD8, 0xFF}, []byte(key.String()+"/"+strconv.Itoa(round))...)
	require.NoError(r.t, r.st.Enter(r.ctx, key, station.First, "Arta Krasniqi", first))
	require.NoError(r.t, r.st.Enter(r.ctx, key, station.Second, "Besnik Gashi", typed))
	sealed, err := r.st.Seal(r.ctx, key, r.key)
	require.NoError(r.t, err)
	return sealed
}

// worker makes a worker with short waits, whose states go to a channel.
func (r *rig) worker() (*worker.Worker, <-chan worker.State) {
	states := make(chan worker.State, 1024)
	w := worker.New(r.st, r.client, worker.Options{
		Backoff: worker.Backoff{Base: 20 * time.Millisecond, Max: 200 * time.Millisecond, Offline: 40 * time.Millisecond},
		OnState: func(s worker.State) {
			select {
			case states <- s:
			default:
			}
		},
	})
	return w, states
}

func (r *rig) counts() commission.Counts {
	r.t.Helper()
	var c commission.Counts
	require.NoError(r.t, r.cstore.View(r.ctx, func(rd commission.Reader) error {
		var err error
		c, err = rd.Counts()
		return err
	}))
	return c
}
