package client_test

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"tally/app/election"
	"tally/app/enrollment"
	"tally/app/seal"
	"tally/sync/client"
)

const testElection = "test-2026"

// anEnvelope stands for a sealed submission: these servers never open it.
var anEnvelope = []byte(`{"payloadType":"application/vnd.tally.submission+json","payload":"e30=","signatures":[]}`)

// signedReceipt is a receipt for a digest, of an election, signed by the
// key of seed.
func signedReceipt(t *testing.T, electionID, sub string, seed byte) []byte {
	t.Helper()
	payload, err := json.Marshal(election.Receipt{Format: election.ReceiptFormat, Election: electionID, Station: "0101A",
		Contest: "assembly", Form: election.ResultsForm, Version: 1, Submission: sub, Number: 7,
		ReceivedAt: time.Date(2026, 12, 20, 19, 42, 7, 0, time.UTC)})
	require.NoError(t, err)
	raw, err := seal.Sign(election.ReceiptPayloadType, payload, seededKey(t, seed))
	require.NoError(t, err)
	return raw
}

// standIn is a small server of the test's own, with a client for it.
func standIn(t *testing.T, h http.HandlerFunc, configure ...func(*client.Config)) (*client.Client, *front) {
	t.Helper()
	fr := &front{}
	fr.step(func(w http.ResponseWriter, r *http.Request) bool { h(w, r); return true })
	ts := httptest.NewServer(fr)
	t.Cleanup(ts.Close)
	cfg := client.Config{Servers: []election.Server{{URL: ts.URL}}, ElectionID: testElection, ReceiptKey: receiptKey(t)}
	for _, c := range configure {
		c(&cfg)
	}
	return newClient(t, cfg), fr
}

// TestSubmitOutcomes: only a receipt that verifies, for this election and
// this envelope, is delivery; what a server, a proxy or a portal may
// answer otherwise is a retry, or the commission's refusal.
func TestSubmitOutcomes(t *testing.T) {
	d := digest(anEnvelope)
	receiptJSON := func(body []byte, status int) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			_, _ = w.Write(body)
		}
	}
	for _, tc := range []struct {
		name       string
		h          http.HandlerFunc
		kind       client.OutcomeKind
		status     int
		retryAfter time.Duration
		reason     string // in Reason
	}{
		{name: "a receipt", h: receiptJSON(signedReceipt(t, testElection, d, receiptSeed), http.StatusCreated),
			kind: client.Delivered, status: http.StatusCreated},
		{name: "503 with Retry-After in seconds", h: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Retry-After", "7")
			writeProblem(w, http.StatusServiceUnavailable, "unavailable", "shutting down; send it again")
		}, kind: client.Retry, status: http.StatusServiceUnavailable, retryAfter: 7 * time.Second, reason: "shutting down"},
		{name: "429 with Retry-After as a date", h: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Date", "Sun, 20 Dec 2026 19:00:00 GMT")
			w.Header().Set("Retry-After", "Sun, 20 Dec 2026 19:01:30 GMT")
			w.WriteHeader(http.StatusTooManyRequests)
		}, kind: client.Retry, status: http.StatusTooManyRequests, retryAfter: 90 * time.Second},
		{name: "502 from a proxy", h: func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "Bad Gateway", http.StatusBadGateway)
		}, kind: client.Retry, status: http.StatusBadGateway},
		{name: "408", h: func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusRequestTimeout)
		}, kind: client.Retry, status: http.StatusRequestTimeout},
		{name: "a captive portal's page", h: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			_, _ = io.WriteString(w, "<html><body><h1>Welcome to SchoolNet</h1><form>Accept the terms</form></body></html>")
		}, kind: client.Retry, status: http.StatusOK, reason: "does not count as delivered"},
		{name: "a captive portal's long page", h: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			_, _ = io.WriteString(w, "<html>"+strings.Repeat("Welcome! ", 20000)+"</html>")
		}, kind: client.Retry, status: http.StatusOK, reason: "larger than"},
		{name: "a captive portal's redirect", h: func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "http://portal.example/login", http.StatusFound)
		}, kind: client.Retry, status: http.StatusFound, reason: "portal.example"},
		{name: "a firewall's 403 page", h: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusForbidden)
			_, _ = io.WriteString(w, "<html>Blocked by policy</html>")
		}, kind: client.Retry, status: http.StatusForbidden, reason: "not the commission's"},
		{name: "a receipt by another key", h: receiptJSON(signedReceipt(t, testElection, d, strangerSeed), http.StatusCreated),
			kind: client.Retry, status: http.StatusCreated, reason: "did not sign"},
		{name: "a receipt for another digest", h: receiptJSON(signedReceipt(t, testElection, digest([]byte("another")), receiptSeed), http.StatusOK),
			kind: client.Retry, status: http.StatusOK, reason: "is for submission"},
		{name: "a receipt of another election", h: receiptJSON(signedReceipt(t, "other-2026", d, receiptSeed), http.StatusOK),
			kind: client.Retry, status: http.StatusOK, reason: "other-2026"},
		{name: "another signed document", h: func(w http.ResponseWriter, r *http.Request) {
			raw, err := seal.Sign(election.DecisionPayloadType, []byte(`{}`), seededKey(t, receiptSeed))
			if err == nil {
				receiptJSON(raw, http.StatusOK)(w, r)
			}
		}, kind: client.Retry, status: http.StatusOK, reason: "not a receipt"},
		{name: "a conflict", h: func(w http.ResponseWriter, r *http.Request) {
			writeProblem(w, http.StatusConflict, "conflict", "version 2 is already stored as 3f00, a different envelope")
		}, kind: client.Refused, status: http.StatusConflict, reason: "version 2 is already stored as 3f00, a different envelope"},
		{name: "a problem without detail", h: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/problem+json")
			w.WriteHeader(http.StatusUnprocessableEntity)
			_, _ = io.WriteString(w, `{"type":"urn:tally:problem:invalid","title":"The request is not acceptable","status":422}`)
		}, kind: client.Refused, status: http.StatusUnprocessableEntity, reason: "The request is not acceptable"},
		{name: "a hang-up", h: hangUp, kind: client.Retry, status: 0, reason: "the connection was closed without an answer"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, fr := standIn(t, tc.h)
			out := c.Submit(context.Background(), d, anEnvelope)
			require.Equal(t, tc.kind, out.Kind, "%s", out.Reason)
			require.Equal(t, tc.status, out.Status)
			require.Equal(t, tc.retryAfter, out.RetryAfter)
			require.Contains(t, out.Reason, tc.reason)
			// One attempt, as sent: the caller owns retrying. (A hang-up
			// may be sent twice by net/http itself, on a reused
			// connection only, which this first request never is.)
			require.Equal(t, 1, fr.count("PUT /v1/submissions/"+d))
			if tc.kind == client.Delivered {
				require.NoError(t, out.Err)
				require.NotEmpty(t, out.Receipt)
				return
			}
			require.Error(t, out.Err)
			require.Nil(t, out.Receipt)
			require.Equal(t, tc.kind == client.Refused, client.IsRefused(out.Err))
			require.Contains(t, out.Err.Error(), "the submission "+d[:12])
			if tc.status != 0 {
				require.Contains(t, out.Err.Error(), http.StatusText(tc.status))
			}
		})
	}
}

// TestSubmitTimesOut: a server that never answers is a retry once the
// timeout passes.
func TestSubmitTimesOut(t *testing.T) {
	done := make(chan struct{})
	c, _ := standIn(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done(): // the client gave up and closed the connection
		case <-done:
		}
	}, func(cfg *client.Config) { cfg.Timeout = 200 * time.Millisecond })
	t.Cleanup(func() { close(done) }) // before the server closes
	out := c.Submit(context.Background(), digest(anEnvelope), anEnvelope)
	require.Equal(t, client.Retry, out.Kind)
	require.Zero(t, out.Status)
	require.Equal(t, "no answer within 200ms", out.Reason)
	var retry *client.RetryError
	require.ErrorAs(t, out.Err, &retry)
	require.Contains(t, out.Err.Error(), "no answer from the commission's server")

	// A cancelled context is a retry too, and says so.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	out = c.Submit(ctx, digest(anEnvelope), anEnvelope)
	require.Equal(t, client.Retry, out.Kind)
	require.ErrorIs(t, out.Err, context.Canceled)
}

// TestPublicDocumentsRetryAtOnce: the definition's GET is tried again a
// couple of times at once on a 503; a submission's PUT never is.
func TestPublicDocumentsRetryAtOnce(t *testing.T) {
	f := newFixture(t, false)
	c := f.client()
	unavailable := func(w http.ResponseWriter, r *http.Request) bool {
		writeProblem(w, http.StatusServiceUnavailable, "unavailable", "not ready")
		return true
	}
	f.front.step(func(w http.ResponseWriter, r *http.Request) bool {
		if f.front.count("GET /v1/election") <= 2 { // this request included
			return unavailable(w, r)
		}
		return false
	})
	def, err := c.Definition(f.ctx)
	require.NoError(t, err)
	require.Equal(t, twoMunicipalities(t), def)
	require.Equal(t, []string{"GET /v1/election intercepted", "GET /v1/election intercepted", "GET /v1/election 200"},
		f.front.lines("GET /v1/election"))

	// Always unavailable: three attempts, then the error.
	f.front.step(unavailable)
	_, err = c.Definition(f.ctx)
	var retry *client.RetryError
	require.ErrorAs(t, err, &retry)
	require.Equal(t, http.StatusServiceUnavailable, retry.Status)
	require.Contains(t, err.Error(), "the election definition")
	require.Contains(t, err.Error(), "not ready")
	require.Equal(t, 6, f.front.count("GET /v1/election"))

	out := c.Submit(f.ctx, digest(anEnvelope), anEnvelope)
	require.Equal(t, client.Retry, out.Kind)
	require.Equal(t, 1, f.front.count("PUT"))

	// A portal's page is no definition.
	f.front.step(func(w http.ResponseWriter, r *http.Request) bool {
		w.Header().Set("Content-Type", "text/html")
		_, _ = io.WriteString(w, "<html>Welcome</html>")
		return true
	})
	_, err = c.Definition(f.ctx)
	require.ErrorAs(t, err, &retry)
	require.Contains(t, err.Error(), "not a signed definition")
}

// TestKeyListMustVerify: a key list signed by another key, or for another
// election, is refused.
func TestKeyListMustVerify(t *testing.T) {
	list := func(electionID string, seed byte) []byte {
		payload, err := json.Marshal(enrollment.KeyList{Format: enrollment.KeyListFormat, Election: electionID,
			GeneratedAt: time.Date(2026, 12, 20, 19, 0, 0, 0, time.UTC), Keys: []enrollment.ListedKey{}})
		require.NoError(t, err)
		raw, err := seal.Sign(enrollment.KeyListPayloadType, payload, seededKey(t, seed))
		require.NoError(t, err)
		return raw
	}
	for name, tc := range map[string]struct {
		body []byte
		ok   bool
	}{
		"the commission's":   {list(testElection, receiptSeed), true},
		"another key's":      {list(testElection, strangerSeed), false},
		"another election's": {list("other-2026", receiptSeed), false},
	} {
		t.Run(name, func(t *testing.T) {
			c, _ := standIn(t, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				_, _ = w.Write(tc.body)
			})
			l, err := c.KeyList(context.Background())
			if tc.ok {
				require.NoError(t, err)
				require.Equal(t, testElection, l.Election)
				return
			}
			require.Error(t, err)
			require.False(t, client.IsRefused(err))
			require.Contains(t, err.Error(), "not the commission's signed key list")
		})
	}
}

// TestFailover: a server that cannot be reached gives way to the next, and
// the one that answered is asked first from then on.
func TestFailover(t *testing.T) {
	f := newFixture(t, false)
	st := f.station(0, 0)
	down := &front{}
	down.step(func(w http.ResponseWriter, r *http.Request) bool { hangUp(w, r); return true })
	hangs := httptest.NewServer(down)
	t.Cleanup(hangs.Close)
	gone, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	goneURL := "http://" + gone.Addr().String()
	require.NoError(t, gone.Close()) // nothing listens there any more

	cfg := f.config()
	cfg.Servers = []election.Server{{URL: goneURL}, {URL: hangs.URL}, {URL: f.ts.URL}}
	c := newClient(t, cfg)
	key := f.enroll(c, enrollment.RoleStation, st.Code, 10)
	require.Equal(t, 1, down.count("POST /v1/enroll"))

	env := f.seal(f.form(st, 1), key, 1, "")
	out := c.Submit(f.ctx, digest(env), env)
	require.Equal(t, client.Delivered, out.Kind, "%s", out.Reason)
	out = c.Submit(f.ctx, digest(env), env)
	require.Equal(t, client.Delivered, out.Kind, "%s", out.Reason)
	require.Zero(t, down.count("PUT")) // the server that answered is asked first
	require.Equal(t, 2, f.front.count("PUT"))

	// When none answers, the error names each.
	f.ts.Close()
	out = c.Submit(f.ctx, digest(env), env)
	require.Equal(t, client.Retry, out.Kind)
	for _, u := range []string{goneURL, hangs.URL, f.ts.URL} {
		require.Contains(t, out.Reason, u)
	}
	require.Equal(t, 1, down.count("PUT"))
}
