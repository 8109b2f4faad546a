package i18n_test

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tally/i18n"
)

func localizer(t testing.TB, tag string) *i18n.Localizer {
	t.Helper()
	l, err := i18n.New(tag)
	require.NoError(t, err)
	return l
}

func TestInt(t *testing.T) {
	const nbsp = "\u00a0"
	tests := []struct {
		tag  string
		n    int
		want string
	}{
		{"en", 0, "0"},
		{"en", 750, "750"},
		{"en", 1234, "1,234"},
		{"en", 1234567, "1,234,567"},
		{"en", -2075868, "-2,075,868"},
		{"sq", 999, "999"},
		{"sq", 1234, "1" + nbsp + "234"},
		{"sq", 1234567, "1" + nbsp + "234" + nbsp + "567"},
		{"sr-Latn", 1234567, "1.234.567"},
		{"sr-Cyrl", 1234567, "1.234.567"},
		{"sr-Latn", 1234, "1.234"},
		{"tr", 1234567, "1.234.567"},
		{"tr", 12, "12"},
	}
	for _, tt := range tests {
		t.Run(tt.tag, func(t *testing.T) {
			assert.Equal(t, tt.want, localizer(t, tt.tag).Int(tt.n))
		})
	}
}

func TestPercent(t *testing.T) {
	tests := []struct {
		tag  string
		p    float64
		want string
	}{
		{"en", 0.125, "12.5%"},
		{"sq", 0.125, "12,5%"},
		{"sr-Latn", 0.125, "12,5%"},
		{"sr-Cyrl", 0.125, "12,5%"},
		{"tr", 0.125, "%12,5"},
		{"en", 0.03, "3.0%"},
		{"sq", 0.034, "3,4%"},
		{"en", 0, "0.0%"},
		{"en", 1, "100.0%"},
		{"en", 0.0625, "6.3%"},
		{"en", -0.0625, "-6.3%"},
		{"en", 0.0224, "2.2%"},
		{"en", 0.9996, "100.0%"},
		{"en", 0.0004, "0.0%"},
		{"en", -0.0004, "0.0%"},
		{"en", 12.345, "1,234.5%"},
		{"sr-Latn", 12.345, "1.234,5%"},
		{"tr", 12.345, "%1.234,5"},
		{"en", 412.0 / 430.0, "95.8%"},
		{"en", math.NaN(), "–"},
		{"en", math.Inf(1), "–"},
		{"tr", math.Inf(-1), "–"},
	}
	for _, tt := range tests {
		t.Run(tt.tag, func(t *testing.T) {
			assert.Equal(t, tt.want, localizer(t, tt.tag).Percent(tt.p))
		})
	}
}

func TestDateTime(t *testing.T) {
	evening := time.Date(2026, time.November, 25, 19, 42, 7, 0, time.UTC)
	morning := time.Date(2026, time.March, 5, 7, 3, 9, 999, time.UTC)
	tests := []struct {
		tag  string
		t    time.Time
		want string
	}{
		{"sq", evening, "25.11.2026 19:42:07"},
		{"sr-Latn", evening, "25.11.2026. 19:42:07"},
		{"sr-Cyrl", evening, "25.11.2026. 19:42:07"},
		{"en", evening, "25 Nov 2026 19:42:07"},
		{"tr", evening, "25.11.2026 19:42:07"},
		{"sq", morning, "05.03.2026 07:03:09"},
		{"sr-Latn", morning, "05.03.2026. 07:03:09"},
		{"en", morning, "5 Mar 2026 07:03:09"},
		{"tr", morning, "05.03.2026 07:03:09"},
		// The time is shown in its own location.
		{"sq", evening.In(time.FixedZone("CET", 3600)), "25.11.2026 20:42:07"},
	}
	for _, tt := range tests {
		t.Run(tt.tag, func(t *testing.T) {
			assert.Equal(t, tt.want, localizer(t, tt.tag).DateTime(tt.t))
		})
	}
}
