package reviewdb

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"

	"tally/storage/sqlitefile"
)

func formatTime(t time.Time) string { return sqlitefile.FormatTime(t) }

func parseTime(s string) (time.Time, error) { return sqlitefile.ParseTime(s) }

// checkDigest refuses to file data under another digest than its own:
// envelopes, decisions and photos are content-addressed by the lowercase
// hex SHA-256 of their bytes, and a wrong address would show or send the
// wrong thing.
func checkDigest(what, digest string, data []byte) error {
	sum := sha256.Sum256(data)
	if want := hex.EncodeToString(sum[:]); digest != want {
		return fmt.Errorf("%s %q is not the SHA-256 of its bytes (%s)", what, digest, want)
	}
	return nil
}
