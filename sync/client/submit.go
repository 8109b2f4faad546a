package client

import (
	"context"
	"errors"
	"net/http"
	"time"

	"tally/app/election"
	"tally/app/seal"
)

// OutcomeKind is what became of one attempt to send a submission.
type OutcomeKind int

const (
	// Retry: not delivered this time; send the same envelope again later
	// (after RetryAfter, when the server gave one). Nothing is lost: the
	// server stores an envelope once, and a repeat gets the same receipt.
	Retry OutcomeKind = iota
	// Delivered: the commission stored the submission, and Receipt is its
	// signed receipt, verified here. The outbox row may go.
	Delivered
	// Refused: the commission's server refused the envelope for good (a
	// conflict with what it stores, a signature that does not verify, a
	// revoked key…); Reason is the server's word. Sending the same
	// envelope again gets the same answer: it needs a person.
	Refused
)

func (k OutcomeKind) String() string {
	switch k {
	case Delivered:
		return "delivered"
	case Refused:
		return "refused"
	default:
		return "retry"
	}
}

// Outcome is what became of one attempt to send a submission.
type Outcome struct {
	Kind OutcomeKind
	// Receipt is the receipt's envelope exactly as received (Delivered
	// only), to be stored and printed; Parsed is its verified content.
	Receipt []byte
	Parsed  *election.Receipt
	// Status is the HTTP status, 0 when there was no answer.
	Status int
	// RetryAfter is how long the server asked to wait (Retry only; 0 when
	// it did not say).
	RetryAfter time.Duration
	// Reason says why it was not delivered: the server's detail for a
	// refusal, else what went wrong.
	Reason string
	// Err is the whole error (a *RefusedError or a *RetryError), naming
	// the server, for the log and the user.
	Err error
}

// maxReceiptEnvelope bounds a receipt's envelope (its payload is at most
// election.MaxAnswerSize).
const maxReceiptEnvelope = 64 << 10

// Submit sends a sealed submission (PUT /v1/submissions/{digest}), once.
// digest must be seal.Digest(envelope). Only a 2xx whose body is a receipt
// signed by the commission's receipt key, for this election and this very
// envelope, is Delivered; a 408, 429, 5xx, a broken connection, a timeout
// or any other 2xx (a captive portal's page) is Retry; the commission's
// refusal (409, 422, 401, 403, …, with its problem document) is Refused.
func (c *Client) Submit(ctx context.Context, digest string, envelope []byte) Outcome {
	op := "the submission " + short(digest)
	if got := seal.Digest(envelope); got != digest {
		err := refusedHere(op, "its digest is %s, not %s", short(got), short(digest))
		return Outcome{Kind: Refused, Reason: err.Reason, Err: err}
	}
	rq := &request{op: op, method: http.MethodPut, path: "/v1/submissions/" + digest, body: envelope,
		ctype: "application/json", header: map[string]string{"Accept": "application/json"}, limit: maxReceiptEnvelope}
	a, err := c.send(ctx, rq)
	if err != nil {
		return outcomeOf(err)
	}
	if a.status < 200 || a.status > 299 {
		return outcomeOf(c.failure(rq, a))
	}
	r, err := c.checkReceipt(rq, a, digest)
	if err != nil {
		return outcomeOf(err)
	}
	return Outcome{Kind: Delivered, Receipt: a.body, Parsed: r, Status: a.status}
}

// checkReceipt verifies a 2xx answer to a submission: a receipt envelope
// signed by the receipt key, well-formed, for this election and digest.
func (c *Client) checkReceipt(rq *request, a *answer, digest string) (*election.Receipt, error) {
	opened, err := seal.Open(a.body, maxReceiptEnvelope, election.ReceiptPayloadType, c.receipt)
	if err != nil {
		what := "not a receipt"
		if errors.Is(err, seal.ErrUntrusted) || errors.Is(err, seal.ErrBadSignature) {
			what = "a receipt that the commission's receipt key did not sign"
		}
		return nil, badAnswer(rq, a, "the answer is %s (%s, %s), so the submission does not count as delivered", what,
			describeBody(a), err)
	}
	r, err := election.ParseReceipt(opened.Payload)
	if err != nil {
		return nil, badAnswer(rq, a, "the signed receipt cannot be read (%s), so the submission does not count as delivered", err)
	}
	switch {
	case r.Election != c.cfg.ElectionID:
		return nil, badAnswer(rq, a, "the receipt is for election %q, not %q, so the submission does not count as delivered",
			r.Election, c.cfg.ElectionID)
	case r.Submission != digest:
		return nil, badAnswer(rq, a, "the receipt is for submission %s, not %s, so this one does not count as delivered",
			short(r.Submission), short(digest))
	}
	return r, nil
}

// outcomeOf is the outcome of a failed attempt.
func outcomeOf(err error) Outcome {
	var refused *RefusedError
	if errors.As(err, &refused) {
		return Outcome{Kind: Refused, Status: refused.Status, Reason: refused.Reason, Err: err}
	}
	o := Outcome{Kind: Retry, Reason: err.Error(), Err: err}
	var retry *RetryError
	if errors.As(err, &retry) {
		o.Status, o.RetryAfter, o.Reason = retry.Status, retry.RetryAfter, retry.Reason
	}
	return o
}
