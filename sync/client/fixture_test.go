package client_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	gosync "sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"tally/app/commission"
	"tally/app/election"
	"tally/app/election/electiontest"
	"tally/app/enrollment"
	"tally/app/seal"
	"tally/server"
	"tally/storage/commissionlite"
	"tally/sync/client"
)

func seededKey(tb testing.TB, n byte) *seal.PrivateKey { return electiontest.Key(n) }

// The commission's keys: definition 1, receipt 2, publication 3. Station
// and supervisor keys are seeded from 10 up; 99 is nobody's.
const (
	definitionSeed = 1
	receiptSeed    = 2
	strangerSeed   = 99
)

func receiptKey(tb testing.TB) string {
	return seal.EncodePublicKey(seededKey(tb, receiptSeed).Public())
}

// twoMunicipalities is the demo assembly election trimmed to its first
// two municipalities (so that one supervisor can be refused another's),
// signed by the seeded definition key; made once.
var twoMunicipalitiesOnce = gosync.OnceValue(func() []byte {
	_, signed, err := electiontest.Election(electiontest.Options{Municipalities: 2})
	if err != nil {
		panic(err)
	}
	return signed
})

func twoMunicipalities(tb testing.TB) []byte { return twoMunicipalitiesOnce() }

// clock is a test clock; step is added each time it is read.
type clock struct {
	ns   atomic.Int64
	step time.Duration
}

func newClock(at time.Time, step time.Duration) *clock {
	c := &clock{step: step}
	c.ns.Store(at.UnixNano())
	return c
}

func (c *clock) Now() time.Time { return time.Unix(0, c.ns.Add(int64(c.step))).UTC() }

func (c *clock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

// tokenEpoch starts the clocks of tokens, on the server and here: far from
// the real time, so that the server's Date header (real time) never
// agrees with the expiry of a token, and the client's clock decides.
var tokenEpoch = time.Date(2031, 3, 1, 8, 0, 0, 0, time.UTC)

// front stands before a server: it notes every request ("PUT
// /v1/submissions/… 201", with "@offset" for a part) and lets a test step
// in with its own answer.
type front struct {
	next    http.Handler
	mu      gosync.Mutex
	seen    []string // each request in the order it arrived, with its answer once answered
	arrived []string // each request as it arrives
	// busy counts the requests being answered, under mu; idle is
	// signalled when it drops to 0. (A WaitGroup would not do: a request
	// may arrive while a test waits, which WaitGroup forbids.)
	busy      int
	idle      *gosync.Cond
	intercept func(w http.ResponseWriter, r *http.Request) bool
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (f *front) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	line := r.Method + " " + r.URL.Path
	if off := r.Header.Get("Upload-Offset"); off != "" {
		line += " @" + off
	}
	f.mu.Lock()
	ic := f.intercept
	f.arrived = append(f.arrived, line)
	slot := len(f.seen)
	f.seen = append(f.seen, line)
	f.busy++
	f.mu.Unlock()
	defer f.done()
	if ic != nil && ic(w, r) {
		f.note(slot, line+" intercepted")
		return
	}
	if f.next == nil {
		http.NotFound(w, r)
		f.note(slot, line+" 404")
		return
	}
	sw := &statusWriter{ResponseWriter: w}
	f.next.ServeHTTP(sw, r)
	f.note(slot, line+" "+strconv.Itoa(sw.status))
}

// done ends a request's answer.
func (f *front) done() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.busy--; f.busy == 0 {
		f.cond().Broadcast()
	}
}

// cond is idle, made on first use; under mu.
func (f *front) cond() *gosync.Cond {
	if f.idle == nil {
		f.idle = gosync.NewCond(&f.mu)
	}
	return f.idle
}

// waitIdle locks mu once no request is being answered.
func (f *front) waitIdle() {
	f.mu.Lock()
	for f.busy > 0 {
		f.cond().Wait()
	}
}

// note writes a request's line with its answer in the place where it
// arrived.
func (f *front) note(slot int, line string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.seen[slot] = line
}

// step sets (or, with nil, clears) the test's own answers.
func (f *front) step(ic func(w http.ResponseWriter, r *http.Request) bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.intercept = ic
}

// lines are the requests seen so far whose line starts with prefix, in the
// order they arrived, once every one of them is answered.
func (f *front) lines(prefix string) []string {
	f.waitIdle()
	defer f.mu.Unlock()
	var out []string
	for _, l := range f.seen {
		if strings.HasPrefix(l, prefix) {
			out = append(out, l)
		}
	}
	return out
}

// count is how many requests whose line starts with prefix arrived,
// answered or not (a client may stop reading an answer halfway).
func (f *front) count(prefix string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, l := range f.arrived {
		if strings.HasPrefix(l, prefix) {
			n++
		}
	}
	return n
}

// mark is where the log of requests stands, to read what came after.
func (f *front) mark() int {
	f.waitIdle()
	defer f.mu.Unlock()
	return len(f.seen)
}

func (f *front) since(mark int) []string {
	f.waitIdle()
	defer f.mu.Unlock()
	return append([]string(nil), f.seen[mark:]...)
}

// fixture is tallyd over a real SQLite store with the demo election
// imported and codes issued, behind a front, behind an httptest server.
type fixture struct {
	t           *testing.T
	ctx         context.Context
	svc         *commission.Service
	def         *election.Definition
	codes       map[string]string // role/unit → code in the clear
	front       *front
	ts          *httptest.Server
	serverClock *clock // tokens, challenges, rate limits
	clientClock *clock
	conns       atomic.Int64 // connections the server accepted
}

func newFixture(t *testing.T, withTLS bool) *fixture {
	t.Helper()
	ctx := context.Background()
	store, err := commissionlite.Open(ctx, t.TempDir()+"/tallyd.db")
	require.NoError(t, err)
	t.Cleanup(func() { _ = store.Close() })
	f := &fixture{t: t, ctx: ctx, codes: map[string]string{},
		serverClock: newClock(tokenEpoch, 0), clientClock: newClock(tokenEpoch, 0)}
	f.svc = commission.New(store, commission.Options{
		Now:        newClock(time.Date(2026, 12, 20, 19, 0, 0, 0, time.UTC), time.Millisecond).Now,
		ReceiptKey: seededKey(t, receiptSeed)})
	t.Cleanup(f.svc.Close)
	f.def, err = f.svc.ImportElection(ctx, twoMunicipalities(t), seal.Fingerprint(seededKey(t, definitionSeed).ID()), "test")
	require.NoError(t, err)
	for _, role := range []enrollment.Role{enrollment.RoleStation, enrollment.RoleSupervisor} {
		codes, err := f.svc.IssueCodes(ctx, role, nil, "test")
		require.NoError(t, err)
		for _, c := range codes {
			f.codes[string(role)+"/"+c.Unit] = c.Code
		}
	}
	srv, err := server.New(server.Config{Service: f.svc, Now: f.serverClock.Now})
	require.NoError(t, err)
	f.front = &front{next: srv.Handler()}
	f.ts = httptest.NewUnstartedServer(f.front)
	f.ts.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			f.conns.Add(1)
		}
	}
	if withTLS {
		f.ts.StartTLS()
	} else {
		f.ts.Start()
	}
	t.Cleanup(f.ts.Close)
	return f
}

// config is a client's configuration for this fixture's server.
func (f *fixture) config() client.Config {
	cfg := client.Config{Servers: []election.Server{{URL: f.ts.URL}}, ElectionID: f.def.Election.ID,
		ReceiptKey: receiptKey(f.t), Now: f.clientClock.Now}
	if f.ts.TLS != nil {
		cert := f.ts.Certificate()
		cfg.Servers[0].Pins = []string{client.Pin(cert), otherPin}
		cfg.RootCAs = x509.NewCertPool()
		cfg.RootCAs.AddCert(cert)
	}
	return cfg
}

// otherPin pins a key nobody uses.
var otherPin = func() string {
	sum := sha256.Sum256([]byte("another key"))
	return "sha256/" + base64.StdEncoding.EncodeToString(sum[:])
}()

func (f *fixture) client() *client.Client {
	f.t.Helper()
	return newClient(f.t, f.config())
}

func newClient(tb testing.TB, cfg client.Config) *client.Client {
	tb.Helper()
	c, err := client.New(cfg)
	require.NoError(tb, err)
	tb.Cleanup(c.Close)
	return c
}

// enroll enrolls a seeded key with the unit's code, through c.
func (f *fixture) enroll(c *client.Client, role enrollment.Role, unit string, seed byte) *seal.PrivateKey {
	f.t.Helper()
	key := seededKey(f.t, seed)
	k, err := c.Enroll(f.ctx, f.enrollRequest(role, unit, key))
	require.NoError(f.t, err)
	require.Equal(f.t, key.ID(), k.KeyID)
	return key
}

func (f *fixture) enrollRequest(role enrollment.Role, unit string, key *seal.PrivateKey) []byte {
	f.t.Helper()
	raw, err := enrollment.SignRequest(enrollment.Request{Election: f.def.Election.ID, Role: role, Unit: unit,
		Code: f.codes[string(role)+"/"+unit], At: time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)}, key)
	require.NoError(f.t, err)
	return raw
}

// station is the n-th polling station of the municipality-th municipality.
func (f *fixture) station(municipality, n int) *election.Station {
	f.t.Helper()
	code := f.def.Municipalities[municipality].Code
	i := 0
	for k := range f.def.Stations {
		st := &f.def.Stations[k]
		if st.Municipality == code && st.Kind == election.Polling {
			if i == n {
				return st
			}
			i++
		}
	}
	f.t.Fatalf("municipality %s has no polling station %d", code, n)
	return nil
}

// form is a station's results form on which no rule fires; seed varies it.
func (f *fixture) form(st *election.Station, seed uint64) *election.Form {
	f.t.Helper()
	l, err := f.def.Layout(st.Forms[0].Contest, st.Forms[0].Form)
	require.NoError(f.t, err)
	return election.DemoForm(f.def, l, st, seed)
}

// seal signs a version of a form with key.
func (f *fixture) seal(form *election.Form, key *seal.PrivateKey, version int, supersedes string) []byte {
	f.t.Helper()
	sub := election.Submission{Format: election.SubmissionFormat, Form: *form, Version: version, Supersedes: supersedes,
		SealedAt: time.Date(2026, 12, 20, 19, 30, 0, 0, time.UTC), Sequence: uint64(version)}
	payload, err := json.Marshal(sub)
	require.NoError(f.t, err)
	raw, err := seal.Sign(election.SubmissionPayloadType, payload, key)
	require.NoError(f.t, err)
	return raw
}

// put sends bytes straight to the server, past the client.
func (f *fixture) put(path string, body []byte) (int, server.Problem) {
	f.t.Helper()
	req, err := http.NewRequestWithContext(f.ctx, http.MethodPut, f.ts.URL+path, bytes.NewReader(body))
	require.NoError(f.t, err)
	req.Header.Set("Content-Type", "application/json")
	res, err := f.ts.Client().Do(req)
	require.NoError(f.t, err)
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	require.NoError(f.t, err)
	var p server.Problem
	_ = json.Unmarshal(raw, &p)
	return res.StatusCode, p
}

func digest(b []byte) string { return seal.Digest(b) }

func sha(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// photo is n deterministic bytes that stand for a photo of a paper form.
func photo(n int, seed byte) []byte {
	out := make([]byte, 0, n+32)
	block := sha256.Sum256([]byte{seed})
	for len(out) < n {
		out = append(out, block[:]...)
		block = sha256.Sum256(block[:])
	}
	return out[:n]
}

// writeProblem answers as tallyd refuses.
func writeProblem(w http.ResponseWriter, status int, kind, detail string) {
	w.Header().Set("Content-Type", server.ProblemContentType)
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(server.Problem{Type: server.ProblemTypePrefix + kind, Title: http.StatusText(status),
		Status: status, Detail: detail})
}

// hangUp reads the request and closes the connection without a word.
func hangUp(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
	conn, _, err := w.(http.Hijacker).Hijack()
	if err == nil {
		_ = conn.Close()
	}
}
