package sqlitefile

import (
	"fmt"
	"time"
)

// TimeLayout is how the stores keep a time: RFC 3339 in UTC with all nine
// digits of the fraction, so that the text sorts in the order of the
// times it holds (RFC3339Nano drops trailing zeros, and "05Z" would sort
// after "05.1Z") and parses back to the same instant, to the nanosecond.
const TimeLayout = "2006-01-02T15:04:05.000000000Z07:00"

// FormatTime is a time as stored.
func FormatTime(t time.Time) string { return t.UTC().Format(TimeLayout) }

// ParseTime reads a stored time, in UTC.
func ParseTime(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("stored time %q: %w", s, err)
	}
	return t.UTC(), nil
}

// Scanner reads a row: *sql.Row or *sql.Rows.
type Scanner interface {
	Scan(dest ...any) error
}
