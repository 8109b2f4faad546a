// Package i18n holds Tally's message catalogs and formats numbers and
// dates for the chosen language.
//
// Albanian ("sq") is the default language. Serbian in Latin ("sr-Latn")
// and Cyrillic ("sr-Cyrl") script, English ("en") and Turkish ("tr") are
// complete alternatives. Every user-visible string comes from the catalogs
// in catalog/, which are embedded in the binary:
//
//	l, err := i18n.New("sq")
//	...
//	l.T("field.C", nil)
//	l.T("input.negative", map[string]any{"Field": "C"})
//	l.N("entry.differences", 3, nil)
//
// A catalog is one flat JSON object. A value is either a string or, for a
// counted message, an object of CLDR plural forms ("one", "few", "other",
// …). Values are Go templates with named fields such as {{.Field}}; the
// same fields must appear in every language. Numbers that go into a
// message should be formatted first with [Localizer.Int] or
// [Localizer.Percent].
//
// # Adding or changing a message
//
//  1. Add the key with its text to every catalog except sr-Cyrl.json:
//     sq.json, sr-Latn.json, en.json and tr.json. Keep the keys sorted.
//  2. Run `go generate ./i18n`. It writes catalog/sr-Cyrl.json from
//     catalog/sr-Latn.json by transliteration (see [LatinToCyrillic]).
//     Never edit sr-Cyrl.json by hand: a test fails when it differs from
//     what the generator writes.
//  3. Run `go test ./i18n`. The tests check that every catalog has the same
//     keys, the same template fields and the plural forms its language
//     needs.
//
// In Serbian Latin text, do not start a sentence with the words "A", "I"
// or "K": a standalone capital letter from A to K reads as a field code of
// the results form and is left in Latin script by the transliteration.
package i18n

//go:generate go run ./gen
