package server

import (
	"time"

	"tally/app/commission"
	"tally/app/election"
)

// The JSON documents of the read routes. Envelopes inside them (receipts,
// decisions) are the exact bytes stored, in base64, so that their digests
// and signatures check as they are: nothing is re-serialised.

// FormState is where one form of a station stands.
type FormState string

// The states of a form, as the supervisor's overview shows them.
const (
	// NotStarted: no version is stored.
	NotStarted FormState = "not_started"
	// Received: a version is stored and no supervisor has decided on it.
	Received FormState = "received"
	// Approved or Returned: the supervisor's latest decision on the
	// latest version.
	Approved FormState = "approved"
	Returned FormState = "returned"
	// Conflict: a conflict was recorded since the latest version was
	// stored and since the supervisor last decided on it.
	Conflict FormState = "conflict"
)

// States lists every state, in the order of a form's life.
var States = []FormState{NotStarted, Received, Approved, Returned, Conflict}

// StationInfo is a station as the definition has it.
type StationInfo struct {
	Code         string               `json:"code"`
	Name         string               `json:"name"`
	Kind         election.StationKind `json:"kind"`
	Municipality string               `json:"municipality"`
	Centre       string               `json:"centre,omitempty"`
	Registered   int                  `json:"registered"`
}

// FormStatus is one form a station fills, and where it stands.
type FormStatus struct {
	Contest string            `json:"contest"`
	Form    election.FormKind `json:"form"`
	State   FormState         `json:"state"`
	Version int               `json:"version,omitempty"` // of the latest version, if any
	Digest  string            `json:"digest,omitempty"`  // of the latest version, if any
}

// SubmissionView is one stored version, with its receipt.
type SubmissionView struct {
	Digest      string            `json:"digest"`
	Contest     string            `json:"contest"`
	Form        election.FormKind `json:"form"`
	Version     int               `json:"version"`
	Supersedes  string            `json:"supersedes,omitempty"`
	Number      uint64            `json:"number"`
	ReceivedAt  time.Time         `json:"received_at"`
	SealedAt    time.Time         `json:"sealed_at"`
	PhotoSHA256 string            `json:"photo_sha256,omitempty"`
	KeyID       string            `json:"key_id"`
	Receipt     []byte            `json:"receipt"` // the receipt's envelope
}

// DecisionView is a supervisor's decision; Envelope is omitted in the
// answer to the PUT that sent it.
type DecisionView struct {
	Digest     string            `json:"digest"`
	Submission string            `json:"submission"`
	Station    string            `json:"station"`
	Contest    string            `json:"contest"`
	Form       election.FormKind `json:"form"`
	Verdict    election.Verdict  `json:"verdict"`
	Reason     string            `json:"reason,omitempty"`
	KeyID      string            `json:"key_id"`
	DecidedAt  time.Time         `json:"decided_at"`
	ReceivedAt time.Time         `json:"received_at"`
	Envelope   []byte            `json:"envelope,omitempty"`
}

// ConflictView is a refused submission kept for the supervisor.
type ConflictView struct {
	ID         uint64            `json:"id"`
	Digest     string            `json:"digest"`
	Station    string            `json:"station"`
	Contest    string            `json:"contest"`
	Form       election.FormKind `json:"form"`
	Version    int               `json:"version"`
	Supersedes string            `json:"supersedes,omitempty"`
	KeyID      string            `json:"key_id"`
	Reason     string            `json:"reason"`
	At         time.Time         `json:"at"`
}

// StationView answers GET /v1/stations/{code}.
type StationView struct {
	Station     StationInfo      `json:"station"`
	Forms       []FormStatus     `json:"forms"`
	Submissions []SubmissionView `json:"submissions"`
	Decisions   []DecisionView   `json:"decisions"`
	Conflicts   []ConflictView   `json:"conflicts"`
}

// MunicipalityStation is one station of the municipality's overview.
type MunicipalityStation struct {
	StationInfo
	Forms []FormStatus `json:"forms"`
}

// MunicipalityView answers GET /v1/municipalities/{code}/stations.
type MunicipalityView struct {
	Municipality string                `json:"municipality"`
	Name         election.Names        `json:"name"`
	Counts       map[FormState]int     `json:"counts"`
	Stations     []MunicipalityStation `json:"stations"`
}

// ConflictsView answers GET /v1/municipalities/{code}/conflicts.
type ConflictsView struct {
	Municipality string         `json:"municipality"`
	Conflicts    []ConflictView `json:"conflicts"`
}

func stationInfo(st *election.Station) StationInfo {
	return StationInfo{Code: st.Code, Name: st.Name, Kind: st.Kind, Municipality: st.Municipality,
		Centre: st.Centre, Registered: st.Registered}
}

func decisionView(d *commission.Decision, withEnvelope bool) DecisionView {
	v := DecisionView{Digest: d.Digest, Submission: d.Submission, Station: d.Station, Contest: d.Contest,
		Form: d.Form, Verdict: d.Verdict, Reason: d.Reason, KeyID: d.KeyID, DecidedAt: d.DecidedAt,
		ReceivedAt: d.ReceivedAt}
	if withEnvelope {
		v.Envelope = d.Envelope
	}
	return v
}

func conflictView(c *commission.Conflict) ConflictView {
	return ConflictView{ID: c.ID, Digest: c.Digest, Station: c.Station, Contest: c.Contest, Form: c.Form,
		Version: c.Version, Supersedes: c.Supersedes, KeyID: c.KeyID, Reason: c.Reason, At: c.At}
}

func conflictViews(cs []commission.Conflict) []ConflictView {
	out := make([]ConflictView, 0, len(cs))
	for i := range cs {
		out = append(out, conflictView(&cs[i]))
	}
	return out
}

// formIndex is a record arranged by form.
type formIndex struct {
	head      map[commission.FormRef]*commission.Submission
	decisions map[string]*commission.Decision // the latest decision on each submission digest
	conflicts map[commission.FormRef]*commission.Conflict
}

func indexRecord(rec *commission.StationRecord) formIndex {
	ix := formIndex{head: map[commission.FormRef]*commission.Submission{},
		decisions: map[string]*commission.Decision{}, conflicts: map[commission.FormRef]*commission.Conflict{}}
	for i := range rec.Submissions {
		s := &rec.Submissions[i]
		if h := ix.head[s.FormRef]; h == nil || s.Version > h.Version {
			ix.head[s.FormRef] = s
		}
	}
	for i := range rec.Decisions { // in the order received: the last one stands
		ix.decisions[rec.Decisions[i].Submission] = &rec.Decisions[i]
	}
	for i := range rec.Conflicts { // oldest first
		ix.conflicts[rec.Conflicts[i].FormRef] = &rec.Conflicts[i]
	}
	return ix
}

// forms is where each form of a station stands.
func (ix formIndex) forms(st *election.Station) []FormStatus {
	out := make([]FormStatus, 0, len(st.Forms))
	for _, f := range st.Forms {
		ref := commission.FormRef{Station: st.Code, Contest: f.Contest, Form: f.Form}
		fs := FormStatus{Contest: f.Contest, Form: f.Form, State: NotStarted}
		head, conflict := ix.head[ref], ix.conflicts[ref]
		if head != nil {
			fs.Version, fs.Digest, fs.State = head.Version, head.Digest, Received
			if d := ix.decisions[head.Digest]; d != nil {
				fs.State = Returned
				if d.Verdict == election.Approve {
					fs.State = Approved
				}
				if conflict != nil && !conflict.At.After(d.ReceivedAt) {
					conflict = nil // decided since
				}
			}
			if conflict != nil && conflict.At.Before(head.ReceivedAt) {
				conflict = nil // superseded since
			}
		}
		if conflict != nil {
			fs.State = Conflict
		}
		out = append(out, fs)
	}
	return out
}
