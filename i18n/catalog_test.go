package i18n_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"text/template"
	"text/template/parse"
	"unicode"

	goi18n "github.com/nicksnyder/go-i18n/v2/i18n"
	gotemplate "github.com/nicksnyder/go-i18n/v2/i18n/template"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/text/feature/plural"
	"golang.org/x/text/language"

	"tally/i18n"
)

// message is one catalog entry: a plain string is the "other" form.
type message struct {
	plural bool
	forms  map[string]string
}

// catalog is a catalog file as read from disk.
type catalog struct {
	tag      string
	raw      []byte
	messages map[string]message
}

func tags() []string {
	var out []string
	for _, l := range i18n.Languages() {
		out = append(out, l.Tag)
	}
	return out
}

// readCatalog reads and strictly decodes catalog/<tag>.json: one object
// whose values are strings or objects of strings, with no key twice.
func readCatalog(t testing.TB, tag string) catalog {
	t.Helper()
	raw, err := os.ReadFile("catalog/" + tag + ".json")
	require.NoError(t, err)
	messages, err := decodeCatalog(raw)
	require.NoError(t, err, "catalog/%s.json", tag)
	return catalog{tag: tag, raw: raw, messages: messages}
}

func decodeCatalog(raw []byte) (map[string]message, error) {
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	if err := expectDelim(dec, '{'); err != nil {
		return nil, err
	}
	out := map[string]message{}
	for dec.More() {
		key, err := stringToken(dec)
		if err != nil {
			return nil, err
		}
		if _, dup := out[key]; dup {
			return nil, fmt.Errorf("key %q appears twice", key)
		}
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", key, err)
		}
		switch v := tok.(type) {
		case string:
			out[key] = message{forms: map[string]string{"other": v}}
		case json.Delim:
			if v != '{' {
				return nil, fmt.Errorf("%s: want a string or an object, got %v", key, v)
			}
			m := message{plural: true, forms: map[string]string{}}
			for dec.More() {
				form, err := stringToken(dec)
				if err != nil {
					return nil, fmt.Errorf("%s: %w", key, err)
				}
				if _, dup := m.forms[form]; dup {
					return nil, fmt.Errorf("%s: form %q appears twice", key, form)
				}
				text, err := stringToken(dec)
				if err != nil {
					return nil, fmt.Errorf("%s.%s: %w", key, form, err)
				}
				m.forms[form] = text
			}
			if err := expectDelim(dec, '}'); err != nil {
				return nil, err
			}
			out[key] = m
		default:
			return nil, fmt.Errorf("%s: want a string or an object, got %T", key, tok)
		}
	}
	if err := expectDelim(dec, '}'); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("data after the catalog object")
	}
	return out, nil
}

func expectDelim(dec *json.Decoder, want json.Delim) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if d, ok := tok.(json.Delim); !ok || d != want {
		return fmt.Errorf("want %v, got %v", want, tok)
	}
	return nil
}

func stringToken(dec *json.Decoder) (string, error) {
	tok, err := dec.Token()
	if err != nil {
		return "", err
	}
	s, ok := tok.(string)
	if !ok {
		return "", fmt.Errorf("want a string, got %v", tok)
	}
	return s, nil
}

func allCatalogs(t testing.TB) []catalog {
	var out []catalog
	for _, tag := range tags() {
		out = append(out, readCatalog(t, tag))
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func TestCatalogsHaveTheSameKeys(t *testing.T) {
	cats := allCatalogs(t)
	all := map[string]bool{}
	for _, c := range cats {
		for k := range c.messages {
			all[k] = true
		}
	}
	for _, c := range cats {
		t.Run(c.tag, func(t *testing.T) {
			var missing []string
			for _, k := range sortedKeys(all) {
				if _, ok := c.messages[k]; !ok {
					missing = append(missing, k)
				}
			}
			assert.Empty(t, missing, "catalog/%s.json lacks keys that other catalogs have", c.tag)
		})
	}
}

func TestKeysIsTheDefaultCatalog(t *testing.T) {
	def := readCatalog(t, i18n.Default)
	keys := i18n.Keys()
	assert.Equal(t, sortedKeys(def.messages), keys)
	assert.True(t, slices.IsSorted(keys))
	for _, k := range []string{"dialog.ok", "dialog.cancel", "dialog.yes", "dialog.no", "app.name"} {
		assert.Contains(t, keys, k)
	}
	keys[0] = "changed"
	assert.NotEqual(t, "changed", i18n.Keys()[0], "Keys must return a copy")
}

// templateFields returns the names of the fields ({{.Field}}) used by a
// message template.
func templateFields(t testing.TB, text string) []string {
	t.Helper()
	tmpl, err := template.New("").Parse(text)
	require.NoError(t, err, "template %q", text)
	fields := map[string]bool{}
	if tmpl.Tree != nil {
		collectFields(tmpl.Tree.Root, fields)
	}
	return sortedKeys(fields)
}

func collectFields(node parse.Node, fields map[string]bool) {
	switch n := node.(type) {
	case *parse.ListNode:
		if n == nil {
			return
		}
		for _, c := range n.Nodes {
			collectFields(c, fields)
		}
	case *parse.ActionNode:
		collectFields(n.Pipe, fields)
	case *parse.PipeNode:
		if n == nil {
			return
		}
		for _, c := range n.Cmds {
			collectFields(c, fields)
		}
	case *parse.CommandNode:
		for _, a := range n.Args {
			collectFields(a, fields)
		}
	case *parse.FieldNode:
		fields[strings.Join(n.Ident, ".")] = true
	case *parse.ChainNode:
		collectFields(n.Node, fields)
	case *parse.IfNode:
		collectFields(n.Pipe, fields)
		collectFields(n.List, fields)
		collectFields(n.ElseList, fields)
	case *parse.RangeNode:
		collectFields(n.Pipe, fields)
		collectFields(n.List, fields)
		collectFields(n.ElseList, fields)
	case *parse.WithNode:
		collectFields(n.Pipe, fields)
		collectFields(n.List, fields)
		collectFields(n.ElseList, fields)
	case *parse.TemplateNode:
		collectFields(n.Pipe, fields)
	}
}

func TestTemplateFieldsAgree(t *testing.T) {
	ref := readCatalog(t, "en")
	for _, c := range allCatalogs(t) {
		t.Run(c.tag, func(t *testing.T) {
			for _, key := range sortedKeys(c.messages) {
				want, ok := ref.messages[key]
				if !ok {
					continue // reported by TestCatalogsHaveTheSameKeys
				}
				wantFields := templateFields(t, want.forms["other"])
				for _, form := range sortedKeys(c.messages[key].forms) {
					got := templateFields(t, c.messages[key].forms[form])
					assert.Equal(t, wantFields, got, "%s: %s (%s) uses other template fields than en", c.tag, key, form)
				}
			}
		})
	}
}

var formNames = map[plural.Form]string{
	plural.Other: "other",
	plural.Zero:  "zero",
	plural.One:   "one",
	plural.Two:   "two",
	plural.Few:   "few",
	plural.Many:  "many",
}

// neededForms returns the CLDR plural categories that whole numbers take
// in the language, from golang.org/x/text's CLDR tables.
func neededForms(tag string) []string {
	lang := language.MustParse(tag)
	forms := map[string]bool{}
	for n := range 10000 {
		forms[formNames[plural.Cardinal.MatchPlural(lang, n, 0, 0, 0, 0)]] = true
	}
	return sortedKeys(forms)
}

func TestNeededPluralForms(t *testing.T) {
	// A check of the check: these are the CLDR categories of whole numbers.
	assert.Equal(t, []string{"one", "other"}, neededForms("sq"))
	assert.Equal(t, []string{"one", "other"}, neededForms("en"))
	assert.Equal(t, []string{"one", "other"}, neededForms("tr"))
	assert.Equal(t, []string{"few", "one", "other"}, neededForms("sr-Latn"))
	assert.Equal(t, []string{"few", "one", "other"}, neededForms("sr-Cyrl"))
}

func TestPluralMessagesHaveTheNeededForms(t *testing.T) {
	plurals := map[string]bool{}
	for _, c := range allCatalogs(t) {
		for k, m := range c.messages {
			if m.plural {
				plurals[k] = true
			}
		}
	}
	require.NotEmpty(t, plurals)
	for _, c := range allCatalogs(t) {
		t.Run(c.tag, func(t *testing.T) {
			want := neededForms(c.tag)
			for _, key := range sortedKeys(plurals) {
				m, ok := c.messages[key]
				if !ok {
					continue
				}
				assert.True(t, m.plural, "%s: %s is counted in another catalog, so it must be an object of plural forms here", c.tag, key)
				assert.Equal(t, want, sortedKeys(m.forms), "%s: %s must have exactly the plural forms %v", c.tag, key, want)
			}
		})
	}
}

// TestPluralFormsAsGoI18nChoosesThem renders every counted message through
// go-i18n itself for many counts: its own plural rules must never ask for
// a form that the catalog lacks.
func TestPluralFormsAsGoI18nChoosesThem(t *testing.T) {
	for _, c := range allCatalogs(t) {
		t.Run(c.tag, func(t *testing.T) {
			b := goi18n.NewBundle(language.MustParse(c.tag))
			_, err := b.ParseMessageFileBytes(c.raw, c.tag+".json")
			require.NoError(t, err)
			loc := goi18n.NewLocalizer(b, c.tag)
			for _, key := range sortedKeys(c.messages) {
				if !c.messages[key].plural {
					continue
				}
				for n := range 1001 {
					_, err := loc.Localize(&goi18n.LocalizeConfig{
						MessageID:      key,
						PluralCount:    n,
						TemplateData:   sampleData(t, c.messages[key]),
						TemplateParser: &gotemplate.TextParser{Option: "missingkey=error"},
					})
					require.NoError(t, err, "%s: %s with count %d", c.tag, key, n)
				}
			}
		})
	}
}

// sampleData gives every template field of m a value.
func sampleData(t testing.TB, m message) map[string]any {
	data := map[string]any{}
	for _, text := range m.forms {
		for _, f := range templateFields(t, text) {
			data[f] = "«" + f + "»"
		}
	}
	return data
}

func TestEveryMessageRenders(t *testing.T) {
	for _, c := range allCatalogs(t) {
		t.Run(c.tag, func(t *testing.T) {
			l, err := i18n.New(c.tag)
			require.NoError(t, err)
			for _, key := range sortedKeys(c.messages) {
				m := c.messages[key]
				data := sampleData(t, m)
				for form, text := range m.forms {
					tmpl, err := template.New(key).Option("missingkey=error").Parse(text)
					require.NoError(t, err, "%s: %s (%s)", c.tag, key, form)
					var sb strings.Builder
					require.NoError(t, tmpl.Execute(&sb, data), "%s: %s (%s)", c.tag, key, form)
					for f, v := range data {
						if strings.Contains(text, "."+f) {
							assert.Contains(t, sb.String(), v.(string), "%s: %s (%s)", c.tag, key, form)
						}
					}
				}
				var got string
				if m.plural {
					got = l.N(key, 2, data)
				} else {
					got = l.T(key, data)
				}
				assert.NotEqual(t, "["+key+"]", got, "%s: %s", c.tag, key)
				assert.NotEmpty(t, got)
				assert.NotContains(t, got, "<no value>", "%s: %s", c.tag, key)
				assert.NotContains(t, got, "{{", "%s: %s", c.tag, key)
			}
		})
	}
}

func TestNoEmptyOrPaddedText(t *testing.T) {
	for _, c := range allCatalogs(t) {
		t.Run(c.tag, func(t *testing.T) {
			for _, key := range sortedKeys(c.messages) {
				assert.Equal(t, strings.TrimSpace(key), key, "%s: key %q has surrounding white space", c.tag, key)
				for form, text := range c.messages[key].forms {
					assert.NotEmpty(t, text, "%s: %s (%s) is empty", c.tag, key, form)
					assert.Equal(t, strings.TrimSpace(text), text, "%s: %s (%s) has leading or trailing white space", c.tag, key, form)
					assert.NotContains(t, text, "  ", "%s: %s (%s) has a double space", c.tag, key, form)
				}
			}
		})
	}
}

// The rules pass percentages already formatted with their sign.
var percentSign = regexp.MustCompile(`%\s*\{\{\s*\.Percent\s*\}\}|\{\{\s*\.Percent\s*\}\}\s*%`)

func TestNoSecondPercentSign(t *testing.T) {
	for _, c := range allCatalogs(t) {
		for _, key := range sortedKeys(c.messages) {
			for form, text := range c.messages[key].forms {
				assert.NotRegexp(t, percentSign, text, "%s: %s (%s): {{.Percent}} carries its own %% sign", c.tag, key, form)
			}
		}
	}
}

var templateAction = regexp.MustCompile(`\{\{.*?\}\}`)

// fieldCodes returns the results-form field codes ("A", "G", "I.3") that a
// text names outside its template actions.
func fieldCodes(text string) []string {
	text = templateAction.ReplaceAllString(text, " ")
	var codes []string
	words := strings.FieldsFunc(text, func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '.'
	})
	code := regexp.MustCompile(`^[A-K](\.[0-9]+)*$`)
	for _, w := range words {
		w = strings.TrimRight(w, ".")
		if code.MatchString(w) {
			codes = append(codes, w)
		}
	}
	sort.Strings(codes)
	return codes
}

// TestFieldCodesAgree checks that every translation names the same field
// codes as English. In Serbian this also catches a sentence that starts
// with the word "A", "I" or "K", which transliteration would leave in
// Latin script.
func TestFieldCodesAgree(t *testing.T) {
	ref := readCatalog(t, "en")
	for _, c := range allCatalogs(t) {
		t.Run(c.tag, func(t *testing.T) {
			for _, key := range sortedKeys(c.messages) {
				want, ok := ref.messages[key]
				if !ok {
					continue
				}
				for form, text := range c.messages[key].forms {
					assert.Equal(t, fieldCodes(want.forms["other"]), fieldCodes(text), "%s: %s (%s): field codes differ from en", c.tag, key, form)
				}
			}
		})
	}
}

func TestLanguageNamesAreTheSameEverywhere(t *testing.T) {
	for _, c := range allCatalogs(t) {
		l, err := i18n.New(c.tag)
		require.NoError(t, err)
		for _, lang := range i18n.Languages() {
			key := "lang." + lang.Tag
			assert.Equal(t, lang.Name, c.messages[key].forms["other"], "%s: %s", c.tag, key)
			assert.Equal(t, lang.Name, l.T(key, nil), "%s: %s", c.tag, key)
		}
	}
}

func TestScripts(t *testing.T) {
	latin := regexp.MustCompile(`[A-Za-z]`)
	cyrillic := regexp.MustCompile(`\p{Cyrillic}`)
	kept := regexp.MustCompile(`\b(Tally|PIN|PDF|SHA-256|Ed25519|CSV|JSON|URL|HTTPS|ID)\b`)
	for _, c := range allCatalogs(t) {
		for _, key := range sortedKeys(c.messages) {
			if strings.HasPrefix(key, "lang.") {
				continue
			}
			for form, text := range c.messages[key].forms {
				if c.tag == "sr-Cyrl" {
					rest := templateAction.ReplaceAllString(text, " ")
					rest = kept.ReplaceAllString(rest, " ")
					for _, code := range fieldCodes(rest) {
						rest = regexp.MustCompile(`\b`+regexp.QuoteMeta(code)+`\b`).ReplaceAllString(rest, " ")
					}
					assert.NotRegexp(t, latin, rest, "sr-Cyrl: %s (%s) has Latin letters", key, form)
				} else {
					assert.NotRegexp(t, cyrillic, text, "%s: %s (%s) has Cyrillic letters", c.tag, key, form)
				}
			}
		}
	}
}

func TestCyrillicCatalogIsGenerated(t *testing.T) {
	latin, err := os.ReadFile("catalog/sr-Latn.json")
	require.NoError(t, err)
	want, err := i18n.CyrillicCatalog(latin)
	require.NoError(t, err)
	got, err := os.ReadFile("catalog/sr-Cyrl.json")
	require.NoError(t, err)
	if string(want) != string(got) {
		t.Errorf("catalog/sr-Cyrl.json is not what the generator writes from catalog/sr-Latn.json; run `go generate ./i18n` instead of editing it by hand\n%s",
			firstDifference(string(want), string(got)))
	}
}

func firstDifference(want, got string) string {
	wl, gl := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := range max(len(wl), len(gl)) {
		var w, g string
		if i < len(wl) {
			w = wl[i]
		}
		if i < len(gl) {
			g = gl[i]
		}
		if w != g {
			return fmt.Sprintf("line %d:\n want %s\n  got %s", i+1, w, g)
		}
	}
	return ""
}

func TestCyrillicCatalogErrors(t *testing.T) {
	for _, in := range []string{``, `null`, `[]`, `{"a": 1}`, `{"a": {"one": 1}}`, `{"a": ["x"]}`} {
		_, err := i18n.CyrillicCatalog([]byte(in))
		assert.Error(t, err, "%q", in)
	}
	out, err := i18n.CyrillicCatalog([]byte(`{"b": {"other": "njih <{{.N}}>", "one": "nje"}, "lang.x": "Srpski", "a": "Tally & PIN"}`))
	require.NoError(t, err)
	assert.Equal(t, "{\n  \"a\": \"Tally & PIN\",\n  \"b\": {\n    \"one\": \"ње\",\n    \"other\": \"њих <{{.N}}>\"\n  },\n  \"lang.x\": \"Srpski\"\n}\n", string(out))
}
