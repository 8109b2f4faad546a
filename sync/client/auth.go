package client

import (
	"context"
	"net/http"
	"time"

	"tally/app/enrollment"
	"tally/app/seal"
	"tally/server"
)

// RenewBefore: a token is renewed when it has less than this left (or
// half its life, for a token that lives less than twice as long).
const RenewBefore = time.Minute

// maxTokenLifetime: a token that seems to live longer than this is taken
// to be measured by a wrong clock.
const maxTokenLifetime = 24 * time.Hour

// tokenInfo is who the server says the token is for.
type tokenInfo struct {
	KeyID     string
	Role      string
	Unit      string
	ExpiresAt time.Time // on the server's clock
}

// Identity is who the server took the logged-in key for.
type Identity struct {
	KeyID     string
	Role      enrollment.Role
	Unit      string    // the station's code, or the supervisor's municipality
	ExpiresAt time.Time // of the current token, on the server's clock
}

// Login proves that this computer holds the enrolled key (a challenge,
// signed, exchanged for a token) and keeps the key, in memory only, to
// renew the token: ahead of its expiry, and once when a request is
// answered 401.
func (c *Client) Login(ctx context.Context, key *seal.PrivateKey) error {
	if key == nil {
		return refusedHere("the login", "no key")
	}
	c.auth.renewing.Lock()
	defer c.auth.renewing.Unlock()
	_, err := c.login(ctx, key)
	return err
}

// Identity is who the current token is for; ok is false before a login.
func (c *Client) Identity() (Identity, bool) {
	c.auth.mu.Lock()
	defer c.auth.mu.Unlock()
	if c.auth.token == "" {
		return Identity{}, false
	}
	i := c.auth.info
	return Identity{KeyID: i.KeyID, Role: enrollment.Role(i.Role), Unit: i.Unit, ExpiresAt: i.ExpiresAt}, true
}

// Logout forgets the token and the key.
func (c *Client) Logout() {
	c.auth.mu.Lock()
	defer c.auth.mu.Unlock()
	c.auth.key, c.auth.token, c.auth.renewAt, c.auth.info = nil, "", time.Time{}, tokenInfo{}
}

// login asks for a challenge, signs it and exchanges it for a token; the
// caller holds auth.renewing.
func (c *Client) login(ctx context.Context, key *seal.PrivateKey) (string, error) {
	rq := &request{op: "the login", method: http.MethodPost, path: "/v1/auth/challenge",
		header: map[string]string{"Accept": "application/json"}, limit: 16 << 10}
	var ch server.Challenge
	if _, err := c.call(ctx, rq, &ch); err != nil {
		return "", err
	}
	if ch.Challenge == "" {
		return "", &RetryError{Op: rq.op, Reason: "the server's challenge is empty"}
	}
	answer, err := enrollment.SignAuth(c.cfg.ElectionID, ch.Challenge, c.now(), key)
	if err != nil {
		return "", refusedHere(rq.op, "the answer to the challenge cannot be signed: %v", err)
	}
	rq = &request{op: "the login with key " + seal.Fingerprint(key.ID()), method: http.MethodPost,
		path: "/v1/auth/token", body: answer, ctype: "application/json", limit: 16 << 10}
	local := c.now() // before the answer: the token's lifetime is counted from no later than its issue
	var tok server.Token
	a, err := c.call(ctx, rq, &tok)
	if err != nil {
		return "", err
	}
	switch {
	case tok.Token == "":
		return "", badAnswer(rq, a, "the answer carries no token")
	case tok.TokenType != "" && tok.TokenType != "Bearer":
		return "", badAnswer(rq, a, "the token's type is %q, not Bearer", tok.TokenType)
	case tok.KeyID != key.ID():
		return "", badAnswer(rq, a, "the token is for key %s, not %s", seal.Fingerprint(tok.KeyID), seal.Fingerprint(key.ID()))
	}
	renewAt := time.Time{}
	if life := tokenLifetime(tok.ExpiresAt, a.header, local); life > 0 {
		renewAt = local.Add(life - min(RenewBefore, life/2)) // a short-lived token still serves a while
	}
	c.auth.mu.Lock()
	c.auth.key, c.auth.token, c.auth.renewAt = key, tok.Token, renewAt
	c.auth.info = tokenInfo{KeyID: tok.KeyID, Role: tok.Role, Unit: tok.Unit, ExpiresAt: tok.ExpiresAt}
	c.auth.mu.Unlock()
	return tok.Token, nil
}

// tokenLifetime is how long a token lives, measured on the server's clock
// (its expiry less the answer's Date) so that a laptop's wrong clock does
// not matter; else on this computer's clock; 0 when neither makes sense
// (then the token is renewed only when the server refuses it).
func tokenLifetime(expires time.Time, h http.Header, local time.Time) time.Duration {
	sane := func(d time.Duration) bool { return d > 0 && d <= maxTokenLifetime }
	if date, err := http.ParseTime(h.Get("Date")); err == nil {
		if d := expires.Sub(date); sane(d) {
			return d
		}
	}
	if d := expires.Sub(local); sane(d) {
		return d
	}
	return 0
}

// bearer is a token that is not about to expire, renewed if need be.
func (c *Client) bearer(ctx context.Context) (string, error) {
	c.auth.mu.Lock()
	key, tok, renewAt := c.auth.key, c.auth.token, c.auth.renewAt
	c.auth.mu.Unlock()
	if key == nil {
		return "", ErrNotLoggedIn
	}
	if tok != "" && (renewAt.IsZero() || c.now().Before(renewAt)) {
		return tok, nil
	}
	return c.renew(ctx, tok)
}

// renew logs in again with the kept key, unless another call did since
// stale was read.
func (c *Client) renew(ctx context.Context, stale string) (string, error) {
	c.auth.renewing.Lock()
	defer c.auth.renewing.Unlock()
	c.auth.mu.Lock()
	key, tok, renewAt := c.auth.key, c.auth.token, c.auth.renewAt
	c.auth.mu.Unlock()
	if key == nil {
		return "", ErrNotLoggedIn
	}
	if tok != "" && tok != stale && (renewAt.IsZero() || c.now().Before(renewAt)) {
		return tok, nil
	}
	return c.login(ctx, key)
}

// sendAuthed sends a request with the token; when the server answers 401
// it renews the token once and sends the request again.
func (c *Client) sendAuthed(ctx context.Context, rq *request) (*answer, error) {
	tok, err := c.bearer(ctx)
	if err != nil {
		return nil, err
	}
	for attempt := 0; ; attempt++ {
		h := make(map[string]string, len(rq.header)+1)
		for k, v := range rq.header {
			h[k] = v
		}
		h["Authorization"] = "Bearer " + tok
		sent := *rq
		sent.header = h
		a, err := c.send(ctx, &sent)
		if err != nil || a.status != http.StatusUnauthorized || attempt > 0 {
			return a, err
		}
		if tok, err = c.renew(ctx, tok); err != nil {
			return nil, err
		}
	}
}

// callAuthed sends a request with the token and decodes its JSON answer.
func (c *Client) callAuthed(ctx context.Context, rq *request, v any) (*answer, error) {
	a, err := c.sendAuthed(ctx, rq)
	if err != nil {
		return nil, err
	}
	return a, c.finish(rq, a, v)
}
