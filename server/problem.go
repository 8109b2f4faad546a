package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"time"

	"tally/app/commission"
)

// ProblemTypePrefix starts the type of every problem the server answers
// with; the kind follows: urn:tally:problem:conflict.
const ProblemTypePrefix = "urn:tally:problem:"

// ProblemContentType is the media type of an error's body (RFC 9457).
const ProblemContentType = "application/problem+json"

// Kinds of problem the HTTP layer adds to commission's.
const (
	kindRateLimited      = "rate-limited"
	kindTooLarge         = "too-large"
	kindMediaType        = "unsupported-media-type"
	kindMethodNotAllowed = "method-not-allowed"
)

// Problem is the body of every error answer (RFC 9457).
type Problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail"`
}

// problem is an error on its way to becoming an answer: the status, the
// kind, a detail fit for the caller and, for the log only, the cause.
type problem struct {
	status     int
	kind       string
	detail     string
	cause      error
	retryAfter time.Duration // for 429 and 503
}

func (p *problem) Error() string { return p.detail }

func newProblem(status int, kind, format string, args ...any) *problem {
	return &problem{status: status, kind: kind, detail: fmt.Sprintf(format, args...)}
}

// badRequest is a request the server cannot read: 400.
func badRequest(format string, args ...any) *problem {
	return newProblem(http.StatusBadRequest, string(commission.EInvalid), format, args...)
}

var titles = map[string]string{
	string(commission.EInvalid):      "The request is not acceptable",
	string(commission.ENotFound):     "Not found",
	string(commission.EConflict):     "Conflict with what is stored",
	string(commission.EUnauthorized): "Authentication required",
	string(commission.EForbidden):    "Forbidden",
	string(commission.EUnavailable):  "Unavailable; try again later",
	string(commission.EInternal):     "Internal error",
	kindRateLimited:                  "Too many requests",
	kindTooLarge:                     "Request body too large",
	kindMediaType:                    "Unsupported media type",
	kindMethodNotAllowed:             "Method not allowed",
}

// statusOf maps commission's kinds to statuses. An invalid request that
// reached a use case was well-formed: a rule refused it, so 422; the HTTP
// layer answers 400 itself for what it cannot read.
var statusOf = map[commission.Kind]int{
	commission.EInvalid:      http.StatusUnprocessableEntity,
	commission.ENotFound:     http.StatusNotFound,
	commission.EConflict:     http.StatusConflict,
	commission.EUnauthorized: http.StatusUnauthorized,
	commission.EForbidden:    http.StatusForbidden,
	commission.EUnavailable:  http.StatusServiceUnavailable,
	commission.EInternal:     http.StatusInternalServerError,
}

// asProblem turns any error into a problem. An internal error's detail
// says nothing of its cause, which goes to the log.
func (s *Server) asProblem(err error) *problem {
	var p *problem
	if errors.As(err, &p) {
		return p
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return &problem{status: http.StatusServiceUnavailable, kind: string(commission.EUnavailable),
			detail: "the request was cancelled before it was answered; send it again", cause: err,
			retryAfter: s.cfg.RetryAfter}
	}
	kind := commission.KindOf(err)
	status, ok := statusOf[kind]
	if !ok {
		kind, status = commission.EInternal, http.StatusInternalServerError
	}
	p = &problem{status: status, kind: string(kind), detail: commission.ErrorMessage(err)}
	switch kind {
	case commission.EInternal:
		p.cause = err
	case commission.EUnavailable:
		p.retryAfter = s.cfg.RetryAfter
	}
	return p
}

// writeError answers with the problem err is, and notes it for the log.
func (s *Server) writeError(w http.ResponseWriter, err error) {
	p := s.asProblem(err)
	if rec, ok := w.(*recorder); ok {
		if rec.status != 0 { // the answer has begun: too late to change it, but log why it ends
			rec.kind, rec.detail, rec.cause = p.kind, p.detail, err
			return
		}
		rec.kind, rec.detail, rec.cause = p.kind, p.detail, p.cause
	}
	h := w.Header()
	h.Set("Content-Type", ProblemContentType)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	h.Del("Content-Length")
	h.Del("ETag")
	if p.retryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(int(math.Ceil(p.retryAfter.Seconds()))))
	}
	if p.status == http.StatusUnauthorized {
		h.Set("WWW-Authenticate", `Bearer realm="tally"`)
	}
	if p.status == http.StatusRequestEntityTooLarge {
		h.Set("Connection", "close") // do not read the rest of a body we refused
	}
	title := titles[p.kind]
	if title == "" {
		title = http.StatusText(p.status)
	}
	body, _ := json.Marshal(Problem{Type: ProblemTypePrefix + p.kind, Title: title, Status: p.status, Detail: p.detail})
	w.WriteHeader(p.status)
	_, _ = w.Write(append(body, '\n'))
}
