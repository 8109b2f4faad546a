package faults

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"tally/app/seal"
	"tally/server"
)

// maxBody bounds what the proxy reads of a request or an answer.
const maxBody = 64 << 20

// maxUpstreamConns bounds the connections to the upstream: thousands of
// stations' connections share them, as behind a real reverse proxy, and
// the test process keeps file descriptors for the stations' own.
const maxUpstreamConns = 256

// Proxy is a fault-injecting HTTP/1.1 proxy on 127.0.0.1 in front of one
// upstream (a tallyd). It is safe for concurrent use.
type Proxy struct {
	addr      string // host:port, kept across Down and Up
	tlsConfig *tls.Config
	cert      atomic.Pointer[Certificate]
	upstream  atomic.Pointer[string]
	transport *http.Transport

	mu         sync.Mutex
	ln         net.Listener // nil while down or closed
	closed     bool
	conns      map[net.Conn]struct{}
	standing   Fault
	script     []Fault
	chooser    func(*http.Request) Fault
	events     []Event
	injected   map[Kind]int
	tlsOK      int
	tlsRefused int           // the client refused the certificate
	tlsBroken  int           // the connection broke or timed out during the handshake
	changed    chan struct{} // closed and replaced whenever something is recorded

	wg sync.WaitGroup
}

// NewProxy starts a plain HTTP proxy on 127.0.0.1 (a port of its own) in
// front of upstream, an http:// URL; upstream may be "" and set later with
// SetUpstream, so that the proxy's address can go into an election
// definition before the server starts.
func NewProxy(upstream string) (*Proxy, error) {
	return newProxy(upstream, nil)
}

// NewTLSProxy starts a proxy that serves HTTPS with cert (which
// SetCertificate may change), in front of a plain-HTTP upstream.
func NewTLSProxy(upstream string, cert *Certificate) (*Proxy, error) {
	if cert == nil {
		return nil, errors.New("faults: a TLS proxy needs a certificate")
	}
	return newProxy(upstream, cert)
}

func newProxy(upstream string, cert *Certificate) (*Proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &Proxy{
		addr:     ln.Addr().String(),
		ln:       ln,
		conns:    map[net.Conn]struct{}{},
		standing: Fault{Kind: None},
		injected: map[Kind]int{},
		changed:  make(chan struct{}),
		transport: &http.Transport{
			Proxy:               nil,
			MaxIdleConns:        maxUpstreamConns,
			MaxIdleConnsPerHost: maxUpstreamConns,
			MaxConnsPerHost:     maxUpstreamConns,
			IdleConnTimeout:     30 * time.Second,
			DisableCompression:  true,
		},
	}
	p.upstream.Store(&upstream)
	if cert != nil {
		p.cert.Store(cert)
		p.tlsConfig = &tls.Config{
			MinVersion: tls.VersionTLS12,
			NextProtos: []string{"http/1.1"},
			GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
				return &p.cert.Load().TLS, nil
			},
		}
	}
	p.wg.Add(1)
	go p.accept(ln)
	return p, nil
}

// Addr is the proxy's host:port.
func (p *Proxy) Addr() string { return p.addr }

// URL is the proxy's base URL: http:// or https://, and Addr.
func (p *Proxy) URL() string {
	if p.tlsConfig != nil {
		return "https://" + p.addr
	}
	return "http://" + p.addr
}

// SetUpstream sets the URL that requests go on to (http://host:port).
func (p *Proxy) SetUpstream(url string) {
	url = strings.TrimRight(url, "/")
	p.upstream.Store(&url)
}

// SetCertificate changes the certificate shown to new TLS connections and
// closes the open ones, so that the next request shakes hands again.
func (p *Proxy) SetCertificate(cert *Certificate) {
	p.cert.Store(cert)
	p.dropConns()
}

// SetFault sets the fault applied to every request that no script entry
// and no chooser takes; Fault{Kind: None} stops it.
func (p *Proxy) SetFault(f Fault) {
	p.mu.Lock()
	p.standing = f
	p.mu.Unlock()
}

// Script queues faults: each request takes the first queued fault that
// matches it, if any, before the chooser and the standing fault.
func (p *Proxy) Script(faults ...Fault) {
	p.mu.Lock()
	p.script = append(p.script, faults...)
	p.mu.Unlock()
}

// SetChooser sets a function that picks the fault of each request that no
// script entry takes (nil: the standing fault).
func (p *Proxy) SetChooser(choose func(*http.Request) Fault) {
	p.mu.Lock()
	p.chooser = choose
	p.mu.Unlock()
}

// Down closes the listening socket, so that connecting is refused, and
// resets every open connection.
func (p *Proxy) Down() {
	p.mu.Lock()
	ln := p.ln
	p.ln = nil
	p.mu.Unlock()
	if ln != nil {
		_ = ln.Close()
	}
	p.dropConns()
}

// Up listens again on the same address after Down.
func (p *Proxy) Up() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return errors.New("faults: the proxy is closed")
	}
	if p.ln != nil {
		return nil
	}
	ln, err := net.Listen("tcp", p.addr)
	if err != nil {
		return fmt.Errorf("faults: listening again on %s: %w", p.addr, err)
	}
	p.ln = ln
	p.wg.Add(1)
	go p.accept(ln)
	return nil
}

// Close stops the proxy, resets every connection and waits for their
// handlers.
func (p *Proxy) Close() error {
	p.mu.Lock()
	p.closed = true
	ln := p.ln
	p.ln = nil
	p.mu.Unlock()
	if ln != nil {
		_ = ln.Close()
	}
	p.dropConns()
	p.wg.Wait()
	p.transport.CloseIdleConnections()
	return nil
}

// Events is every request handled so far, in the order handled.
func (p *Proxy) Events() []Event {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.events)
}

// Injected counts the faults applied, by kind.
func (p *Proxy) Injected() map[Kind]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make(map[Kind]int, len(p.injected))
	for k, n := range p.injected {
		out[k] = n
	}
	return out
}

// Handshakes counts the TLS handshakes: done, refused by the client (it
// sent an alert: the certificate, or its key, is not one it trusts), and
// broken off (the connection closed or timed out).
func (p *Proxy) Handshakes() (ok, refused, broken int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.tlsOK, p.tlsRefused, p.tlsBroken
}

// Wait waits until cond holds of the requests handled so far (it is
// checked again after each one), or until timeout; it reports whether
// cond held.
func (p *Proxy) Wait(timeout time.Duration, cond func(events []Event) bool) bool {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		p.mu.Lock()
		ok := cond(p.events)
		changed := p.changed
		p.mu.Unlock()
		if ok {
			return true
		}
		select {
		case <-changed:
		case <-deadline.C:
			p.mu.Lock()
			defer p.mu.Unlock()
			return cond(p.events)
		}
	}
}

// notify wakes the waiters; p.mu is held.
func (p *Proxy) notify() {
	close(p.changed)
	p.changed = make(chan struct{})
}

// record logs a request's event before the client can see its outcome,
// so that a test that saw it finds it; it returns the event's index.
func (p *Proxy) record(ev Event) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.events = append(p.events, ev)
	if ev.Fault != None {
		p.injected[ev.Fault]++
	}
	p.notify()
	return len(p.events) - 1
}

// unanswered notes that the answer of a recorded event did not get to the
// client after all.
func (p *Proxy) unanswered(i int) {
	p.mu.Lock()
	p.events[i].Status = 0
	p.notify()
	p.mu.Unlock()
}

func (p *Proxy) handshakeOK() {
	p.mu.Lock()
	p.tlsOK++
	p.notify()
	p.mu.Unlock()
}

func (p *Proxy) handshake(refused bool) {
	p.mu.Lock()
	if refused {
		p.tlsRefused++
	} else {
		p.tlsBroken++
	}
	p.notify()
	p.mu.Unlock()
}

// pick is the fault for a request.
func (p *Proxy) pick(r *http.Request) Fault {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i, f := range p.script {
		if f.matches(r) {
			p.script = slices.Delete(p.script, i, i+1)
			return f
		}
	}
	if p.chooser != nil {
		if f := p.chooser(r); f.Kind != "" && f.matches(r) {
			return f
		}
		return Fault{Kind: None}
	}
	if p.standing.Kind != "" && p.standing.matches(r) {
		return p.standing
	}
	return Fault{Kind: None}
}

func (p *Proxy) accept(ln net.Listener) {
	defer p.wg.Done()
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		if p.ln != ln {
			p.mu.Unlock()
			reset(c)
			continue
		}
		p.conns[c] = struct{}{}
		p.wg.Add(1)
		p.mu.Unlock()
		go func() {
			defer p.wg.Done()
			p.serveConn(c)
			p.mu.Lock()
			delete(p.conns, c)
			p.mu.Unlock()
			_ = c.Close()
		}()
	}
}

// dropConns resets every open connection. Each on its own goroutine: a
// Close waits for the connection's handler to leave its Read, which under
// load takes a while, thousands of times over.
func (p *Proxy) dropConns() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for c := range p.conns {
		go reset(c)
	}
}

// reset closes a connection with a TCP RST rather than a FIN.
func reset(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = c.Close()
}

func (p *Proxy) serveConn(raw net.Conn) {
	var c net.Conn = raw
	if p.tlsConfig != nil {
		tc := tls.Server(raw, p.tlsConfig)
		// A deadline on the handshake only: a client that never finishes
		// it must not hold a connection for ever.
		_ = raw.SetDeadline(time.Now().Add(10 * time.Second))
		if err := tc.Handshake(); err != nil {
			// The client's alert, when it refuses the certificate; else the
			// connection broke or timed out.
			p.handshake(strings.Contains(err.Error(), "remote error"))
			return
		}
		_ = raw.SetDeadline(time.Time{})
		p.handshakeOK()
		c = tc
	}
	br := bufio.NewReader(c)
	for {
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		if !p.handle(c, raw, req) {
			return
		}
	}
}

// upstreamAnswer is tallyd's answer, body read whole.
type upstreamAnswer struct {
	status int
	header http.Header
	length int64 // the answer's Content-Length, -1 when unknown
	body   []byte
	close  bool
}

// handle answers one request as its fault says; it reports whether the
// connection may carry another.
func (p *Proxy) handle(c, raw net.Conn, req *http.Request) bool {
	f := p.pick(req)
	ev := Event{At: time.Now(), Method: req.Method, Path: req.URL.Path, Fault: f.Kind}
	if f.Kind == Status || f.Kind == Refuse {
		ev.FaultStatus = f.Status
	}
	keep := !req.Close

	if f.Kind == ResetRequest {
		if req.ContentLength > 0 {
			cut := int64(f.After)
			if cut >= req.ContentLength {
				cut = req.ContentLength / 2
			}
			part := make([]byte, cut)
			n, _ := io.ReadFull(req.Body, part)
			// tallyd gets the head and the part, then the connection breaks.
			body := io.MultiReader(bytes.NewReader(part[:n]), errReader{errors.New("cut short by the fault proxy")})
			if a, err := p.forward(req, body, req.ContentLength, f.During); err == nil {
				ev.Upstream = a.status // tallyd answered before reading it all
			}
		}
		p.record(ev)
		reset(raw)
		return false
	}

	body, err := io.ReadAll(io.LimitReader(req.Body, maxBody))
	if err != nil {
		ev.Fault = None
		p.record(ev)
		reset(raw)
		return false
	}
	var a *upstreamAnswer
	if f.forwards() {
		a, err = p.forward(req, bytes.NewReader(body), int64(len(body)), f.During)
		if err != nil {
			// tallyd is gone (killed, not started): the client sees the
			// connection break, as it would without a proxy.
			p.record(ev)
			reset(raw)
			return false
		}
		ev.Upstream = a.status
		keep = keep && !a.close
	}

	switch f.Kind {
	case Status:
		if a != nil {
			ev.Held = a.body
		}
		h := http.Header{"Content-Type": {"text/html; charset=utf-8"}}
		if f.RetryAfter != "" {
			h.Set("Retry-After", f.RetryAfter)
		}
		what := strconv.Itoa(f.Status) + " " + http.StatusText(f.Status)
		page := "<html><head><title>" + what + "</title></head><body><center><h1>" + what +
			"</h1></center><hr><center>nginx</center></body></html>\n"
		return p.answer(c, raw, req, &ev, f.Status, h, -1, []byte(page), keep)

	case Refuse:
		prob := server.Problem{Type: server.ProblemTypePrefix + refusalKind(f.Status), Title: http.StatusText(f.Status),
			Status: f.Status, Detail: f.Detail}
		doc, _ := json.Marshal(prob)
		h := http.Header{"Content-Type": {server.ProblemContentType}}
		return p.answer(c, raw, req, &ev, f.Status, h, -1, doc, keep)

	case CaptivePortal:
		h := http.Header{"Content-Type": {"text/html; charset=utf-8"}, "Cache-Control": {"no-store"}}
		return p.answer(c, raw, req, &ev, http.StatusOK, h, -1, []byte(portalPage), keep)

	case ResetResponse:
		ev.Held = a.body
		msg := encodeAnswer(req.Method, a.status, a.header, a.length, a.body, false)
		head := bytes.Index(msg, []byte("\r\n\r\n")) + 4
		cut := head + f.After
		if f.After >= len(a.body) || req.Method == http.MethodHead {
			cut = head / 2 // nothing of the body to cut: cut the head
		}
		p.record(ev)
		_, _ = c.Write(msg[:cut])
		reset(raw)
		return false

	case Stall:
		ev.Held = a.body
		p.record(ev)
		// Hold the answer: nothing more comes from a client that waits for
		// one, so the read returns when it hangs up (or the proxy closes).
		var one [1]byte
		_, _ = c.Read(one[:])
		return false

	case BadReceipt:
		forged, ok := forgeReceipt(req, a, f.Signer)
		if !ok {
			ev.Fault = None
			return p.answer(c, raw, req, &ev, a.status, a.header, a.length, a.body, keep)
		}
		ev.Held = a.body
		return p.answer(c, raw, req, &ev, a.status, a.header, -1, forged, keep)
	}
	ev.Fault = None
	return p.answer(c, raw, req, &ev, a.status, a.header, a.length, a.body, keep)
}

// answer writes a whole answer, records the event and tells whether the
// connection goes on.
func (p *Proxy) answer(c, raw net.Conn, req *http.Request, ev *Event, status int, h http.Header, length int64,
	body []byte, keep bool) bool {
	ev.Status = status
	i := p.record(*ev)
	if _, err := c.Write(encodeAnswer(req.Method, status, h, length, body, !keep)); err != nil {
		p.unanswered(i)
		reset(raw)
		return false
	}
	return keep
}

// forward sends the request on to the upstream and reads its answer.
func (p *Proxy) forward(req *http.Request, body io.Reader, length int64, during func()) (*upstreamAnswer, error) {
	base := *p.upstream.Load()
	if base == "" {
		return nil, errors.New("faults: no upstream")
	}
	out, err := http.NewRequest(req.Method, base+req.URL.RequestURI(), body)
	if err != nil {
		return nil, err
	}
	out.Header = req.Header.Clone()
	dropHopHeaders(out.Header)
	out.ContentLength = length
	if length == 0 {
		out.Body = http.NoBody
	}
	if during != nil {
		go during()
	}
	resp, err := p.transport.RoundTrip(out)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return nil, err
	}
	return &upstreamAnswer{status: resp.StatusCode, header: resp.Header, length: resp.ContentLength, body: data,
		close: resp.Close}, nil
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

var hopHeaders = []string{"Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization", "Proxy-Connection",
	"Te", "Trailer", "Transfer-Encoding", "Upgrade"}

func dropHopHeaders(h http.Header) {
	for _, name := range hopHeaders {
		h.Del(name)
	}
}

// encodeAnswer is an HTTP/1.1 answer's bytes. length is the
// Content-Length to announce for a HEAD (-1: none); other answers
// announce the body's own.
func encodeAnswer(method string, status int, h http.Header, length int64, body []byte, closing bool) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "HTTP/1.1 %d %s\r\n", status, http.StatusText(status))
	h = h.Clone()
	dropHopHeaders(h)
	h.Del("Content-Length")
	if h.Get("Date") == "" {
		h.Set("Date", time.Now().UTC().Format(http.TimeFormat))
	}
	noBody := status == http.StatusNoContent || status == http.StatusNotModified || status < 200
	switch {
	case noBody:
	case method == http.MethodHead:
		if length >= 0 {
			h.Set("Content-Length", strconv.FormatInt(length, 10))
		}
	default:
		h.Set("Content-Length", strconv.Itoa(len(body)))
	}
	if closing {
		h.Set("Connection", "close")
	}
	_ = h.Write(&b)
	b.WriteString("\r\n")
	if !noBody && method != http.MethodHead {
		b.Write(body)
	}
	return b.Bytes()
}

// refusalKind is the commission's problem kind for a refusal's status.
func refusalKind(status int) string {
	switch status {
	case http.StatusConflict:
		return "conflict"
	case http.StatusForbidden:
		return "forbidden"
	case http.StatusUnauthorized:
		return "unauthorized"
	case http.StatusNotFound:
		return "not-found"
	}
	return "invalid"
}

// forgeReceipt is a 2xx answer to a submission with its receipt's payload
// signed by signer instead, or, when signer is nil, with the commission's
// own signature altered.
func forgeReceipt(req *http.Request, a *upstreamAnswer, signer *seal.PrivateKey) ([]byte, bool) {
	if req.Method != http.MethodPut || !strings.HasPrefix(req.URL.Path, Submissions) || a.status < 200 || a.status > 299 {
		return nil, false
	}
	env, err := seal.Parse(a.body, maxBody)
	if err != nil {
		return nil, false
	}
	if signer != nil {
		forged, err := seal.Sign(env.PayloadType, env.Payload, signer)
		return forged, err == nil
	}
	env.Signatures[0].Sig[0] ^= 0x01
	forged, err := json.Marshal(env)
	return forged, err == nil
}

const portalPage = `<!DOCTYPE html>
<html><head><title>Welcome to SchoolNet</title></head>
<body><h1>Welcome!</h1><p>Please accept the terms of use to continue.</p>
<form method="post" action="/login"><button>Accept</button></form></body></html>
`
