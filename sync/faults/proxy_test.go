package faults_test

import (
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tally/sync/faults"
)

// upstream is a plain server that counts the whole requests that reach
// it.
func upstream(t *testing.T) (*httptest.Server, *atomic.Int64) {
	var hits atomic.Int64
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return
		}
		hits.Add(1)
		switch r.Method {
		case http.MethodHead:
			w.Header().Set("Content-Length", "42")
		case http.MethodPatch:
			w.WriteHeader(http.StatusNoContent)
		default:
			w.Header().Set("Content-Type", "text/plain")
			w.WriteHeader(http.StatusCreated)
			_, _ = w.Write([]byte("got " + r.Method + " " + r.URL.RequestURI() + " " + string(body)))
		}
	}))
	t.Cleanup(ts.Close)
	return ts, &hits
}

func newProxy(t *testing.T, up string) *faults.Proxy {
	p, err := faults.NewProxy(up)
	require.NoError(t, err)
	t.Cleanup(func() { _ = p.Close() })
	return p
}

func do(t *testing.T, c *http.Client, method, url, body string) (*http.Response, string, error) {
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	require.NoError(t, err)
	resp, err := c.Do(req)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp, string(b), err
}

func TestProxyPassesThrough(t *testing.T) {
	ts, hits := upstream(t)
	p := newProxy(t, ts.URL)
	c := &http.Client{}
	for range 3 { // on one kept-alive connection
		resp, body, err := do(t, c, http.MethodPut, p.URL()+"/v1/submissions/abc?x=1", "payload")
		require.NoError(t, err)
		assert.Equal(t, http.StatusCreated, resp.StatusCode)
		assert.Equal(t, "got PUT /v1/submissions/abc?x=1 payload", body)
	}
	resp, _, err := do(t, c, http.MethodHead, p.URL()+"/v1/attachments/x", "")
	require.NoError(t, err)
	assert.Equal(t, int64(42), resp.ContentLength)
	resp, _, err = do(t, c, http.MethodPatch, p.URL()+"/v1/attachments/x", "part")
	require.NoError(t, err)
	assert.Equal(t, http.StatusNoContent, resp.StatusCode)
	assert.Equal(t, int64(5), hits.Load())
	evs := p.Events()
	require.Len(t, evs, 5)
	assert.Equal(t, faults.Event{At: evs[0].At, Method: "PUT", Path: "/v1/submissions/abc", Fault: faults.None,
		Upstream: 201, Status: 201}, evs[0])
}

func TestProxyScript(t *testing.T) {
	ts, hits := upstream(t)
	p := newProxy(t, ts.URL)
	p.SetFault(faults.Fault{Kind: faults.Status, Status: http.StatusBadGateway, Target: "/v1/submissions/"})
	p.Script(faults.Fault{Kind: faults.Status, Status: http.StatusTooManyRequests, RetryAfter: "7", Target: "/v1/submissions/b"},
		faults.Fault{Kind: faults.CaptivePortal})
	c := &http.Client{}

	resp, body, err := do(t, c, http.MethodGet, p.URL()+"/healthz", "")
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, resp.StatusCode, "the script's second fault matches any path")
	assert.Contains(t, body, "Welcome")
	resp, _, err = do(t, c, http.MethodPut, p.URL()+"/v1/submissions/a", "")
	require.NoError(t, err)
	assert.Equal(t, http.StatusBadGateway, resp.StatusCode, "the standing fault")
	resp, _, err = do(t, c, http.MethodPut, p.URL()+"/v1/submissions/b", "")
	require.NoError(t, err)
	assert.Equal(t, http.StatusTooManyRequests, resp.StatusCode, "the script's first fault")
	assert.Equal(t, "7", resp.Header.Get("Retry-After"))
	resp, _, err = do(t, c, http.MethodGet, p.URL()+"/healthz", "")
	require.NoError(t, err)
	assert.Equal(t, http.StatusCreated, resp.StatusCode, "the script is used up; the standing fault is not for this path")
	assert.Equal(t, int64(1), hits.Load(), "only the last request was forwarded")
	assert.Equal(t, map[faults.Kind]int{faults.CaptivePortal: 1, faults.Status: 2}, p.Injected())
}

func TestProxyDownRefusesConnections(t *testing.T) {
	ts, _ := upstream(t)
	p := newProxy(t, ts.URL)
	p.Down()
	_, err := net.Dial("tcp", p.Addr())
	require.ErrorIs(t, err, syscall.ECONNREFUSED)
	require.NoError(t, p.Up())
	resp, _, err := do(t, &http.Client{}, http.MethodGet, p.URL()+"/x", "")
	require.NoError(t, err)
	assert.Equal(t, http.StatusCreated, resp.StatusCode)
}

func TestProxyResets(t *testing.T) {
	ts, hits := upstream(t)
	p := newProxy(t, ts.URL)
	c := &http.Client{}

	p.Script(faults.Fault{Kind: faults.ResetResponse, After: 3})
	_, _, err := do(t, c, http.MethodPut, p.URL()+"/v1/submissions/a", "payload")
	require.Error(t, err)
	assert.Equal(t, int64(1), hits.Load(), "the upstream answered")
	assert.Equal(t, "got PUT /v1/submissions/a payload", string(p.Events()[0].Held))

	p.Script(faults.Fault{Kind: faults.ResetRequest, After: 3})
	_, _, err = do(t, c, http.MethodPut, p.URL()+"/v1/submissions/a", "payload")
	require.Error(t, err)
	assert.Equal(t, int64(1), hits.Load(), "the upstream never got a whole request")
}

func TestProxyStall(t *testing.T) {
	ts, hits := upstream(t)
	p := newProxy(t, ts.URL)
	p.Script(faults.Fault{Kind: faults.Stall})
	c := &http.Client{Timeout: 200 * time.Millisecond}
	start := time.Now()
	_, _, err := do(t, c, http.MethodPut, p.URL()+"/v1/submissions/a", "payload")
	var ne net.Error
	require.True(t, errors.As(err, &ne) && ne.Timeout(), "%v", err)
	assert.GreaterOrEqual(t, time.Since(start), 200*time.Millisecond)
	assert.Equal(t, int64(1), hits.Load(), "the upstream got it")
}

func TestProxyTLS(t *testing.T) {
	ts, _ := upstream(t)
	a, err := faults.NewCertificate("a")
	require.NoError(t, err)
	b, err := faults.NewCertificate("b")
	require.NoError(t, err)
	p, err := faults.NewTLSProxy(ts.URL, a)
	require.NoError(t, err)
	t.Cleanup(func() { _ = p.Close() })
	shown := func() string {
		conn, err := tls.Dial("tcp", p.Addr(), &tls.Config{RootCAs: faults.Pool(a, b), ServerName: "127.0.0.1"})
		require.NoError(t, err)
		defer conn.Close()
		return conn.ConnectionState().PeerCertificates[0].Subject.CommonName
	}
	assert.Equal(t, "a", shown())
	p.SetCertificate(b)
	assert.Equal(t, "b", shown())
	assert.True(t, strings.HasPrefix(p.URL(), "https://"))
	assert.NotEqual(t, a.Pin, b.Pin)
}
