package i18n

import (
	"math"
	"time"

	"golang.org/x/text/number"
)

// dateLayouts holds each language's date and time layout (time.Format).
// The dates are numeric, so no month names need translating, except in
// English, where the day-month order is ambiguous without them. Serbian
// writes a full stop after the year (CLDR "dd.MM.y.").
var dateLayouts = map[string]string{
	"sq":      "02.01.2006 15:04:05",
	"sr-Latn": "02.01.2006. 15:04:05",
	"sr-Cyrl": "02.01.2006. 15:04:05",
	"en":      "2 Jan 2006 15:04:05",
	"tr":      "02.01.2006 15:04:05",
}

// Int formats n with the language's digit grouping: 1,234,567 in English,
// 1.234.567 in Serbian and Turkish, and 1 234 567 in Albanian, where the
// separator is a no-break space (U+00A0), as CLDR has it.
func (l *Localizer) Int(n int) string {
	return l.printer.Sprint(number.Decimal(n))
}

// Percent formats a share (0.125 is 12.5 %) as a percentage with one
// decimal, the language's decimal separator and the percent sign where the
// language puts it: "12.5%" in English, "12,5%" in Albanian and Serbian,
// "%12,5" in Turkish. It rounds to the nearest tenth of a percent, halves
// away from zero. A NaN or an infinite share (a ratio with a zero
// denominator) gives "–".
func (l *Localizer) Percent(share float64) string {
	if math.IsNaN(share) || math.IsInf(share, 0) {
		return "–"
	}
	tenths := math.Round(share * 1000) // tenths of a percent
	if tenths == 0 {
		tenths = 0 // no "-0.0%"
	}
	return l.printer.Sprint(number.Percent(tenths/1000, number.MinFractionDigits(1), number.MaxFractionDigits(1)))
}

// DateTime formats t, in its own location, as a date and a time to the
// second: "25.11.2026 19:42:07" in Albanian and Turkish,
// "25.11.2026. 19:42:07" in Serbian, "25 Nov 2026 19:42:07" in English.
func (l *Localizer) DateTime(t time.Time) string {
	return t.Format(l.date)
}
