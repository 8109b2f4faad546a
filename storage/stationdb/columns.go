package stationdb

import (
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"math"
	"time"

	"tally/storage/sqlitefile"
)

func formatTime(t time.Time) string { return sqlitefile.FormatTime(t) }

// formatOptionalTime stores the zero time as "".
func formatOptionalTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return formatTime(t)
}

// parseOptionalTime reads "" as the zero time.
func parseOptionalTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	return parseTime(s)
}

// parseTime reads a stored time, in UTC.
func parseTime(s string) (time.Time, error) { return sqlitefile.ParseTime(s) }

// sqlUint is a uint64 as SQLite's signed 64-bit integer: a sequence or a
// receipt number past 2^63 is refused rather than stored negative.
func sqlUint(what string, v uint64) (int64, error) {
	if v > math.MaxInt64 {
		return 0, fmt.Errorf("%s %d is larger than the database can hold", what, v)
	}
	return int64(v), nil
}

// nullText stores "" as NULL, for the columns where "none" is a NULL.
func nullText(s string) sql.NullString { return sql.NullString{String: s, Valid: s != ""} }

// checkDigest refuses to file data under another digest than its own:
// sealed versions, receipts, decisions and photos are content-addressed
// by the lowercase hex SHA-256 of their bytes (seal.Digest), and a wrong
// address would send or show the wrong thing.
func checkDigest(what, digest string, data []byte) error {
	sum := sha256.Sum256(data)
	if want := hex.EncodeToString(sum[:]); digest != want {
		return fmt.Errorf("%s %q is not the SHA-256 of its bytes (%s)", what, digest, want)
	}
	return nil
}

// scanner is a *sql.Row or *sql.Rows.
type scanner interface {
	Scan(dest ...any) error
}
