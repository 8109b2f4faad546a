package election

import "slices"

// Severity tells an error (the numbers cannot all be true) from a warning
// (the numbers are unusual).
type Severity string

// The severities.
const (
	SeverityError   Severity = "error"
	SeverityWarning Severity = "warning"
)

// Rule is one validation rule. Codes are stable: they are stored with
// sealed submissions and printed on receipts.
type Rule struct {
	Code     string
	Severity Severity
	Forms    []FormKind
}

// MessageKey is the catalog key of the rule's message.
func (r Rule) MessageKey() string { return "rule." + r.Code }

var (
	resultsOnly    = []FormKind{ResultsForm}
	candidatesOnly = []FormKind{CandidatesForm}
	bothForms      = []FormKind{ResultsForm, CandidatesForm}
)

// Rules is every validation rule, in the order they are checked.
var Rules = []Rule{
	{"E.REQUIRED", SeverityError, bothForms},
	{"E.A-DEF", SeverityError, resultsOnly},
	{"E.B-A", SeverityError, resultsOnly},
	{"E.C-BAL", SeverityError, resultsOnly},
	{"E.F-GH", SeverityError, resultsOnly},
	{"E.H-SUM", SeverityError, resultsOnly},
	{"E.K-I", SeverityError, candidatesOnly},
	{"E.K-SUM", SeverityError, candidatesOnly},
	{"W.F-B", SeverityWarning, resultsOnly},
	{"W.G-HIGH", SeverityWarning, resultsOnly},
	{"W.E-HIGH", SeverityWarning, resultsOnly},
	{"W.TURNOUT", SeverityWarning, resultsOnly},
	{"W.ZERO", SeverityWarning, resultsOnly},
	{"W.MEMBERS-LOW", SeverityWarning, bothForms},
	{"W.NO-PHOTO", SeverityWarning, bothForms},
	{"W.K-NONE", SeverityWarning, candidatesOnly},
}

// RuleByCode finds a rule.
func RuleByCode(code string) (Rule, bool) {
	for _, r := range Rules {
		if r.Code == code {
			return r, true
		}
	}
	return Rule{}, false
}

// Thresholds of the warnings.
const (
	invalidShareLimit = 0.03 // W.G-HIGH: invalid ballots ≥ 3% of F
	spoiledShareLimit = 0.03 // W.E-HIGH: spoiled ballots ≥ 3% of C
	turnoutHigh       = 0.95 // W.TURNOUT
	turnoutLow        = 0.05
)

// Percent is a share (0.034 for 3.4%) passed to a message, for the
// catalog's locale to format.
type Percent float64

// Finding is one rule that fired on a form.
type Finding struct {
	Code     string
	Severity Severity
	Fields   []Field // the fields it concerns, the first one the most likely culprit
	Args     map[string]any
}

// MessageKey is the catalog key of the finding's message.
func (f Finding) MessageKey() string { return "rule." + f.Code }

// Numbers formats numbers the way a language writes them.
type Numbers interface {
	Int(n int) string
	Percent(share float64) string
}

// MessageArgs are the finding's arguments for its message, with the
// numbers written as the language writes them.
func (f Finding) MessageArgs(n Numbers) map[string]any {
	args := make(map[string]any, len(f.Args))
	for k, v := range f.Args {
		switch v := v.(type) {
		case Percent:
			args[k] = n.Percent(float64(v))
		case int:
			args[k] = n.Int(v)
		default:
			args[k] = v
		}
	}
	return args
}

// Validate runs every rule of the form's kind and returns what fired,
// errors first within the order of Rules. A rule whose fields are not all
// filled in does not fire; E.REQUIRED reports the empty fields instead.
func Validate(l *Layout, s *Station, f *Form) []Finding {
	v := validation{l: l, s: s, f: f}
	for _, spec := range l.Fields {
		if _, ok := f.Counts[spec.ID]; !ok {
			v.fire("E.REQUIRED", []Field{spec.ID}, map[string]any{"Field": string(spec.ID)})
		}
	}
	if l.Form == ResultsForm {
		v.resultsRules()
	} else {
		v.candidateRules()
	}
	if f.Members < MinMembers {
		v.fire("W.MEMBERS-LOW", []Field{FieldMembers}, map[string]any{"Members": f.Members, "Min": MinMembers})
	}
	if f.PhotoSHA256 == "" {
		v.fire("W.NO-PHOTO", []Field{FieldPhoto}, nil)
	}
	return v.sorted()
}

type validation struct {
	l        *Layout
	s        *Station
	f        *Form
	errors   []Finding
	warnings []Finding
}

func (v *validation) fire(code string, fields []Field, args map[string]any) {
	if code[0] == 'E' {
		v.errors = append(v.errors, Finding{Code: code, Severity: SeverityError, Fields: fields, Args: args})
	} else {
		v.warnings = append(v.warnings, Finding{Code: code, Severity: SeverityWarning, Fields: fields, Args: args})
	}
}

func (v *validation) sorted() []Finding {
	byRule(v.errors)
	byRule(v.warnings)
	if len(v.warnings) == 0 {
		return v.errors
	}
	return append(v.errors, v.warnings...)
}

// byRule puts findings in the order of Rules. The checks run per entity
// on the candidates form (E.K-I, E.K-SUM, W.K-NONE for entity 1, then for
// entity 2, …) and before the rules of both forms, so they fire out of
// that order. The sort is stable: one rule's findings keep form order.
func byRule(findings []Finding) {
	cmp := func(a, b Finding) int { return ruleRank(a.Code) - ruleRank(b.Code) }
	if !slices.IsSortedFunc(findings, cmp) {
		slices.SortStableFunc(findings, cmp)
	}
}

func ruleRank(code string) int {
	for i := range Rules {
		if Rules[i].Code == code {
			return i
		}
	}
	return len(Rules)
}

// get returns the counts of the fields, and false if any is missing.
func (v *validation) get(fields ...Field) ([]int, bool) {
	out := make([]int, len(fields))
	for i, f := range fields {
		n, ok := v.f.Counts[f]
		if !ok {
			return nil, false
		}
		out[i] = n
	}
	return out, true
}

func share(part, whole int) float64 {
	if whole == 0 {
		return 0
	}
	return float64(part) / float64(whole)
}

func (v *validation) resultsRules() {
	c := v.f.Counts
	if a, ok := c[FieldA]; ok && a != v.s.Registered {
		v.fire("E.A-DEF", []Field{FieldA}, map[string]any{"A": a, "Registered": v.s.Registered})
	}
	if n, ok := v.get(FieldA, FieldB); ok && n[1] > n[0] {
		v.fire("E.B-A", []Field{FieldB, FieldA}, map[string]any{"A": n[0], "B": n[1]})
	}
	if n, ok := v.get(FieldC, FieldD, FieldE, FieldF); ok && n[0] != n[3]+n[1]+n[2] {
		v.fire("E.C-BAL", []Field{FieldC, FieldD, FieldE, FieldF},
			map[string]any{"C": n[0], "D": n[1], "E": n[2], "F": n[3], "Sum": n[3] + n[1] + n[2]})
	}
	if n, ok := v.get(FieldF, FieldG, FieldH); ok && n[0] != n[1]+n[2] {
		v.fire("E.F-GH", []Field{FieldF, FieldG, FieldH},
			map[string]any{"F": n[0], "G": n[1], "H": n[2], "Sum": n[1] + n[2]})
	}
	if h, ok := c[FieldH]; ok {
		if votes, ok := v.get(v.l.entities...); ok {
			sum := 0
			for _, n := range votes {
				sum += n
			}
			if sum != h {
				v.fire("E.H-SUM", append([]Field{FieldH}, v.l.entities...), map[string]any{"H": h, "Sum": sum})
			}
		}
	}
	if n, ok := v.get(FieldF, FieldB); ok && n[0] != n[1] {
		v.fire("W.F-B", []Field{FieldF, FieldB}, map[string]any{"F": n[0], "B": n[1]})
	}
	if n, ok := v.get(FieldG, FieldF); ok && n[1] > 0 && share(n[0], n[1]) >= invalidShareLimit {
		v.fire("W.G-HIGH", []Field{FieldG, FieldF}, map[string]any{"G": n[0], "Percent": Percent(share(n[0], n[1]))})
	}
	if n, ok := v.get(FieldE, FieldC); ok && n[1] > 0 && share(n[0], n[1]) >= spoiledShareLimit {
		v.fire("W.E-HIGH", []Field{FieldE, FieldC}, map[string]any{"E": n[0], "Percent": Percent(share(n[0], n[1]))})
	}
	if n, ok := v.get(FieldB, FieldA); ok && n[1] > 0 {
		t := share(n[0], n[1])
		if t > turnoutHigh || t < turnoutLow {
			v.fire("W.TURNOUT", []Field{FieldB, FieldA}, map[string]any{"Percent": Percent(t)})
		}
	}
	if n, ok := v.get(FieldA, FieldF); ok && n[0] > 0 && n[1] == 0 {
		v.fire("W.ZERO", []Field{FieldF, FieldA}, map[string]any{"A": n[0]})
	}
}

func (v *validation) candidateRules() {
	c := v.f.Counts
	max := v.l.Contest.MaxPreferences
	for i := range v.l.Contest.Entities {
		e := &v.l.Contest.Entities[i]
		ef := v.l.entities[i]
		votes, ok := c[ef]
		if !ok {
			continue
		}
		sum, complete := 0, true
		for j, cf := range v.l.candidates[i] {
			k, ok := c[cf]
			if !ok {
				complete = false
				continue
			}
			sum += k
			if k > votes {
				v.fire("E.K-I", []Field{cf, ef}, map[string]any{
					"Field": string(cf), "Candidate": e.Candidates[j].Name, "K": k, "I": votes})
			}
		}
		if sum > max*votes {
			v.fire("E.K-SUM", []Field{ef}, map[string]any{
				"Entity": e.Name, "Sum": sum, "Max": max, "Limit": max * votes})
		}
		if complete && votes > 0 && sum == 0 {
			v.fire("W.K-NONE", []Field{ef}, map[string]any{"Entity": e.Name, "I": votes})
		}
	}
}

// Errors returns the findings that are errors.
func Errors(findings []Finding) []Finding {
	var out []Finding
	for _, f := range findings {
		if f.Severity == SeverityError {
			out = append(out, f)
		}
	}
	return out
}
