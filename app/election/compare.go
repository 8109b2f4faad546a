package election

import (
	"strconv"
	"strings"
)

// Difference is one field whose two entries disagree. A value is the typed
// number, or "" where that entry left the field empty.
type Difference struct {
	Field  Field
	First  string
	Second string
}

// Compare returns, in the order of the paper form, every count field (and
// the members present) on which the first and second entry differ. Text is
// typed once and not compared. The two entries agree when it returns none.
func Compare(l *Layout, first, second *Form) []Difference {
	var out []Difference
	for _, spec := range l.Fields {
		a, aok := first.Counts[spec.ID]
		b, bok := second.Counts[spec.ID]
		if a != b || aok != bok {
			out = append(out, Difference{Field: spec.ID, First: countText(a, aok), Second: countText(b, bok)})
		}
	}
	if first.Members != second.Members {
		out = append(out, Difference{Field: FieldMembers,
			First: strconv.Itoa(first.Members), Second: strconv.Itoa(second.Members)})
	}
	return out
}

func countText(n int, ok bool) string {
	if !ok {
		return ""
	}
	return strconv.Itoa(n)
}

// CheckSecondTypist refuses a second entry typed by the first entry's
// typist. Names are compared after normalisation, without regard to case
// or to how many spaces separate their words.
func CheckSecondTypist(first, second string) error {
	a, errA := NormalizeText(FieldEnteredBy, first, MaxPersonLength)
	b, errB := NormalizeText(FieldEnteredBy, second, MaxPersonLength)
	if errA != nil {
		return errA
	}
	if errB != nil {
		return errB
	}
	if a == "" || b == "" {
		return &InputError{Field: FieldEnteredBy, Key: InputRequired}
	}
	if foldEqual(strings.Join(strings.Fields(a), " "), strings.Join(strings.Fields(b), " ")) {
		return &InputError{Field: FieldEnteredBy, Key: InputSamePerson, Args: map[string]any{"Name": a}}
	}
	return nil
}
