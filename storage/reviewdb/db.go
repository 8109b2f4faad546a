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
	"fmt"

	"tally/app/review"
	"tally/storage/sqlitefile"
)

var _ review.Store = (*DB)(nil)

// readers is the size of the read pool: a few screens and the sync worker
// reading at once.
const readers = 4

// DB is the supervisor's SQLite database.
type DB struct {
	p *sqlitefile.Pools
}

// Open opens the database at path, creating the file (mode 0600: it holds
// the supervisor's sealed private key) if it is missing, and brings its
// schema up to date. It refuses a database written by a newer build.
func Open(ctx context.Context, path string) (*DB, error) {
	p, err := sqlitefile.OpenPools(ctx, "reviewdb", path, migrationFiles, "migration", readers)
	if err != nil {
		return nil, fmt.Errorf("reviewdb: %w", err)
	}
	return &DB{p: p}, nil
}

// Close closes the database. The last connection to close checkpoints the
// WAL into the main file.
func (db *DB) Close() error { return db.p.Close() }

// Update runs fn in one immediate write transaction and commits it when fn
// returns nil. fn's error is returned as it is, after the rollback. fn
// must not call Update.
func (db *DB) Update(ctx context.Context, fn func(review.Tx) error) error {
	return db.p.Update(ctx, func(tx *sql.Tx) error { return fn(&writeTx{readTx: readTx{ctx: ctx, tx: tx}}) })
}

// View runs fn on one snapshot of the database, taken when View begins.
func (db *DB) View(ctx context.Context, fn func(review.Reader) error) error {
	return db.p.View(ctx, func(tx *sql.Tx) error { return fn(&readTx{ctx: ctx, tx: tx}) })
}

// IntegrityCheck runs SQLite's integrity check over the whole file.
func (db *DB) IntegrityCheck(ctx context.Context) error {
	if err := sqlitefile.IntegrityCheck(ctx, db.p.Reader); err != nil {
		return fmt.Errorf("reviewdb: integrity check of %s: %w", db.p.Path, err)
	}
	return nil
}

// SchemaVersion is the version of the last migration applied.
func (db *DB) SchemaVersion(ctx context.Context) (int, error) {
	v, err := sqlitefile.SchemaVersion(ctx, db.p.Reader)
	if err != nil {
		return 0, fmt.Errorf("reviewdb: schema version: %w", err)
	}
	return v, nil
}
