package i18n_test

import (
	"encoding/json"
	"sync"
	"testing"

	goi18n "github.com/nicksnyder/go-i18n/v2/i18n"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/text/language"

	"tally/i18n"
)

func TestLanguages(t *testing.T) {
	assert.Equal(t, []i18n.Language{
		{Tag: "sq", Name: "Shqip"},
		{Tag: "sr-Latn", Name: "Srpski (latinica)"},
		{Tag: "sr-Cyrl", Name: "Српски (ћирилица)"},
		{Tag: "en", Name: "English"},
		{Tag: "tr", Name: "Türkçe"},
	}, i18n.Languages())
	assert.Equal(t, "sq", i18n.Default)
	assert.Equal(t, i18n.Default, i18n.Languages()[0].Tag)

	langs := i18n.Languages()
	langs[0].Name = "changed"
	assert.Equal(t, "Shqip", i18n.Languages()[0].Name, "Languages must return a copy")
}

func TestNew(t *testing.T) {
	tests := []struct {
		tag, want string
	}{
		{"sq", "sq"},
		{"sr-Latn", "sr-Latn"},
		{"sr-Cyrl", "sr-Cyrl"},
		{"en", "en"},
		{"tr", "tr"},
		{"SR-latn", "sr-Latn"},
		{"EN", "en"},
	}
	for _, tt := range tests {
		t.Run(tt.tag, func(t *testing.T) {
			l, err := i18n.New(tt.tag)
			require.NoError(t, err)
			assert.Equal(t, tt.want, l.Tag())
		})
	}
}

func TestNewUnknownLanguage(t *testing.T) {
	for _, tag := range []string{"xx", "", "sr", "sq-AL", "de", "en-US"} {
		t.Run(tag, func(t *testing.T) {
			l, err := i18n.New(tag)
			assert.Nil(t, l)
			require.Error(t, err)
			assert.Contains(t, err.Error(), `"`+tag+`"`, "the error names the tag")
			assert.Contains(t, err.Error(), "sr-Cyrl", "the error lists the supported tags")
		})
	}
}

func TestT(t *testing.T) {
	tests := []struct {
		tag, key string
		data     map[string]any
		want     string
	}{
		{"sq", "dialog.cancel", nil, "Anulo"},
		{"sr-Latn", "dialog.ok", nil, "U redu"},
		{"sr-Cyrl", "dialog.ok", nil, "У реду"},
		{"en", "dialog.yes", nil, "Yes"},
		{"tr", "dialog.no", nil, "Hayır"},
		{"en", "field.I", map[string]any{"Entity": "LDK"}, "Votes for LDK"},
		{"sq", "field.I", map[string]any{"Entity": "LDK"}, "Votat për LDK"},
		{"sr-Cyrl", "field.I", map[string]any{"Entity": "Srpska lista"}, "Гласови за Srpska lista"},
		{"en", "rule.E.F-GH", map[string]any{"F": "412", "Sum": "410"}, "Ballots in the box (F = 412) must equal invalid plus valid ballots (G + H = 410)."},
		{"sr-Cyrl", "rule.E.F-GH", map[string]any{"F": "412", "Sum": "410"}, "Листићи у кутији (F = 412) морају бити једнаки збиру неважећих и важећих листића (G + H = 410)."},
		{"en", "rule.W.TURNOUT", map[string]any{"Percent": "97.2%"}, "Turnout is 97.2% (B / A); above 95% or below 5% is unusual."},
		{"en", "app.name", nil, "Tally"},
		{"sr-Cyrl", "app.name", nil, "Tally"},
	}
	for _, tt := range tests {
		t.Run(tt.tag+"/"+tt.key, func(t *testing.T) {
			l, err := i18n.New(tt.tag)
			require.NoError(t, err)
			assert.Equal(t, tt.want, l.T(tt.key, tt.data))
		})
	}
}

func TestMissingKey(t *testing.T) {
	for _, tag := range tags() {
		t.Run(tag, func(t *testing.T) {
			l, err := i18n.New(tag)
			require.NoError(t, err)
			assert.Equal(t, "[rule.X]", l.T("rule.X", nil))
			assert.Equal(t, "[rule.X]", l.T("rule.X", map[string]any{"A": 1}))
			assert.Equal(t, "[]", l.T("", nil))
			assert.Equal(t, "[entry.nothing]", l.N("entry.nothing", 3, nil))
		})
	}
}

func TestN(t *testing.T) {
	tests := []struct {
		tag   string
		count int
		want  string
	}{
		{"en", 0, "0 fields differ between the first and the second entry."},
		{"en", 1, "1 field differs between the first and the second entry."},
		{"en", 2, "2 fields differ between the first and the second entry."},
		{"en", 1234, "1,234 fields differ between the first and the second entry."},
		{"sq", 1, "1 fushë ndryshon midis regjistrimit të parë dhe të dytë."},
		{"sq", 3, "3 fusha ndryshojnë midis regjistrimit të parë dhe të dytë."},
		{"sr-Latn", 1, "1 polje se razlikuje između prvog i drugog unosa."},
		{"sr-Latn", 2, "2 polja se razlikuju između prvog i drugog unosa."},
		{"sr-Latn", 4, "4 polja se razlikuju između prvog i drugog unosa."},
		{"sr-Latn", 5, "5 polja se razlikuje između prvog i drugog unosa."},
		{"sr-Latn", 11, "11 polja se razlikuje između prvog i drugog unosa."},
		{"sr-Latn", 12, "12 polja se razlikuje između prvog i drugog unosa."},
		{"sr-Latn", 21, "21 polje se razlikuje između prvog i drugog unosa."},
		{"sr-Latn", 22, "22 polja se razlikuju između prvog i drugog unosa."},
		{"sr-Latn", 0, "0 polja se razlikuje između prvog i drugog unosa."},
		{"sr-Cyrl", 1, "1 поље се разликује између првог и другог уноса."},
		{"sr-Cyrl", 3, "3 поља се разликују између првог и другог уноса."},
		{"sr-Cyrl", 7, "7 поља се разликује између првог и другог уноса."},
		{"tr", 1, "Birinci ve ikinci giriş arasında 1 alan farklı."},
		{"tr", 9, "Birinci ve ikinci giriş arasında 9 alan farklı."},
	}
	for _, tt := range tests {
		t.Run(tt.tag, func(t *testing.T) {
			l, err := i18n.New(tt.tag)
			require.NoError(t, err)
			assert.Equal(t, tt.want, l.N("entry.differences", tt.count, nil))
		})
	}
}

func TestNLeavesDataAlone(t *testing.T) {
	l, err := i18n.New("en")
	require.NoError(t, err)
	data := map[string]any{"Count": "ignored", "Other": "x"}
	assert.Equal(t, "2 fields differ between the first and the second entry.", l.N("entry.differences", 2, data))
	assert.Equal(t, map[string]any{"Count": "ignored", "Other": "x"}, data)
}

func TestConcurrentUse(t *testing.T) {
	l, err := i18n.New("sr-Cyrl")
	require.NoError(t, err)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for j := range 200 {
				assert.NotEmpty(t, l.T("field.I", map[string]any{"Entity": j}))
				assert.NotEmpty(t, l.N("entry.differences", i+j, nil))
				assert.NotEmpty(t, l.Int(i*j))
				_, err := i18n.New(tags()[j%len(tags())])
				assert.NoError(t, err)
			}
		})
	}
	wg.Wait()
}

func TestFyneTranslations(t *testing.T) {
	for _, tag := range tags() {
		t.Run(tag, func(t *testing.T) {
			data, err := i18n.FyneTranslations(tag)
			require.NoError(t, err)
			var words map[string]string
			require.NoError(t, json.Unmarshal(data, &words))
			l, err := i18n.New(tag)
			require.NoError(t, err)
			assert.Equal(t, map[string]string{
				"OK":     l.T("dialog.ok", nil),
				"Cancel": l.T("dialog.cancel", nil),
				"Yes":    l.T("dialog.yes", nil),
				"No":     l.T("dialog.no", nil),
				"Error":  l.T("severity.error", nil),
			}, words)

			// Read it the way fyne.io/fyne/v2/lang does: a go-i18n bundle
			// that takes the language from the resource name.
			b := goi18n.NewBundle(language.English)
			f, err := b.ParseMessageFileBytes(data, tag+".json")
			require.NoError(t, err)
			assert.Equal(t, language.MustParse(tag), f.Tag)
			got, err := goi18n.NewLocalizer(b, tag).Localize(&goi18n.LocalizeConfig{MessageID: "Cancel"})
			require.NoError(t, err)
			assert.Equal(t, l.T("dialog.cancel", nil), got)
		})
	}
	_, err := i18n.FyneTranslations("xx")
	assert.ErrorContains(t, err, `"xx"`)
}
