// Package client is the station's and the supervisor's HTTP client for the
// commission's server, tallyd (docs/api.md).
//
// Every call is a single attempt: the caller — the outbox worker, or a
// screen the user is looking at — owns retrying, backoff and scheduling.
// The one exception are the public documents (the definition and the key
// list), whose GETs are retried a couple of times at once.
//
// The transport is HTTPS with the commission's certificate verified as
// usual and its public key pinned (SPKI SHA-256, a primary and a backup
// pin, from the election definition); plain HTTP only to this computer's
// loopback interface. When the definition lists several servers, a call
// that cannot reach one tries the next, starting with the one that
// answered last.
//
// Errors say what failed, at which server, with the status and the
// server's own detail. A *RefusedError is the server's considered "no":
// sending the same request again will not change it. Anything else (a
// *RetryError, mostly) may succeed later.
package client

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-resty/resty/v2"

	"tally/app/election"
	"tally/app/seal"
)

// DefaultTimeout bounds one request, from dialling to the last byte of the
// answer, when Config.Timeout is zero.
const DefaultTimeout = 30 * time.Second

// DefaultUserAgent is sent when Config.UserAgent is empty.
const DefaultUserAgent = "tally-client/1"

// Config says where the commission's server is and how to trust it; all of
// it but the timeout and the user agent comes from the verified election
// definition.
type Config struct {
	// Servers are the definition's addresses of the commission's server,
	// in the order to try them, each https one with its SPKI pins.
	Servers []election.Server
	// ElectionID is the definition's election id: receipts and the key
	// list must name it.
	ElectionID string
	// ReceiptKey is the definition's receipt key (seal.EncodePublicKey):
	// only a receipt it signed counts as delivery.
	ReceiptKey string
	// Timeout bounds each request; DefaultTimeout when zero.
	Timeout time.Duration
	// UserAgent names the app and its version; DefaultUserAgent when empty.
	UserAgent string
	// RootCAs, when set, are the certificate authorities that https
	// servers are verified against instead of the system's (for tests,
	// or a commission with its own CA). Pins are checked either way.
	RootCAs *x509.CertPool
	// Now is this computer's clock, used for the time in an answer to a
	// challenge and, when the server's Date header cannot say, for a
	// token's lifetime; time.Now when nil.
	Now func() time.Time
}

// Client talks to the commission's server. It is safe for concurrent use.
type Client struct {
	cfg     Config
	receipt *seal.Keyring
	servers []*endpoint
	last    atomic.Int32 // the index of the server that answered last

	auth authState
}

// endpoint is one of the commission's servers.
type endpoint struct {
	base      string // the URL without a trailing slash
	transport *http.Transport
	once      *resty.Client // no retries
	public    *resty.Client // a couple of quick retries, for GETs of public documents
}

// New checks the configuration and prepares a client; it sends nothing.
// It refuses plain http to anything but the loopback interface, and https
// without pins.
func New(cfg Config) (*Client, error) {
	if len(cfg.Servers) == 0 {
		return nil, errors.New("client: the election definition lists no server of the commission")
	}
	if cfg.ElectionID == "" {
		return nil, errors.New("client: the election id is missing")
	}
	pub, err := seal.ParsePublicKey(cfg.ReceiptKey)
	if err != nil {
		return nil, fmt.Errorf("client: the commission's receipt key: %w", err)
	}
	ring, err := seal.NewKeyring(pub)
	if err != nil {
		return nil, fmt.Errorf("client: the commission's receipt key: %w", err)
	}
	return build(cfg, ring)
}

// FetchDefinition downloads the signed election definition for a station
// that has none yet, from the server the commission's printed instructions
// name (https with its pins, a backup pin too; or plain http to this
// computer). cfg needs only Servers; the election id and the receipt key
// come with the definition. The caller verifies the definition under the
// commission's printed fingerprint before anything uses it, as
// station.Provision does.
func FetchDefinition(ctx context.Context, cfg Config) ([]byte, error) {
	if len(cfg.Servers) == 0 {
		return nil, errors.New("client: no server to download the election definition from")
	}
	c, err := build(cfg, nil)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	return c.Definition(ctx)
}

// build makes the client; receipt is nil only for FetchDefinition.
func build(cfg Config, receipt *seal.Keyring) (*Client, error) {
	if cfg.Timeout < 0 {
		return nil, fmt.Errorf("client: the timeout %s is negative", cfg.Timeout)
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.UserAgent == "" {
		cfg.UserAgent = DefaultUserAgent
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	c := &Client{cfg: cfg, receipt: receipt}
	for i, s := range cfg.Servers {
		ep, err := newEndpoint(s, &cfg)
		if err != nil {
			c.Close()
			return nil, fmt.Errorf("client: server %d (%s): %w", i+1, s.URL, err)
		}
		c.servers = append(c.servers, ep)
	}
	return c, nil
}

// Close drops the idle connections.
func (c *Client) Close() {
	for _, ep := range c.servers {
		ep.transport.CloseIdleConnections()
	}
}

func (c *Client) now() time.Time { return c.cfg.Now() }

func newEndpoint(s election.Server, cfg *Config) (*endpoint, error) {
	u, err := url.Parse(s.URL)
	if err != nil {
		return nil, fmt.Errorf("not a URL: %w", err)
	}
	if u.Host == "" || u.User != nil || u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || u.Opaque != "" {
		return nil, errors.New("the address must be scheme://host[:port][/path], without user, query or fragment")
	}
	dialer := &net.Dialer{Timeout: 15 * time.Second, KeepAlive: 30 * time.Second}
	tr := &http.Transport{
		DialContext:           dialer.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          8,
		MaxIdleConnsPerHost:   4,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
	switch u.Scheme {
	case "http":
		if !isLoopbackHost(u.Hostname()) {
			return nil, errors.New("plain http is allowed only to this computer (127.0.0.1, ::1, localhost); the commission's server needs https")
		}
		if len(s.Pins) > 0 {
			return nil, errors.New("pins are given for plain http, which has no certificate: use https")
		}
		// Never through a proxy, and only ever to a loopback address, even
		// if "localhost" resolves elsewhere.
		tr.Proxy = nil
		tr.DialContext = loopbackOnly(dialer)
	case "https":
		pins, err := parsePins(s.Pins)
		if err != nil {
			return nil, err
		}
		tr.Proxy = http.ProxyFromEnvironment // a CONNECT proxy cannot see inside the pinned TLS
		// Set the whole TLS config at once (resty's SetTLSClientConfig
		// would replace it): usual verification against the roots, then
		// the pin.
		tr.TLSClientConfig = &tls.Config{
			MinVersion:       tls.VersionTLS12,
			RootCAs:          cfg.RootCAs,
			VerifyConnection: verifyPin(u.Host, pins),
		}
	default:
		return nil, fmt.Errorf("the scheme %q is neither https nor, on this computer only, http", u.Scheme)
	}
	hc := &http.Client{
		Transport: tr,
		Timeout:   cfg.Timeout,
		// tallyd never redirects; a redirect is a captive portal or a
		// misconfigured proxy, and is answered to the caller as it is.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	mk := func() *resty.Client {
		return resty.NewWithClient(hc).
			SetLogger(quietLogger{}).
			SetHeader("User-Agent", cfg.UserAgent).
			SetRetryCount(0)
	}
	ep := &endpoint{base: strings.TrimRight(s.URL, "/"), transport: tr, once: mk(), public: mk()}
	ep.public.SetRetryCount(2).
		SetRetryWaitTime(100 * time.Millisecond).
		SetRetryMaxWaitTime(time.Second).
		AddRetryCondition(func(r *resty.Response, err error) bool {
			if err != nil {
				var pe *PinError
				return !errors.As(err, &pe) // a wrong key stays wrong
			}
			code := r.StatusCode()
			return code == http.StatusRequestTimeout || code == http.StatusTooManyRequests || code >= 500
		})
	return ep, nil
}

// isLoopbackHost: localhost, 127.0.0.0/8 or ::1.
func isLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// loopbackOnly dials, then refuses a connection whose far end is not a
// loopback address.
func loopbackOnly(d *net.Dialer) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		conn, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		if ta, ok := conn.RemoteAddr().(*net.TCPAddr); !ok || !ta.IP.IsLoopback() {
			_ = conn.Close()
			return nil, fmt.Errorf("plain http to %s, which is not this computer, refused", conn.RemoteAddr())
		}
		return conn, nil
	}
}

func parsePins(pins []string) (map[string]bool, error) {
	if len(pins) == 0 {
		return nil, errors.New("https without certificate pins: the definition must give the SHA-256 pins of the server's key")
	}
	out := make(map[string]bool, len(pins))
	for _, p := range pins {
		b64, ok := strings.CutPrefix(p, "sha256/")
		raw, err := base64.StdEncoding.Strict().DecodeString(b64)
		if !ok || err != nil || len(raw) != sha256.Size {
			return nil, fmt.Errorf("the pin %q is not sha256/ and the base64 of a SHA-256 digest", p)
		}
		out[p] = true
	}
	return out, nil
}

// Pin is the pin of a certificate: "sha256/" and the standard base64 of the
// SHA-256 of its SubjectPublicKeyInfo.
func Pin(cert *x509.Certificate) string {
	sum := sha256.Sum256(cert.RawSubjectPublicKeyInfo)
	return "sha256/" + base64.StdEncoding.EncodeToString(sum[:])
}

// PinError is a TLS connection refused because the server's key is not one
// the definition pins: someone else answered. Nothing was sent.
type PinError struct {
	Host string
	Got  string // the pin of the key the server showed
}

func (e *PinError) Error() string {
	return fmt.Sprintf("the server at %s showed a certificate whose key (%s) is not one the election definition pins; nothing was sent to it", e.Host, e.Got)
}

func verifyPin(host string, pins map[string]bool) func(tls.ConnectionState) error {
	return func(cs tls.ConnectionState) error {
		if len(cs.PeerCertificates) == 0 {
			return &PinError{Host: host, Got: "no certificate"}
		}
		got := Pin(cs.PeerCertificates[0])
		if !pins[got] {
			return &PinError{Host: host, Got: got}
		}
		return nil
	}
}

// quietLogger keeps resty silent: every failure reaches the caller as an
// error.
type quietLogger struct{}

func (quietLogger) Errorf(string, ...any) {}
func (quietLogger) Warnf(string, ...any)  {}
func (quietLogger) Debugf(string, ...any) {}

// authState is the token of the key that logged in.
type authState struct {
	renewing sync.Mutex // one login at a time
	mu       sync.Mutex
	key      *seal.PrivateKey
	token    string
	renewAt  time.Time // on this computer's clock; zero: only when refused
	info     tokenInfo
}
