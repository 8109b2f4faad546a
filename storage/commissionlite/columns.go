package commissionlite

import (
	"database/sql"
	"fmt"
	"math"
	"time"

	"tally/storage/sqlitefile"
)

func formatTime(t time.Time) string { return sqlitefile.FormatTime(t) }

// parseTime reads a stored time, in UTC.
func parseTime(s string) (time.Time, error) { return sqlitefile.ParseTime(s) }

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
