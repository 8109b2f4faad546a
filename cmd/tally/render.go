package main

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"tally/app/election"
	"tally/app/station"
	"tally/i18n"
)

// timeLayout is how the commands print a time, in the laptop's zone.
const timeLayout = "2006-01-02 15:04:05 MST"

func localTime(t time.Time) string { return t.Local().Format(timeLayout) }

// english is the catalog the headless commands print findings from.
var english = sync.OnceValues(func() (*i18n.Localizer, error) { return i18n.New("en") })

// findingText is a finding's message in English.
func findingText(f election.Finding) string {
	l, err := english()
	if err != nil {
		return f.Code
	}
	return l.T(f.MessageKey(), f.MessageArgs(l))
}

// findingJSON is one finding as the commands print it.
type findingJSON struct {
	Code      string            `json:"code"`
	Severity  election.Severity `json:"severity"`
	Fields    []election.Field  `json:"fields,omitempty"`
	Message   string            `json:"message"`
	Confirmed bool              `json:"confirmed,omitempty"`
}

// differenceJSON is one difference between the two entries.
type differenceJSON struct {
	Field  election.Field `json:"field"`
	First  string         `json:"first"`
	Second string         `json:"second"`
}

// formJSON is a form as `station show --json` prints it: the station's
// FormView, with the findings and differences spelled out.
type formJSON struct {
	*station.FormView
	Findings    []findingJSON    `json:"findings,omitempty"`
	Differences []differenceJSON `json:"differences,omitempty"`
	// Unconfirmed are the errors that must be confirmed before sealing.
	Unconfirmed []string `json:"unconfirmed_errors,omitempty"`
}

func newFormJSON(v *station.FormView) formJSON {
	out := formJSON{FormView: v, Unconfirmed: unconfirmed(v)}
	for _, f := range v.Findings {
		out.Findings = append(out.Findings, findingJSON{Code: f.Code, Severity: f.Severity, Fields: f.Fields,
			Message: findingText(f), Confirmed: f.Severity == election.SeverityError && isConfirmed(v, f.Code)})
	}
	for _, d := range v.Differences {
		out.Differences = append(out.Differences, differenceJSON{Field: d.Field, First: d.First, Second: d.Second})
	}
	return out
}

func isConfirmed(v *station.FormView, rule string) bool {
	for _, c := range v.Confirmed {
		if c.Rule == rule {
			return true
		}
	}
	return false
}

// unconfirmed lists the errors of the agreed numbers not yet confirmed
// (E.REQUIRED aside: an empty field is never confirmed, only filled).
func unconfirmed(v *station.FormView) []string {
	if v.State != station.StateAgreed {
		return nil
	}
	var out []string
	for _, f := range election.Errors(v.Findings) {
		if f.Code != "E.REQUIRED" && !isConfirmed(v, f.Code) {
			out = append(out, f.Code)
		}
	}
	return out
}

// printNext says what is left to do with a form.
func printNext(w io.Writer, v *station.FormView) {
	switch v.State {
	case station.StateEmpty:
		fmt.Fprintln(w, "next: the first entry (tally station enter --as first)")
	case station.StateFirstEntry:
		fmt.Fprintf(w, "next: the first entry by %s, finished with `tally station enter --as first`\n", v.By)
	case station.StateSecondPending:
		fmt.Fprintln(w, "next: the second entry, typed blind by another commissioner (tally station enter --as second)")
	case station.StateSecondEntry:
		fmt.Fprintf(w, "next: the second entry by %s, finished with `tally station enter --as second`\n", v.By)
	case station.StateDifferences:
		fmt.Fprintf(w, "%d difference(s) between the entries: retype each from the paper form (tally station resolve)\n",
			len(v.Differences))
		printDifferences(w, v.Differences)
	case station.StateAgreed:
		errs := unconfirmed(v)
		switch {
		case len(errs) > 0:
			fmt.Fprintln(w, "the paper form carries errors; the chair confirms each before sealing (tally station confirm):")
			for _, f := range v.Findings {
				if f.Severity == election.SeverityError && !isConfirmed(v, f.Code) {
					fmt.Fprintf(w, "  %-10s %s\n", f.Code, findingText(f))
				}
			}
		case v.Photo == "":
			fmt.Fprintln(w, "next: attach the photo of the signed paper form (tally station photo), then seal")
		default:
			fmt.Fprintln(w, "next: seal with the chair's PIN (tally station seal)")
		}
	case station.StateSealed:
		if v.Receipt != nil {
			fmt.Fprintf(w, "the commission's receipt number %d is here\n", v.Receipt.Number)
		} else {
			fmt.Fprintln(w, "in the outbox until the commission's receipt arrives")
		}
	case station.StateReturned:
		fmt.Fprintf(w, "returned by the supervisor: %s\nnext: a corrected version (tally station correct)\n", v.Reason)
	case station.StateApproved:
		fmt.Fprintln(w, "approved by the supervisor")
	}
}

func printDifferences(w io.Writer, diffs []election.Difference) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  field\tfirst\tsecond")
	for _, d := range diffs {
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", d.Field, orEmpty(d.First), orEmpty(d.Second))
	}
	tw.Flush()
}

func orEmpty(s string) string {
	if s == "" {
		return "(empty)"
	}
	return s
}

// printView prints one form in full.
func printView(w io.Writer, v *station.FormView) {
	fmt.Fprintf(w, "form            %s, version %d\n", v.Key, v.Version)
	fmt.Fprintf(w, "state           %s\n", v.State)
	if v.EnteredBy != "" {
		fmt.Fprintf(w, "first entry     %s\n", v.EnteredBy)
	}
	if v.ReenteredBy != "" {
		fmt.Fprintf(w, "second entry    %s\n", v.ReenteredBy)
	}
	if v.Entry != 0 {
		fmt.Fprintf(w, "typing          the %s entry, by %s\n", v.Entry, v.By)
	}
	if v.Values != nil {
		fmt.Fprintln(w, "values")
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		row := func(f election.Field, label string) {
			text := "(empty)"
			if n, ok := v.Values[f]; ok {
				text = strconv.Itoa(n)
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\n", f, text, label)
		}
		if v.Layout != nil {
			for _, spec := range v.Layout.Fields {
				row(spec.ID, fieldLabel(v.Layout, spec))
			}
		}
		row(election.FieldMembers, membersLabel())
		tw.Flush()
	}
	if len(v.Differences) > 0 {
		fmt.Fprintln(w, "differences")
		printDifferences(w, v.Differences)
	}
	if len(v.Resolved) > 0 {
		fmt.Fprintln(w, "retyped")
		for _, f := range sortedFields(v.Resolved) {
			fmt.Fprintf(w, "  %s = %d\n", f, v.Resolved[f])
		}
	}
	if len(v.Findings) > 0 {
		fmt.Fprintln(w, "findings")
		for _, f := range v.Findings {
			fmt.Fprintf(w, "  %-7s %-14s %s\n", f.Severity, f.Code, findingText(f))
		}
	}
	for _, c := range v.Confirmed {
		fmt.Fprintf(w, "confirmed       %s: %s\n", c.Rule, c.Explanation)
	}
	if v.Remarks != "" {
		fmt.Fprintf(w, "remarks         %s\n", indentLines(v.Remarks))
	}
	if v.Objections != "" {
		fmt.Fprintf(w, "objections      %s\n", indentLines(v.Objections))
	}
	if v.Photo != "" {
		fmt.Fprintf(w, "photo           sha256 %s\n", v.Photo)
	}
	if len(v.Versions) > 0 {
		fmt.Fprintln(w, "sealed versions")
		for _, ver := range v.Versions {
			fmt.Fprintf(w, "  %d  %s  sequence %d  %s\n", ver.Version, localTime(ver.SealedAt), ver.Sequence, ver.Digest)
		}
	}
	if v.Receipt != nil {
		fmt.Fprintf(w, "receipt         number %d, received %s\n", v.Receipt.Number, localTime(v.Receipt.ReceivedAt))
	}
	if v.Reason != "" {
		fmt.Fprintf(w, "returned        %s\n", v.Reason)
	}
	printNext(w, v)
}

// fieldLabel says what a field of the form counts, from the English catalog.
func fieldLabel(l *election.Layout, spec election.FieldSpec) string {
	en, err := english()
	if err != nil {
		return ""
	}
	if spec.Entity == 0 {
		return en.T("field."+string(spec.ID), nil)
	}
	for _, e := range l.Contest.Entities {
		if e.Number != spec.Entity {
			continue
		}
		if spec.Candidate == 0 {
			return en.T("field.I", map[string]any{"Entity": e.Name})
		}
		for _, c := range e.Candidates {
			if c.Number == spec.Candidate {
				return en.T("field.K", map[string]any{"Candidate": c.Name, "Entity": e.Name})
			}
		}
	}
	return ""
}

func membersLabel() string {
	if en, err := english(); err == nil {
		return en.T("field.members", nil)
	}
	return ""
}

func indentLines(s string) string {
	return strings.ReplaceAll(s, "\n", "\n                ")
}

func sortedFields(m map[election.Field]int) []election.Field {
	out := make([]election.Field, 0, len(m))
	for f := range m {
		out = append(out, f)
	}
	slices.Sort(out)
	return out
}

// printStatus prints the station at a glance.
func printStatus(w io.Writer, st *station.Status) {
	fmt.Fprintf(w, "election        %s\n", st.Election)
	fmt.Fprintf(w, "station         %s, %s\n", st.Station, st.StationName)
	fmt.Fprintf(w, "station key     %s\n", st.Fingerprint)
	if th := st.Provisioned.Throttle; th.Failures > 0 {
		fmt.Fprintf(w, "PIN             %d wrong in a row", th.Failures)
		if th.NotBefore.After(time.Now()) {
			fmt.Fprintf(w, "; the next try from %s", localTime(th.NotBefore))
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintln(w, "forms")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  form\tstate\tversion\tsealed\treceived")
	for _, f := range st.Forms {
		received := "-"
		if f.Head != "" {
			received = "no"
			if f.Received {
				received = "yes"
			}
		}
		fmt.Fprintf(tw, "  %s\t%s\t%d\t%d\t%s\n", f.Key, f.State, f.Version, f.Sealed, received)
	}
	tw.Flush()
	fmt.Fprintf(w, "outbox          %d waiting\n", len(st.Outbox))
	for _, o := range st.Outbox {
		fmt.Fprintf(w, "  %s version %d, queued %s, %s\n", o.Key, o.Version, localTime(o.QueuedAt), o.Digest)
	}
	if r := st.LastReceipt; r != nil {
		fmt.Fprintf(w, "last receipt    number %d, received %s, for %s\n", r.Number, localTime(r.ReceivedAt), r.Submission)
	}
	for _, d := range st.Decisions {
		fmt.Fprintf(w, "decision        %s: %s %s\n", d.Key, d.Verdict, d.Reason)
	}
}
