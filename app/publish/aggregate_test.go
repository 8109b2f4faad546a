package publish_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tally/app/commission"
	"tally/app/election"
	"tally/app/publish"
)

// byHand adds up a municipality's results forms of a contest straight from
// the forms, the way a person with the printouts would.
type byHand struct {
	stations, reported, registered, voted, valid, invalid int
	votes                                                 map[int]int
}

func addByHand(def *election.Definition, forms []publish.Accepted, contest, municipality string) byHand {
	h := byHand{votes: map[int]int{}}
	counted := map[string]*publish.Accepted{}
	for i := range forms {
		if forms[i].Contest == contest && forms[i].Form == election.ResultsForm {
			counted[forms[i].Station] = &forms[i]
		}
	}
	c, _ := def.Contest(contest)
	for _, st := range def.Stations {
		if st.Municipality != municipality || !st.Fills(contest, election.ResultsForm) {
			continue
		}
		h.stations++
		h.registered += st.Registered
		a := counted[st.Code]
		if a == nil {
			continue
		}
		h.reported++
		h.voted += a.Counts["B"]
		h.valid += a.Counts["H"]
		h.invalid += a.Counts["G"]
		for _, e := range c.Entities {
			h.votes[e.Number] += a.Counts[election.EntityField(e.Number)]
		}
	}
	return h
}

func TestAggregate(t *testing.T) {
	def := smallAssembly()

	t.Run("OK", func(t *testing.T) {
		forms := allForms(t, def)
		r, err := publish.Aggregate(def, forms)
		require.NoError(t, err)
		require.Len(t, r.Contests, 1)
		cr := contestResults(t, r, "ASM")
		nationalVotes := make([]int, len(cr.Entities))
		for _, m := range def.Municipalities {
			want := addByHand(def, forms, "ASM", m.Code)
			got := tallyOf(t, cr.Municipalities, m.Code)
			assert.Equal(t, want.stations, got.Stations, m.Code)
			assert.Equal(t, want.stations, got.Reported, m.Code)
			assert.Equal(t, want.registered, got.Registered, m.Code)
			assert.Equal(t, want.registered, got.RegisteredReported, m.Code)
			assert.Equal(t, want.voted, got.Voted, m.Code)
			assert.Equal(t, want.valid, got.Valid, m.Code)
			assert.Equal(t, want.invalid, got.Invalid, m.Code)
			for i, n := range cr.Entities {
				assert.Equal(t, want.votes[n], got.Votes[i], "%s entity %d", m.Code, n)
				assert.Equal(t, (want.votes[n]*10000+want.valid/2)/want.valid, got.SharesBP[i], "%s entity %d", m.Code, n)
				nationalVotes[i] += want.votes[n]
			}
			assert.Equal(t, (want.voted*10000+want.registered/2)/want.registered, got.TurnoutBP, m.Code)
		}
		assert.Equal(t, nationalVotes, cr.National.Votes)
		assert.Equal(t, def.Totals().PollingStations, cr.National.Stations)
		assert.Equal(t, def.Totals().PollingStations, cr.National.Reported)
		assert.Equal(t, def.Totals().Registered, cr.National.Registered)
		assert.Len(t, cr.Stations, def.Totals().PollingStations)
		assert.Len(t, cr.Centres, len(def.VotingCentres))

		// A voting centre is the sum of its stations.
		vc := def.VotingCentres[0]
		sum := 0
		for _, st := range cr.Stations {
			if s, _ := def.Station(st.Code); s.Centre == vc.Code {
				sum += st.Valid
			}
		}
		assert.Equal(t, sum, tallyOf(t, cr.Centres, vc.Code).Valid)

		// Preference votes come from the counting centres' forms.
		require.NotNil(t, cr.Preferences)
		assert.Equal(t, len(def.Municipalities), cr.Preferences.National.Reported)
		m0 := def.Municipalities[0].Code
		var cc *publish.Accepted
		for i := range forms {
			if forms[i].Station == m0+"CC" && forms[i].Form == election.CandidatesForm {
				cc = &forms[i]
			}
		}
		require.NotNil(t, cc)
		mp := cr.Preferences.Municipalities[0]
		assert.Equal(t, m0, mp.Code)
		e := mp.Entities[2]
		assert.Equal(t, cc.Counts[election.EntityField(e.Entity)], e.Votes)
		assert.Equal(t, cc.Counts[election.CandidateField(e.Entity, 1)], e.Candidates[0])
		national := 0
		for _, m := range cr.Preferences.Municipalities {
			national += m.Entities[2].Candidates[0]
		}
		assert.Equal(t, national, cr.Preferences.National.Entities[2].Candidates[0])
	})

	t.Run("OKPartial", func(t *testing.T) {
		forms := allForms(t, def)
		var half []publish.Accepted
		for i, a := range forms {
			if i%2 == 0 {
				half = append(half, a)
			}
		}
		r, err := publish.Aggregate(def, half)
		require.NoError(t, err)
		cr := contestResults(t, r, "ASM")
		m := def.Municipalities[1].Code
		want := addByHand(def, half, "ASM", m)
		got := tallyOf(t, cr.Municipalities, m)
		require.Less(t, want.reported, want.stations)
		assert.Equal(t, want.stations, got.Stations)
		assert.Equal(t, want.reported, got.Reported)
		assert.Equal(t, want.registered, got.Registered)
		assert.Less(t, got.RegisteredReported, got.Registered)
		assert.Equal(t, want.voted, got.Voted)
		for _, st := range cr.Stations {
			if st.Reported == 0 {
				assert.Zero(t, st.Valid, st.Code)
				assert.Zero(t, st.TurnoutBP, st.Code)
				assert.NotZero(t, st.Registered, st.Code)
			}
		}
	})

	t.Run("OKNothingYet", func(t *testing.T) {
		r, err := publish.Aggregate(def, nil)
		require.NoError(t, err)
		cr := contestResults(t, r, "ASM")
		assert.Zero(t, cr.National.Reported)
		assert.Equal(t, def.Totals().PollingStations, cr.National.Stations)
		assert.Equal(t, make([]int, len(cr.Entities)), cr.National.SharesBP)
	})

	t.Run("ReturnedNotCounted", func(t *testing.T) {
		st := &def.Stations[0]
		ref := st.Forms[0]
		v1 := sealForm(t, def, form(t, def, st, ref, 1), 1, "", publish.Received)
		v2 := sealForm(t, def, form(t, def, st, ref, 2), 2, v1.Digest, publish.Returned)
		r, err := publish.Aggregate(def, []publish.Accepted{v1, v2})
		require.NoError(t, err)
		cr := contestResults(t, r, ref.Contest)
		got := tallyOf(t, cr.Stations, st.Code)
		assert.Zero(t, got.Reported, "a returned head is not counted, nor the version before it")
		assert.Zero(t, cr.National.Reported)
		assert.Zero(t, cr.National.Voted)
	})

	t.Run("LaterVersionSupersedes", func(t *testing.T) {
		st := &def.Stations[0]
		ref := st.Forms[0]
		v1 := sealForm(t, def, form(t, def, st, ref, 1), 1, "", publish.Approved)
		v2 := sealForm(t, def, form(t, def, st, ref, 2), 2, v1.Digest, publish.Received)
		require.NotEqual(t, v1.Counts["B"], v2.Counts["B"])
		for _, order := range [][]publish.Accepted{{v1, v2}, {v2, v1}} {
			r, err := publish.Aggregate(def, order)
			require.NoError(t, err)
			cr := contestResults(t, r, ref.Contest)
			assert.Equal(t, v2.Counts["B"], tallyOf(t, cr.Stations, st.Code).Voted)
			assert.Equal(t, v2.Counts["B"], cr.National.Voted)
			assert.Equal(t, 1, cr.National.Reported)
		}
	})

	t.Run("BothContestsOfAMunicipalElection", func(t *testing.T) {
		mdef := smallMunicipal()
		forms := allForms(t, mdef)
		r, err := publish.Aggregate(mdef, forms)
		require.NoError(t, err)
		require.Len(t, r.Contests, 2*len(mdef.Municipalities))
		for _, m := range mdef.Municipalities {
			for _, code := range []string{"MAY-" + m.Code, "MUN-" + m.Code} {
				cr := contestResults(t, r, code)
				want := addByHand(mdef, forms, code, m.Code)
				require.Len(t, cr.Municipalities, 1, code)
				assert.Equal(t, want.voted, cr.National.Voted, code)
				assert.Equal(t, want.valid, cr.Municipalities[0].Valid, code)
				assert.Equal(t, want.stations, cr.National.Reported, code)
				for i, n := range cr.Entities {
					assert.Equal(t, want.votes[n], cr.National.Votes[i], "%s entity %d", code, n)
				}
			}
			assert.Nil(t, contestResults(t, r, "MAY-"+m.Code).Preferences, "no preference votes for mayor")
			assert.NotNil(t, contestResults(t, r, "MUN-"+m.Code).Preferences)
		}
	})
}

func TestAggregateRefuses(t *testing.T) {
	def := smallAssembly()
	st := &def.Stations[0]
	ref := st.Forms[0]
	good := func() publish.Accepted { return sealForm(t, def, form(t, def, st, ref, 1), 1, "", publish.Received) }
	for name, tc := range map[string]struct {
		change func(a *publish.Accepted) []publish.Accepted
		want   string
	}{
		"ErrUnknownStation": {func(a *publish.Accepted) []publish.Accepted { a.Station = "99999Z"; return nil }, "no such station"},
		"ErrFormNotFilled": {func(a *publish.Accepted) []publish.Accepted {
			a.Form = election.CandidatesForm
			return nil
		}, "does not fill"},
		"ErrMissingField": {func(a *publish.Accepted) []publish.Accepted {
			a.Counts = map[election.Field]int{"A": 1}
			return nil
		}, "missing"},
		"ErrUnknownField": {func(a *publish.Accepted) []publish.Accepted { a.Counts["K.1.1"] = 1; return nil }, "not a field"},
		"ErrDigest":       {func(a *publish.Accepted) []publish.Accepted { a.Digest = "00" + a.Digest[2:]; return nil }, "digest"},
		"ErrReview":       {func(a *publish.Accepted) []publish.Accepted { a.Review = "maybe"; return nil }, "review"},
		"ErrTwoEnvelopesOfOneVersion": {func(a *publish.Accepted) []publish.Accepted {
			return []publish.Accepted{sealForm(t, def, form(t, def, st, ref, 7), 1, "", publish.Received)}
		}, "two different envelopes for version 1"},
	} {
		t.Run(name, func(t *testing.T) {
			a := good()
			more := tc.change(&a)
			_, err := publish.Aggregate(def, append([]publish.Accepted{a}, more...))
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

func TestFromRecord(t *testing.T) {
	def := smallAssembly()
	a, b := &def.Stations[0], &def.Stations[1]
	a1 := sealForm(t, def, form(t, def, a, a.Forms[0], 1), 1, "", publish.Received)
	a2 := sealForm(t, def, form(t, def, a, a.Forms[0], 2), 2, a1.Digest, publish.Received)
	b1 := sealForm(t, def, form(t, def, b, b.Forms[0], 1), 1, "", publish.Received)
	sub := func(x publish.Accepted) commission.Submission {
		return commission.Submission{Digest: x.Digest, FormRef: commission.FormRef{Station: x.Station, Contest: x.Contest, Form: x.Form},
			Version: x.Version, Envelope: x.Envelope, ReceivedAt: x.ReceivedAt}
	}
	decision := func(x publish.Accepted, v election.Verdict) commission.Decision {
		return commission.Decision{Submission: x.Digest, Verdict: v,
			FormRef: commission.FormRef{Station: x.Station, Contest: x.Contest, Form: x.Form}}
	}
	rec := &commission.StationRecord{
		Submissions: []commission.Submission{sub(a1), sub(a2), sub(b1)},
		Decisions: []commission.Decision{
			decision(a1, election.Return), decision(a2, election.Return), decision(a2, election.Approve),
			decision(b1, election.Approve), decision(b1, election.Return),
		},
	}
	got, err := publish.FromRecord(def, rec)
	require.NoError(t, err)
	require.Len(t, got, 2)
	assert.Equal(t, a2.Digest, got[0].Digest, "the head is the latest version")
	assert.Equal(t, publish.Approved, got[0].Review, "the last decision stands")
	assert.Equal(t, a2.Counts, got[0].Counts)
	assert.Equal(t, b1.Digest, got[1].Digest)
	assert.Equal(t, publish.Returned, got[1].Review)

	rec.Submissions[2].Digest = a1.Digest
	_, err = publish.FromRecord(def, rec)
	assert.ErrorContains(t, err, "digest")
}
