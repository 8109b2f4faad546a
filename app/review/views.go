package review

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"tally/app/election"
)

// What the commission's server answers to a supervisor, as this package
// keeps it. The JSON is the server's (GET /v1/municipalities/{code}/stations,
// GET /v1/municipalities/{code}/conflicts and GET /v1/stations/{code}), so that the bytes of an answer decode
// here as they are; nothing in them is trusted beyond what it is: the
// server's account, shown with its age. Submissions are verified here,
// from their envelopes.

// Limits of a fetched view.
const (
	MaxOverviewSize      = 32 << 20
	MaxStationRecordSize = 8 << 20
	MaxConflictListSize  = 32 << 20
)

// ServerState is where the commission says a form stands.
type ServerState string

// The commission's states of a form.
const (
	ServerNotStarted ServerState = "not_started"
	ServerReceived   ServerState = "received"
	ServerApproved   ServerState = "approved"
	ServerReturned   ServerState = "returned"
	ServerConflict   ServerState = "conflict"
)

func (s ServerState) known() bool {
	switch s {
	case ServerNotStarted, ServerReceived, ServerApproved, ServerReturned, ServerConflict:
		return true
	}
	return false
}

// StationInfo is a station as the server describes it.
type StationInfo struct {
	Code         string               `json:"code"`
	Name         string               `json:"name"`
	Kind         election.StationKind `json:"kind"`
	Municipality string               `json:"municipality"`
	Centre       string               `json:"centre,omitempty"`
	Registered   int                  `json:"registered"`
}

// FormStatus is one form of a station and where the server says it stands.
type FormStatus struct {
	Contest string            `json:"contest"`
	Form    election.FormKind `json:"form"`
	State   ServerState       `json:"state"`
	Version int               `json:"version,omitempty"`
	Digest  string            `json:"digest,omitempty"`
}

// OverviewStation is one station of the overview.
type OverviewStation struct {
	StationInfo
	Forms []FormStatus `json:"forms"`
}

// Overview is the municipality's overview as fetched.
type Overview struct {
	Municipality string              `json:"municipality"`
	Name         election.Names      `json:"name"`
	Counts       map[ServerState]int `json:"counts"`
	Stations     []OverviewStation   `json:"stations"`
	FetchedAt    time.Time           `json:"-"`
}

// SubmissionInfo is one stored version as the server lists it, with its
// receipt's envelope.
type SubmissionInfo struct {
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
	Receipt     []byte            `json:"receipt"`
}

// DecisionInfo is a supervisor's decision as the server lists it.
type DecisionInfo struct {
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

// ConflictInfo is a refused submission the server kept for the supervisor.
type ConflictInfo struct {
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

// StationRecord is a station's record as fetched.
type StationRecord struct {
	Station     StationInfo      `json:"station"`
	Forms       []FormStatus     `json:"forms"`
	Submissions []SubmissionInfo `json:"submissions"`
	Decisions   []DecisionInfo   `json:"decisions"`
	Conflicts   []ConflictInfo   `json:"conflicts"`
	FetchedAt   time.Time        `json:"-"`
}

// ConflictList is the municipality's list of conflicts as fetched: every
// submission the commission refused because it contradicted what it
// stored (another envelope for a version it holds, or a version that does
// not follow its latest), oldest first.
type ConflictList struct {
	Municipality string         `json:"municipality"`
	Conflicts    []ConflictInfo `json:"conflicts"`
	FetchedAt    time.Time      `json:"-"`
}

// ParseConflicts decodes the server's answer to GET
// /v1/municipalities/{code}/conflicts strictly.
func ParseConflicts(raw []byte) (*ConflictList, error) {
	var l ConflictList
	if err := decodeStrict(raw, MaxConflictListSize, &l, "conflict list"); err != nil {
		return nil, err
	}
	return &l, nil
}

// ParseOverview decodes the server's answer to GET
// /v1/municipalities/{code}/stations strictly: no unknown field, nothing
// after the document.
func ParseOverview(raw []byte) (*Overview, error) {
	var o Overview
	if err := decodeStrict(raw, MaxOverviewSize, &o, "overview"); err != nil {
		return nil, err
	}
	return &o, nil
}

// ParseStationRecord decodes the server's answer to GET
// /v1/stations/{code} strictly.
func ParseStationRecord(raw []byte) (*StationRecord, error) {
	var r StationRecord
	if err := decodeStrict(raw, MaxStationRecordSize, &r, "station record"); err != nil {
		return nil, err
	}
	return &r, nil
}

func decodeStrict(raw []byte, limit int, v any, what string) error {
	if len(raw) > limit {
		return fmt.Errorf("%s: %d bytes, more than the limit of %d", what, len(raw), limit)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return fmt.Errorf("%s: data after the document", what)
	}
	return nil
}
