package review

import (
	"context"
	"errors"
	"strings"
	"time"

	"golang.org/x/text/cases"

	"tally/app/election"
	"tally/app/enrollment"
)

// State is where a station, or one of its forms, stands for the
// supervisor.
type State string

// The states, from the supervisor's side. A station's "sealed" form, one
// that waits in the station's own outbox, cannot be among them: the
// commission learns of a version only when it arrives, and then it is
// received.
const (
	// NotStarted: the commission holds no version (or the station was
	// never heard of).
	NotStarted State = "not_started"
	// Received: the commission holds a version and nobody decided on it.
	Received State = "received"
	// Waiting: this supervisor signed a decision on the latest version and
	// it waits in the outbox for the commission.
	Waiting State = "decision_waiting"
	// Refused: the commission refused this supervisor's latest decision on
	// the latest version, with a reason; a new decision may be signed.
	Refused State = "decision_refused"
	// Approved, Returned: the latest decision on the latest version, as
	// the commission has it.
	Approved State = "approved"
	Returned State = "returned"
	// Conflict: the commission recorded a conflict on the form since its
	// latest version and decision.
	Conflict State = "conflict"
)

// States lists every state, in the order the dashboard counts them.
var States = []State{NotStarted, Received, Waiting, Refused, Approved, Returned, Conflict}

// urgency orders the states of a station's forms: a station stands where
// its most pressing form stands, and is approved only when all are.
var urgency = map[State]int{Conflict: 0, Refused: 1, Received: 2, Waiting: 3, Returned: 4, NotStarted: 5, Approved: 6}

// Filter narrows the dashboard's list (never its counts).
type Filter struct {
	State  State  // "" for every state
	Search string // a part of the station's code or name, any case
}

// Dashboard is every station of the municipality and where it stands.
type Dashboard struct {
	Municipality string
	Name         election.Names
	// Stations are those that pass the filter, in the definition's order.
	Stations []StationRow
	// Counts are the stations in each state, FormCounts the forms; both
	// over the whole municipality.
	Counts     map[State]int
	FormCounts map[State]int
	Total      int
	// FetchedAt is when the overview was fetched (zero: never); Age is
	// how old it is now.
	FetchedAt        time.Time
	Age              time.Duration
	KeyListFetchedAt time.Time
	// Pending counts the decisions waiting in the outbox to be sent, the
	// refused ones left out.
	Pending int
	// Refused are the decisions the commission refused that are still the
	// latest made here on their form: each wants a new decision.
	Refused []RefusedDecision
	// Conflicts counts the conflicts in the commission's list as last
	// fetched (ConflictsFetchedAt; zero: never).
	Conflicts          int
	ConflictsFetchedAt time.Time
}

// RefusedDecision is a decision the commission refused, with its reason.
type RefusedDecision struct {
	Decision Decision
	Refusal  Refusal
	// Version is the version the decision is on (0 when not fetched);
	// Head the digest of the form's latest version known, where a new
	// decision is made.
	Version int
	Head    string
}

// StationRow is one station of the dashboard.
type StationRow struct {
	Code       string
	Name       string
	Centre     string
	Registered int
	State      State
	Forms      []FormRow
	// Turnout is from the latest results form that verified here; nil
	// when none is fetched.
	Turnout *Turnout
	// FetchedAt is when what the row shows was fetched (zero: never).
	FetchedAt time.Time
}

// FormRow is one form of a station.
type FormRow struct {
	Contest string
	Form    election.FormKind
	State   State
	Version int
	Digest  string
	Fetched bool // its envelope is stored here
	// Refusal is the commission's reason for refusing the latest decision
	// made here on the latest version (state Refused).
	Refusal string
}

// Turnout is voters who voted (B, who signed the list) of voters
// registered (A), from one verified version of a results form.
type Turnout struct {
	Voted      int
	Registered int
	Share      float64
	Version    int
	Digest     string
}

// Dashboard shows every station of the municipality, from the definition
// (a station the server never heard of is not started), with the state
// of each of its forms from the latest fetch and the decisions made here.
func (s *Service) Dashboard(ctx context.Context, f Filter) (*Dashboard, error) {
	sc, err := s.loadScope(ctx)
	if err != nil {
		return nil, err
	}
	now := s.now()
	var (
		overview  *Overview
		records   []StationRecord
		envelopes []Envelope
		decisions []Decision
		outbox    []OutboxItem
		keys      *KeyList
		refused   map[string]Refusal
		conflicts *ConflictList
	)
	err = s.store.View(ctx, func(r Reader) error {
		var err error
		if overview, err = r.Overview(); errors.Is(err, ErrNotFound) {
			overview = nil
		} else if err != nil {
			return err
		}
		if records, err = r.StationRecords(); err != nil {
			return err
		}
		if envelopes, err = r.Envelopes(""); err != nil {
			return err
		}
		if decisions, err = r.Decisions(); err != nil {
			return err
		}
		if outbox, err = r.Outbox(); err != nil {
			return err
		}
		if keys, err = r.KeyList(); errors.Is(err, ErrNotFound) {
			keys = nil
		} else if err != nil {
			return err
		}
		if conflicts, err = r.Conflicts(); errors.Is(err, ErrNotFound) {
			conflicts = nil
		} else if err != nil {
			return err
		}
		refused, err = refusals(r)
		return err
	})
	if err != nil {
		return nil, err
	}
	var list *enrollment.KeyList
	if keys != nil {
		if list, err = sc.openKeyList(keys); err != nil {
			return nil, err
		}
	}
	// A refusal stands while its decision waits in the outbox.
	waiting := map[string]bool{}
	for _, it := range outbox {
		waiting[it.Digest] = true
	}
	for digest := range refused {
		if !waiting[digest] {
			delete(refused, digest)
		}
	}
	ix := newDashIndex(overview, records, envelopes, decisions, outbox, refused)
	d := &Dashboard{Municipality: sc.municipality.Code, Name: sc.municipality.Name,
		Counts: map[State]int{}, FormCounts: map[State]int{}}
	for _, it := range outbox {
		if _, no := refused[it.Digest]; !no {
			d.Pending++
		}
	}
	if conflicts != nil {
		d.Conflicts, d.ConflictsFetchedAt = len(conflicts.Conflicts), conflicts.FetchedAt
	}
	for _, st := range States {
		d.Counts[st], d.FormCounts[st] = 0, 0
	}
	if overview != nil {
		d.FetchedAt, d.Age = overview.FetchedAt, now.Sub(overview.FetchedAt)
	}
	if keys != nil {
		d.KeyListFetchedAt = keys.FetchedAt
	}
	search := fold(strings.TrimSpace(f.Search))
	for _, st := range sc.stations() {
		row := StationRow{Code: st.Code, Name: st.Name, Centre: st.Centre, Registered: st.Registered, State: Approved}
		forms, fetchedAt := ix.forms(st.Code)
		row.FetchedAt = fetchedAt
		for _, ref := range st.Forms {
			fr := FormRow{Contest: ref.Contest, Form: ref.Form, State: NotStarted}
			if fs, ok := forms[formKey{ref.Contest, ref.Form}]; ok && fs.Version > 0 {
				fr.Version, fr.Digest = fs.Version, fs.Digest
				fr.State, fr.Refusal = ix.state(fs)
				_, fr.Fetched = ix.envelopes[fs.Digest]
			}
			if urgency[fr.State] < urgency[row.State] {
				row.State = fr.State
			}
			d.FormCounts[fr.State]++
			row.Forms = append(row.Forms, fr)
			if rd := ix.refusedOn(st.Code, ref.Contest, ref.Form); rd != nil {
				rd.Head = fr.Digest
				d.Refused = append(d.Refused, *rd)
			}
		}
		if len(row.Forms) == 0 {
			row.State = NotStarted
		}
		if list != nil {
			row.Turnout = sc.turnout(list, st, ix)
		}
		d.Counts[row.State]++
		d.Total++
		if (f.State == "" || f.State == row.State) &&
			(search == "" || strings.Contains(fold(st.Code), search) || strings.Contains(fold(st.Name), search)) {
			d.Stations = append(d.Stations, row)
		}
	}
	return d, nil
}

func fold(s string) string { return cases.Fold().String(s) }

type formKey struct {
	contest string
	form    election.FormKind
}

// dashIndex arranges what was fetched and decided for the dashboard.
type dashIndex struct {
	overview  map[string]*OverviewStation
	fetchedAt time.Time // the overview's
	records   map[string]*StationRecord
	envelopes map[string]*Envelope
	byForm    map[string]map[formKey][]*Envelope // station → form → versions, oldest first
	latest    map[string]*Decision               // the latest decision made here on each submission
	onForm    map[string]map[formKey]*Decision   // station → form → the latest decision made here
	pending   map[string]bool                    // decisions in the outbox
	refused   map[string]Refusal                 // the commission's refusals, by decision
}

func newDashIndex(o *Overview, records []StationRecord, envs []Envelope, decisions []Decision, outbox []OutboxItem,
	refused map[string]Refusal) *dashIndex {
	ix := &dashIndex{overview: map[string]*OverviewStation{}, records: map[string]*StationRecord{},
		envelopes: map[string]*Envelope{}, byForm: map[string]map[formKey][]*Envelope{},
		latest: map[string]*Decision{}, onForm: map[string]map[formKey]*Decision{}, pending: map[string]bool{},
		refused: refused}
	if o != nil {
		ix.fetchedAt = o.FetchedAt
		for i := range o.Stations {
			ix.overview[o.Stations[i].Code] = &o.Stations[i]
		}
	}
	for i := range records {
		ix.records[records[i].Station.Code] = &records[i]
	}
	for i := range envs {
		e := &envs[i]
		ix.envelopes[e.Digest] = e
		if ix.byForm[e.Station] == nil {
			ix.byForm[e.Station] = map[formKey][]*Envelope{}
		}
		k := formKey{e.Contest, e.Form}
		ix.byForm[e.Station][k] = append(ix.byForm[e.Station][k], e)
	}
	for i := range decisions { // in the order made: the last one stands
		d := &decisions[i]
		ix.latest[d.Submission] = d
		if ix.onForm[d.Station] == nil {
			ix.onForm[d.Station] = map[formKey]*Decision{}
		}
		ix.onForm[d.Station][formKey{d.Contest, d.Form}] = d
	}
	for _, it := range outbox {
		ix.pending[it.Digest] = true
	}
	return ix
}

// forms is a station's forms from the fresher of the overview and the
// station's own record, with when that was fetched.
func (ix *dashIndex) forms(code string) (map[formKey]FormStatus, time.Time) {
	var list []FormStatus
	var at time.Time
	if ms := ix.overview[code]; ms != nil {
		list, at = ms.Forms, ix.fetchedAt
	}
	if r := ix.records[code]; r != nil && r.FetchedAt.After(at) {
		list, at = r.Forms, r.FetchedAt
	}
	out := make(map[formKey]FormStatus, len(list))
	for _, f := range list {
		out[formKey{f.Contest, f.Form}] = f
	}
	return out, at
}

// state is a form's state: the commission's, unless this supervisor
// decided on its latest version since; with the commission's reason when
// it refused that decision.
func (ix *dashIndex) state(fs FormStatus) (State, string) {
	if fs.State == ServerConflict {
		return Conflict, ""
	}
	if d := ix.latest[fs.Digest]; d != nil {
		if ref, no := ix.refused[d.Digest]; no {
			return Refused, ref.Reason
		}
		switch {
		case ix.pending[d.Digest]:
			return Waiting, ""
		case d.Verdict == election.Approve:
			return Approved, ""
		default:
			return Returned, ""
		}
	}
	return State(fs.State), ""
}

// refusedOn is the refusal of the latest decision made here on a form,
// nil when the commission did not refuse it.
func (ix *dashIndex) refusedOn(station, contest string, form election.FormKind) *RefusedDecision {
	d := ix.onForm[station][formKey{contest, form}]
	if d == nil {
		return nil
	}
	ref, no := ix.refused[d.Digest]
	if !no {
		return nil
	}
	out := &RefusedDecision{Decision: *d, Refusal: ref}
	if e := ix.envelopes[d.Submission]; e != nil {
		out.Version = e.Version
	}
	return out
}

// turnout is from the latest version of the station's first results
// form that verifies here.
func (sc *scope) turnout(list *enrollment.KeyList, st *election.Station, ix *dashIndex) *Turnout {
	for _, ref := range st.Forms {
		if ref.Form != election.ResultsForm {
			continue
		}
		versions := ix.byForm[st.Code][formKey{ref.Contest, ref.Form}]
		for i := len(versions) - 1; i >= 0; i-- {
			v, err := sc.verifySubmission(list, versions[i].Raw)
			if err != nil {
				continue
			}
			c := v.sub.Form.Counts
			t := &Turnout{Voted: c[election.FieldB], Registered: c[election.FieldA], Version: v.sub.Version, Digest: v.digest}
			if t.Registered > 0 {
				t.Share = float64(t.Voted) / float64(t.Registered)
			}
			return t
		}
		return nil
	}
	return nil
}
