package election_test

import (
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"

	"tally/app/election"
)

func TestCompare(t *testing.T) {
	for _, c := range []struct {
		name   string
		form   func() *election.Form
		first  func(f *election.Form)
		second func(f *election.Form)
		want   []election.Difference
	}{
		{name: "identical", form: cleanResultsForm},
		{name: "identical candidates", form: cleanCandidatesForm},
		{name: "one count differs", form: cleanResultsForm,
			second: func(f *election.Form) { f.Counts["C"] = 651 },
			want:   []election.Difference{{Field: "C", First: "650", Second: "651"}}},
		{name: "zero against a number", form: cleanResultsForm,
			first: func(f *election.Form) { f.Counts["G"] = 0 },
			want:  []election.Difference{{Field: "G", First: "0", Second: "8"}}},
		{name: "empty in the second entry", form: cleanResultsForm,
			second: func(f *election.Form) { delete(f.Counts, "I.2") },
			want:   []election.Difference{{Field: "I.2", First: "140", Second: ""}}},
		{name: "zero in the first, empty in the second", form: cleanResultsForm,
			first:  func(f *election.Form) { f.Counts["E"] = 0 },
			second: func(f *election.Form) { delete(f.Counts, "E") },
			want:   []election.Difference{{Field: "E", First: "0", Second: ""}}},
		{name: "empty in the first entry", form: cleanCandidatesForm,
			first: func(f *election.Form) { delete(f.Counts, "K.1.3") },
			want:  []election.Difference{{Field: "K.1.3", First: "", Second: "455"}}},
		{name: "empty in both", form: cleanResultsForm,
			first:  func(f *election.Form) { delete(f.Counts, "D") },
			second: func(f *election.Form) { delete(f.Counts, "D") }},
		{name: "members differ", form: cleanResultsForm,
			second: func(f *election.Form) { f.Members = 4 },
			want:   []election.Difference{{Field: election.FieldMembers, First: "5", Second: "4"}}},
		{name: "in the order of the form", form: cleanCandidatesForm,
			first: func(f *election.Form) { f.Members = 6 },
			second: func(f *election.Form) {
				f.Counts["K.3.1"], f.Counts["I.1"], f.Counts["K.2.1"] = 59, 1020, 350
				delete(f.Counts, "K.1.2")
			},
			want: []election.Difference{
				{Field: "I.1", First: "1200", Second: "1020"},
				{Field: "K.1.2", First: "610", Second: ""},
				{Field: "K.2.1", First: "530", Second: "350"},
				{Field: "K.3.1", First: "95", Second: "59"},
				{Field: election.FieldMembers, First: "6", Second: "7"},
			}},
		{name: "reconciliation before entities", form: cleanResultsForm,
			second: func(f *election.Form) { f.Counts["I.3"], f.Counts["H"], f.Counts["A"] = 24, 374, 0 },
			want: []election.Difference{
				{Field: "A", First: "600", Second: "0"},
				{Field: "H", First: "392", Second: "374"},
				{Field: "I.3", First: "42", Second: "24"},
			}},
		{name: "text is not compared", form: cleanResultsForm,
			second: func(f *election.Form) {
				f.Remarks, f.Objections = "Another remark.", "An objection."
				f.PhotoSHA256, f.EnteredBy, f.ReenteredBy = "", "Driton Shala", "Arta Berisha"
			}},
	} {
		t.Run(c.name, func(t *testing.T) {
			first, second := c.form(), c.form()
			if c.first != nil {
				c.first(first)
			}
			if c.second != nil {
				c.second(second)
			}
			l := layoutOf(t, first.Kind)
			assert.Equal(t, c.want, election.Compare(l, first, second))

			// Swapping the entries swaps the sides of every difference.
			var swapped []election.Difference
			for _, d := range c.want {
				swapped = append(swapped, election.Difference{Field: d.Field, First: d.Second, Second: d.First})
			}
			assert.Equal(t, swapped, election.Compare(l, second, first))
		})
	}
}

func TestCheckSecondTypist(t *testing.T) {
	for _, c := range []struct {
		name          string
		first, second string
		key           string // "" when the second typist is accepted
		args          map[string]any
	}{
		{name: "different people", first: "Arta Berisha", second: "Driton Shala"},
		{name: "same first name", first: "Arta Berisha", second: "Arta Krasniqi"},
		{name: "one name contains the other", first: "Arta Berisha", second: "Arta Berisha-Gashi"},

		{name: "same name", first: "Arta Berisha", second: "Arta Berisha",
			key: election.InputSamePerson, args: map[string]any{"Name": "Arta Berisha"}},
		{name: "differently cased", first: "Arta Berisha", second: "ARTA berisha",
			key: election.InputSamePerson, args: map[string]any{"Name": "Arta Berisha"}},
		{name: "spaces around", first: "  Arta Berisha\t", second: "Arta Berisha",
			key: election.InputSamePerson, args: map[string]any{"Name": "Arta Berisha"}},
		{name: "spaces inside", first: "Arta Berisha", second: "Arta  Berisha",
			key: election.InputSamePerson, args: map[string]any{"Name": "Arta Berisha"}},
		{name: "no-break space inside", first: "Arta\u00a0Berisha", second: "arta berisha",
			key: election.InputSamePerson, args: map[string]any{"Name": "Arta\u00a0Berisha"}},
		{name: "decomposed", first: "Zoë Rexhepi", second: "Zoe\u0308 Rexhepi",
			key: election.InputSamePerson, args: map[string]any{"Name": "Zoë Rexhepi"}},
		{name: "decomposed and cased", first: "ÇELIK ÖZTÜRK", second: "c\u0327elik o\u0308ztu\u0308rk",
			key: election.InputSamePerson, args: map[string]any{"Name": "ÇELIK ÖZTÜRK"}},
		{name: "Cyrillic cased", first: "Милица Јовановић", second: "МИЛИЦА ЈОВАНОВИЋ",
			key: election.InputSamePerson, args: map[string]any{"Name": "Милица Јовановић"}},

		{name: "first empty", first: "", second: "Arta Berisha", key: election.InputRequired},
		{name: "second empty", first: "Arta Berisha", second: "", key: election.InputRequired},
		{name: "second only spaces", first: "Arta Berisha", second: " \t ", key: election.InputRequired},
		{name: "control character", first: "Arta Berisha", second: "Arta\x00Berisha", key: election.InputBadText},
		{name: "too long", first: strings.Repeat("A", election.MaxPersonLength+1), second: "Arta Berisha",
			key: election.InputTooLong, args: map[string]any{"Max": election.MaxPersonLength}},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := election.CheckSecondTypist(c.first, c.second)
			if c.key == "" {
				assert.NoError(t, err)
				return
			}
			ie := inputError(t, err, election.FieldEnteredBy, c.key)
			if c.args != nil {
				assert.Equal(t, c.args, ie.Args)
			}
		})
	}
}

// TestCheckSecondTypistConcurrent: stations and the server check typists
// from many goroutines at once; with -race this catches shared state.
func TestCheckSecondTypistConcurrent(t *testing.T) {
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 100 {
				assert.Error(t, election.CheckSecondTypist("Zoë Rexhepi", "ZOE\u0308 REXHEPI"))
				assert.NoError(t, election.CheckSecondTypist("Arta Berisha", "Driton Shala"))
			}
		})
	}
	wg.Wait()
}
