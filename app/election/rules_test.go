package election_test

import (
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tally/app/election"
)

// checkAndValidate checks a form's structure and runs the rules on it, as the
// station does before it seals.
func checkAndValidate(tb testing.TB, f *election.Form) []election.Finding {
	tb.Helper()
	l, s, err := f.Check(testDefinition(tb))
	require.NoError(tb, err)
	return election.Validate(l, s, f)
}

// ballots sets the reconciliation of a results form from what was counted
// in the box, keeping every sum consistent: B = F, D = C − F − E,
// H = F − G, and H spread over the entities.
type ballots struct {
	c, e, f, g int
}

func (b ballots) apply(form *election.Form) {
	h := b.f - b.g
	c := form.Counts
	c["B"], c["C"], c["D"], c["E"], c["F"], c["G"], c["H"] = b.f, b.c, b.c-b.f-b.e, b.e, b.f, b.g, h
	c["I.2"], c["I.3"] = h/3, h/9
	c["I.1"] = h - c["I.2"] - c["I.3"]
}

// ruleCase is one form on which a rule fires or stays silent. want is the
// exact list of findings; every other rule must stay silent.
type ruleCase struct {
	rule   string // the rule the case is about
	name   string
	form   func() *election.Form
	edit   func(f *election.Form)
	reg    *int // registered voters of the station, when not the definition's
	want   []election.Finding
	detail string // why the case expects what it does, where that is not obvious
}

func (c ruleCase) fires() bool {
	return slices.ContainsFunc(c.want, func(f election.Finding) bool { return f.Code == c.rule })
}

func intp(n int) *int { return &n }

func finding(code string, fields []election.Field, args map[string]any) election.Finding {
	sev := election.SeverityWarning
	if code[0] == 'E' {
		sev = election.SeverityError
	}
	return election.Finding{Code: code, Severity: sev, Fields: fields, Args: args}
}

type fieldList = []election.Field
type argMap = map[string]any

func ruleCases() []ruleCase {
	results, candidates := cleanResultsForm, cleanCandidatesForm
	entityFields := fieldList{"H", "I.1", "I.2", "I.3"}
	return []ruleCase{
		{rule: "E.REQUIRED", name: "all fields filled", form: results},
		{rule: "E.REQUIRED", name: "C empty", form: results,
			edit: func(f *election.Form) { delete(f.Counts, "C") },
			want: []election.Finding{finding("E.REQUIRED", fieldList{"C"}, argMap{"Field": "C"})}},
		{rule: "E.REQUIRED", name: "candidate field empty", form: candidates,
			edit: func(f *election.Form) { delete(f.Counts, "K.2.2") },
			want: []election.Finding{finding("E.REQUIRED", fieldList{"K.2.2"}, argMap{"Field": "K.2.2"})}},

		{rule: "E.A-DEF", name: "A is the registered voters", form: results, reg: intp(612),
			edit: func(f *election.Form) { f.Counts["A"] = 612 }},
		{rule: "E.A-DEF", name: "A differs from the registered voters", form: results,
			edit: func(f *election.Form) { f.Counts["A"] = 599 },
			want: []election.Finding{finding("E.A-DEF", fieldList{"A"}, argMap{"A": 599, "Registered": 600})}},

		{rule: "E.B-A", name: "B equals A", form: results,
			edit:   func(f *election.Form) { ballots{c: 650, e: 10, f: 600, g: 8}.apply(f) },
			want:   []election.Finding{finding("W.TURNOUT", fieldList{"B", "A"}, argMap{"Percent": election.Percent(1)})},
			detail: "a turnout of 100% is unusual, not impossible"},
		{rule: "E.B-A", name: "B one more than A", form: results,
			edit: func(f *election.Form) { ballots{c: 650, e: 10, f: 601, g: 8}.apply(f) },
			want: []election.Finding{
				finding("E.B-A", fieldList{"B", "A"}, argMap{"A": 600, "B": 601}),
				finding("W.TURNOUT", fieldList{"B", "A"}, argMap{"Percent": election.Percent(601.0 / 600)}),
			}},

		{rule: "E.C-BAL", name: "balanced with more ballots received", form: results,
			edit: func(f *election.Form) { ballots{c: 700, e: 10, f: 400, g: 8}.apply(f) }},
		{rule: "E.C-BAL", name: "one unused ballot too many", form: results,
			edit: func(f *election.Form) { f.Counts["D"]++ },
			want: []election.Finding{finding("E.C-BAL", fieldList{"C", "D", "E", "F"},
				argMap{"C": 650, "D": 241, "E": 10, "F": 400, "Sum": 651})}},

		{rule: "E.F-GH", name: "more invalid, fewer valid", form: results,
			edit: func(f *election.Form) { ballots{c: 650, e: 10, f: 400, g: 10}.apply(f) }},
		{rule: "E.F-GH", name: "one invalid ballot too many", form: results,
			edit: func(f *election.Form) { f.Counts["G"]++ },
			want: []election.Finding{finding("E.F-GH", fieldList{"F", "G", "H"},
				argMap{"F": 400, "G": 9, "H": 392, "Sum": 401})}},

		{rule: "E.H-SUM", name: "a vote moved between entities", form: results,
			edit: func(f *election.Form) { f.Counts["I.1"]--; f.Counts["I.2"]++ }},
		{rule: "E.H-SUM", name: "one entity vote too many", form: results,
			edit: func(f *election.Form) { f.Counts["I.2"]++ },
			want: []election.Finding{finding("E.H-SUM", entityFields, argMap{"H": 392, "Sum": 393})}},

		{rule: "E.K-I", name: "candidate votes equal to the entity's", form: candidates,
			edit: func(f *election.Form) { f.Counts["K.2.1"] = 800 }},
		{rule: "E.K-I", name: "candidate votes one more than the entity's", form: candidates,
			edit: func(f *election.Form) { f.Counts["K.2.1"] = 801 },
			want: []election.Finding{finding("E.K-I", fieldList{"K.2.1", "I.2"},
				argMap{"Field": "K.2.1", "Candidate": "Milica Jovanović", "K": 801, "I": 800})}},

		// Entity 1 has 3 candidates, so its preference votes can reach
		// 10 × I.1 only when a candidate has more votes than the entity.
		{rule: "E.K-SUM", name: "preference votes exactly 10 × I", form: candidates,
			edit: func(f *election.Form) {
				f.Counts["I.1"], f.Counts["K.1.1"], f.Counts["K.1.2"], f.Counts["K.1.3"] = 10, 80, 10, 10
			},
			want: []election.Finding{finding("E.K-I", fieldList{"K.1.1", "I.1"},
				argMap{"Field": "K.1.1", "Candidate": "Arbër Gashi", "K": 80, "I": 10})}},
		{rule: "E.K-SUM", name: "preference votes 10 × I + 1", form: candidates,
			edit: func(f *election.Form) {
				f.Counts["I.1"], f.Counts["K.1.1"], f.Counts["K.1.2"], f.Counts["K.1.3"] = 10, 81, 10, 10
			},
			want: []election.Finding{
				finding("E.K-I", fieldList{"K.1.1", "I.1"},
					argMap{"Field": "K.1.1", "Candidate": "Arbër Gashi", "K": 81, "I": 10}),
				finding("E.K-SUM", fieldList{"I.1"},
					argMap{"Entity": "Partia e Shembullit", "Sum": 101, "Max": 10, "Limit": 100}),
			}},

		{rule: "W.F-B", name: "box matches signatures", form: results,
			edit: func(f *election.Form) { ballots{c: 650, e: 10, f: 450, g: 8}.apply(f) }},
		{rule: "W.F-B", name: "one signature more than ballots in the box", form: results,
			edit: func(f *election.Form) { f.Counts["B"]++ },
			want: []election.Finding{finding("W.F-B", fieldList{"F", "B"}, argMap{"F": 400, "B": 401})}},

		{rule: "W.G-HIGH", name: "invalid just below 3%", form: results,
			edit: func(f *election.Form) { ballots{c: 650, e: 10, f: 400, g: 11}.apply(f) }},
		{rule: "W.G-HIGH", name: "invalid exactly 3%", form: results,
			edit: func(f *election.Form) { ballots{c: 650, e: 10, f: 400, g: 12}.apply(f) },
			want: []election.Finding{finding("W.G-HIGH", fieldList{"G", "F"},
				argMap{"G": 12, "Percent": election.Percent(0.03)})}},

		{rule: "W.E-HIGH", name: "spoiled just below 3%", form: results,
			edit: func(f *election.Form) { ballots{c: 700, e: 20, f: 400, g: 8}.apply(f) }},
		{rule: "W.E-HIGH", name: "spoiled exactly 3%", form: results,
			edit: func(f *election.Form) { ballots{c: 700, e: 21, f: 400, g: 8}.apply(f) },
			want: []election.Finding{finding("W.E-HIGH", fieldList{"E", "C"},
				argMap{"E": 21, "Percent": election.Percent(0.03)})}},

		{rule: "W.TURNOUT", name: "exactly 95%", form: results,
			edit: func(f *election.Form) { ballots{c: 650, e: 10, f: 570, g: 8}.apply(f) }},
		{rule: "W.TURNOUT", name: "above 95%", form: results,
			edit: func(f *election.Form) { ballots{c: 650, e: 10, f: 571, g: 8}.apply(f) },
			want: []election.Finding{finding("W.TURNOUT", fieldList{"B", "A"},
				argMap{"Percent": election.Percent(571.0 / 600)})}},
		{rule: "W.TURNOUT", name: "exactly 5%", form: results,
			edit: func(f *election.Form) { ballots{c: 650, e: 10, f: 30, g: 0}.apply(f) }},
		{rule: "W.TURNOUT", name: "below 5%", form: results,
			edit: func(f *election.Form) { ballots{c: 650, e: 10, f: 29, g: 0}.apply(f) },
			want: []election.Finding{finding("W.TURNOUT", fieldList{"B", "A"},
				argMap{"Percent": election.Percent(29.0 / 600)})}},

		{rule: "W.ZERO", name: "no voters registered, none voted", form: results, reg: intp(0),
			edit: func(f *election.Form) {
				f.Counts["A"] = 0
				ballots{c: 650, e: 10, f: 0, g: 0}.apply(f)
			}},
		{rule: "W.ZERO", name: "voters registered, box empty", form: results,
			edit: func(f *election.Form) { ballots{c: 650, e: 10, f: 0, g: 0}.apply(f) },
			want: []election.Finding{
				finding("W.TURNOUT", fieldList{"B", "A"}, argMap{"Percent": election.Percent(0)}),
				finding("W.ZERO", fieldList{"F", "A"}, argMap{"A": 600}),
			},
			detail: "with B = F = 0 the turnout is 0% too"},

		{rule: "W.MEMBERS-LOW", name: "the minimum present", form: results,
			edit: func(f *election.Form) { f.Members = election.MinMembers }},
		{rule: "W.MEMBERS-LOW", name: "one fewer than the minimum", form: results,
			edit: func(f *election.Form) { f.Members = election.MinMembers - 1 },
			want: []election.Finding{finding("W.MEMBERS-LOW", fieldList{election.FieldMembers},
				argMap{"Members": 2, "Min": 3})}},
		{rule: "W.MEMBERS-LOW", name: "none on a candidates form", form: candidates,
			edit: func(f *election.Form) { f.Members = 0 },
			want: []election.Finding{finding("W.MEMBERS-LOW", fieldList{election.FieldMembers},
				argMap{"Members": 0, "Min": 3})}},

		{rule: "W.NO-PHOTO", name: "photo attached", form: candidates},
		{rule: "W.NO-PHOTO", name: "no photo", form: results,
			edit: func(f *election.Form) { f.PhotoSHA256 = "" },
			want: []election.Finding{finding("W.NO-PHOTO", fieldList{election.FieldPhoto}, nil)}},

		{rule: "W.K-NONE", name: "no votes and no preference votes", form: candidates,
			edit: func(f *election.Form) { f.Counts["I.3"], f.Counts["K.3.1"] = 0, 0 }},
		{rule: "W.K-NONE", name: "votes but no preference votes", form: candidates,
			edit: func(f *election.Form) { f.Counts["K.3.1"] = 0 },
			want: []election.Finding{finding("W.K-NONE", fieldList{"I.3"}, argMap{"Entity": "Zoë Rexhepi", "I": 95})}},
	}
}

// form builds the case's form and the station it is checked against.
func (c ruleCase) build(tb testing.TB) (*election.Layout, *election.Station, *election.Form) {
	tb.Helper()
	f := c.form()
	if c.edit != nil {
		c.edit(f)
	}
	l, s, err := f.Check(testDefinition(tb))
	require.NoError(tb, err, "the case's form must be well formed")
	if c.reg != nil {
		other := *s
		other.Registered = *c.reg
		s = &other
	}
	return l, s, f
}

func TestValidate(t *testing.T) {
	for _, c := range ruleCases() {
		t.Run(c.rule+"/"+c.name, func(t *testing.T) {
			l, s, f := c.build(t)
			got := election.Validate(l, s, f)
			assert.Equal(t, c.want, got, "%s%s", c.detail, describe(got))
			for _, g := range got {
				r, ok := election.RuleByCode(g.Code)
				if assert.True(t, ok, "%s is not in election.Rules", g.Code) {
					assert.Equal(t, r.Severity, g.Severity, g.Code)
					assert.Contains(t, r.Forms, f.Kind, "%s fired on a %s form", g.Code, f.Kind)
				}
			}
		})
	}
}

// TestValidateCoversRules fails when a rule has no case where it fires
// and one where it stays silent.
func TestValidateCoversRules(t *testing.T) {
	fires, silent := map[string]bool{}, map[string]bool{}
	for _, c := range ruleCases() {
		if c.fires() {
			fires[c.rule] = true
		} else {
			silent[c.rule] = true
		}
		_, ok := election.RuleByCode(c.rule)
		assert.True(t, ok, "case %q is about %s, which is not a rule", c.name, c.rule)
	}
	for _, r := range election.Rules {
		assert.True(t, fires[r.Code], "no case where %s fires", r.Code)
		assert.True(t, silent[r.Code], "no case where %s stays silent", r.Code)
	}
}

func TestRules(t *testing.T) {
	seen := map[string]bool{}
	for _, r := range election.Rules {
		t.Run(r.Code, func(t *testing.T) {
			assert.False(t, seen[r.Code], "listed twice")
			seen[r.Code] = true
			want := election.SeverityWarning
			if r.Code[0] == 'E' {
				want = election.SeverityError
			}
			assert.Equal(t, want, r.Severity, "E. codes are errors, W. codes warnings")
			assert.NotEmpty(t, r.Forms)
			assert.Equal(t, "rule."+r.Code, r.MessageKey())
			got, ok := election.RuleByCode(r.Code)
			assert.True(t, ok)
			assert.Equal(t, r, got)
		})
	}
	_, ok := election.RuleByCode("E.NONE")
	assert.False(t, ok)
}

func TestCleanForms(t *testing.T) {
	t.Run("results", func(t *testing.T) {
		f := cleanResultsForm()
		c := f.Counts
		// The margins the clean form relies on, spelled out.
		assert.Less(t, float64(c["E"])/float64(c["C"]), 0.03, "spoiled below 3%% of received")
		assert.Less(t, float64(c["G"])/float64(c["F"]), 0.03, "invalid below 3%% of the box")
		turnout := float64(c["B"]) / float64(c["A"])
		assert.True(t, 0.05 <= turnout && turnout <= 0.95, "turnout %.3f", turnout)
		assert.Equal(t, c["C"], c["D"]+c["E"]+c["F"])
		assert.Equal(t, c["F"], c["G"]+c["H"])
		assert.Equal(t, c["H"], c["I.1"]+c["I.2"]+c["I.3"])
		assert.Equal(t, registered, stationOf(t, stationCode).Registered)
		assert.Len(t, c, len(layoutOf(t, election.ResultsForm).Fields), "every field filled")
		assert.Empty(t, checkAndValidate(t, f))
	})
	t.Run("candidates", func(t *testing.T) {
		f := cleanCandidatesForm()
		assert.Len(t, f.Counts, len(layoutOf(t, election.CandidatesForm).Fields), "every field filled")
		assert.Empty(t, checkAndValidate(t, f))
	})
}

// TestValidateEmptyField: an empty field is reported by E.REQUIRED alone;
// every rule that needs it stays silent.
func TestValidateEmptyField(t *testing.T) {
	for _, base := range []struct {
		name string
		form func() *election.Form
		kind election.FormKind
	}{
		{"results", cleanResultsForm, election.ResultsForm},
		{"candidates", cleanCandidatesForm, election.CandidatesForm},
	} {
		for _, spec := range layoutOf(t, base.kind).Fields {
			t.Run(base.name+"/"+string(spec.ID), func(t *testing.T) {
				f := base.form()
				delete(f.Counts, spec.ID)
				assert.Equal(t, []election.Finding{
					finding("E.REQUIRED", fieldList{spec.ID}, argMap{"Field": string(spec.ID)}),
				}, checkAndValidate(t, f))
			})
		}
	}

	// Where a rule fires, emptying any count field it names silences it.
	for _, c := range ruleCases() {
		for _, fired := range c.want {
			for _, field := range fired.Fields {
				l, _, _ := c.build(t)
				if !l.Has(field) {
					continue // members, photo: not counts
				}
				t.Run(fired.Code+"/"+c.name+"/without "+string(field), func(t *testing.T) {
					l, s, f := c.build(t)
					delete(f.Counts, field)
					got := election.Validate(l, s, f)
					assert.Contains(t, got, finding("E.REQUIRED", fieldList{field}, argMap{"Field": string(field)}))
					for _, g := range got {
						if g.Code != "E.REQUIRED" {
							assert.NotContains(t, g.Fields, field, "%s fired without %s%s", g.Code, field, describe(got))
						}
					}
				})
			}
		}
	}

	t.Run("every field empty", func(t *testing.T) {
		l := layoutOf(t, election.ResultsForm)
		f := cleanResultsForm()
		f.Counts = nil
		var want []election.Finding
		for _, spec := range l.Fields {
			want = append(want, finding("E.REQUIRED", fieldList{spec.ID}, argMap{"Field": string(spec.ID)}))
		}
		assert.Equal(t, want, checkAndValidate(t, f), "one finding per field, in the order of the form")
	})
}

// TestValidateOrder: errors first, then warnings, each in the order of
// election.Rules.
func TestValidateOrder(t *testing.T) {
	for _, c := range []struct {
		name string
		form *election.Form
		want []string
	}{
		{
			name: "results",
			form: func() *election.Form {
				f := cleanResultsForm()
				f.Members, f.PhotoSHA256 = 1, ""
				f.Counts["G"]++ // E.F-GH
				f.Counts["B"]++ // W.F-B
				f.Counts["D"]++ // E.C-BAL
				f.Counts["A"]-- // E.A-DEF
				return f
			}(),
			want: []string{"E.A-DEF", "E.C-BAL", "E.F-GH", "W.F-B", "W.MEMBERS-LOW", "W.NO-PHOTO"},
		},
		{
			name: "candidates",
			form: func() *election.Form {
				f := cleanCandidatesForm()
				f.Members, f.PhotoSHA256 = 1, ""
				f.Counts["K.3.1"] = 0 // W.K-NONE
				// Entity 1: K.1.1 > I.1 (E.K-I), Σ K = 12,100 > 10 × 1,200 (E.K-SUM).
				f.Counts["K.1.1"], f.Counts["K.1.2"], f.Counts["K.1.3"] = 9700, 1200, 1200
				// Entity 2: K.2.1 > I.2 (E.K-I), Σ K = 101 > 10 × 10 (E.K-SUM).
				f.Counts["I.2"], f.Counts["K.2.1"], f.Counts["K.2.2"] = 10, 100, 1
				return f
			}(),
			want: []string{"E.K-I", "E.K-I", "E.K-SUM", "E.K-SUM", "W.MEMBERS-LOW", "W.NO-PHOTO", "W.K-NONE"},
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := checkAndValidate(t, c.form)
			assert.Equal(t, c.want, codes(got), describe(got))
			errs := election.Errors(got)
			assert.Equal(t, got[:len(errs)], errs, "errors come first")
			for _, e := range errs {
				assert.Equal(t, election.SeverityError, e.Severity)
			}
		})
	}
	assert.Nil(t, election.Errors(nil))
}
