package publish

import (
	"fmt"
	"time"

	"tally/app/commission"
	"tally/app/election"
	"tally/app/seal"
)

// Review is where a supervisor's review of a form's head version stands.
type Review string

// The states of review that matter to publication.
const (
	// Received: stored by the commission, no supervisor has decided yet.
	// Counted, and flagged as such.
	Received Review = "received"
	// Approved: the supervisor's latest decision on the version approves
	// it. Counted.
	Approved Review = "approved"
	// Returned: the supervisor's latest decision on the version returns
	// it to the station for correction. Not counted, and no earlier
	// version is counted in its place, until the station sends a
	// correction.
	Returned Review = "returned"
)

// maxSubmissionEnvelope bounds a station's envelope: the largest payload a
// submission may have, in base64, and room for its signatures.
const maxSubmissionEnvelope = election.MaxSubmissionSize/3*4 + 64<<10

// Accepted is one stored version of a station's form, as publication needs
// it. The commission's server fills it from its store (see FromRecord);
// everything in it but ReceivedAt and Review comes from the envelope.
//
// What is counted: for each form (station, contest, form kind), the
// version with the highest number among those given to Aggregate is its
// head. A head whose Review is Returned is not counted, and neither is any
// earlier version of that form. A head that is Received or Approved is
// counted, and the snapshot says which. Only envelopes the commission
// verified and stored are ever given: the server never aggregates what
// did not verify.
type Accepted struct {
	Station     string
	Contest     string
	Form        election.FormKind
	Version     int
	Digest      string // seal.Digest of Envelope
	Envelope    []byte // exactly as the station signed and the commission stored it
	Counts      map[election.Field]int
	PhotoSHA256 string // of the photo of the signed paper form; empty if none
	ReceivedAt  time.Time
	Review      Review
}

// ParseAccepted reads a stored station envelope into an Accepted, checking
// its payload against the definition as ingest did. It does not verify the
// signature: the commission verified it before storing it, and Open checks
// every envelope of a snapshot against the station keys.
func ParseAccepted(def *election.Definition, envelope []byte, receivedAt time.Time, review Review) (Accepted, error) {
	env, err := seal.Parse(envelope, maxSubmissionEnvelope)
	if err != nil {
		return Accepted{}, err
	}
	if env.PayloadType != election.SubmissionPayloadType {
		return Accepted{}, fmt.Errorf("publish: payload type %q is not a submission", env.PayloadType)
	}
	return acceptedFromPayload(def, envelope, env.Payload, receivedAt, review)
}

func acceptedFromPayload(def *election.Definition, envelope, payload []byte, receivedAt time.Time, review Review) (Accepted, error) {
	sub, _, err := election.ParseSubmission(payload, def)
	if err != nil {
		return Accepted{}, err
	}
	return Accepted{
		Station: sub.Form.Station, Contest: sub.Form.Contest, Form: sub.Form.Kind,
		Version: sub.Version, Digest: seal.Digest(envelope), Envelope: envelope,
		Counts: sub.Form.Counts, PhotoSHA256: sub.Form.PhotoSHA256,
		ReceivedAt: receivedAt.UTC(), Review: review,
	}, nil
}

// FromRecord picks the head version of every form in what the commission
// stored of some stations, gives each the supervisors' latest decision on
// it (in the order received, the last one stands), and reads its
// envelope. Earlier versions are left out: only heads are counted.
func FromRecord(def *election.Definition, rec *commission.StationRecord) ([]Accepted, error) {
	return fromRecord(def, rec, nil)
}

// fromRecord is FromRecord that takes what it read before from parsed, by
// digest, and adds what it reads to it; nil keeps nothing.
func fromRecord(def *election.Definition, rec *commission.StationRecord, parsed map[string]Accepted) ([]Accepted, error) {
	heads := map[commission.FormRef]*commission.Submission{}
	var order []commission.FormRef
	for i := range rec.Submissions {
		s := &rec.Submissions[i]
		h, seen := heads[s.FormRef]
		if !seen {
			order = append(order, s.FormRef)
		}
		if h == nil || s.Version > h.Version {
			heads[s.FormRef] = s
		}
	}
	verdicts := map[string]election.Verdict{}
	for _, d := range rec.Decisions {
		verdicts[d.Submission] = d.Verdict
	}
	out := make([]Accepted, 0, len(order))
	for _, ref := range order {
		h := heads[ref]
		review := Received
		switch verdicts[h.Digest] {
		case election.Approve:
			review = Approved
		case election.Return:
			review = Returned
		}
		if a, ok := parsed[h.Digest]; ok {
			a.Review, a.ReceivedAt = review, h.ReceivedAt.UTC()
			out = append(out, a)
			continue
		}
		a, err := ParseAccepted(def, h.Envelope, h.ReceivedAt, review)
		if err != nil {
			return nil, fmt.Errorf("publish: stored submission %s: %w", h.Digest, err)
		}
		if a.Digest != h.Digest {
			return nil, fmt.Errorf("publish: stored submission %s has an envelope whose digest is %s", h.Digest, a.Digest)
		}
		if parsed != nil {
			parsed[h.Digest] = a
		}
		out = append(out, a)
	}
	return out, nil
}
