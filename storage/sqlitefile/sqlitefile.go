// Package sqlitefile is what the project's SQLite stores share: how a
// file is opened (its URI and pragmas), checked (WAL, integrity) and
// migrated (embedded SQL files, each in its own transaction, recorded),
// and, for the desktop stores (storage/stationdb, storage/reviewdb), how
// their audit chain is appended to and read. The stores differ in their
// schemas only.
package sqlitefile

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	_ "modernc.org/sqlite" // the driver "sqlite", pure Go
)

// Pragmas apply to every connection. _txlock=immediate makes every write
// transaction take the write lock at BEGIN: a deferred one that reads
// first and then writes fails with "database is locked" at once under
// concurrency, busy_timeout or not.
const Pragmas = "_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)" +
	"&_pragma=foreign_keys(1)&_txlock=immediate"

// DataSourceName makes the driver's URI for path, with Pragmas. With the
// "file:" prefix SQLite reads the name as a URI, so the path is made
// absolute and escaped: a '?', '#' or '%' in it would otherwise end or
// change the file name.
func DataSourceName(file string) (string, error) {
	abs, err := filepath.Abs(file)
	if err != nil {
		return "", err
	}
	p := filepath.ToSlash(abs)
	switch {
	case strings.HasPrefix(p, "//"):
		// A Windows UNC path: an empty authority, so that the server
		// name is read as part of the path.
		p = "//" + p
	case !strings.HasPrefix(p, "/"):
		// A Windows drive letter: SQLite wants file:/C:/...
		p = "/" + p
	}
	return "file:" + (&url.URL{Path: p}).EscapedPath() + "?" + Pragmas, nil
}

// CheckJournalMode refuses a file that could not switch to WAL (some
// network file systems): the pragma would fail silently, and then readers
// would block the writer and the reverse.
func CheckJournalMode(ctx context.Context, db *sql.DB) error {
	var mode string
	if err := db.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		return err
	}
	if !strings.EqualFold(mode, "wal") {
		return fmt.Errorf("journal mode is %q, not WAL", mode)
	}
	return nil
}

// Querier is what runs a query: a *sql.DB, *sql.Conn or *sql.Tx.
type Querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// IntegrityCheck runs SQLite's integrity check over the whole file.
func IntegrityCheck(ctx context.Context, q Querier) error {
	rows, err := q.QueryContext(ctx, "PRAGMA integrity_check")
	if err != nil {
		return err
	}
	defer rows.Close()
	var problems []string
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			return err
		}
		problems = append(problems, line)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if len(problems) == 1 && problems[0] == "ok" {
		return nil
	}
	return fmt.Errorf("the file is damaged: %s", strings.Join(problems, "; "))
}

// SchemaVersion is the version of the last migration applied.
func SchemaVersion(ctx context.Context, q Querier) (int, error) {
	var v int
	err := q.QueryRowContext(ctx, "SELECT coalesce(max(version), 0) FROM schema_migrations").Scan(&v)
	return v, err
}

// ErrNewerSchema refuses a database that a newer build has migrated: this
// build would misread what it does not know.
var ErrNewerSchema = errors.New("the database was written by a newer version of Tally")

type migration struct {
	version int
	name    string
	sql     string
}

// migrations lists the migrations in dir of files, NNNN_name.sql,
// numbered 1, 2, … without a gap, so that "the recorded version" says
// which ones ran. A file, once released, is never edited: a change is a
// new file.
func migrations(files fs.FS, dir string) ([]migration, error) {
	names, err := fs.Glob(files, dir+"/*.sql")
	if err != nil {
		return nil, err
	}
	var out []migration
	for _, file := range names { // fs.Glob sorts them
		name := strings.TrimSuffix(path.Base(file), ".sql")
		number, _, _ := strings.Cut(name, "_")
		v, err := strconv.Atoi(number)
		if err != nil || v != len(out)+1 {
			return nil, fmt.Errorf("migration %s: want number %04d", file, len(out)+1)
		}
		text, err := fs.ReadFile(files, file)
		if err != nil {
			return nil, err
		}
		out = append(out, migration{version: v, name: name, sql: string(text)})
	}
	return out, nil
}

// Migrate applies the migrations in dir of files that are not recorded
// yet, each in its own transaction with its record, so that a crash leaves
// the schema at one recorded version or the next. It refuses a database
// whose recorded version is newer than the last migration (ErrNewerSchema).
func Migrate(ctx context.Context, db *sql.DB, files fs.FS, dir string) error {
	all, err := migrations(files, dir)
	if err != nil {
		return err
	}
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER PRIMARY KEY,
		name       TEXT NOT NULL,
		applied_at TEXT NOT NULL
	)`); err != nil {
		return fmt.Errorf("migrations table: %w", err)
	}
	for _, m := range all {
		if err := apply(ctx, db, m, len(all)); err != nil {
			return err
		}
	}
	return nil
}

func apply(ctx context.Context, db *sql.DB, m migration, latest int) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("migration %s: %w", m.name, err)
	}
	defer func() { _ = tx.Rollback() }()

	// Checked inside the write transaction, so that two processes opening
	// the same new file cannot both apply a migration.
	recorded, err := SchemaVersion(ctx, tx)
	if err != nil {
		return fmt.Errorf("migration %s: %w", m.name, err)
	}
	if recorded > latest {
		return fmt.Errorf("%w: its schema version is %d, this build knows up to %d", ErrNewerSchema, recorded, latest)
	}
	var applied bool
	if err := tx.QueryRowContext(ctx, "SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE version = ?)",
		m.version).Scan(&applied); err != nil {
		return fmt.Errorf("migration %s: %w", m.name, err)
	}
	if applied {
		return nil
	}
	if _, err := tx.ExecContext(ctx, m.sql); err != nil {
		return fmt.Errorf("migration %s: %w", m.name, err)
	}
	if _, err := tx.ExecContext(ctx, "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
		m.version, m.name, time.Now().UTC().Format("2006-01-02T15:04:05.000000000Z07:00")); err != nil {
		return fmt.Errorf("migration %s: %w", m.name, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("migration %s: %w", m.name, err)
	}
	return nil
}
