package commissionpg

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
)

// migrationFiles are the schema's history, NNNN_name.sql, applied in
// order. A file, once released, is never edited: a change is a new file.
//
//go:embed migration/*.sql
var migrationFiles embed.FS

type migration struct {
	version int
	name    string
	sql     string
}

// migrations lists the embedded migrations, numbered 1, 2, … without a
// gap, so that "the recorded version" says which ones ran.
func migrations() ([]migration, error) {
	names, err := fs.Glob(migrationFiles, "migration/*.sql")
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
		text, err := migrationFiles.ReadFile(file)
		if err != nil {
			return nil, err
		}
		out = append(out, migration{version: v, name: name, sql: string(text)})
	}
	return out, nil
}

// ErrNewerSchema refuses a database that a newer build has migrated: this
// build would misread what it does not know.
var ErrNewerSchema = errors.New("the database was written by a newer version of Tally")

// migrate applies the migrations not recorded yet, each in its own
// transaction with its record, so that a crash leaves the schema at one
// recorded version or the next.
func (db *DB) migrate(ctx context.Context) error {
	all, err := migrations()
	if err != nil {
		return err
	}
	pc, err := db.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer pc.Release()
	conn := pc.Conn()
	for _, m := range all {
		if err := applyMigration(ctx, conn, m, len(all)); err != nil {
			return err
		}
	}
	return nil
}

// migrationLock is the first key of the advisory lock that migrations
// take; the second is the schema's name, so that two schemas of one
// database migrate independently.
const migrationLock = 0x7a11_0001

func applyMigration(ctx context.Context, conn *pgx.Conn, m migration, latest int) (err error) {
	if _, err := conn.Exec(ctx, "BEGIN ISOLATION LEVEL READ COMMITTED"); err != nil {
		return fmt.Errorf("migration %s: %w", m.name, err)
	}
	committed := false
	defer func() {
		if !committed {
			rollback(ctx, conn)
		}
	}()

	// Nodes starting at once take turns here; each then sees what the
	// one before it recorded (a new statement, a new snapshot). Even
	// creating the table that records migrations must wait: two
	// concurrent CREATE TABLE IF NOT EXISTS can both try to create it.
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_xact_lock($1, hashtext(current_schema()))", migrationLock); err != nil {
		return fmt.Errorf("migration %s: lock: %w", m.name, err)
	}
	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    integer PRIMARY KEY,
		name       text NOT NULL,
		applied_at timestamptz NOT NULL DEFAULT now()
	)`); err != nil {
		return fmt.Errorf("migration %s: %w", m.name, err)
	}
	var recorded int
	var applied bool
	if err := conn.QueryRow(ctx, `SELECT coalesce(max(version), 0), coalesce(bool_or(version = $1), false)
		FROM schema_migrations`, m.version).Scan(&recorded, &applied); err != nil {
		return fmt.Errorf("migration %s: %w", m.name, err)
	}
	if recorded > latest {
		return fmt.Errorf("%w: its schema version is %d, this build knows up to %d", ErrNewerSchema, recorded, latest)
	}
	if applied {
		return nil // the deferred rollback ends the transaction
	}
	if _, err := conn.Exec(ctx, m.sql); err != nil {
		return fmt.Errorf("migration %s: %w", m.name, err)
	}
	if _, err := conn.Exec(ctx, "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", m.version, m.name); err != nil {
		return fmt.Errorf("migration %s: %w", m.name, err)
	}
	tag, err := conn.Exec(ctx, "COMMIT")
	if err != nil {
		return fmt.Errorf("migration %s: commit: %w", m.name, err)
	}
	if tag.String() != "COMMIT" {
		return fmt.Errorf("migration %s: commit: rolled back", m.name)
	}
	committed = true
	return nil
}
