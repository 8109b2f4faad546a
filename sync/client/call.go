package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/go-resty/resty/v2"

	"tally/server"
)

// request is one call to the commission's server.
type request struct {
	op     string // for messages: "the submission 3f2a1b2c…"
	method string
	path   string // escaped, from /v1
	body   []byte // sent as bytes, never a reader: a reader would go out empty a second time
	ctype  string
	header map[string]string
	public bool // a GET of a public document: a couple of quick retries
	limit  int  // the largest answer body accepted
}

// answer is what a server answered, body read whole.
type answer struct {
	server string
	status int
	header http.Header
	body   []byte
}

// send makes one attempt at the request, at the server that answered last
// and, when it cannot be reached, at the others in order. Any answer, of
// any status, is returned; an error means no server answered.
func (c *Client) send(ctx context.Context, rq *request) (*answer, error) {
	n := len(c.servers)
	start := int(c.last.Load())
	var tried []string
	var errs []error
	for i := range n {
		idx := (start + i) % n
		ep := c.servers[idx]
		rc := ep.once
		if rq.public {
			rc = ep.public
		}
		r := rc.R().SetContext(ctx).SetResponseBodyLimit(rq.limit)
		if rq.body != nil {
			r.SetBody(rq.body)
		}
		if rq.ctype != "" {
			r.SetHeader("Content-Type", rq.ctype)
		}
		for k, v := range rq.header {
			r.SetHeader(k, v)
		}
		resp, err := r.Execute(rq.method, ep.base+rq.path)
		if err == nil && resp != nil && resp.RawResponse != nil {
			c.last.Store(int32(idx))
			return &answer{server: ep.base, status: resp.StatusCode(), header: resp.Header(), body: resp.Body()}, nil
		}
		if resp != nil && resp.RawResponse != nil && errors.Is(err, resty.ErrResponseBodyTooLarge) {
			c.last.Store(int32(idx)) // it answered, just not as the commission's server does
			return nil, &RetryError{Op: rq.op, Server: ep.base, Status: resp.StatusCode(),
				Reason: fmt.Sprintf("the answer (%s) is larger than the %d bytes the commission's server sends here: a captive portal?",
					mediaType(resp.Header()), rq.limit)}
		}
		if err == nil {
			err = errors.New("no answer")
		}
		tried = append(tried, ep.base)
		errs = append(errs, err)
		if ctx.Err() != nil {
			return nil, &RetryError{Op: rq.op, Server: ep.base, Reason: "cancelled: " + ctx.Err().Error(),
				Err: ctx.Err()}
		}
	}
	reasons := make([]string, len(errs))
	for i, err := range errs {
		reasons[i] = c.netReason(err)
		if n > 1 {
			reasons[i] = tried[i] + ": " + reasons[i]
		}
	}
	return nil, &RetryError{Op: rq.op, Server: strings.Join(tried, ", "), Reason: strings.Join(reasons, "; "),
		Err: errors.Join(errs...)}
}

// netReason says why a server could not be reached, without Go's
// "Put "http://…": " prefix.
func (c *Client) netReason(err error) string {
	var pe *PinError
	if errors.As(err, &pe) {
		return pe.Error()
	}
	timeout := errors.Is(err, context.DeadlineExceeded)
	var ue *url.Error
	if errors.As(err, &ue) {
		timeout = timeout || ue.Timeout()
		err = ue.Err
	}
	switch {
	case timeout:
		return fmt.Sprintf("no answer within %s", c.cfg.Timeout)
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		return "the connection was closed without an answer"
	case errors.Is(err, syscall.ECONNRESET):
		return "the connection was reset"
	}
	return err.Error()
}

// problem is the server's problem document, when the answer is one.
func problemOf(a *answer, method string) (*server.Problem, bool) {
	mt, _, err := mime.ParseMediaType(a.header.Get("Content-Type"))
	if err != nil || mt != server.ProblemContentType {
		return nil, false
	}
	if method == http.MethodHead { // no body to read: the media type says it is ours
		return &server.Problem{Status: a.status}, true
	}
	var p server.Problem
	if err := json.Unmarshal(a.body, &p); err != nil || p.Status != a.status ||
		!strings.HasPrefix(p.Type, server.ProblemTypePrefix) {
		return nil, false
	}
	return &p, true
}

// failure turns an answer that is not a success into its error: a
// *RefusedError for the commission's refusal (a 4xx other than 408 and 429
// with its problem document), else a *RetryError.
func (c *Client) failure(rq *request, a *answer) error {
	p, ours := problemOf(a, rq.method)
	reason := http.StatusText(a.status)
	kind := ""
	if ours {
		kind = strings.TrimPrefix(p.Type, server.ProblemTypePrefix)
		switch {
		case p.Detail != "":
			reason = p.Detail
		case p.Title != "":
			reason = p.Title
		}
	}
	if reason == "" {
		reason = "status " + strconv.Itoa(a.status)
	}
	switch {
	case a.status == http.StatusRequestTimeout || a.status == http.StatusTooManyRequests || a.status >= 500:
		return &RetryError{Op: rq.op, Server: a.server, Status: a.status, Reason: reason,
			RetryAfter: c.retryAfter(a.header)}
	case a.status >= 400 && ours:
		return &RefusedError{Op: rq.op, Server: a.server, Status: a.status, Kind: kind, Reason: reason}
	case a.status >= 400:
		// Not the commission's refusal: a proxy, a firewall or a captive
		// portal said no. Taking it for a refusal would give up on a
		// submission the commission never saw.
		return &RetryError{Op: rq.op, Server: a.server, Status: a.status,
			Reason: "the answer is not the commission's (" + describeBody(a) + "): a proxy, a firewall or a captive portal?"}
	case a.status >= 300 && a.status < 400:
		where := a.header.Get("Location")
		if where == "" {
			where = "nowhere"
		}
		return &RetryError{Op: rq.op, Server: a.server, Status: a.status,
			Reason: "redirected to " + where + ", which the commission's server never does: a captive portal?"}
	default:
		return &RetryError{Op: rq.op, Server: a.server, Status: a.status, Reason: "an unexpected answer"}
	}
}

// describeBody names what an answer carries, for messages.
func describeBody(a *answer) string {
	return fmt.Sprintf("%s, %d bytes", mediaType(a.header), len(a.body))
}

func mediaType(h http.Header) string {
	if ct := h.Get("Content-Type"); ct != "" {
		return ct
	}
	return "no media type"
}

// badAnswer is a 2xx answer that is not what the server sends.
func badAnswer(rq *request, a *answer, format string, args ...any) *RetryError {
	return &RetryError{Op: rq.op, Server: a.server, Status: a.status, Reason: fmt.Sprintf(format, args...)}
}

// retryAfter reads Retry-After, in seconds or as an HTTP date (measured
// from the answer's Date when it has one, so that this computer's clock
// does not matter), capped at MaxRetryAfter.
func (c *Client) retryAfter(h http.Header) time.Duration {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	var d time.Duration
	if n, err := strconv.ParseUint(v, 10, 32); err == nil {
		d = time.Duration(n) * time.Second
	} else if at, err := http.ParseTime(v); err == nil {
		ref := c.now()
		if date, err := http.ParseTime(h.Get("Date")); err == nil {
			ref = date
		}
		d = at.Sub(ref)
	}
	return min(max(d, 0), MaxRetryAfter)
}

// decodeJSON reads a 2xx answer's JSON document.
func decodeJSON(rq *request, a *answer, v any) error {
	mt, _, err := mime.ParseMediaType(a.header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		return badAnswer(rq, a, "the answer is not the JSON document the commission's server sends (%s): a captive portal?",
			describeBody(a))
	}
	dec := json.NewDecoder(bytes.NewReader(a.body))
	if err := dec.Decode(v); err != nil {
		return badAnswer(rq, a, "the answer cannot be read: %v", err)
	}
	return nil
}

// call sends a request that needs no token and decodes its JSON answer.
func (c *Client) call(ctx context.Context, rq *request, v any) (*answer, error) {
	a, err := c.send(ctx, rq)
	if err != nil {
		return nil, err
	}
	return a, c.finish(rq, a, v)
}

// finish checks an answer's status and decodes its JSON into v, if any.
func (c *Client) finish(rq *request, a *answer, v any) error {
	if a.status < 200 || a.status > 299 {
		return c.failure(rq, a)
	}
	if v != nil {
		return decodeJSON(rq, a, v)
	}
	return nil
}
