package election

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"
)

// The commission's answers to a station, each a DSSE envelope.
const (
	ReceiptFormat       = "tally.receipt/v1"
	ReceiptPayloadType  = "application/vnd.tally.receipt+json"
	DecisionFormat      = "tally.decision/v1"
	DecisionPayloadType = "application/vnd.tally.decision+json"
	// MaxAnswerSize bounds a receipt's or a decision's payload.
	MaxAnswerSize = 16 << 10
	// MaxReasonChars bounds a supervisor's reason for returning a form.
	MaxReasonChars = 2000
)

// Receipt is the commission's signed word that it stored a submission
// durably. The station keeps it as proof; only a receipt that verifies
// under the commission's receipt key takes a submission out of the outbox.
type Receipt struct {
	Format     string   `json:"format"`
	Election   string   `json:"election"`
	Station    string   `json:"station"`
	Contest    string   `json:"contest"`
	Form       FormKind `json:"form"`
	Version    int      `json:"version"`
	Submission string   `json:"submission"` // the digest of the submission's envelope
	// Number is the commission's running number of receipts, printed on
	// the station's proof of delivery.
	Number     uint64    `json:"number"`
	ReceivedAt time.Time `json:"received_at"`
}

// ParseReceipt decodes a receipt payload strictly and checks its shape.
func ParseReceipt(payload []byte) (*Receipt, error) {
	var r Receipt
	if err := decodeAnswer(payload, &r, "receipt"); err != nil {
		return nil, err
	}
	if r.Format != ReceiptFormat {
		return nil, fmt.Errorf("receipt: format %q is not %q", r.Format, ReceiptFormat)
	}
	if err := checkAnswerRef("receipt", r.Election, r.Station, r.Contest, r.Form, r.Submission); err != nil {
		return nil, err
	}
	switch {
	case r.Version < 1 || r.Version > MaxVersion:
		return nil, fmt.Errorf("receipt: version %d is outside 1–%d", r.Version, MaxVersion)
	case r.Number == 0:
		return nil, fmt.Errorf("receipt: number is missing")
	case r.ReceivedAt.IsZero():
		return nil, fmt.Errorf("receipt: received_at is missing")
	}
	return &r, nil
}

// Verdict is a supervisor's decision on one submission.
type Verdict string

// The decisions.
const (
	Approve Verdict = "approve"
	Return  Verdict = "return" // back to the station for correction, with a reason
)

// Decision is a municipal supervisor's signed decision on one version of a
// station's form.
type Decision struct {
	Format     string    `json:"format"`
	Election   string    `json:"election"`
	Station    string    `json:"station"`
	Contest    string    `json:"contest"`
	Form       FormKind  `json:"form"`
	Submission string    `json:"submission"` // the digest of the envelope decided on
	Verdict    Verdict   `json:"verdict"`
	Reason     string    `json:"reason,omitempty"`
	DecidedAt  time.Time `json:"decided_at"`
}

// ParseDecision decodes a decision payload strictly and checks its shape: a
// return carries a reason, an approval may.
func ParseDecision(payload []byte) (*Decision, error) {
	var d Decision
	if err := decodeAnswer(payload, &d, "decision"); err != nil {
		return nil, err
	}
	if d.Format != DecisionFormat {
		return nil, fmt.Errorf("decision: format %q is not %q", d.Format, DecisionFormat)
	}
	if err := checkAnswerRef("decision", d.Election, d.Station, d.Contest, d.Form, d.Submission); err != nil {
		return nil, err
	}
	if d.Verdict != Approve && d.Verdict != Return {
		return nil, fmt.Errorf("decision: verdict %q is neither %q nor %q", d.Verdict, Approve, Return)
	}
	reason, err := NormalizeText(Field("reason"), d.Reason, MaxReasonChars)
	if err != nil {
		return nil, fmt.Errorf("decision: %w", err)
	}
	if reason != d.Reason {
		return nil, fmt.Errorf("decision: the reason is not normalised")
	}
	if d.Verdict == Return && reason == "" {
		return nil, fmt.Errorf("decision: a return must give a reason")
	}
	if d.DecidedAt.IsZero() {
		return nil, fmt.Errorf("decision: decided_at is missing")
	}
	return &d, nil
}

func decodeAnswer(payload []byte, v any, what string) error {
	if len(payload) > MaxAnswerSize {
		return fmt.Errorf("%s: larger than %d bytes", what, MaxAnswerSize)
	}
	if p := checkJSON(payload); p != nil {
		return fmt.Errorf("%s: %w", what, p)
	}
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%s: %w", what, decodeProblem(err))
	}
	return nil
}

func checkAnswerRef(what, electionID, station, contest string, form FormKind, digest string) error {
	switch {
	case electionID == "":
		return fmt.Errorf("%s: election is missing", what)
	case station == "":
		return fmt.Errorf("%s: station is missing", what)
	case contest == "":
		return fmt.Errorf("%s: contest is missing", what)
	case form != ResultsForm && form != CandidatesForm:
		return fmt.Errorf("%s: form %q is unknown", what, form)
	case !isDigest(digest):
		return fmt.Errorf("%s: submission must be the SHA-256 digest of an envelope", what)
	}
	return nil
}
