package server

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"tally/app/commission"
	"tally/app/enrollment"
	"tally/app/publish"
)

// Config configures a Server. Zero fields take the defaults below.
type Config struct {
	Service *commission.Service // required
	Logger  *slog.Logger        // structured logs; discarded when nil
	// Now is the clock of tokens, challenges and rate limits; time.Now
	// when nil.
	Now func() time.Time

	// Body limits, in bytes.
	MaxSubmissionBytes int64 // a submission's envelope: commission.MaxEnvelopeSize
	MaxDecisionBytes   int64 // a decision's envelope: 64 KiB
	MaxEnrollBytes     int64 // an enrollment request: enrollment.MaxRequestSize (4 KiB)
	MaxAuthBytes       int64 // an answer to a challenge: 4 KiB
	MaxPartBytes       int64 // a part of an attachment: 1 MiB

	// KeyRate limits each signing key (submissions, decisions, answers to
	// challenges) and each token's key; AddrRate limits each client
	// address on every /v1 route. Many stations may share one address
	// behind a mobile carrier's NAT, so AddrRate is generous.
	KeyRate  Rate // 10/s, burst 100
	AddrRate Rate // 200/s, burst 2000
	// PublicRate limits each client address on the public results and
	// their page, apart from the API's rate: a browser polls every few
	// seconds, a newsroom or a university behind one address may be
	// many.
	PublicRate Rate // 100/s, burst 1000

	// Publisher publishes the results snapshots this server serves under
	// /v1/results/; none are served when nil. Page is the results page's
	// files, served under /results/.
	Publisher *publish.Publisher
	Page      fs.FS
	// ClientAddr names a request's client for the address rate limit and
	// the logs: the host of RemoteAddr when nil. Behind a reverse proxy,
	// read its forwarding header here.
	ClientAddr func(*http.Request) string

	TokenTTL     time.Duration // 15 minutes
	ChallengeTTL time.Duration // 2 minutes
	RetryAfter   time.Duration // advised with a 503: 5 s

	// The http.Server's limits, used by Serve.
	ReadHeaderTimeout time.Duration // 5 s
	ReadTimeout       time.Duration // 60 s: a 1 MiB part over a slow line
	WriteTimeout      time.Duration // 60 s
	IdleTimeout       time.Duration // 120 s
	MaxHeaderBytes    int           // 16 KiB
	// ShutdownTimeout bounds how long Serve waits for requests in flight
	// once its context is cancelled: 30 s.
	ShutdownTimeout time.Duration
}

func (c *Config) setDefaults() {
	def := func(v *int64, d int64) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&c.MaxSubmissionBytes, commission.MaxEnvelopeSize)
	def(&c.MaxDecisionBytes, 64<<10)
	def(&c.MaxEnrollBytes, enrollment.MaxRequestSize)
	def(&c.MaxAuthBytes, 4<<10)
	def(&c.MaxPartBytes, 1<<20)
	dur := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	dur(&c.TokenTTL, 15*time.Minute)
	dur(&c.ChallengeTTL, 2*time.Minute)
	dur(&c.RetryAfter, 5*time.Second)
	dur(&c.ReadHeaderTimeout, 5*time.Second)
	dur(&c.ReadTimeout, 60*time.Second)
	dur(&c.WriteTimeout, 60*time.Second)
	dur(&c.IdleTimeout, 120*time.Second)
	dur(&c.ShutdownTimeout, 30*time.Second)
	if c.MaxHeaderBytes <= 0 {
		c.MaxHeaderBytes = 16 << 10
	}
	if c.KeyRate.Burst <= 0 {
		c.KeyRate = Rate{PerSecond: 10, Burst: 100}
	}
	if c.AddrRate.Burst <= 0 {
		c.AddrRate = Rate{PerSecond: 200, Burst: 2000}
	}
	if c.PublicRate.Burst <= 0 {
		c.PublicRate = Rate{PerSecond: 100, Burst: 1000}
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.ClientAddr == nil {
		c.ClientAddr = remoteHost
	}
}

func remoteHost(r *http.Request) string {
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return host
	}
	return r.RemoteAddr
}

// Server is tallyd's HTTP API.
type Server struct {
	cfg     Config
	svc     *commission.Service
	log     *slog.Logger
	now     func() time.Time
	secrets *secrets
	keys    *limiter
	addrs   *limiter
	public  *limiter
	results *results
	metrics *metricsRegistry
	mux     *http.ServeMux
	routes  []route
	handler http.Handler

	conns sync.Map // net.Conn → *connInfo, while Serve runs
}

// New makes a Server.
func New(cfg Config) (*Server, error) {
	if cfg.Service == nil {
		return nil, errors.New("server: no commission.Service")
	}
	cfg.setDefaults()
	s := &Server{cfg: cfg, svc: cfg.Service, log: cfg.Logger, now: cfg.Now,
		secrets: &secrets{svc: cfg.Service, m: map[string][]byte{}},
		keys:    newLimiter(cfg.KeyRate, cfg.Now), addrs: newLimiter(cfg.AddrRate, cfg.Now),
		public: newLimiter(cfg.PublicRate, cfg.Now), mux: http.NewServeMux()}
	var err error
	if s.results, err = newResults(cfg.Publisher, cfg.Page); err != nil {
		return nil, err
	}
	s.routes = s.routeTable()
	names := make([]string, 0, len(s.routes)+1)
	for i := range s.routes {
		rt := &s.routes[i]
		if err := rt.compile(); err != nil {
			return nil, err
		}
		s.mux.Handle(rt.pattern(), s.wrap(rt))
		names = append(names, rt.pattern())
	}
	s.metrics = newMetrics(s.svc)
	for _, name := range append(names, unmatchedRoute) {
		s.metrics.durations.WithLabelValues(name) // every route shows, from the first scrape
	}
	s.handler = http.HandlerFunc(s.serveFront)
	return s, nil
}

// Handler is the whole API, for an http.Server or a test server.
func (s *Server) Handler() http.Handler { return s.handler }

// Serve answers on ln until ctx is cancelled, then shuts down gracefully:
// it stops accepting, lets the requests in flight finish (a submission's
// commit included: their contexts are not cancelled) for up to
// ShutdownTimeout, and returns. It does not close the Service.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: s.cfg.ReadHeaderTimeout,
		ReadTimeout:       s.cfg.ReadTimeout,
		WriteTimeout:      s.cfg.WriteTimeout,
		IdleTimeout:       s.cfg.IdleTimeout,
		MaxHeaderBytes:    s.cfg.MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
		ConnContext:       s.connContext,
		ConnState:         s.connState,
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	srv.RegisterOnShutdown(func() { // called once the listener is closed
		s.log.Info("shutting down: finishing the requests in flight", "timeout", s.cfg.ShutdownTimeout.String())
	})
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.ShutdownTimeout)
	defer cancel()
	err := srv.Shutdown(sctx)
	if serr := <-served; serr != nil && !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	if err != nil {
		_ = srv.Close()
		return fmt.Errorf("server: shutdown: %w", err)
	}
	s.log.Info("shut down")
	return nil
}

// connInfo follows one connection, so that a request refused by net/http
// before any handler saw it (headers too large or too slow, malformed
// HTTP) is still logged.
type connInfo struct {
	remote  string
	active  atomic.Int64 // requests begun (bytes read)
	handled atomic.Int64 // requests that reached the handler
}

type connKey struct{}

func (s *Server) connContext(ctx context.Context, c net.Conn) context.Context {
	ci := &connInfo{remote: c.RemoteAddr().String()}
	s.conns.Store(c, ci)
	return context.WithValue(ctx, connKey{}, ci)
}

func (s *Server) connState(c net.Conn, st http.ConnState) {
	v, ok := s.conns.Load(c)
	if !ok {
		return
	}
	ci := v.(*connInfo)
	switch st {
	case http.StateActive:
		ci.active.Add(1)
	case http.StateHijacked, http.StateClosed:
		s.conns.Delete(c)
		if ci.active.Load() > ci.handled.Load() {
			s.log.Warn("request refused before routing: headers too large, too slow, or not HTTP",
				"route", "", "remote", ci.remote)
		}
	}
}

// unmatchedRoute names, in metrics and logs, requests that match no route.
const unmatchedRoute = "unmatched"

// recorder notes what a request was answered, for the log and metrics.
type recorder struct {
	http.ResponseWriter
	status int
	kind   string
	detail string
	cause  error
	keyID  string // the token's key, once authenticated
	// public marks a request for the public results, whose refusals (a
	// crowd's 404s and 429s) are logged at debug level, not one line each.
	public bool
}

func (w *recorder) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *recorder) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *recorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// serveFront is the outermost handler: it refuses path tricks, answers
// unknown routes and methods with problems, and logs and measures every
// request.
func (s *Server) serveFront(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	if ci, ok := r.Context().Value(connKey{}).(*connInfo); ok {
		ci.handled.Add(1)
	}
	rec := &recorder{ResponseWriter: w}
	route := unmatchedRoute
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			err := fmt.Errorf("panic: %v", v)
			if rec.status == 0 {
				s.writeError(rec, err)
			}
			rec.status, rec.cause = http.StatusInternalServerError, err
		}
		if rec.status == 0 {
			rec.status = http.StatusOK
		}
		elapsed := time.Since(start)
		s.metrics.observe(route, rec.status, elapsed)
		s.logRequest(r, rec, route, elapsed)
	}()

	if msg := pathTrick(r); msg != "" {
		s.writeError(rec, badRequest("%s", msg))
		return
	}
	h, pattern := s.mux.Handler(r)
	if pattern == "" {
		s.answerUnmatched(rec, r, h)
		return
	}
	route = pattern
	if n := headerSize(r); n > s.cfg.MaxHeaderBytes {
		// net/http allows some slack over MaxHeaderBytes, and answers far
		// larger heads itself, in plain text.
		s.writeError(rec, newProblem(http.StatusRequestHeaderFieldsTooLarge, kindTooLarge,
			"the request's head takes %d bytes, more than the limit of %d", n, s.cfg.MaxHeaderBytes))
		return
	}
	s.mux.ServeHTTP(rec, r)
}

// answerUnmatched turns the mux's plain-text 404 or 405 into a problem.
func (s *Server) answerUnmatched(w http.ResponseWriter, r *http.Request, h http.Handler) {
	probe := &headerProbe{header: http.Header{}}
	h.ServeHTTP(probe, r)
	if probe.status == http.StatusMethodNotAllowed {
		w.Header().Set("Allow", probe.header.Get("Allow"))
		s.writeError(w, newProblem(http.StatusMethodNotAllowed, kindMethodNotAllowed,
			"%s is not allowed on %s; allowed: %s", r.Method, r.URL.Path, probe.header.Get("Allow")))
		return
	}
	s.writeError(w, newProblem(http.StatusNotFound, string(commission.ENotFound), "no route %s %s", r.Method, r.URL.Path))
}

// headerProbe is a ResponseWriter that keeps only the status and headers.
type headerProbe struct {
	header http.Header
	status int
}

func (p *headerProbe) Header() http.Header { return p.header }
func (p *headerProbe) WriteHeader(code int) {
	if p.status == 0 {
		p.status = code
	}
}
func (p *headerProbe) Write(b []byte) (int, error) {
	p.WriteHeader(http.StatusOK)
	return len(b), nil
}

// logRequest logs every refused request once, a 5xx at error level; what
// succeeded is logged at debug level.
func (s *Server) logRequest(r *http.Request, rec *recorder, route string, elapsed time.Duration) {
	level := slog.LevelDebug
	msg := "request"
	switch {
	case rec.status >= 500:
		level, msg = slog.LevelError, "request failed"
	case rec.status >= 400 && !rec.public:
		level, msg = slog.LevelWarn, "request refused"
	case rec.status >= 400:
		msg = "request refused"
	}
	if !s.log.Enabled(r.Context(), level) {
		return
	}
	attrs := []slog.Attr{
		slog.String("route", route),
		slog.String("method", r.Method),
		slog.String("path", r.URL.Path),
		slog.Int("status", rec.status),
		slog.String("remote", r.RemoteAddr),
		slog.Duration("duration", elapsed),
	}
	if rec.kind != "" {
		attrs = append(attrs, slog.String("kind", rec.kind), slog.String("detail", rec.detail))
	}
	if rec.cause != nil {
		attrs = append(attrs, slog.String("error", rec.cause.Error()))
	}
	if rec.keyID != "" {
		attrs = append(attrs, slog.String("key", rec.keyID))
	}
	s.log.LogAttrs(r.Context(), level, msg, attrs...)
}

// headerSize is about what a request's head took on the wire.
func headerSize(r *http.Request) int {
	n := len(r.Method) + len(r.RequestURI) + len(r.Proto) + 4
	for k, vs := range r.Header {
		for _, v := range vs {
			n += len(k) + len(v) + 4
		}
	}
	return n
}

// pathTrick says what is wrong with a path that is not in its one plain
// form: dot segments, empty segments, encoded slashes or backslashes,
// control characters. Such a path is refused before routing, so that no
// handler sees a value it produced.
func pathTrick(r *http.Request) string {
	p := r.URL.Path
	if !strings.HasPrefix(p, "/") {
		return "the path must begin with /"
	}
	raw := r.URL.EscapedPath()
	lower := strings.ToLower(raw)
	switch {
	case strings.Contains(lower, "%2f"), strings.Contains(lower, "%5c"), strings.Contains(p, `\`):
		return "the path holds an encoded slash or a backslash"
	case strings.Contains(p, "//"):
		return "the path holds an empty segment (//)"
	case strings.Contains(p+"/", "/./"), strings.Contains(p+"/", "/../"):
		return "the path holds a . or .. segment"
	}
	for i := 0; i < len(p); i++ {
		if p[i] < 0x20 || p[i] == 0x7f {
			return "the path holds a control character"
		}
	}
	return ""
}
