package review

import (
	"context"
	"errors"
	"fmt"
	"time"

	"tally/app/election"
	"tally/app/enrollment"
	"tally/app/seal"
)

// Submission is a station's submission opened here: verified against the
// commission's key list, parsed and validated against the definition.
type Submission struct {
	Digest      string
	Station     *election.Station
	Layout      *election.Layout
	Submission  *election.Submission // the numbers, remarks, the chair's confirmations, who typed, when sealed
	Findings    []election.Finding   // what the validation rules find in the numbers
	SignedBy    string               // the station key's id
	Fingerprint string               // the same, for people
	// Photo is the paper form's photo as named in the submission, and
	// whether it is fetched (Service.Photo).
	PhotoSHA256 string
	HavePhoto   bool
	// Receipt is the commission's receipt of this version, from the
	// station's record; nil when that was not fetched.
	Receipt *SubmissionInfo
	// Head tells whether this is the latest version known of the form;
	// HeadVersion is that version.
	Head        bool
	HeadVersion int
	// History is every fetched version of the form, oldest first.
	History []HistoryEntry
	// Decisions are this supervisor's decisions on this version, in the
	// order made, with whether each reached the commission.
	Decisions []DecisionStatus
	FetchedAt time.Time
}

// HistoryEntry is one version of a form and what changed from the
// version it supersedes.
type HistoryEntry struct {
	Version    int
	Digest     string
	Supersedes string
	SealedAt   time.Time
	// Error is why the version does not verify here; such a version has
	// no changes shown.
	Error string
	// Previous tells whether the version it supersedes is fetched; only
	// then are Changes known.
	Previous bool
	Changes  []Change
}

// Change is one field that differs between two consecutive versions. A
// value is "" where the version leaves the field empty.
type Change struct {
	Field  election.Field
	Before string
	After  string
}

// DecisionStatus is a decision made here and whether the commission has
// it, or refused it and why.
type DecisionStatus struct {
	Decision
	Delivered  bool
	ReceivedAt time.Time // the commission's, once delivered
	// Refused is the commission's latest refusal of an undelivered
	// decision; nil when it did not refuse it.
	Refused *Refusal
}

// OpenSubmission verifies a fetched submission here, against the
// station's key in the commission's signed key list (a key not listed for
// that station, or revoked, is a *KeyError), and returns it with its
// validation, its receipt and the history of its form.
func (s *Service) OpenSubmission(ctx context.Context, digest string) (*Submission, error) {
	sc, err := s.loadScope(ctx)
	if err != nil {
		return nil, err
	}
	var out *Submission
	err = s.store.View(ctx, func(r Reader) error {
		var err error
		out, err = sc.open(r, digest)
		return err
	})
	return out, err
}

func (sc *scope) open(r Reader, digest string) (*Submission, error) {
	stored, err := r.Envelope(digest)
	if errors.Is(err, ErrNotFound) {
		return nil, fmt.Errorf("submission %s is not fetched: %w", digest, ErrNotFound)
	} else if err != nil {
		return nil, err
	}
	keys, err := storedKeyList(r)
	if err != nil {
		return nil, err
	}
	list, err := sc.openKeyList(keys)
	if err != nil {
		return nil, err
	}
	v, err := sc.verifySubmission(list, stored.Raw)
	if err != nil {
		return nil, err
	}
	out := &Submission{Digest: v.digest, Station: v.station, Layout: v.layout, Submission: v.sub,
		Findings: v.findings, SignedBy: v.keyID, Fingerprint: seal.Fingerprint(v.keyID),
		PhotoSHA256: v.sub.Form.PhotoSHA256, FetchedAt: stored.FetchedAt}
	if out.PhotoSHA256 != "" {
		if out.HavePhoto, err = r.HasPhoto(out.PhotoSHA256); err != nil {
			return nil, err
		}
	}
	rec, err := r.StationRecord(v.station.Code)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return nil, err
	}
	if rec != nil {
		for i := range rec.Submissions {
			if rec.Submissions[i].Digest == digest {
				out.Receipt = &rec.Submissions[i]
			}
		}
	}
	if out.HeadVersion, err = headVersion(r, stored); err != nil {
		return nil, err
	}
	out.Head = out.HeadVersion == stored.Version
	if out.History, err = sc.history(r, list, stored); err != nil {
		return nil, err
	}
	if out.Decisions, err = decisionsOn(r, digest); err != nil {
		return nil, err
	}
	return out, nil
}

// headVersion is the latest version of the envelope's form that is known
// here: fetched, or named by the overview or the station's record.
func headVersion(r Reader, e *Envelope) (int, error) {
	head := 0
	envs, err := r.Envelopes(e.Station)
	if err != nil {
		return 0, err
	}
	for _, o := range envs {
		if o.Contest == e.Contest && o.Form == e.Form {
			head = max(head, o.Version)
		}
	}
	seen := func(forms []FormStatus) {
		for _, f := range forms {
			if f.Contest == e.Contest && f.Form == e.Form {
				head = max(head, f.Version)
			}
		}
	}
	switch o, err := r.Overview(); {
	case err == nil:
		for i := range o.Stations {
			if o.Stations[i].Code == e.Station {
				seen(o.Stations[i].Forms)
			}
		}
	case !errors.Is(err, ErrNotFound):
		return 0, err
	}
	switch rec, err := r.StationRecord(e.Station); {
	case err == nil:
		seen(rec.Forms)
		for _, s := range rec.Submissions {
			if s.Contest == e.Contest && s.Form == e.Form {
				head = max(head, s.Version)
			}
		}
	case !errors.Is(err, ErrNotFound):
		return 0, err
	}
	return head, nil
}

// history lists every fetched version of the envelope's form with the
// changes from the version each supersedes.
func (sc *scope) history(r Reader, list *enrollment.KeyList, e *Envelope) ([]HistoryEntry, error) {
	envs, err := r.Envelopes(e.Station)
	if err != nil {
		return nil, err
	}
	opened := map[string]*election.Submission{}
	var out []HistoryEntry
	for i := range envs {
		o := &envs[i]
		if o.Contest != e.Contest || o.Form != e.Form {
			continue
		}
		h := HistoryEntry{Version: o.Version, Digest: o.Digest, Supersedes: o.Supersedes}
		if v, err := sc.verifySubmission(list, o.Raw); err != nil {
			h.Error = err.Error()
		} else {
			h.SealedAt = v.sub.SealedAt
			opened[o.Digest] = v.sub
		}
		out = append(out, h)
	}
	for i := range out {
		h := &out[i]
		cur, prev := opened[h.Digest], opened[h.Supersedes]
		if cur == nil || prev == nil {
			continue
		}
		h.Previous = true
		l, err := sc.def.Layout(cur.Form.Contest, cur.Form.Kind)
		if err != nil {
			return nil, err
		}
		h.Changes = Differences(l, prev, cur)
	}
	return out, nil
}

// Differences lists, in the order of the paper form, every field that
// differs between two versions of a form: the counts and the members
// present, then the text, the photo, who typed, and the chair's
// confirmations (as "confirmed:" + the rule's code).
func Differences(l *election.Layout, before, after *election.Submission) []Change {
	var out []Change
	for _, d := range election.Compare(l, &before.Form, &after.Form) {
		out = append(out, Change{Field: d.Field, Before: d.First, After: d.Second})
	}
	text := func(f election.Field, a, b string) {
		if a != b {
			out = append(out, Change{Field: f, Before: a, After: b})
		}
	}
	text(election.FieldRemarks, before.Form.Remarks, after.Form.Remarks)
	text(election.FieldObjections, before.Form.Objections, after.Form.Objections)
	text(election.FieldPhoto, before.Form.PhotoSHA256, after.Form.PhotoSHA256)
	text(election.FieldEnteredBy, before.Form.EnteredBy, after.Form.EnteredBy)
	text(election.FieldReentered, before.Form.ReenteredBy, after.Form.ReenteredBy)
	explained := func(cs []election.Confirmation) map[string]string {
		m := map[string]string{}
		for _, c := range cs {
			m[c.Rule] = c.Explanation
		}
		return m
	}
	was, is := explained(before.Confirmed), explained(after.Confirmed)
	for _, rule := range election.Rules {
		a, aok := was[rule.Code]
		b, bok := is[rule.Code]
		if a != b || aok != bok {
			out = append(out, Change{Field: election.Field("confirmed:" + rule.Code), Before: a, After: b})
		}
	}
	return out
}

func decisionsOn(r Reader, digest string) ([]DecisionStatus, error) {
	all, err := r.Decisions()
	if err != nil {
		return nil, err
	}
	refused, err := refusals(r)
	if err != nil {
		return nil, err
	}
	var out []DecisionStatus
	for _, d := range all {
		if d.Submission != digest {
			continue
		}
		ds := DecisionStatus{Decision: d}
		switch del, err := r.Delivery(d.Digest); {
		case err == nil:
			ds.Delivered, ds.ReceivedAt = true, del.ReceivedAt
		case !errors.Is(err, ErrNotFound):
			return nil, err
		default:
			if ref, ok := refused[d.Digest]; ok {
				ds.Refused = &ref
			}
		}
		out = append(out, ds)
	}
	return out, nil
}

// Photo is a fetched photo's bytes.
func (s *Service) Photo(ctx context.Context, sha string) ([]byte, error) {
	var data []byte
	err := s.store.View(ctx, func(r Reader) error {
		var err error
		data, err = r.Photo(sha)
		return err
	})
	if errors.Is(err, ErrNotFound) {
		return nil, fmt.Errorf("photo %s is not fetched: %w", sha, ErrNotFound)
	}
	return data, err
}
