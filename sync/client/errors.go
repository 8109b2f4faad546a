package client

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// MaxRetryAfter caps the wait a server's Retry-After may ask for.
const MaxRetryAfter = time.Hour

// ErrNotLoggedIn: a call that needs a token before Login succeeded.
var ErrNotLoggedIn = errors.New("not logged in to the commission's server: log in with the enrolled key first")

// RefusedError is the commission's server refusing a request, with its
// reason: sending the same request again will not change the answer. A
// Status of 0 is a request refused here, before anything was sent.
type RefusedError struct {
	Op     string // what was asked, e.g. "the submission 3f2a1b2c…"
	Server string // the server's URL; empty when refused here
	Status int
	Kind   string // the problem's kind (docs/api.md), e.g. "conflict"
	Reason string // the server's detail, else the status text
}

func (e *RefusedError) Error() string {
	if e.Status == 0 {
		return fmt.Sprintf("%s was not sent: %s", e.Op, e.Reason)
	}
	return fmt.Sprintf("the commission's server %s refused %s (%d %s): %s", e.Server, e.Op, e.Status,
		http.StatusText(e.Status), e.Reason)
}

// RetryError is a request that did not succeed this time and may succeed
// later: no answer (Status 0, Err says why), an answer that asks to come
// back later (408, 429, 5xx, with RetryAfter when the server said), or an
// answer that is not the commission's (a captive portal's page, a
// redirect, a receipt that does not verify).
type RetryError struct {
	Op         string
	Server     string // the server's URL, or every one tried
	Status     int
	RetryAfter time.Duration
	Reason     string
	Err        error
}

func (e *RetryError) Error() string {
	var b strings.Builder
	if e.Status == 0 {
		fmt.Fprintf(&b, "no answer from the commission's server %s about %s: %s", e.Server, e.Op, e.Reason)
	} else {
		fmt.Fprintf(&b, "the commission's server %s did not complete %s (%d %s): %s", e.Server, e.Op, e.Status,
			http.StatusText(e.Status), e.Reason)
	}
	if e.RetryAfter > 0 {
		fmt.Fprintf(&b, "; it asks to try again in %s", e.RetryAfter)
	}
	return b.String()
}

func (e *RetryError) Unwrap() error { return e.Err }

// IsRefused tells a refusal, which must not be sent again as it is, from a
// failure that may pass on another attempt.
func IsRefused(err error) bool {
	var r *RefusedError
	return errors.As(err, &r)
}

// RetryAfterOf is the wait a failed request's server asked for, or 0.
func RetryAfterOf(err error) time.Duration {
	var r *RetryError
	if errors.As(err, &r) {
		return r.RetryAfter
	}
	return 0
}

// refusedHere is a request refused before it was sent.
func refusedHere(op, format string, args ...any) *RefusedError {
	return &RefusedError{Op: op, Reason: fmt.Sprintf(format, args...)}
}

// short shortens a digest for messages.
func short(digest string) string {
	if len(digest) > 12 {
		return digest[:12] + "…"
	}
	return digest
}
