package i18n

import (
	"bytes"
	"encoding/json"
)

// fyneWords maps the words Fyne's own dialogs use to catalog keys.
var fyneWords = map[string]string{
	"OK":     "dialog.ok",
	"Cancel": "dialog.cancel",
	"Yes":    "dialog.yes",
	"No":     "dialog.no",
	"Error":  "severity.error",
}

// FyneTranslations returns, for the language with the given tag, the
// translations of the words Fyne's own dialogs show ("OK", "Cancel",
// "Yes", "No", "Error") as a JSON document in the go-i18n format that
// fyne.io/fyne/v2/lang reads. Fyne infers the language from the resource
// name, so hand it over as "<tag>.json" (lang.AddTranslations) or with
// lang.AddTranslationsForLocale.
func FyneTranslations(tag string) ([]byte, error) {
	l, err := New(tag)
	if err != nil {
		return nil, err
	}
	words := make(map[string]string, len(fyneWords))
	for word, key := range fyneWords {
		words[word] = l.T(key, nil)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(words); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
