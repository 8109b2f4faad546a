package commissionlite

import (
	"database/sql"
	"fmt"
	"math"
	"time"
)

// timeLayout is RFC 3339 in UTC with all nine digits of the fraction: the
// text sorts in the order of the times it holds (RFC3339Nano drops
// trailing zeros, and "05Z" would sort after "05.1Z"), and it parses back
// to the same instant, to the nanosecond.
const timeLayout = "2006-01-02T15:04:05.000000000Z07:00"

func formatTime(t time.Time) string { return t.UTC().Format(timeLayout) }

// parseTime reads a stored time, in UTC.
func parseTime(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("stored time %q: %w", s, err)
	}
	return t.UTC(), nil
}

// parseNullTime reads a time that may be NULL.
func parseNullTime(s sql.NullString) (*time.Time, error) {
	if !s.Valid {
		return nil, nil
	}
	t, err := parseTime(s.String)
	if err != nil {
		return nil, err
	}
	return &t, nil
}

// nullText stores "" as NULL, for the columns where "none" is a NULL.
func nullText(s string) sql.NullString { return sql.NullString{String: s, Valid: s != ""} }

// sqlUint is a uint64 as SQLite's signed 64-bit integer: a number past
// 2^63 is refused rather than stored negative.
func sqlUint(what string, v uint64) (int64, error) {
	if v > math.MaxInt64 {
		return 0, fmt.Errorf("%s %d is larger than the database can hold", what, v)
	}
	return int64(v), nil
}

// scanner is a *sql.Row or *sql.Rows.
type scanner interface {
	Scan(dest ...any) error
}
