package resultspage_test

import (
	"encoding/json"
	"io/fs"
	"regexp"
	"slices"
	"sort"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tally/app/election"
	"tally/app/publish"
	"tally/server/resultspage"
)

func readFile(t *testing.T, name string) string {
	t.Helper()
	b, err := fs.ReadFile(resultspage.FS, name)
	require.NoError(t, err)
	return string(b)
}

// TestFiles: the page is these files, each a name tallyd serves under
// /results/, and none reaches beyond the server it came from.
func TestFiles(t *testing.T) {
	var names []string
	require.NoError(t, fs.WalkDir(resultspage.FS, ".", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			names = append(names, p)
		}
		return err
	}))
	sort.Strings(names)
	assert.Equal(t, []string{"app.js", "i18n.json", "index.html", "style.css"}, names)
	asset := regexp.MustCompile(`^[0-9a-z-]{1,64}\.[0-9a-z]{1,8}$`)
	for _, n := range names {
		assert.Regexp(t, asset, n)
		body := readFile(t, n)
		assert.NotContains(t, body, "://", "%s names another site", n)
		assert.NotContains(t, body, "@import", n)
	}
	html := readFile(t, "index.html")
	assert.Contains(t, html, `<html lang="sq"`)
	assert.Contains(t, html, `<meta name="viewport"`)
	assert.Contains(t, readFile(t, "app.js"), `new URL('../v1/results/', document.baseURI)`,
		"the data is found relative to the page, behind tallyd and on a static host alike")
}

var placeholder = regexp.MustCompile(`\{[a-z]+\}`)

// keysOf lists a translation's keys, those of nested objects as a.b, and
// checks its values.
func keysOf(t *testing.T, lang, prefix string, m map[string]any) []string {
	var out []string
	for k, v := range m {
		key := prefix + k
		out = append(out, key)
		switch v := v.(type) {
		case string:
			assert.NotEmpty(t, v, "%s: %s is empty", lang, key)
		case map[string]any:
			out = append(out, keysOf(t, lang, key+".", v)...)
		case []any:
			assert.Len(t, v, 12, "%s: %s", lang, key) // month names
		}
	}
	sort.Strings(out)
	return out
}

// TestTranslations: every language has every string, with the same
// placeholders, and every string the page asks for exists.
func TestTranslations(t *testing.T) {
	var texts map[string]map[string]any
	require.NoError(t, json.Unmarshal([]byte(readFile(t, "i18n.json")), &texts))
	langs := []string{"sq", "sr-Latn", "sr-Cyrl", "en", "tr"}
	var got []string
	for l := range texts {
		got = append(got, l)
	}
	assert.ElementsMatch(t, langs, got)
	want := keysOf(t, "sq", "", texts["sq"])
	for _, l := range langs[1:] {
		assert.Equal(t, want, keysOf(t, l, "", texts[l]), "%s has other keys than sq", l)
		for k, v := range texts[l] {
			s, ok := v.(string)
			if !ok {
				continue
			}
			assert.ElementsMatch(t, placeholder.FindAllString(texts["sq"][k].(string), -1), placeholder.FindAllString(s, -1),
				"%s: %s has other placeholders than sq", l, k)
		}
	}

	// The keys the page uses: t('key'), data-t="key", and t(`prefix.${…}`)
	// for each value the data may hold.
	js, html := readFile(t, "app.js"), readFile(t, "index.html")
	used := map[string]bool{}
	for _, m := range regexp.MustCompile(`\bt\('([^']+)'`).FindAllStringSubmatch(js, -1) {
		used[m[1]] = true
	}
	for _, m := range regexp.MustCompile(`data-t="([^"]+)"`).FindAllStringSubmatch(html, -1) {
		used[m[1]] = true
	}
	values := map[string][]string{
		"kind":         {string(election.Assembly), string(election.Municipal)},
		"contest":      {string(election.ContestAssembly), string(election.ContestMayor), string(election.ContestMunicipalAssembly)},
		"review":       {string(publish.Received), string(publish.Approved)},
		"review-short": {string(publish.Received), string(publish.Approved)},
		"form":         {string(election.ResultsForm), string(election.CandidatesForm)},
	}
	for _, m := range regexp.MustCompile("\\bt\\(`([a-z-]+)\\.\\$\\{").FindAllStringSubmatch(js, -1) {
		require.Contains(t, values, m[1], "the page builds keys %s.…: say which values it may take", m[1])
		for _, v := range values[m[1]] {
			used[m[1]+"."+v] = true
		}
	}
	assert.Greater(t, len(used), 50)
	for k := range used {
		assert.True(t, slices.Contains(want, k), "the page uses %q, which i18n.json lacks", k)
	}

	// The language menu names each language in itself.
	for _, l := range langs {
		assert.Contains(t, html, `data-lang="`+l+`" href="#lang=`+l+`">`+texts[l]["_name"].(string)+`</a>`)
	}
}
