package station

import (
	"fmt"
	"strings"
	"time"

	"tally/app/election"
)

// FormKey names one paper form of the station: a contest and a form kind.
type FormKey struct {
	Contest string            `json:"contest"`
	Form    election.FormKind `json:"form"`
}

func (k FormKey) String() string { return k.Contest + "/" + string(k.Form) }

// ParseFormKey reads "CONTEST/FORM"; a bare contest means its results form.
func ParseFormKey(s string) (FormKey, error) {
	contest, form, found := strings.Cut(s, "/")
	if !found {
		form = string(election.ResultsForm)
	}
	k := FormKey{Contest: contest, Form: election.FormKind(form)}
	if contest == "" || (k.Form != election.ResultsForm && k.Form != election.CandidatesForm) {
		return FormKey{}, fmt.Errorf("form %q: want CONTEST or CONTEST/%s or CONTEST/%s", s,
			election.ResultsForm, election.CandidatesForm)
	}
	return k, nil
}

// Entry numbers the two typings of a form.
type Entry int

// The two entries.
const (
	First  Entry = 1
	Second Entry = 2
)

func (e Entry) String() string {
	switch e {
	case First:
		return "first"
	case Second:
		return "second"
	}
	return fmt.Sprintf("entry %d", int(e))
}

// Draft is one commissioner's typing of the numbers of one version: the
// count fields and the members present (election.FieldMembers), each saved
// as soon as it is typed. A field that is absent was left empty.
type Draft struct {
	By     string                 `json:"by"`
	Values map[election.Field]int `json:"-"`
}

// Sheet is the whole working state of one form of the station: where it
// stands, both entries of the version in preparation, and the last sealed
// version (the head). A Store keeps it whole: the scalar part with PutSheet
// and each draft value with PutValue, so that saving a field writes one row.
type Sheet struct {
	Key   FormKey `json:"key"`
	State State   `json:"state"`
	// Version is the version in preparation, or the head's once sealed.
	Version int   `json:"version"`
	First   Draft `json:"first"`
	Second  Draft `json:"second"`
	// Resolved holds the fields retyped to settle a difference between the
	// two entries; they override both.
	Resolved   map[election.Field]int  `json:"resolved,omitempty"`
	Remarks    string                  `json:"remarks,omitempty"`
	Objections string                  `json:"objections,omitempty"`
	Photo      string                  `json:"photo,omitempty"` // SHA-256 of the paper form's photo
	Confirmed  []election.Confirmation `json:"confirmed,omitempty"`
	// Head is the digest of the last sealed version, "" before the first.
	Head string `json:"head,omitempty"`
	// Reason is the supervisor's reason when the head was returned.
	Reason  string    `json:"reason,omitempty"`
	Updated time.Time `json:"updated"`
}

// NewSheet is the sheet of a form never opened.
func NewSheet(key FormKey) *Sheet {
	return &Sheet{Key: key, State: StateEmpty, Version: 1,
		First: Draft{Values: map[election.Field]int{}}, Second: Draft{Values: map[election.Field]int{}}}
}

// Draft returns the draft of an entry.
func (sh *Sheet) Draft(e Entry) *Draft {
	if e == Second {
		return &sh.Second
	}
	return &sh.First
}

// Agreed is the numbers both entries agree on, with the retyped fields.
func (sh *Sheet) Agreed() map[election.Field]int {
	out := make(map[election.Field]int, len(sh.First.Values))
	for f, v := range sh.First.Values {
		out[f] = v
	}
	for f, v := range sh.Resolved {
		out[f] = v
	}
	return out
}

// form builds the form of the given values, as sealed.
func (sh *Sheet) form(electionID, stationCode string, values map[election.Field]int) *election.Form {
	f := &election.Form{
		Election: electionID, Station: stationCode, Contest: sh.Key.Contest, Kind: sh.Key.Form,
		Counts:  make(map[election.Field]int, len(values)),
		Members: values[election.FieldMembers], Remarks: sh.Remarks, Objections: sh.Objections,
		PhotoSHA256: sh.Photo, EnteredBy: sh.First.By, ReenteredBy: sh.Second.By,
	}
	for k, v := range values {
		if k != election.FieldMembers {
			f.Counts[k] = v
		}
	}
	return f
}
