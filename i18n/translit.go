package i18n

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// cyrillic maps the single letters of Serbian Latin script to Cyrillic.
// The Unicode digraph letters (ǅ, ǈ, ǋ and their cases) are here too; the
// two-letter spellings lj, nj and dž are handled by digraph.
var cyrillic = map[rune]rune{
	'a': 'а', 'b': 'б', 'c': 'ц', 'č': 'ч', 'ć': 'ћ', 'd': 'д', 'đ': 'ђ',
	'e': 'е', 'f': 'ф', 'g': 'г', 'h': 'х', 'i': 'и', 'j': 'ј', 'k': 'к',
	'l': 'л', 'm': 'м', 'n': 'н', 'o': 'о', 'p': 'п', 'r': 'р', 's': 'с',
	'š': 'ш', 't': 'т', 'u': 'у', 'v': 'в', 'z': 'з', 'ž': 'ж',
	'A': 'А', 'B': 'Б', 'C': 'Ц', 'Č': 'Ч', 'Ć': 'Ћ', 'D': 'Д', 'Đ': 'Ђ',
	'E': 'Е', 'F': 'Ф', 'G': 'Г', 'H': 'Х', 'I': 'И', 'J': 'Ј', 'K': 'К',
	'L': 'Л', 'M': 'М', 'N': 'Н', 'O': 'О', 'P': 'П', 'R': 'Р', 'S': 'С',
	'Š': 'Ш', 'T': 'Т', 'U': 'У', 'V': 'В', 'Z': 'З', 'Ž': 'Ж',
	'Ǆ': 'Џ', 'ǅ': 'Џ', 'ǆ': 'џ',
	'Ǉ': 'Љ', 'ǈ': 'Љ', 'ǉ': 'љ',
	'Ǌ': 'Њ', 'ǋ': 'Њ', 'ǌ': 'њ',
}

// exemptTokens stay in Latin script when they stand as whole words.
var exemptTokens = []string{
	"Tally", "PIN", "PDF", "SHA-256", "Ed25519", "CSV", "JSON", "URL", "HTTPS", "ID",
}

// splitDigraphPrefixes are word beginnings (in lower case) in which l+j,
// n+j or d+ž are two letters and not one: nad-živeti, pod-župan,
// kon-junkcija, in-jekcija.
var splitDigraphPrefixes = []string{
	"nadž", "podž", "konjug", "konjunk", "injek", "injunk", "tanjug", "vanjez",
}

// LatinToCyrillic transliterates Serbian text from Latin to Cyrillic
// script: lj, nj and dž become љ, њ and џ (Lj and LJ become Љ, and so on),
// and every other letter of the Serbian Latin alphabet becomes its
// Cyrillic letter, keeping its case. Left as they are:
//
//   - template actions, from "{{" to the next "}}";
//   - the words Tally, PIN, PDF, SHA-256, Ed25519, CSV, JSON, URL, HTTPS
//     and ID;
//   - field codes of the results form: a capital letter from A to K
//     standing alone, optionally followed by dot-separated numbers, as in
//     "F", "G + H", "I.3" or "K.2.7";
//   - letters outside the Serbian alphabet (q, w, x, y, ë, …), digits and
//     punctuation.
//
// Text outside template actions comes out in Unicode normalization form
// C (NFC), and decomposed input such as "dz\u030c" is read as "dž".
// Invalid UTF-8 is replaced by U+FFFD, so the result is always valid UTF-8.
func LatinToCyrillic(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	var b strings.Builder
	b.Grow(2 * len(s))
	for {
		i := strings.Index(s, "{{")
		if i < 0 {
			transliterateText(&b, s)
			return b.String()
		}
		transliterateText(&b, s[:i])
		j := strings.Index(s[i+2:], "}}")
		if j < 0 {
			// An action that is never closed: leave the rest alone.
			b.WriteString(s[i:])
			return b.String()
		}
		end := i + 2 + j + 2
		b.WriteString(s[i:end])
		s = s[end:]
	}
}

// transliterateText transliterates text that holds no template action.
// The result is normalised again, as a Cyrillic letter may compose with
// a combining mark that followed the Latin one (З + ◌̈ is Ӟ).
func transliterateText(b *strings.Builder, s string) {
	var out strings.Builder
	out.Grow(2 * len(s))
	transliterateNFC(&out, norm.NFC.String(s))
	b.WriteString(norm.NFC.String(out.String()))
}

func transliterateNFC(b *strings.Builder, s string) {
	prev := ' ' // the start of the text is a word boundary
	splitUntil := 0
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if !isWordRune(prev) && isWordRune(r) {
			if n := keptTokenLen(s[i:]); n > 0 {
				b.WriteString(s[i : i+n])
				prev, _ = utf8.DecodeLastRuneInString(s[i : i+n])
				i += n
				continue
			}
			if n := splitPrefixLen(s[i:]); n > 0 {
				splitUntil = i + n
			}
		}
		if i+size < len(s) {
			next, nextSize := utf8.DecodeRuneInString(s[i+size:])
			if c, ok := digraph(r, next); ok && i+size+nextSize > splitUntil {
				b.WriteRune(c)
				prev = next
				i += size + nextSize
				continue
			}
		}
		if c, ok := cyrillic[r]; ok {
			b.WriteRune(c)
		} else {
			b.WriteRune(r)
		}
		prev = r
		i += size
	}
}

// digraph returns the Cyrillic letter for the Latin digraph r+next, if it
// is one. The case follows the first letter: "Lj" and "LJ" give Љ.
func digraph(r, next rune) (rune, bool) {
	var c rune
	switch {
	case (r == 'l' || r == 'L') && (next == 'j' || next == 'J'):
		c = 'љ'
	case (r == 'n' || r == 'N') && (next == 'j' || next == 'J'):
		c = 'њ'
	case (r == 'd' || r == 'D') && (next == 'ž' || next == 'Ž'):
		c = 'џ'
	default:
		return 0, false
	}
	if unicode.IsUpper(r) {
		c = unicode.ToUpper(c)
	}
	return c, true
}

func isWordRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r)
}

// endsWord reports whether s is empty or does not start with a letter or
// digit.
func endsWord(s string) bool {
	r, _ := utf8.DecodeRuneInString(s)
	return s == "" || !isWordRune(r)
}

// keptTokenLen returns the length of the exempt token or field code that s
// starts with and that ends there as a word, or 0.
func keptTokenLen(s string) int {
	for _, tok := range exemptTokens {
		if strings.HasPrefix(s, tok) && endsWord(s[len(tok):]) {
			return len(tok)
		}
	}
	if s[0] < 'A' || s[0] > 'K' {
		return 0
	}
	n := 1
	for n+1 < len(s) && s[n] == '.' && isASCIIDigit(s[n+1]) {
		n += 2
		for n < len(s) && isASCIIDigit(s[n]) {
			n++
		}
	}
	if !endsWord(s[n:]) {
		return 0
	}
	return n
}

func isASCIIDigit(c byte) bool {
	return '0' <= c && c <= '9'
}

// splitPrefixLen returns the length in bytes of the split-digraph prefix
// that s starts with (in any case), or 0.
func splitPrefixLen(s string) int {
	for _, p := range splitDigraphPrefixes {
		n := 0
		ok := true
		for _, pr := range p {
			if n >= len(s) {
				ok = false
				break
			}
			r, size := utf8.DecodeRuneInString(s[n:])
			if unicode.ToLower(r) != pr {
				ok = false
				break
			}
			n += size
		}
		if ok {
			return n
		}
	}
	return 0
}

// CyrillicCatalog returns the Serbian Cyrillic catalog made from the
// Serbian Latin catalog latin: every message transliterated with
// LatinToCyrillic except the language names (keys starting with "lang."),
// which are the same in every catalog. The output has its keys sorted,
// two-space indentation and a final newline. `go generate ./i18n` writes
// it to catalog/sr-Cyrl.json.
func CyrillicCatalog(latin []byte) ([]byte, error) {
	var in map[string]any
	if err := json.Unmarshal(latin, &in); err != nil {
		return nil, fmt.Errorf("i18n: Serbian Latin catalog: %w", err)
	}
	if in == nil {
		return nil, fmt.Errorf("i18n: Serbian Latin catalog: not a JSON object")
	}
	out := make(map[string]any, len(in))
	for key, v := range in {
		conv := LatinToCyrillic
		if strings.HasPrefix(key, "lang.") {
			conv = func(s string) string { return s }
		}
		switch v := v.(type) {
		case string:
			out[key] = conv(v)
		case map[string]any:
			forms := make(map[string]string, len(v))
			for form, text := range v {
				s, ok := text.(string)
				if !ok {
					return nil, fmt.Errorf("i18n: Serbian Latin catalog: %s.%s: want a string, got %T", key, form, text)
				}
				forms[form] = conv(s)
			}
			out[key] = forms
		default:
			return nil, fmt.Errorf("i18n: Serbian Latin catalog: %s: want a string or an object of plural forms, got %T", key, v)
		}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
