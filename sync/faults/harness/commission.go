package harness

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"path/filepath"

	_ "modernc.org/sqlite" // the "sqlite" database/sql driver
)

// Stored is a submission as tallyd stored it.
type Stored struct {
	Number     uint64
	Digest     string
	Station    string
	Contest    string
	Form       string
	Version    int
	ReceivedAt string
}

// Commission is what a stopped tallyd holds, read from its database.
type Commission struct {
	Submissions []Stored
	ByDigest    map[string]Stored
	// Conflicts counts the submissions that verified and contradicted
	// what was stored: none should come from a station's retries.
	Conflicts   int
	Attachments map[string]bool // by SHA-256
}

// ReadCommission opens tallyd's SQLite database read-only (the server
// must be stopped) and reads what it stored.
func ReadCommission(ctx context.Context, path string) (*Commission, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	db, err := sql.Open("sqlite", "file:"+(&url.URL{Path: abs}).EscapedPath()+"?mode=ro&_pragma=busy_timeout(5000)")
	if err != nil {
		return nil, err
	}
	defer db.Close()
	c := &Commission{ByDigest: map[string]Stored{}, Attachments: map[string]bool{}}
	rows, err := db.QueryContext(ctx, `SELECT number, digest, station, contest, form, version, received_at
		FROM submissions ORDER BY number`)
	if err != nil {
		return nil, fmt.Errorf("harness: reading %s: %w", path, err)
	}
	defer rows.Close()
	for rows.Next() {
		var s Stored
		if err := rows.Scan(&s.Number, &s.Digest, &s.Station, &s.Contest, &s.Form, &s.Version, &s.ReceivedAt); err != nil {
			return nil, err
		}
		c.Submissions = append(c.Submissions, s)
		c.ByDigest[s.Digest] = s
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM conflicts`).Scan(&c.Conflicts); err != nil {
		return nil, err
	}
	shas, err := db.QueryContext(ctx, `SELECT sha256 FROM attachments`)
	if err != nil {
		return nil, err
	}
	defer shas.Close()
	for shas.Next() {
		var sha string
		if err := shas.Scan(&sha); err != nil {
			return nil, err
		}
		c.Attachments[sha] = true
	}
	return c, shas.Err()
}

// Duplicates lists what is stored more than once: a digest, or a
// station's form and version (which the schema should already refuse).
func (c *Commission) Duplicates() []string {
	var out []string
	digests := map[string]int{}
	versions := map[string]int{}
	for _, s := range c.Submissions {
		digests[s.Digest]++
		versions[fmt.Sprintf("%s %s/%s v%d", s.Station, s.Contest, s.Form, s.Version)]++
	}
	for d, n := range digests {
		if n > 1 {
			out = append(out, fmt.Sprintf("digest %s stored %d times", d, n))
		}
	}
	for v, n := range versions {
		if n > 1 {
			out = append(out, fmt.Sprintf("%s stored %d times", v, n))
		}
	}
	return out
}

// OfStation is the submissions stored for a station.
func (c *Commission) OfStation(code string) []Stored {
	var out []Stored
	for _, s := range c.Submissions {
		if s.Station == code {
			out = append(out, s)
		}
	}
	return out
}
