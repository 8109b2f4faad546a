package election

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Field names one box of a paper form: "A" to "H", "I.n" (votes for the
// entity with ballot number n) and "K.n.m" (preference votes for candidate
// m of entity n). The pseudo-fields below name the rest of the form.
type Field string

// Pseudo-fields: parts of the form that are not counts.
const (
	FieldMembers    Field = "members"
	FieldRemarks    Field = "remarks"
	FieldObjections Field = "objections"
	FieldPhoto      Field = "photo"
	FieldEnteredBy  Field = "entered_by"
	FieldReentered  Field = "reentered_by"
)

// The reconciliation fields of the station results form.
const (
	FieldA Field = "A" // voters on the final voters list
	FieldB Field = "B" // voters who signed the list
	FieldC Field = "C" // ballots received
	FieldD Field = "D" // unused ballots
	FieldE Field = "E" // spoiled ballots
	FieldF Field = "F" // ballots found in the box
	FieldG Field = "G" // invalid ballots, blank included
	FieldH Field = "H" // valid ballots
)

// EntityField is the field of the votes for entity n.
func EntityField(n int) Field { return Field("I." + strconv.Itoa(n)) }

// CandidateField is the field of the preference votes for candidate m of
// entity n.
func CandidateField(n, m int) Field {
	return Field("K." + strconv.Itoa(n) + "." + strconv.Itoa(m))
}

// Input limits of a form.
const (
	// MaxCount bounds every count: seven boxes on the paper form, enough
	// for a counting centre's municipal totals.
	MaxCount = 9_999_999
	// MaxMembers bounds the commission members present.
	MaxMembers = 30
	// MaxTextLength bounds remarks and objections, in characters.
	MaxTextLength = 4000
	// MaxPersonLength bounds a commissioner's name.
	MaxPersonLength = 100
	// MinMembers is how many members are expected to sign the form.
	MinMembers = 3
)

// Form is what one entry of one paper form holds.
type Form struct {
	Election string        `json:"election"`
	Station  string        `json:"station"`
	Contest  string        `json:"contest"`
	Kind     FormKind      `json:"form"`
	Counts   map[Field]int `json:"counts"`
	Members  int           `json:"members_present"`
	// Remarks and objections are typed once, with the first entry; the
	// second entry compares the numbers only.
	Remarks     string `json:"remarks,omitempty"`
	Objections  string `json:"objections,omitempty"`
	PhotoSHA256 string `json:"photo_sha256,omitempty"`
	EnteredBy   string `json:"entered_by"`
	ReenteredBy string `json:"reentered_by,omitempty"`
}

// FieldSpec is one field of a layout, in the order of the paper form.
type FieldSpec struct {
	ID        Field
	Entity    int // the entity's ballot number, for I and K fields
	Candidate int // the candidate's list number, for K fields
}

// Layout is the list of count fields of one form of one contest, in the
// order of the paper form, with everything the rules need precomputed.
type Layout struct {
	Contest *Contest
	Form    FormKind
	Fields  []FieldSpec

	has        map[Field]bool
	entities   []Field   // I.n, in ballot order
	candidates [][]Field // K.n.m per entity, in list order
}

type layoutKey struct {
	contest string
	form    FormKind
}

var reconciliation = []Field{FieldA, FieldB, FieldC, FieldD, FieldE, FieldF, FieldG, FieldH}

func newLayout(c *Contest, form FormKind) *Layout {
	l := &Layout{Contest: c, Form: form, has: map[Field]bool{}}
	add := func(s FieldSpec) {
		l.Fields = append(l.Fields, s)
		l.has[s.ID] = true
	}
	if form == ResultsForm {
		for _, f := range reconciliation {
			add(FieldSpec{ID: f})
		}
	}
	for _, e := range c.Entities {
		ef := EntityField(e.Number)
		l.entities = append(l.entities, ef)
		add(FieldSpec{ID: ef, Entity: e.Number})
		var cands []Field
		if form == CandidatesForm {
			for _, cand := range e.Candidates {
				cf := CandidateField(e.Number, cand.Number)
				cands = append(cands, cf)
				add(FieldSpec{ID: cf, Entity: e.Number, Candidate: cand.Number})
			}
		}
		l.candidates = append(l.candidates, cands)
	}
	return l
}

// Layout returns the layout of a contest's form.
func (d *Definition) Layout(contest string, form FormKind) (*Layout, error) {
	l, ok := d.index.layouts[layoutKey{contest, form}]
	if !ok {
		return nil, fmt.Errorf("election: contest %q has no %q form", contest, form)
	}
	return l, nil
}

// Has reports whether the field is a count field of this form.
func (l *Layout) Has(f Field) bool { return l.has[f] }

// InputError refuses one typed value. Key names the catalog message
// ("input.…"); Args fill it, the field included.
type InputError struct {
	Field Field
	Key   string
	Args  map[string]any
}

// Input error keys.
const (
	InputRequired     = "input.required"
	InputNotANumber   = "input.not-a-number"
	InputNegative     = "input.negative"
	InputTooLarge     = "input.too-large"
	InputTooLong      = "input.too-long"
	InputBadText      = "input.bad-text"
	InputUnknownField = "input.unknown-field"
	InputBadHash      = "input.bad-hash"
	InputSamePerson   = "input.same-person"
	// The photo of the paper form: none attached, too large, not a
	// JPEG, PNG or PDF file.
	InputPhotoMissing  = "input.photo-missing"
	InputPhotoTooLarge = "input.photo-too-large"
	InputPhotoFormat   = "input.photo-format"
)

// Data is the template data of the message.
func (e *InputError) Data() map[string]any {
	d := map[string]any{"Field": string(e.Field)}
	for k, v := range e.Args {
		d[k] = v
	}
	return d
}

func (e *InputError) Error() string {
	switch e.Key {
	case InputRequired:
		return fmt.Sprintf("%s: a number is required", e.Field)
	case InputNotANumber:
		return fmt.Sprintf("%s: %q is not a whole number", e.Field, e.Args["Value"])
	case InputNegative:
		return fmt.Sprintf("%s: the number cannot be negative", e.Field)
	case InputTooLarge:
		return fmt.Sprintf("%s: %v is more than the largest allowed number (%v)", e.Field, e.Args["Value"], e.Args["Max"])
	case InputTooLong:
		return fmt.Sprintf("%s: the text is longer than %v characters", e.Field, e.Args["Max"])
	case InputBadText:
		return fmt.Sprintf("%s: the text contains characters that are not allowed", e.Field)
	case InputUnknownField:
		return fmt.Sprintf("%s is not a field of this form", e.Field)
	case InputBadHash:
		return fmt.Sprintf("%s: not a SHA-256 hash (64 lowercase hexadecimal characters)", e.Field)
	case InputPhotoMissing:
		return "photo: the photo or scan of the signed paper form is missing"
	case InputPhotoTooLarge:
		return fmt.Sprintf("photo: the file is larger than %v MiB", e.Args["Max"])
	case InputPhotoFormat:
		return "photo: the file is not a JPEG, PNG or PDF"
	case InputSamePerson:
		return fmt.Sprintf("the second entry must be typed by a different commissioner than the first (%v)", e.Args["Name"])
	}
	return fmt.Sprintf("%s: %s", e.Field, e.Key)
}

// ParseCount reads a typed count: digits only, surrounding spaces ignored.
func ParseCount(f Field, text string) (int, error) {
	s := strings.TrimSpace(text)
	if s == "" {
		return 0, &InputError{Field: f, Key: InputRequired}
	}
	if s[0] == '-' && len(s) > 1 && isDigits(s[1:]) {
		return 0, &InputError{Field: f, Key: InputNegative}
	}
	if !isDigits(s) {
		return 0, &InputError{Field: f, Key: InputNotANumber, Args: map[string]any{"Value": s}}
	}
	if len(strings.TrimLeft(s, "0")) > len(strconv.Itoa(MaxCount)) {
		return 0, &InputError{Field: f, Key: InputTooLarge, Args: map[string]any{"Value": s, "Max": MaxCount}}
	}
	n, _ := strconv.Atoi(s)
	return n, checkCount(f, n)
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

func checkCount(f Field, n int) error {
	max := MaxCount
	if f == FieldMembers {
		max = MaxMembers
	}
	switch {
	case n < 0:
		return &InputError{Field: f, Key: InputNegative}
	case n > max:
		return &InputError{Field: f, Key: InputTooLarge, Args: map[string]any{"Value": n, "Max": max}}
	}
	return nil
}

// NormalizeText prepares typed text for a form: NFC, line endings as \n,
// surrounding space trimmed. Control characters other than newline and tab
// are refused, and so is text longer than max characters.
func NormalizeText(f Field, s string, max int) (string, error) {
	if !utf8.ValidString(s) {
		return "", &InputError{Field: f, Key: InputBadText}
	}
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.TrimSpace(norm.NFC.String(s))
	if strings.IndexFunc(s, badTextRune) >= 0 {
		return "", &InputError{Field: f, Key: InputBadText}
	}
	if utf8.RuneCountInString(s) > max {
		return "", &InputError{Field: f, Key: InputTooLong, Args: map[string]any{"Max": max}}
	}
	return s, nil
}

func badTextRune(r rune) bool {
	return (unicode.IsControl(r) && r != '\n' && r != '\t') || r == utf8.RuneError ||
		unicode.Is(unicode.Cs, r) || unicode.Is(unicode.Co, r)
}

// checkStoredText verifies text that should already have gone through
// NormalizeText, as it arrives in a sealed submission.
func checkStoredText(f Field, s string, max int) error {
	n, err := NormalizeText(f, s, max)
	if err != nil {
		return err
	}
	if n != s {
		return &InputError{Field: f, Key: InputBadText}
	}
	return nil
}

// CheckPhotoHash accepts the SHA-256 of the paper form's photo as 64
// lowercase hexadecimal characters.
func CheckPhotoHash(s string) error {
	if len(s) != 64 || strings.IndexFunc(s, func(r rune) bool {
		return !('0' <= r && r <= '9' || 'a' <= r && r <= 'f')
	}) >= 0 {
		return &InputError{Field: FieldPhoto, Key: InputBadHash}
	}
	return nil
}

// Check verifies a form's structure against the definition: the station
// fills this form, every count is a field of it and within bounds, and
// the text is normalised and bounded. Counts may be missing: the
// validation rules report those.
func (f *Form) Check(d *Definition) (*Layout, *Station, error) {
	if f.Election != d.Election.ID {
		return nil, nil, fmt.Errorf("form: election %q is not %q", f.Election, d.Election.ID)
	}
	s, ok := d.Station(f.Station)
	if !ok {
		return nil, nil, fmt.Errorf("form: unknown station %q", f.Station)
	}
	if !s.Fills(f.Contest, f.Kind) {
		return nil, nil, fmt.Errorf("form: station %s does not fill a %q form for contest %q", f.Station, f.Kind, f.Contest)
	}
	l, err := d.Layout(f.Contest, f.Kind)
	if err != nil {
		return nil, nil, err
	}
	for field, n := range f.Counts {
		if !l.Has(field) {
			return nil, nil, &InputError{Field: field, Key: InputUnknownField}
		}
		if err := checkCount(field, n); err != nil {
			return nil, nil, err
		}
	}
	if err := checkCount(FieldMembers, f.Members); err != nil {
		return nil, nil, err
	}
	for _, t := range []struct {
		field Field
		text  string
		max   int
	}{
		{FieldRemarks, f.Remarks, MaxTextLength},
		{FieldObjections, f.Objections, MaxTextLength},
		{FieldEnteredBy, f.EnteredBy, MaxPersonLength},
		{FieldReentered, f.ReenteredBy, MaxPersonLength},
	} {
		if err := checkStoredText(t.field, t.text, t.max); err != nil {
			return nil, nil, err
		}
	}
	if f.PhotoSHA256 != "" {
		if err := CheckPhotoHash(f.PhotoSHA256); err != nil {
			return nil, nil, err
		}
	}
	return l, s, nil
}
