// Package reviewdb is the supervisor's store (review.Store) in one SQLite
// file, through the pure-Go modernc.org/sqlite driver, opened as the
// station's store is (storage/sqlitefile): WAL, synchronous=FULL, foreign
// keys, immediate write transactions on one writer connection, and a pool
// of query-only readers that each read one snapshot.
//
// What the supervisor signed, verified or recorded (the definition, the
// fetched submissions and photos, decisions and their deliveries, the
// audit chain) is append-only, and the schema itself refuses changes to
// it (see migration/). The server's views and the key list are replaced
// by each newer fetch, with the time fetched.
package reviewdb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"

	"tally/app/review"
	"tally/storage/sqlitefile"
)

var _ review.Store = (*DB)(nil)

// readers is the size of the read pool: a few screens and the sync worker
// reading at once.
const readers = 4

// DB is the supervisor's SQLite database.
type DB struct {
	path   string
	writer *sql.DB // one connection: SQLite has one writer at a time anyway
	reader *sql.DB // query-only connections for View
}

// Open opens the database at path, creating the file (mode 0600: it holds
// the supervisor's sealed private key) if it is missing, and brings its
// schema up to date. It refuses a database written by a newer build.
func Open(ctx context.Context, path string) (*DB, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("reviewdb: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("reviewdb: %w", err)
	}
	dsn, err := sqlitefile.DataSourceName(path)
	if err != nil {
		return nil, fmt.Errorf("reviewdb: %w", err)
	}
	db := &DB{path: path}
	if db.writer, err = sql.Open("sqlite", dsn); err != nil {
		return nil, fmt.Errorf("reviewdb: open %s: %w", path, err)
	}
	db.writer.SetMaxOpenConns(1)
	db.writer.SetMaxIdleConns(1)
	if err := sqlitefile.CheckJournalMode(ctx, db.writer); err != nil {
		return nil, errors.Join(fmt.Errorf("reviewdb: open %s: %w", path, err), db.writer.Close())
	}
	if err := sqlitefile.Migrate(ctx, db.writer, migrationFiles, "migration"); err != nil {
		return nil, errors.Join(fmt.Errorf("reviewdb: open %s: %w", path, err), db.writer.Close())
	}
	// Opened after the migrations, so that a reader never sees a file
	// whose journal mode is not WAL yet.
	if db.reader, err = sql.Open("sqlite", dsn+"&_pragma=query_only(1)"); err != nil {
		return nil, errors.Join(fmt.Errorf("reviewdb: open %s: %w", path, err), db.writer.Close())
	}
	db.reader.SetMaxOpenConns(readers)
	db.reader.SetMaxIdleConns(readers)
	return db, nil
}

// Close closes both pools.
func (db *DB) Close() error {
	return errors.Join(db.reader.Close(), db.writer.Close())
}

// Update runs fn in one immediate write transaction and commits it when fn
// returns nil. fn's error is returned as it is, after the rollback. fn
// must not call Update.
func (db *DB) Update(ctx context.Context, fn func(review.Tx) error) error {
	tx, err := db.writer.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("reviewdb: begin: %w", err)
	}
	done := false
	defer func() {
		if !done {
			_ = tx.Rollback()
		}
	}()
	if err := fn(&writeTx{readTx: readTx{ctx: ctx, tx: tx}}); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("reviewdb: commit: %w", err)
	}
	done = true
	return nil
}

// View runs fn on one snapshot of the database, taken when View begins.
func (db *DB) View(ctx context.Context, fn func(review.Reader) error) error {
	tx, err := db.reader.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return fmt.Errorf("reviewdb: begin: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	// BEGIN takes no snapshot by itself: the first read does.
	var version int
	if err := tx.QueryRowContext(ctx, "SELECT coalesce(max(version), 0) FROM schema_migrations").Scan(&version); err != nil {
		return fmt.Errorf("reviewdb: begin: %w", err)
	}
	return fn(&readTx{ctx: ctx, tx: tx})
}

// IntegrityCheck runs SQLite's integrity check over the whole file.
func (db *DB) IntegrityCheck(ctx context.Context) error {
	if err := sqlitefile.IntegrityCheck(ctx, db.reader); err != nil {
		return fmt.Errorf("reviewdb: integrity check of %s: %w", db.path, err)
	}
	return nil
}

// SchemaVersion is the version of the last migration applied.
func (db *DB) SchemaVersion(ctx context.Context) (int, error) {
	v, err := sqlitefile.SchemaVersion(ctx, db.reader)
	if err != nil {
		return 0, fmt.Errorf("reviewdb: schema version: %w", err)
	}
	return v, nil
}
