package i18n

import (
	"embed"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"

	goi18n "github.com/nicksnyder/go-i18n/v2/i18n"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

// Default is the tag of the default language, Albanian.
const Default = "sq"

// Language is one language the catalogs are written in.
type Language struct {
	// Tag is the BCP 47 tag, e.g. "sq" or "sr-Cyrl". It names the catalog
	// file and is what New accepts.
	Tag string
	// Name is the language's name in the language itself, e.g. "Shqip".
	Name string
}

var languages = []Language{
	{Tag: "sq", Name: "Shqip"},
	{Tag: "sr-Latn", Name: "Srpski (latinica)"},
	{Tag: "sr-Cyrl", Name: "Српски (ћирилица)"},
	{Tag: "en", Name: "English"},
	{Tag: "tr", Name: "Türkçe"},
}

// Languages returns the supported languages, the default first.
func Languages() []Language {
	return slices.Clone(languages)
}

//go:embed catalog/*.json
var catalogFS embed.FS

// catalogPath is the path of a language's catalog inside catalogFS.
func catalogPath(tag string) string {
	return "catalog/" + tag + ".json"
}

// Each language gets a bundle of its own, so that a lookup never goes
// through language matching (which could pick the wrong Serbian script)
// and never falls back silently to another language.
var loadBundles = sync.OnceValues(func() (map[string]*goi18n.Bundle, error) {
	bundles := make(map[string]*goi18n.Bundle, len(languages))
	for _, lang := range languages {
		path := catalogPath(lang.Tag)
		data, err := catalogFS.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("i18n: catalog %s: %w", path, err)
		}
		b := goi18n.NewBundle(language.MustParse(lang.Tag))
		if _, err := b.ParseMessageFileBytes(data, path); err != nil {
			return nil, fmt.Errorf("i18n: catalog %s: %w", path, err)
		}
		bundles[lang.Tag] = b
	}
	return bundles, nil
})

// Localizer looks up messages and formats numbers and dates in one
// language. It is safe for concurrent use.
type Localizer struct {
	tag     string
	loc     *goi18n.Localizer
	printer *message.Printer
	date    string
}

// New returns a Localizer for the language with the given tag (one of the
// tags of Languages; case does not matter).
func New(tag string) (*Localizer, error) {
	i := slices.IndexFunc(languages, func(l Language) bool {
		return strings.EqualFold(l.Tag, tag)
	})
	if i < 0 {
		known := make([]string, len(languages))
		for j, l := range languages {
			known[j] = l.Tag
		}
		return nil, fmt.Errorf("i18n: unknown language %q (supported: %s)", tag, strings.Join(known, ", "))
	}
	canonical := languages[i].Tag
	bundles, err := loadBundles()
	if err != nil {
		return nil, err
	}
	return &Localizer{
		tag:     canonical,
		loc:     goi18n.NewLocalizer(bundles[canonical], canonical),
		printer: message.NewPrinter(language.MustParse(canonical)),
		date:    dateLayouts[canonical],
	}, nil
}

// Tag returns the tag of the Localizer's language, as listed by Languages.
func (l *Localizer) Tag() string {
	return l.tag
}

// T returns the message for key, with the template fields filled from
// data (which may be nil). A key that no catalog has comes back as
// "[key]", so that it shows on screen instead of an empty label.
func (l *Localizer) T(key string, data map[string]any) string {
	return l.localize(key, &goi18n.LocalizeConfig{
		MessageID:    key,
		TemplateData: data,
	})
}

// N returns the plural form of the message for key that fits count. The
// count, formatted as by Int, is available to the template as {{.Count}}
// next to the fields of data (which may be nil and is not modified).
func (l *Localizer) N(key string, count int, data map[string]any) string {
	d := make(map[string]any, len(data)+1)
	maps.Copy(d, data)
	d["Count"] = l.Int(count)
	return l.localize(key, &goi18n.LocalizeConfig{
		MessageID:    key,
		TemplateData: d,
		PluralCount:  count,
	})
}

func (l *Localizer) localize(key string, lc *goi18n.LocalizeConfig) string {
	// On an error go-i18n still returns its best effort when it has one
	// (e.g. the "other" form when the needed plural form is missing).
	s, _ := l.loc.Localize(lc)
	if s == "" {
		return "[" + key + "]"
	}
	return s
}

var defaultKeys = sync.OnceValue(func() []string {
	data, err := catalogFS.ReadFile(catalogPath(Default))
	if err != nil {
		return nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(data, &m); err != nil {
		return nil
	}
	return slices.Sorted(maps.Keys(m))
})

// Keys returns every message key of the default catalog, sorted. The tests
// keep the other catalogs in step with it.
func Keys() []string {
	return slices.Clone(defaultKeys())
}
