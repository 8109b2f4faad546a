package server_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
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
	"tally/server"
	"tally/storage/commissionlite"
)

func seededKey(tb testing.TB, n byte) *seal.PrivateKey { return electiontest.Key(n) }

// The commission's keys: definition 1, receipt 2, publication 3. Station
// and supervisor keys are seeded from 10 up.
const (
	definitionSeed = 1
	receiptSeed    = 2
)

// twoMunicipalities is the demo assembly election trimmed to its first
// two municipalities (so that one supervisor can be refused another's),
// signed by the seeded definition key; made once.
var twoMunicipalitiesOnce = sync.OnceValue(func() []byte {
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

func newClock(step time.Duration) *clock {
	c := &clock{step: step}
	c.ns.Store(time.Date(2026, 12, 20, 19, 0, 0, 0, time.UTC).UnixNano())
	return c
}

func (c *clock) Now() time.Time { return time.Unix(0, c.ns.Add(int64(c.step))).UTC() }

func (c *clock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

// logSink keeps the server's JSON log lines and tells waiters of each new
// one, so that a test waits for a line without sleeping.
type logSink struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	changed chan struct{}
}

func newLogSink() *logSink { return &logSink{changed: make(chan struct{})} }

func (l *logSink) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf.Write(p)
	close(l.changed)
	l.changed = make(chan struct{})
	return len(p), nil
}

// lines are the log's records so far, and a channel closed at the next.
func (l *logSink) lines() ([]map[string]any, chan struct{}) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(l.buf.Bytes()))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var m map[string]any
		if json.Unmarshal(sc.Bytes(), &m) == nil {
			out = append(out, m)
		}
	}
	return out, l.changed
}

// waitFor waits until a log record satisfies match, or fails after a
// generous bound (never reached when the server logs as it should).
func (l *logSink) waitFor(tb testing.TB, what string, match func(map[string]any) bool) map[string]any {
	tb.Helper()
	deadline := time.After(10 * time.Second)
	for {
		lines, changed := l.lines()
		for _, m := range lines {
			if match(m) {
				return m
			}
		}
		select {
		case <-changed:
		case <-deadline:
			tb.Fatalf("no log record %s; the log:\n%s", what, l.String())
			return nil
		}
	}
}

func (l *logSink) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// fixture is tallyd over a real SQLite store with the demo election
// imported and codes issued, behind an httptest server.
type fixture struct {
	t       *testing.T
	ctx     context.Context
	store   *commissionlite.DB
	svc     *commission.Service
	srv     *server.Server
	ts      *httptest.Server
	def     *election.Definition
	codes   map[string]string // role/unit → code in the clear
	logs    *logSink
	clock   *clock // the server's: tokens, challenges, rate limits
	cfg     server.Config
	receipt *seal.Keyring
}

func newFixture(t *testing.T, configure func(*server.Config)) *fixture {
	return openFixture(t, configure, true)
}

// newEmptyFixture is a fixture before any election is imported.
func newEmptyFixture(t *testing.T) *fixture { return openFixture(t, nil, false) }

func openFixture(t *testing.T, configure func(*server.Config), withElection bool) *fixture {
	t.Helper()
	ctx := context.Background()
	store, err := commissionlite.Open(ctx, t.TempDir()+"/tallyd.db")
	require.NoError(t, err)
	t.Cleanup(func() { _ = store.Close() })
	f := &fixture{t: t, ctx: ctx, store: store, codes: map[string]string{}, logs: newLogSink(), clock: newClock(0)}
	f.svc = commission.New(store, commission.Options{Now: newClock(time.Millisecond).Now,
		ReceiptKey: seededKey(t, receiptSeed)})
	t.Cleanup(f.svc.Close)
	if withElection {
		f.def, err = f.svc.ImportElection(ctx, twoMunicipalities(t), seal.Fingerprint(seededKey(t, definitionSeed).ID()), "test")
		require.NoError(t, err)
		for _, role := range []enrollment.Role{enrollment.RoleStation, enrollment.RoleSupervisor} {
			codes, err := f.svc.IssueCodes(ctx, role, nil, "test")
			require.NoError(t, err)
			for _, c := range codes {
				f.codes[string(role)+"/"+c.Unit] = c.Code
			}
		}
	}
	f.receipt, err = seal.NewKeyring(seededKey(t, receiptSeed).Public())
	require.NoError(t, err)

	f.cfg = server.Config{Service: f.svc, Now: f.clock.Now,
		Logger: slog.New(slog.NewJSONHandler(f.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	if configure != nil {
		configure(&f.cfg)
	}
	f.srv, err = server.New(f.cfg)
	require.NoError(t, err)
	f.ts = httptest.NewServer(f.srv.Handler())
	t.Cleanup(f.ts.Close)
	return f
}

// serve runs the same Server with Serve on a listener of its own, as
// tallyd does, until the test ends; it returns the address and a function
// that stops it and returns what Serve returned.
func (f *fixture) serve() (string, func() error) {
	f.t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(f.t, err)
	ctx, cancel := context.WithCancel(f.ctx)
	done := make(chan error, 1)
	go func() { done <- f.srv.Serve(ctx, ln) }()
	var once sync.Once
	var result error
	stop := func() error {
		once.Do(func() {
			cancel()
			result = <-done
		})
		return result
	}
	f.t.Cleanup(func() { _ = stop() })
	return ln.Addr().String(), stop
}

// stations: the first two polling stations of the first municipality and
// the first of the second.
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

// response is an answer, read whole.
type response struct {
	status int
	header http.Header
	body   []byte
}

func (r *response) problem(tb testing.TB) server.Problem {
	tb.Helper()
	require.Equal(tb, server.ProblemContentType, r.header.Get("Content-Type"), "body: %s", r.body)
	var p server.Problem
	dec := json.NewDecoder(bytes.NewReader(r.body))
	dec.DisallowUnknownFields()
	require.NoError(tb, dec.Decode(&p), "body: %s", r.body)
	require.Equal(tb, r.status, p.Status)
	require.True(tb, strings.HasPrefix(p.Type, server.ProblemTypePrefix), p.Type)
	require.NotEmpty(tb, p.Title)
	require.NotEmpty(tb, p.Detail)
	return p
}

func (r *response) kind(tb testing.TB) string {
	return strings.TrimPrefix(r.problem(tb).Type, server.ProblemTypePrefix)
}

func (r *response) json(tb testing.TB, v any) {
	tb.Helper()
	require.Equal(tb, "application/json", r.header.Get("Content-Type"))
	require.NoError(tb, json.Unmarshal(r.body, v), "body: %s", r.body)
}

type headers map[string]string

// do sends a request; a nil body sends none.
func (f *fixture) do(method, path string, body []byte, h headers) *response {
	f.t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(f.ctx, method, f.ts.URL+path, rd)
	require.NoError(f.t, err)
	for k, v := range h {
		req.Header.Set(k, v)
	}
	res, err := f.ts.Client().Do(req)
	require.NoError(f.t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(f.t, err)
	return &response{status: res.StatusCode, header: res.Header, body: b}
}

var jsonType = headers{"Content-Type": "application/json"}

func bearer(token string) headers { return headers{"Authorization": "Bearer " + token} }

// enrollRequest is a signed enrollment request.
func (f *fixture) enrollRequest(role enrollment.Role, unit, code string, key *seal.PrivateKey) []byte {
	f.t.Helper()
	raw, err := enrollment.SignRequest(enrollment.Request{Election: f.def.Election.ID, Role: role, Unit: unit,
		Code: code, At: time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)}, key)
	require.NoError(f.t, err)
	return raw
}

// enroll enrolls a seeded key over HTTP with the unit's code.
func (f *fixture) enroll(role enrollment.Role, unit string, seed byte) *seal.PrivateKey {
	f.t.Helper()
	key := seededKey(f.t, seed)
	res := f.do("POST", "/v1/enroll", f.enrollRequest(role, unit, f.codes[string(role)+"/"+unit], key), jsonType)
	require.Equal(f.t, http.StatusCreated, res.status, "%s", res.body)
	return key
}

// token authenticates a key over HTTP: challenge, signed answer, token.
func (f *fixture) token(key *seal.PrivateKey) string {
	f.t.Helper()
	res := f.do("POST", "/v1/auth/challenge", nil, nil)
	require.Equal(f.t, http.StatusOK, res.status, "%s", res.body)
	var c server.Challenge
	res.json(f.t, &c)
	answer, err := enrollment.SignAuth(f.def.Election.ID, c.Challenge, f.clock.Now(), key)
	require.NoError(f.t, err)
	res = f.do("POST", "/v1/auth/token", answer, jsonType)
	require.Equal(f.t, http.StatusOK, res.status, "%s", res.body)
	var tok server.Token
	res.json(f.t, &tok)
	require.Equal(f.t, key.ID(), tok.KeyID)
	return tok.Token
}

// form is a station's results form with numbers on which no rule fires;
// seed varies them.
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

// submit PUTs a sealed envelope under its digest.
func (f *fixture) submit(env []byte) *response {
	f.t.Helper()
	return f.do("PUT", "/v1/submissions/"+digest(env), env, jsonType)
}

// decision signs a supervisor's decision on a stored submission.
func (f *fixture) decision(st *election.Station, sub string, verdict election.Verdict, reason string, key *seal.PrivateKey) []byte {
	f.t.Helper()
	payload, err := json.Marshal(election.Decision{Format: election.DecisionFormat, Election: f.def.Election.ID,
		Station: st.Code, Contest: st.Forms[0].Contest, Form: st.Forms[0].Form, Submission: sub, Verdict: verdict,
		Reason: reason, DecidedAt: time.Date(2026, 12, 20, 21, 0, 0, 0, time.UTC)})
	require.NoError(f.t, err)
	raw, err := seal.Sign(election.DecisionPayloadType, payload, key)
	require.NoError(f.t, err)
	return raw
}

// receiptOf opens a receipt under the commission's receipt key.
func (f *fixture) receiptOf(raw []byte) *election.Receipt {
	f.t.Helper()
	opened, err := seal.Open(raw, 1<<16, election.ReceiptPayloadType, f.receipt)
	require.NoError(f.t, err)
	r, err := election.ParseReceipt(opened.Payload)
	require.NoError(f.t, err)
	return r
}

func (f *fixture) counts() commission.Counts {
	f.t.Helper()
	var c commission.Counts
	require.NoError(f.t, f.store.View(f.ctx, func(r commission.Reader) error {
		var err error
		c, err = r.Counts()
		return err
	}))
	return c
}

// refusalLogged waits for the log record of a refused request.
func (f *fixture) refusalLogged(route string, status int) map[string]any {
	f.t.Helper()
	return f.logs.waitFor(f.t, route+" "+http.StatusText(status), func(m map[string]any) bool {
		st, _ := m["status"].(float64)
		return m["route"] == route && int(st) == status && m["kind"] != nil && m["detail"] != nil &&
			m["remote"] != nil && m["level"] != "DEBUG"
	})
}

func digest(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// rawExchange sends bytes on a new connection, half-closes it when
// closeWrite, and reads until the server closes it. It returns what the
// server answered and the connection's local address (the server's
// remote address).
func rawExchange(tb testing.TB, addr string, send []byte, closeWrite bool) ([]byte, string) {
	tb.Helper()
	conn, err := net.Dial("tcp", addr)
	require.NoError(tb, err)
	defer conn.Close()
	// A bound, not a synchronisation: the server answers or closes long before.
	require.NoError(tb, conn.SetDeadline(time.Now().Add(20*time.Second)))
	_, err = conn.Write(send)
	require.NoError(tb, err)
	if closeWrite {
		require.NoError(tb, conn.(*net.TCPConn).CloseWrite())
	}
	got, err := io.ReadAll(conn)
	require.NoError(tb, err, "the server did not close the connection")
	return got, conn.LocalAddr().String()
}

// rawResponse reads the first response of a raw answer.
func rawResponse(tb testing.TB, raw []byte) *response {
	tb.Helper()
	res, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(raw)), nil)
	require.NoError(tb, err, "answer: %q", raw)
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	require.NoError(tb, err)
	return &response{status: res.StatusCode, header: res.Header, body: body}
}

// dial connects to addr; the connection is closed when the test ends.
func dial(tb testing.TB, addr string) net.Conn {
	tb.Helper()
	conn, err := net.Dial("tcp", addr)
	require.NoError(tb, err)
	tb.Cleanup(func() { _ = conn.Close() })
	// A bound, not a synchronisation.
	require.NoError(tb, conn.SetDeadline(time.Now().Add(20*time.Second)))
	return conn
}

// dialErr tries to connect to addr.
func dialErr(addr string) (net.Conn, error) {
	conn, err := net.Dial("tcp", addr)
	if err == nil {
		_ = conn.Close()
	}
	return conn, err
}
