package publish

import (
	"fmt"
	"slices"

	"tally/app/election"
)

// checkResults holds published results to the counted forms: each station
// to its envelope, each area to the sum of its parts as published.
func checkResults(def *election.Definition, r *Results, heads map[formKey]*Accepted) error {
	if len(r.Contests) != len(def.Contests) {
		return fmt.Errorf("results: %d contests, the election has %d", len(r.Contests), len(def.Contests))
	}
	for i := range def.Contests {
		c, cr := &def.Contests[i], &r.Contests[i]
		if cr.Contest != c.Code {
			return fmt.Errorf("results: contests[%d] is %q, the election's is %q", i, cr.Contest, c.Code)
		}
		entities := make([]int, len(c.Entities))
		for j, e := range c.Entities {
			entities[j] = e.Number
		}
		if !slices.Equal(cr.Entities, entities) {
			return fmt.Errorf("contest %s: entities %v, the ballot's are %v", c.Code, cr.Entities, entities)
		}
		if err := checkContest(def, c, cr, heads); err != nil {
			return fmt.Errorf("contest %s: %w", c.Code, err)
		}
		if err := checkPreferences(def, c, cr.Preferences, heads); err != nil {
			return fmt.Errorf("contest %s: preferences: %w", c.Code, err)
		}
	}
	return nil
}

func checkContest(def *election.Definition, c *election.Contest, cr *ContestResults, heads map[formKey]*Accepted) error {
	var stations []*election.Station
	for i := range def.Stations {
		if def.Stations[i].Fills(c.Code, election.ResultsForm) {
			stations = append(stations, &def.Stations[i])
		}
	}
	if err := sameCodes("station", tallyCodes(cr.Stations), stationCodes(stations)); err != nil {
		return err
	}
	centres := map[string]*Tally{}
	municipalities := map[string]*Tally{}
	var centreOrder, municipalityOrder []string
	for i, st := range stations {
		got := &cr.Stations[i]
		head := heads[formKey{st.Code, c.Code, election.ResultsForm}]
		if got.Reported != 0 && head == nil {
			return fmt.Errorf("station %s: counted as reported, but the snapshot holds no envelope of its results form", st.Code)
		}
		want := stationTally(st, c, head)
		if err := compareTally("station "+st.Code, "its envelope", got, &want, cr.Entities); err != nil {
			return err
		}
		if st.Centre != "" {
			if centres[st.Centre] == nil {
				t := newTally(st.Centre, len(c.Entities))
				centres[st.Centre] = &t
				centreOrder = append(centreOrder, st.Centre)
			}
			centres[st.Centre].add(got)
		}
		if municipalities[st.Municipality] == nil {
			t := newTally(st.Municipality, len(c.Entities))
			municipalities[st.Municipality] = &t
			municipalityOrder = append(municipalityOrder, st.Municipality)
		}
		municipalities[st.Municipality].add(got)
	}
	wantCentres := orderedBy(centreOrder, def.VotingCentres, func(v election.VotingCentre) string { return v.Code })
	if err := sameCodes("voting centre", tallyCodes(cr.Centres), wantCentres); err != nil {
		return err
	}
	for i := range cr.Centres {
		want := centres[wantCentres[i]]
		want.finish()
		if err := compareTally("voting centre "+want.Code, "the sum of its stations", &cr.Centres[i], want, cr.Entities); err != nil {
			return err
		}
	}
	wantMunicipalities := orderedBy(municipalityOrder, def.Municipalities, func(m election.Municipality) string { return m.Code })
	if err := sameCodes("municipality", tallyCodes(cr.Municipalities), wantMunicipalities); err != nil {
		return err
	}
	national := newTally("", len(c.Entities))
	for i := range cr.Municipalities {
		want := municipalities[wantMunicipalities[i]]
		want.finish()
		if err := compareTally("municipality "+want.Code, "the sum of its stations", &cr.Municipalities[i], want, cr.Entities); err != nil {
			return err
		}
		national.add(&cr.Municipalities[i])
	}
	national.finish()
	return compareTally("national", "the sum of the municipalities", &cr.National, &national, cr.Entities)
}

func checkPreferences(def *election.Definition, c *election.Contest, p *Preferences, heads map[formKey]*Accepted) error {
	var want ContestResults
	aggregatePreferences(def, c, &want, heads)
	switch {
	case want.Preferences == nil && p == nil:
		return nil
	case want.Preferences == nil:
		return fmt.Errorf("given, but no counting centre fills the contest's candidate results form")
	case p == nil:
		return fmt.Errorf("missing")
	}
	w := want.Preferences
	if err := sameCodes("counting centre", prefCodes(p.Stations), prefCodes(w.Stations)); err != nil {
		return err
	}
	municipalities := map[string]*PreferenceTally{}
	var order []string
	for i := range p.Stations {
		got := &p.Stations[i]
		if err := comparePreferences("counting centre "+got.Code, "its envelope", got, &w.Stations[i]); err != nil {
			return err
		}
		st, _ := def.Station(got.Code)
		if municipalities[st.Municipality] == nil {
			t := zeroPreferences(st.Municipality, got)
			municipalities[st.Municipality] = &t
			order = append(order, st.Municipality)
		}
		municipalities[st.Municipality].add(got)
	}
	wantMunicipalities := orderedBy(order, def.Municipalities, func(m election.Municipality) string { return m.Code })
	if err := sameCodes("municipality", prefCodes(p.Municipalities), wantMunicipalities); err != nil {
		return err
	}
	national := zeroPreferences("", &w.National)
	for i := range p.Municipalities {
		got := &p.Municipalities[i]
		if err := comparePreferences("municipality "+got.Code, "the sum of its counting centres", got, municipalities[got.Code]); err != nil {
			return err
		}
		national.add(got)
	}
	return comparePreferences("national", "the sum of the municipalities", &p.National, &national)
}

// zeroPreferences is a tally of the same shape as like, all zero.
func zeroPreferences(code string, like *PreferenceTally) PreferenceTally {
	t := PreferenceTally{Code: code, Entities: make([]EntityPreferences, len(like.Entities))}
	for i, e := range like.Entities {
		t.Entities[i] = EntityPreferences{Entity: e.Entity, Candidates: make([]int, len(e.Candidates))}
	}
	return t
}

// compareTally names the first figure of got that is not want's.
func compareTally(where, source string, got, want *Tally, entities []int) error {
	g, w := got.counts(), want.counts()
	for i := range g {
		if *g[i].n != *w[i].n {
			return fmt.Errorf("%s: %s is %d, %s says %d", where, g[i].name, *g[i].n, source, *w[i].n)
		}
	}
	if len(got.Votes) != len(entities) || len(got.SharesBP) != len(entities) {
		return fmt.Errorf("%s: %d votes and %d shares for %d entities", where, len(got.Votes), len(got.SharesBP), len(entities))
	}
	for i, n := range entities {
		if got.Votes[i] != want.Votes[i] {
			return fmt.Errorf("%s: votes for entity %d are %d, %s says %d", where, n, got.Votes[i], source, want.Votes[i])
		}
	}
	for i, n := range entities {
		if got.SharesBP[i] != want.SharesBP[i] {
			return fmt.Errorf("%s: the share of entity %d is %d bp, %d of %d valid votes is %d bp",
				where, n, got.SharesBP[i], want.Votes[i], want.Valid, want.SharesBP[i])
		}
	}
	if got.TurnoutBP != want.TurnoutBP {
		return fmt.Errorf("%s: turnout is %d bp, %d of %d voters is %d bp",
			where, got.TurnoutBP, want.Voted, want.RegisteredReported, want.TurnoutBP)
	}
	return nil
}

func comparePreferences(where, source string, got, want *PreferenceTally) error {
	switch {
	case got.Stations != want.Stations:
		return fmt.Errorf("%s: stations is %d, %s says %d", where, got.Stations, source, want.Stations)
	case got.Reported != want.Reported:
		return fmt.Errorf("%s: reported is %d, %s says %d", where, got.Reported, source, want.Reported)
	case len(got.Entities) != len(want.Entities):
		return fmt.Errorf("%s: %d entities, the ballot has %d", where, len(got.Entities), len(want.Entities))
	}
	for i := range want.Entities {
		g, w := &got.Entities[i], &want.Entities[i]
		switch {
		case g.Entity != w.Entity:
			return fmt.Errorf("%s: entities[%d] is %d, the ballot's is %d", where, i, g.Entity, w.Entity)
		case g.Votes != w.Votes:
			return fmt.Errorf("%s: votes for entity %d are %d, %s says %d", where, w.Entity, g.Votes, source, w.Votes)
		case len(g.Candidates) != len(w.Candidates):
			return fmt.Errorf("%s: entity %d has %d candidates, the list has %d", where, w.Entity, len(g.Candidates), len(w.Candidates))
		}
		for j := range w.Candidates {
			if g.Candidates[j] != w.Candidates[j] {
				return fmt.Errorf("%s: preference votes for candidate %d of entity %d are %d, %s says %d",
					where, j+1, w.Entity, g.Candidates[j], source, w.Candidates[j])
			}
		}
	}
	return nil
}

// sameCodes compares the published list of units with the expected one,
// naming the first unit missing, extra or out of place.
func sameCodes(what string, got, want []string) error {
	have := make(map[string]bool, len(got))
	for _, c := range got {
		have[c] = true
	}
	for _, c := range want {
		if !have[c] {
			return fmt.Errorf("%s %s is missing", what, c)
		}
	}
	expected := make(map[string]bool, len(want))
	for _, c := range want {
		expected[c] = true
	}
	for _, c := range got {
		if !expected[c] {
			return fmt.Errorf("%s %s is not one that fills the form", what, c)
		}
	}
	if !slices.Equal(got, want) {
		return fmt.Errorf("the %ss are not each there once, in the order of the definition", what)
	}
	return nil
}

func tallyCodes(ts []Tally) []string {
	out := make([]string, len(ts))
	for i := range ts {
		out[i] = ts[i].Code
	}
	return out
}

func prefCodes(ts []PreferenceTally) []string {
	out := make([]string, len(ts))
	for i := range ts {
		out[i] = ts[i].Code
	}
	return out
}

func stationCodes(sts []*election.Station) []string {
	out := make([]string, len(sts))
	for i, st := range sts {
		out[i] = st.Code
	}
	return out
}

// orderedBy puts codes in the order of the definition's list.
func orderedBy[T any](codes []string, list []T, code func(T) string) []string {
	in := make(map[string]bool, len(codes))
	for _, c := range codes {
		in[c] = true
	}
	out := make([]string, 0, len(codes))
	for _, x := range list {
		if in[code(x)] {
			out = append(out, code(x))
		}
	}
	return out
}
