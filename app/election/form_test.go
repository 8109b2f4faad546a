package election_test

import (
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tally/app/election"
)

// inputError asserts that err is an *election.InputError for the field
// with the key, and that its message names the field (or, for the same
// typist twice, the person).
func inputError(tb testing.TB, err error, field election.Field, key string) *election.InputError {
	tb.Helper()
	var ie *election.InputError
	require.ErrorAs(tb, err, &ie)
	assert.Equal(tb, field, ie.Field)
	assert.Equal(tb, key, ie.Key)
	if key == election.InputSamePerson {
		assert.Contains(tb, err.Error(), ie.Args["Name"], "the message names the person")
	} else {
		assert.Contains(tb, err.Error(), string(field), "the message names the field")
	}
	assert.Equal(tb, string(field), ie.Data()["Field"], "the template data names the field")
	return ie
}

func TestParseCount(t *testing.T) {
	max := strconv.Itoa(election.MaxCount)
	thirty := strings.Repeat("123456789", 3) + "123"
	for _, c := range []struct {
		name string
		in   string
		want int
		key  string
		args map[string]any
	}{
		{name: "zero", in: "0", want: 0},
		{name: "spaces around", in: " 42 ", want: 42},
		{name: "tab and newline around", in: "\t13\n", want: 13},
		{name: "leading zeros", in: "007", want: 7},
		{name: "many leading zeros", in: strings.Repeat("0", 40) + "9", want: 9},
		{name: "MaxCount", in: max, want: election.MaxCount},

		{name: "empty", in: "", key: election.InputRequired},
		{name: "only spaces", in: "   ", key: election.InputRequired},
		{name: "negative", in: "-1", key: election.InputNegative},
		{name: "minus zero", in: "-0", key: election.InputNegative},
		{name: "decimal", in: "4.2", key: election.InputNotANumber, args: map[string]any{"Value": "4.2"}},
		{name: "exponent", in: "1e3", key: election.InputNotANumber, args: map[string]any{"Value": "1e3"}},
		{name: "letters", in: "abc", key: election.InputNotANumber, args: map[string]any{"Value": "abc"}},
		{name: "plus sign", in: "+5", key: election.InputNotANumber, args: map[string]any{"Value": "+5"}},
		{name: "minus alone", in: "-", key: election.InputNotANumber, args: map[string]any{"Value": "-"}},
		{name: "minus letters", in: "-x", key: election.InputNotANumber, args: map[string]any{"Value": "-x"}},
		{name: "space inside", in: "1 000", key: election.InputNotANumber, args: map[string]any{"Value": "1 000"}},
		{name: "Arabic-Indic digit", in: "٣", key: election.InputNotANumber, args: map[string]any{"Value": "٣"}},
		{name: "fullwidth digit", in: "５", key: election.InputNotANumber, args: map[string]any{"Value": "５"}},
		{name: "MaxCount+1", in: strconv.Itoa(election.MaxCount + 1), key: election.InputTooLarge,
			args: map[string]any{"Value": "10000000", "Max": election.MaxCount}},
		{name: "30 digits", in: thirty, key: election.InputTooLarge,
			args: map[string]any{"Value": thirty, "Max": election.MaxCount}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := election.ParseCount("C", c.in)
			if c.key == "" {
				require.NoError(t, err)
				assert.Equal(t, c.want, got)
				return
			}
			ie := inputError(t, err, "C", c.key)
			assert.Equal(t, c.args, ie.Args)
			assert.Zero(t, got)
		})
	}
}

func TestParseCountMembers(t *testing.T) {
	n, err := election.ParseCount(election.FieldMembers, strconv.Itoa(election.MaxMembers))
	require.NoError(t, err)
	assert.Equal(t, election.MaxMembers, n)

	_, err = election.ParseCount(election.FieldMembers, strconv.Itoa(election.MaxMembers+1))
	ie := inputError(t, err, election.FieldMembers, election.InputTooLarge)
	assert.Equal(t, election.MaxMembers, ie.Args["Max"])
}

func TestNormalizeText(t *testing.T) {
	for _, c := range []struct {
		name string
		in   string
		max  int
		want string
		key  string
	}{
		{name: "plain", in: "Numërimi përfundoi.", max: 100, want: "Numërimi përfundoi."},
		{name: "NFC", in: "e\u0301", max: 100, want: "\u00e9"},
		{name: "NFC in Cyrillic", in: "\u0438\u0306", max: 100, want: "\u0439"},
		{name: "CRLF to LF", in: "one\r\ntwo\r\n\r\nthree", max: 100, want: "one\ntwo\n\nthree"},
		{name: "trimmed", in: " \t\n kutia u vulos \n\t ", max: 100, want: "kutia u vulos"},
		{name: "tab and newline inside", in: "a\tb\nc", max: 100, want: "a\tb\nc"},
		{name: "empty", in: "", max: 100, want: ""},
		{name: "only spaces", in: " \r\n ", max: 100, want: ""},
		{name: "exactly max characters", in: strings.Repeat("ë", 10), max: 10, want: strings.Repeat("ë", 10)},
		{name: "max characters once composed", in: strings.Repeat("e\u0301", 10), max: 10, want: strings.Repeat("é", 10)},
		{name: "max characters after trimming", in: "  " + strings.Repeat("x", 10) + "  ", max: 10, want: strings.Repeat("x", 10)},

		{name: "NUL", in: "a\x00b", max: 100, key: election.InputBadText},
		{name: "escape", in: "a\x1b[31mb", max: 100, key: election.InputBadText},
		{name: "lone CR", in: "a\rb", max: 100, key: election.InputBadText},
		{name: "C1 control", in: "a\u0085b", max: 100, key: election.InputBadText},
		{name: "DEL", in: "a\x7fb", max: 100, key: election.InputBadText},
		{name: "private use", in: "a\ue000b", max: 100, key: election.InputBadText},
		{name: "replacement character", in: "a\ufffdb", max: 100, key: election.InputBadText},
		{name: "invalid UTF-8", in: "a\xffb", max: 100, key: election.InputBadText},
		{name: "truncated UTF-8", in: "\xc3", max: 100, key: election.InputBadText},
		{name: "one character too many", in: strings.Repeat("ë", 11), max: 10, key: election.InputTooLong},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := election.NormalizeText(election.FieldRemarks, c.in, c.max)
			if c.key == "" {
				require.NoError(t, err)
				assert.Equal(t, c.want, got)
				again, err := election.NormalizeText(election.FieldRemarks, got, c.max)
				require.NoError(t, err)
				assert.Equal(t, got, again, "normalising twice changes nothing")
				return
			}
			ie := inputError(t, err, election.FieldRemarks, c.key)
			if c.key == election.InputTooLong {
				assert.Equal(t, map[string]any{"Max": c.max}, ie.Args)
			}
			assert.Empty(t, got)
		})
	}
}

func TestCheckPhotoHash(t *testing.T) {
	good := photoHash(stationCode)
	for _, c := range []struct {
		name string
		in   string
		ok   bool
	}{
		{"SHA-256 in lowercase hex", good, true},
		{"all zeros", strings.Repeat("0", 64), true},
		{"empty", "", false},
		{"uppercase", strings.ToUpper(good), false},
		{"one short", good[:63], false},
		{"one long", good + "0", false},
		{"not hex", "g" + good[1:], false},
		{"base64", "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=", false},
		{"multibyte", "é" + good[2:], false},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := election.CheckPhotoHash(c.in)
			if c.ok {
				assert.NoError(t, err)
				return
			}
			inputError(t, err, election.FieldPhoto, election.InputBadHash)
		})
	}
}

func TestFormCheck(t *testing.T) {
	d := testDefinition(t)

	t.Run("OK", func(t *testing.T) {
		for _, f := range []*election.Form{cleanResultsForm(), cleanCandidatesForm()} {
			l, s, err := f.Check(d)
			require.NoError(t, err)
			assert.Equal(t, f.Kind, l.Form)
			assert.Equal(t, contestCode, l.Contest.Code)
			assert.Equal(t, f.Station, s.Code)
		}
	})
	t.Run("OK with empty fields", func(t *testing.T) {
		f := cleanResultsForm()
		f.Counts = map[election.Field]int{"A": registered}
		f.Remarks, f.PhotoSHA256, f.ReenteredBy = "", "", ""
		_, _, err := f.Check(d)
		assert.NoError(t, err, "missing counts are for the rules to report")
	})

	for _, c := range []struct {
		name  string
		form  func() *election.Form
		edit  func(f *election.Form)
		field string // named in the message
		key   string // for an *election.InputError
		args  map[string]any
	}{
		{name: "wrong election", form: cleanResultsForm, field: "election",
			edit: func(f *election.Form) { f.Election = "another-election" }},
		{name: "unknown station", form: cleanResultsForm, field: "station",
			edit: func(f *election.Form) { f.Station = "09999Z" }},
		{name: "results form of a counting centre", form: cleanResultsForm, field: countingCode,
			edit: func(f *election.Form) { f.Station = countingCode }},
		{name: "candidates form of a polling station", form: cleanCandidatesForm, field: stationCode,
			edit: func(f *election.Form) { f.Station = stationCode }},
		{name: "unknown contest", form: cleanResultsForm, field: "MAY-01",
			edit: func(f *election.Form) { f.Contest = "MAY-01" }},
		{name: "unknown form", form: cleanResultsForm, field: "form",
			edit: func(f *election.Form) { f.Kind = "ballots" }},
		{name: "unknown entity", form: cleanResultsForm, field: "I.9", key: election.InputUnknownField,
			edit: func(f *election.Form) { f.Counts["I.9"] = 1 }},
		{name: "unknown field", form: cleanResultsForm, field: "Z", key: election.InputUnknownField,
			edit: func(f *election.Form) { f.Counts["Z"] = 1 }},
		{name: "lowercase field", form: cleanResultsForm, field: "a", key: election.InputUnknownField,
			edit: func(f *election.Form) { f.Counts["a"] = registered }},
		{name: "candidate field on the results form", form: cleanResultsForm, field: "K.1.1", key: election.InputUnknownField,
			edit: func(f *election.Form) { f.Counts["K.1.1"] = 1 }},
		{name: "reconciliation field on the candidates form", form: cleanCandidatesForm, field: "H", key: election.InputUnknownField,
			edit: func(f *election.Form) { f.Counts["H"] = 1 }},
		{name: "unknown candidate", form: cleanCandidatesForm, field: "K.3.2", key: election.InputUnknownField,
			edit: func(f *election.Form) { f.Counts["K.3.2"] = 1 }},
		{name: "count above MaxCount", form: cleanResultsForm, field: "C", key: election.InputTooLarge,
			args: map[string]any{"Value": election.MaxCount + 1, "Max": election.MaxCount},
			edit: func(f *election.Form) { f.Counts["C"] = election.MaxCount + 1 }},
		{name: "negative count", form: cleanResultsForm, field: "B", key: election.InputNegative,
			edit: func(f *election.Form) { f.Counts["B"] = -1 }},
		{name: "members above MaxMembers", form: cleanResultsForm, field: "members", key: election.InputTooLarge,
			args: map[string]any{"Value": election.MaxMembers + 1, "Max": election.MaxMembers},
			edit: func(f *election.Form) { f.Members = election.MaxMembers + 1 }},
		{name: "negative members", form: cleanResultsForm, field: "members", key: election.InputNegative,
			edit: func(f *election.Form) { f.Members = -1 }},
		{name: "remarks not NFC", form: cleanResultsForm, field: "remarks", key: election.InputBadText,
			edit: func(f *election.Form) { f.Remarks = "Kutia e vulose\u0301" }},
		{name: "remarks not trimmed", form: cleanResultsForm, field: "remarks", key: election.InputBadText,
			edit: func(f *election.Form) { f.Remarks = "ok " }},
		{name: "remarks with CRLF", form: cleanResultsForm, field: "remarks", key: election.InputBadText,
			edit: func(f *election.Form) { f.Remarks = "one\r\ntwo" }},
		{name: "remarks too long", form: cleanResultsForm, field: "remarks", key: election.InputTooLong,
			args: map[string]any{"Max": election.MaxTextLength},
			edit: func(f *election.Form) { f.Remarks = strings.Repeat("ë", election.MaxTextLength+1) }},
		{name: "objections with a control character", form: cleanResultsForm, field: "objections", key: election.InputBadText,
			edit: func(f *election.Form) { f.Objections = "a\x07b" }},
		{name: "entered by too long", form: cleanResultsForm, field: "entered_by", key: election.InputTooLong,
			args: map[string]any{"Max": election.MaxPersonLength},
			edit: func(f *election.Form) { f.EnteredBy = strings.Repeat("A", election.MaxPersonLength+1) }},
		{name: "photo hash in uppercase", form: cleanResultsForm, field: "photo", key: election.InputBadHash,
			edit: func(f *election.Form) { f.PhotoSHA256 = strings.ToUpper(f.PhotoSHA256) }},
		{name: "photo hash too short", form: cleanResultsForm, field: "photo", key: election.InputBadHash,
			edit: func(f *election.Form) { f.PhotoSHA256 = f.PhotoSHA256[:32] }},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := c.form()
			c.edit(f)
			l, s, err := f.Check(d)
			require.Error(t, err)
			assert.Nil(t, l)
			assert.Nil(t, s)
			assert.Contains(t, err.Error(), c.field, "the message names the field")
			var ie *election.InputError
			if c.key == "" {
				assert.False(t, errors.As(err, &ie), "not an input error: %v", err)
				return
			}
			ie = inputError(t, err, election.Field(c.field), c.key)
			if c.args != nil {
				assert.Equal(t, c.args, ie.Args)
			}
		})
	}
}

func TestInputErrorMessages(t *testing.T) {
	for _, key := range []string{
		election.InputRequired, election.InputNotANumber, election.InputNegative, election.InputTooLarge,
		election.InputTooLong, election.InputBadText, election.InputUnknownField, election.InputBadHash,
	} {
		t.Run(key, func(t *testing.T) {
			err := &election.InputError{Field: "K.12.3", Key: key, Args: map[string]any{"Value": "x", "Max": 1}}
			assert.Contains(t, err.Error(), "K.12.3")
			assert.NotContains(t, err.Error(), key, "a sentence, not the bare catalog key")
		})
	}
}
