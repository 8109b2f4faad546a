package review_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
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
	"tally/server"
	"tally/storage/commissionlite"
	"tally/storage/reviewdb"
)

// The supervisor's PIN in every test, and a cheap key derivation so that
// tests do not spend a tenth of a second on each unlock.
const testPIN = "4719-2853"

var testKDF = seal.KDFParams{Time: 1, MemoryKiB: 64, Threads: 1}

// The seeds of the stations' keys; 99 is nobody's.
const strangerSeed = 99

var twoMunicipalities = sync.OnceValues(func() (*election.Definition, []byte) {
	d, signed, err := electiontest.Election(electiontest.Options{Municipalities: 2})
	if err != nil {
		panic(err)
	}
	return d, signed
})

// clock is a test clock that moves only when told to, plus a
// microsecond each read so that times are distinct.
type clock struct{ ns atomic.Int64 }

func newClock() *clock {
	c := &clock{}
	c.ns.Store(time.Date(2026, 10, 4, 19, 0, 0, 0, time.UTC).UnixNano())
	return c
}

func (c *clock) Now() time.Time          { return time.Unix(0, c.ns.Add(int64(time.Microsecond))).UTC() }
func (c *clock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

// env is the commission (its service on a real SQLite store, behind the
// real server's handler) and a provisioned, enrolled supervisor of the
// first municipality on a real reviewdb.
type env struct {
	t     *testing.T
	ctx   context.Context
	def   *election.Definition
	comm  *commission.Service
	srv   http.Handler
	codes map[string]string // role/unit → code in the clear

	clock   *clock
	store   *reviewdb.DB
	path    string
	svc     *review.Service
	key     *seal.PrivateKey // the supervisor's, unlocked
	token   string
	muni    string
	stKeys  map[string]*seal.PrivateKey // station code → its enrolled key
	nextKey byte
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	def, signed := twoMunicipalities()
	cstore, err := commissionlite.Open(ctx, t.TempDir()+"/tallyd.db")
	require.NoError(t, err)
	t.Cleanup(func() { _ = cstore.Close() })
	e := &env{t: t, ctx: ctx, def: def, codes: map[string]string{}, clock: newClock(),
		muni: def.Municipalities[0].Code, stKeys: map[string]*seal.PrivateKey{}, nextKey: 10}
	e.comm = commission.New(cstore, commission.Options{ReceiptKey: electiontest.Key(electiontest.ReceiptSeed)})
	t.Cleanup(e.comm.Close)
	_, err = e.comm.ImportElection(ctx, signed, electiontest.Fingerprint(), "test")
	require.NoError(t, err)
	for _, role := range []enrollment.Role{enrollment.RoleStation, enrollment.RoleSupervisor} {
		codes, err := e.comm.IssueCodes(ctx, role, nil, "test")
		require.NoError(t, err)
		for _, c := range codes {
			e.codes[string(role)+"/"+c.Unit] = c.Code
		}
	}
	srv, err := server.New(server.Config{Service: e.comm})
	require.NoError(t, err)
	e.srv = srv.Handler()

	e.path = t.TempDir() + "/supervisor.db"
	e.open()
	_, err = e.svc.Provision(ctx, review.ProvisionRequest{Definition: signed, Fingerprint: electiontest.Fingerprint(),
		Municipality: e.muni, PIN: []byte(testPIN), By: "Drita Berisha"})
	require.NoError(t, err)
	e.key, err = e.svc.Unlock(ctx, []byte(testPIN))
	require.NoError(t, err)
	req, err := e.svc.EnrollmentRequest(ctx, e.key, e.codes["supervisor/"+e.muni])
	require.NoError(t, err)
	_, err = e.comm.Enroll(ctx, req)
	require.NoError(t, err)
	require.NoError(t, e.svc.RecordEnrollment(ctx, "https://tally.test"))
	e.token = e.login()
	return e
}

// open opens (or opens again) the supervisor's store and service.
func (e *env) open() {
	e.t.Helper()
	store, err := reviewdb.Open(e.ctx, e.path)
	require.NoError(e.t, err)
	e.t.Cleanup(func() { _ = store.Close() })
	e.store = store
	e.svc = review.New(store, review.Options{Now: e.clock.Now, KDF: testKDF})
}

// reopen closes the store and opens it again, as after a restart.
func (e *env) reopen() {
	e.t.Helper()
	require.NoError(e.t, e.store.Close())
	e.open()
}

// stations are the first municipality's polling stations.
func (e *env) stations() []*election.Station {
	var out []*election.Station
	for i := range e.def.Stations {
		if st := &e.def.Stations[i]; st.Municipality == e.muni && st.Kind == election.Polling {
			out = append(out, st)
		}
	}
	return out
}

// municipalityStations counts every station of the first municipality,
// its counting centre included.
func (e *env) municipalityStations() int {
	n := 0
	for i := range e.def.Stations {
		if e.def.Stations[i].Municipality == e.muni {
			n++
		}
	}
	return n
}

// enroll enrolls a new key for a station at the commission.
func (e *env) enroll(st *election.Station) *seal.PrivateKey {
	e.t.Helper()
	key := electiontest.Key(e.nextKey)
	e.nextKey++
	raw, err := enrollment.SignRequest(enrollment.Request{Election: e.def.Election.ID, Role: enrollment.RoleStation,
		Unit: st.Code, Code: e.codes["station/"+st.Code], At: time.Date(2026, 10, 1, 9, 0, 0, 0, time.UTC)}, key)
	require.NoError(e.t, err)
	_, err = e.comm.Enroll(e.ctx, raw)
	require.NoError(e.t, err)
	e.stKeys[st.Code] = key
	return key
}

// form is the demo numbers of a station's first form, changed by edit.
func (e *env) form(st *election.Station, edit func(*election.Form)) *election.Form {
	e.t.Helper()
	l, err := e.def.Layout(st.Forms[0].Contest, st.Forms[0].Form)
	require.NoError(e.t, err)
	f := election.DemoForm(e.def, l, st, 1)
	f.PhotoSHA256 = sha(photoOf(st, 1))
	if edit != nil {
		edit(f)
	}
	return f
}

// seal signs a version of a form as a station seals it.
func (e *env) seal(f *election.Form, key *seal.PrivateKey, version int, supersedes string, confirmed ...election.Confirmation) []byte {
	e.t.Helper()
	sub := election.Submission{Format: election.SubmissionFormat, Form: *f, Version: version, Supersedes: supersedes,
		Confirmed: confirmed, SealedAt: time.Date(2026, 10, 4, 19, 30, version, 0, time.UTC), Sequence: uint64(version)}
	payload, err := json.Marshal(sub)
	require.NoError(e.t, err)
	_, _, err = election.ParseSubmission(payload, e.def)
	require.NoError(e.t, err, "a station seals only what the commission takes")
	raw, err := seal.Sign(election.SubmissionPayloadType, payload, key)
	require.NoError(e.t, err)
	return raw
}

// submit sends an envelope to the commission, which must take it.
func (e *env) submit(raw []byte) string {
	e.t.Helper()
	r, err := e.comm.Submit(e.ctx, raw)
	require.NoError(e.t, err)
	return r.Submission.Digest
}

// keyList is the commission's signed key list, as GET /v1/keys serves it.
func (e *env) keyList() []byte {
	e.t.Helper()
	raw, err := e.comm.SignedKeyList(e.ctx)
	require.NoError(e.t, err)
	return raw
}

// envelope is a stored submission as GET /v1/submissions/{digest} serves it.
func (e *env) envelope(digest string) []byte {
	e.t.Helper()
	sub, err := e.comm.StoredSubmission(e.ctx, digest)
	require.NoError(e.t, err)
	return sub.Envelope
}

// refresh fetches what the sync layer fetches: the key list, the
// overview, and every stored version of the municipality's stations.
func (e *env) refresh() {
	e.t.Helper()
	_, err := e.svc.RecordKeyList(e.ctx, e.keyList())
	require.NoError(e.t, err)
	require.NoError(e.t, e.svc.RecordOverview(e.ctx, e.overview()))
	rec, err := e.comm.MunicipalityRecord(e.ctx, e.muni)
	require.NoError(e.t, err)
	for _, s := range rec.Submissions {
		_, err := e.svc.RecordSubmission(e.ctx, s.Envelope)
		require.NoError(e.t, err)
	}
}

// login gets the supervisor a token from the server, as the client does.
func (e *env) login() string {
	e.t.Helper()
	var ch server.Challenge
	e.call(http.MethodPost, "/v1/auth/challenge", "", nil, &ch)
	answer, err := enrollment.SignAuth(e.def.Election.ID, ch.Challenge, time.Now(), e.key)
	require.NoError(e.t, err)
	var tok server.Token
	e.call(http.MethodPost, "/v1/auth/token", "", answer, &tok)
	return tok.Token
}

// get reads a route with the supervisor's token and returns the body.
func (e *env) get(path string) []byte {
	e.t.Helper()
	return e.call(http.MethodGet, path, e.token, nil, nil)
}

func (e *env) call(method, path, token string, body []byte, v any) []byte {
	e.t.Helper()
	r := httptest.NewRequest(method, path, bytes.NewReader(body))
	r.RemoteAddr = "127.0.0.1:4000"
	if body != nil {
		r.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		r.Header.Set("Authorization", "Bearer "+token)
	}
	w := httptest.NewRecorder()
	e.srv.ServeHTTP(w, r)
	require.Equal(e.t, http.StatusOK, w.Code, "%s %s: %s", method, path, w.Body.String())
	if v != nil {
		require.NoError(e.t, json.Unmarshal(w.Body.Bytes(), v))
	}
	return w.Body.Bytes()
}

// overview is the server's answer to GET /v1/municipalities/{code}/stations.
func (e *env) overview() *review.Overview {
	e.t.Helper()
	o, err := review.ParseOverview(e.get("/v1/municipalities/" + e.muni + "/stations"))
	require.NoError(e.t, err)
	return o
}

// stationRecord is the server's answer to GET /v1/stations/{code}.
func (e *env) stationRecord(code string) *review.StationRecord {
	e.t.Helper()
	r, err := review.ParseStationRecord(e.get("/v1/stations/" + code))
	require.NoError(e.t, err)
	return r
}

// counts are what the supervisor's store holds.
type counts struct {
	envelopes, decisions, outbox, audit int
}

func (e *env) counts() counts {
	e.t.Helper()
	var c counts
	require.NoError(e.t, e.store.View(e.ctx, func(r review.Reader) error {
		envs, err := r.Envelopes("")
		if err != nil {
			return err
		}
		ds, err := r.Decisions()
		if err != nil {
			return err
		}
		out, err := r.Outbox()
		if err != nil {
			return err
		}
		c.envelopes, c.decisions, c.outbox = len(envs), len(ds), len(out)
		return r.AuditRecords(func(audit.Record) error { c.audit++; return nil })
	}))
	return c
}

func photoOf(st *election.Station, n int) []byte {
	return append([]byte("\x89PNG\r\n\x1a\npaper form of "+st.Code), byte(n))
}

func sha(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
