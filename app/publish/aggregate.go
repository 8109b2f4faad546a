package publish

import (
	"fmt"

	"tally/app/election"
	"tally/app/seal"
)

type formKey struct {
	station string
	contest string
	form    election.FormKind
}

// Aggregate adds up the results of every contest from the stations'
// accepted forms: every stored version the server gives, of which only
// each form's head counts, and only if it is not returned (see Accepted).
// It refuses what cannot be a stored submission of the election: a form
// the station does not fill, a count missing from the form's layout or
// not of it, an envelope whose digest is not the one given, and two
// different envelopes for the same version of a form.
func Aggregate(def *election.Definition, latest []Accepted) (*Results, error) {
	heads, err := countedHeads(def, latest)
	if err != nil {
		return nil, err
	}
	return aggregateHeads(def, heads)
}

// countedHeads picks each form's head and leaves out the returned ones.
func countedHeads(def *election.Definition, latest []Accepted) (map[formKey]*Accepted, error) {
	heads := make(map[formKey]*Accepted, len(latest))
	for i := range latest {
		a := &latest[i]
		if err := checkAccepted(def, a); err != nil {
			return nil, err
		}
		k := formKey{a.Station, a.Contest, a.Form}
		h := heads[k]
		switch {
		case h == nil || a.Version > h.Version:
			heads[k] = a
		case a.Version == h.Version && a.Digest != h.Digest:
			return nil, fmt.Errorf("publish: station %s, contest %s, %s form: two different envelopes for version %d (%s and %s)",
				a.Station, a.Contest, a.Form, a.Version, h.Digest, a.Digest)
		}
	}
	for k, h := range heads {
		if h.Review == Returned {
			delete(heads, k)
		}
	}
	return heads, nil
}

func checkAccepted(def *election.Definition, a *Accepted) error {
	where := fmt.Sprintf("publish: station %s, contest %s, %s form, version %d", a.Station, a.Contest, a.Form, a.Version)
	st, ok := def.Station(a.Station)
	if !ok {
		return fmt.Errorf("%s: no such station in election %s", where, def.Election.ID)
	}
	if !st.Fills(a.Contest, a.Form) {
		return fmt.Errorf("%s: the station does not fill this form", where)
	}
	switch a.Review {
	case Received, Approved, Returned:
	default:
		return fmt.Errorf("%s: review %q is none of %q, %q, %q", where, a.Review, Received, Approved, Returned)
	}
	if a.Version < 1 {
		return fmt.Errorf("%s: a version counts from 1", where)
	}
	if got := seal.Digest(a.Envelope); got != a.Digest {
		return fmt.Errorf("%s: the envelope's digest is %s, not %s", where, got, a.Digest)
	}
	l, err := def.Layout(a.Contest, a.Form)
	if err != nil {
		return fmt.Errorf("%s: %w", where, err)
	}
	if len(a.Counts) != len(l.Fields) {
		for f := range a.Counts {
			if !l.Has(f) {
				return fmt.Errorf("%s: %s is not a field of the form", where, f)
			}
		}
	}
	for _, f := range l.Fields {
		n, ok := a.Counts[f.ID]
		if !ok {
			return fmt.Errorf("%s: field %s is missing", where, f.ID)
		}
		if n < 0 || n > election.MaxCount {
			return fmt.Errorf("%s: field %s is %d, outside 0–%d", where, f.ID, n, election.MaxCount)
		}
	}
	return nil
}

func aggregateHeads(def *election.Definition, heads map[formKey]*Accepted) (*Results, error) {
	r := &Results{Election: def.Election.ID, Contests: make([]ContestResults, 0, len(def.Contests))}
	for i := range def.Contests {
		c := &def.Contests[i]
		cr := ContestResults{Contest: c.Code, Entities: make([]int, len(c.Entities))}
		for j, e := range c.Entities {
			cr.Entities[j] = e.Number
		}
		aggregateResultsForms(def, c, &cr, heads)
		aggregatePreferences(def, c, &cr, heads)
		r.Contests = append(r.Contests, cr)
	}
	return r, nil
}

// stationTally is one polling station's tally: its form's figures if
// counted, else only what the definition says.
func stationTally(st *election.Station, c *election.Contest, head *Accepted) Tally {
	t := newTally(st.Code, len(c.Entities))
	t.Stations, t.Registered = 1, st.Registered
	if head != nil {
		n := head.Counts
		t.Reported = 1
		t.RegisteredReported, t.Voted = n[election.FieldA], n[election.FieldB]
		t.BallotsReceived, t.BallotsUnused, t.BallotsSpoiled = n[election.FieldC], n[election.FieldD], n[election.FieldE]
		t.BallotsInBox, t.Invalid, t.Valid = n[election.FieldF], n[election.FieldG], n[election.FieldH]
		for i, e := range c.Entities {
			t.Votes[i] = n[election.EntityField(e.Number)]
		}
	}
	t.finish()
	return t
}

// aggregateResultsForms adds up the station results forms of a contest:
// each station, then each voting centre and municipality from its
// stations, then the nation from the municipalities.
func aggregateResultsForms(def *election.Definition, c *election.Contest, cr *ContestResults, heads map[formKey]*Accepted) {
	centres := map[string]*Tally{}
	municipalities := map[string]*Tally{}
	cr.National = newTally("", len(c.Entities))
	for i := range def.Stations {
		st := &def.Stations[i]
		if !st.Fills(c.Code, election.ResultsForm) {
			continue
		}
		t := stationTally(st, c, heads[formKey{st.Code, c.Code, election.ResultsForm}])
		cr.Stations = append(cr.Stations, t)
		if st.Centre != "" {
			ct := centres[st.Centre]
			if ct == nil {
				nt := newTally(st.Centre, len(c.Entities))
				ct = &nt
				centres[st.Centre] = ct
			}
			ct.add(&t)
		}
		mt := municipalities[st.Municipality]
		if mt == nil {
			nt := newTally(st.Municipality, len(c.Entities))
			mt = &nt
			municipalities[st.Municipality] = mt
		}
		mt.add(&t)
	}
	for _, vc := range def.VotingCentres {
		if t := centres[vc.Code]; t != nil {
			t.finish()
			cr.Centres = append(cr.Centres, *t)
		}
	}
	for _, m := range def.Municipalities {
		if t := municipalities[m.Code]; t != nil {
			t.finish()
			cr.Municipalities = append(cr.Municipalities, *t)
			cr.National.add(t)
		}
	}
	cr.National.finish()
	if cr.Stations == nil {
		cr.Stations, cr.Centres, cr.Municipalities = []Tally{}, []Tally{}, []Tally{}
	}
	if cr.Centres == nil {
		cr.Centres = []Tally{}
	}
}

// aggregatePreferences adds up the candidate results forms of a contest,
// if any station fills one: each counting centre, each municipality from
// its counting centres, the nation from the municipalities.
func aggregatePreferences(def *election.Definition, c *election.Contest, cr *ContestResults, heads map[formKey]*Accepted) {
	entities := make([]int, len(c.Entities))
	candidates := make([]int, len(c.Entities))
	for i, e := range c.Entities {
		entities[i], candidates[i] = e.Number, len(e.Candidates)
	}
	var p *Preferences
	municipalities := map[string]*PreferenceTally{}
	for i := range def.Stations {
		st := &def.Stations[i]
		if !st.Fills(c.Code, election.CandidatesForm) {
			continue
		}
		if p == nil {
			p = &Preferences{National: newPreferenceTally("", entities, candidates)}
		}
		t := newPreferenceTally(st.Code, entities, candidates)
		t.Stations = 1
		if head := heads[formKey{st.Code, c.Code, election.CandidatesForm}]; head != nil {
			t.Reported = 1
			for j, e := range c.Entities {
				t.Entities[j].Votes = head.Counts[election.EntityField(e.Number)]
				for k, cand := range e.Candidates {
					t.Entities[j].Candidates[k] = head.Counts[election.CandidateField(e.Number, cand.Number)]
				}
			}
		}
		p.Stations = append(p.Stations, t)
		mt := municipalities[st.Municipality]
		if mt == nil {
			nt := newPreferenceTally(st.Municipality, entities, candidates)
			mt = &nt
			municipalities[st.Municipality] = mt
		}
		mt.add(&t)
	}
	if p == nil {
		return
	}
	for _, m := range def.Municipalities {
		if t := municipalities[m.Code]; t != nil {
			p.Municipalities = append(p.Municipalities, *t)
			p.National.add(t)
		}
	}
	cr.Preferences = p
}
