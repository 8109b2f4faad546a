package i18n_test

import (
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"

	"tally/i18n"
)

func TestLatinToCyrillic(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"empty", "", ""},
		{"alphabet", "abcčćddžđefghijklljmnnjoprsštuvzž", "абцчћдџђефгхијклљмнњопрсштувзж"},
		{"capital alphabet", "ABCČĆDDŽĐEFGHIJKLLJMNNJOPRSŠTUVZŽ", "АБЦЧЋДЏЂЕФГХИЈКЛЉМНЊОПРСШТУВЗЖ"},
		{"lj", "ljubav", "љубав"},
		{"Lj", "Ljubav", "Љубав"},
		{"LJ", "LJUBAV", "ЉУБАВ"},
		{"nj", "njegov", "његов"},
		{"Nj", "Njegoš", "Његош"},
		{"NJ", "NJEGOŠ", "ЊЕГОШ"},
		{"dž", "džep", "џеп"},
		{"Dž", "Džep", "Џеп"},
		{"DŽ", "DŽEP", "ЏЕП"},
		{"đ", "đak Đorđe", "ђак Ђорђе"},
		{"č ć š ž", "čaša ćup šuma žaba", "чаша ћуп шума жаба"},
		{"sentence", "Birači koji su se potpisali u biračkom spisku.", "Бирачи који су се потписали у бирачком списку."},
		{"Unicode digraph letters", "ǈubav ǉ ǋ ǌ ǅ ǆ Ǉ Ǌ Ǆ", "Љубав љ Њ њ Џ џ Љ Њ Џ"},
		{"decomposed caron", "dz\u030cep c\u030cas", "џеп час"},
		{"combining mark composes after transliteration", "Z\u0308\u0301", "\u04de\u0301"},
		{"podžupan", "podžupan Podžupan", "поджупан Поджупан"},
		{"nadživeti", "nadživeti", "надживети"},
		{"nadžnjeti", "nadžnjeti", "наджњети"},
		{"konjunkcija", "konjunkcija", "конјункција"},
		{"injekcija", "Injekcija", "Инјекција"},
		{"Odžaci", "Odžaci", "Оџаци"},
		{"template field", "Glasovi za {{.Entity}}", "Гласови за {{.Entity}}"},
		{"template fields", "{{.Field}}: „{{.Value}}“ nije ceo broj.", "{{.Field}}: „{{.Value}}“ није цео број."},
		{"template action with Latin", "{{ .Ljubav | printf \"nj\" }}nj", "{{ .Ljubav | printf \"nj\" }}њ"},
		{"template at word start", "{{.A}}lj", "{{.A}}љ"},
		{"unclosed template", "broj {{.Broj", "број {{.Broj"},
		{"stray closing braces", "a}} b", "а}} б"},
		{"Tally", "Tally je program", "Tally је програм"},
		{"PIN", "Upišite PIN.", "Упишите PIN."},
		{"PIN with a case ending", "PIN-a", "PIN-а"},
		{"PIN inside a word", "PINa", "ПИНа"},
		{"PDF CSV JSON", "PDF, CSV i JSON", "PDF, CSV и JSON"},
		{"SHA-256", "SHA-256 heš", "SHA-256 хеш"},
		{"Ed25519", "Ed25519 ključ", "Ed25519 кључ"},
		{"URL HTTPS", "URL (HTTPS)", "URL (HTTPS)"},
		{"ID", "ID broj", "ID број"},
		{"lower-case pin", "pin", "пин"},
		{"field code", "F = 0", "F = 0"},
		{"field code sum", "G + H = {{.Sum}}", "G + H = {{.Sum}}"},
		{"field codes in brackets", "(B / A)", "(B / A)"},
		{"field code with number", "glasovi I.3", "гласови I.3"},
		{"field code with numbers", "K.2.7.", "K.2.7."},
		{"field code with many digits", "K.12.107, I.28", "K.12.107, I.28"},
		{"not a field code: letter after", "I.3a", "И.3а"},
		{"not a field code: beyond K", "L M", "Л М"},
		{"not a field code: inside a word", "bA", "бА"},
		{"field code after a digit", "5A", "5А"},
		{"letters outside the alphabet", "Wi-Fi, xy, q, ë", "Wи-Фи, xy, q, ë"},
		{"digits and punctuation", "3% – 5,5 (x)!", "3% – 5,5 (x)!"},
		{"Cyrillic stays", "Српски", "Српски"},
		{"invalid UTF-8", "a\xffb", "а\uFFFDб"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, i18n.LatinToCyrillic(tt.in))
		})
	}
}

// templateParts returns, in order, the template actions of s (from "{{" to
// the next "}}") and an unclosed action at its end.
func templateParts(s string) []string {
	var parts []string
	for {
		i := strings.Index(s, "{{")
		if i < 0 {
			return parts
		}
		j := strings.Index(s[i+2:], "}}")
		if j < 0 {
			return append(parts, s[i:])
		}
		parts = append(parts, s[i:i+2+j+2])
		s = s[i+2+j+2:]
	}
}

func FuzzLatinToCyrillic(f *testing.F) {
	for _, c := range allCatalogs(f) {
		if c.tag != "sr-Latn" {
			continue
		}
		for _, m := range c.messages {
			for _, text := range m.forms {
				f.Add(text)
			}
		}
	}
	for _, s := range []string{
		"", "{{", "}}", "{{}}", "{{{.A}}}", "a{{.B}}c{{", "LJ Nj dž DŽ", "K.2.7.", "I.", "A.1.",
		"PIN-a SHA-256", "podžupan", "\xff\xfe", "dz\u030c", "ǅ", "{{.X}}\xff{{.Y}}",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := i18n.LatinToCyrillic(s)
		if !utf8.ValidString(out) {
			t.Fatalf("LatinToCyrillic(%q) = %q: not valid UTF-8", s, out)
		}
		if !utf8.ValidString(s) {
			return
		}
		if got, want := templateParts(out), templateParts(s); !slices.Equal(got, want) {
			t.Fatalf("LatinToCyrillic(%q) = %q: template actions %q, want %q", s, out, got, want)
		}
		if again := i18n.LatinToCyrillic(out); again != out {
			t.Fatalf("LatinToCyrillic is not stable on its output: %q -> %q -> %q", s, out, again)
		}
	})
}
