// Package faults is a fault-injecting HTTP proxy for the tests of the
// station's sync: it stands between a station's client and a real tallyd
// and does to the traffic what a bad network, a broken middlebox or a
// failing server does — refuses connections, answers 5xx and 429, resets
// a connection in the middle of a request or of an answer, holds an answer
// the server stored until the client gives up, answers 200 with a captive
// portal's page, swaps the commission's receipt for one signed by another
// key, refuses like the commission, or shows a TLS certificate that the
// election definition does not pin.
//
// A proxy applies a standing fault (SetFault), a script of faults for the
// next matching requests (Script), or a chooser's pick for each request
// (SetChooser); it logs every request with what it did to it. It is test
// equipment: nothing in the app imports it.
package faults

import (
	"net/http"
	"strings"
	"time"

	"tally/app/seal"
)

// Kind names what a fault does to a request.
type Kind string

// The kinds of fault. "Forwarded" means tallyd got the request whole and
// answered it: what it stored stays stored, whatever the client is told.
const (
	// None passes the request to tallyd and its answer back.
	None Kind = "none"
	// Status answers Fault.Status (500, 502, 503, 429, 408, …) with
	// Fault.RetryAfter, as a proxy or a busy server would, without
	// forwarding — or after forwarding when Fault.Forward is set.
	Status Kind = "status"
	// Refuse answers the commission's own refusal: a problem document
	// (urn:tally:problem:…) with Fault.Status (403, 409, 422, …) and
	// Fault.Detail, without forwarding.
	Refuse Kind = "refuse"
	// ResetRequest reads Fault.After bytes of the request's body (half of
	// it when that would be all), passes that much on to tallyd (which
	// sees the request cut short), and resets both connections. A request
	// without a body is reset before anything goes on.
	ResetRequest Kind = "reset-request"
	// ResetResponse forwards, writes the answer's head and Fault.After
	// bytes of its body (half its head when that would be all of it), and
	// resets the connection.
	ResetResponse Kind = "reset-response"
	// Stall forwards (tallyd stores), then holds the answer and writes
	// nothing until the client hangs up.
	Stall Kind = "stall"
	// CaptivePortal answers 200 with an HTML login page, without
	// forwarding, as a hotel's or a school's network does.
	CaptivePortal Kind = "captive-portal"
	// BadReceipt forwards and, when tallyd answers a submission with a
	// 2xx, replaces the receipt with the same payload signed by
	// Fault.Signer, a key that is not the commission's.
	BadReceipt Kind = "bad-receipt"
)

// Submissions is the path of the submissions: a Fault's Target to hit
// only them.
const Submissions = "/v1/submissions/"

// Fault is what to do to a request.
type Fault struct {
	Kind Kind
	// Target limits the fault to requests whose path starts with it
	// ("" is every request); others pass.
	Target string
	// Method limits the fault to one method ("" is any).
	Method string
	// Status is the answer's status (Status, Refuse).
	Status int
	// RetryAfter is the Retry-After header's value (Status), e.g. "1".
	RetryAfter string
	// Forward has tallyd take the request first (Status): the answer it
	// gave is lost, like a gateway's 502 after the upstream stored.
	Forward bool
	// After is how many bytes go through before a reset: of the request's
	// body (ResetRequest), of the answer's body (ResetResponse).
	After int
	// Detail is the refusal's reason (Refuse).
	Detail string
	// Signer signs the forged receipt (BadReceipt).
	Signer *seal.PrivateKey
	// During, when set, runs on its own goroutine once the request is on
	// its way to tallyd (None and every forwarding kind): to kill the
	// server in the middle of a request.
	During func()
}

// matches tells whether the fault applies to the request.
func (f Fault) matches(r *http.Request) bool {
	return strings.HasPrefix(r.URL.Path, f.Target) && (f.Method == "" || f.Method == r.Method)
}

// forwards tells whether tallyd sees the request.
func (f Fault) forwards() bool {
	switch f.Kind {
	case Status:
		return f.Forward
	case Refuse, CaptivePortal:
		return false
	}
	return true
}

// Times is n copies of a fault, for a script.
func Times(n int, f Fault) []Fault {
	out := make([]Fault, n)
	for i := range out {
		out[i] = f
	}
	return out
}

// Event is one request as the proxy handled it.
type Event struct {
	At     time.Time // when the request's head arrived
	Method string
	Path   string
	Fault  Kind
	// FaultStatus is the status the fault answers (Status, Refuse).
	FaultStatus int
	// Upstream is tallyd's status; 0 when it was not asked or did not
	// answer.
	Upstream int
	// Status is what the client was answered in full; 0 when it got no
	// whole answer (a reset, a stall, tallyd gone).
	Status int
	// Held is tallyd's answer that the client did not get as it was
	// (ResetResponse, Stall, BadReceipt, Status with Forward).
	Held []byte
}
