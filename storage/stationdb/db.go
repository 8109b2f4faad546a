// Package stationdb is the station's store (station.Store) in one SQLite
// file, through the pure-Go modernc.org/sqlite driver so that the station
// builds without cgo.
//
// The file is in WAL mode with synchronous=FULL: a committed Update
// survives a power cut, and readers never wait for the writer. Writes go
// through one connection, so Update transactions run one at a time; View
// transactions read from a separate pool of query-only connections, each on
// one snapshot.
//
// What the station signed, received or recorded (the definition, sealed
// versions, receipts, decisions, photos, the audit chain) is append-only,
// and the schema itself refuses changes to it (see migration/).
package stationdb

import (
	"context"
	"database/sql"
	"fmt"

	"tally/app/station"
	"tally/storage/sqlitefile"
)

var _ station.Store = (*DB)(nil)

// readers is the size of the read pool: a few screens and the sync worker
// reading at once.
const readers = 4

// DB is the station's SQLite database.
type DB struct {
	p *sqlitefile.Pools
}

// Open opens the database at path, creating the file (mode 0600: it holds
// the station's sealed private key) if it is missing, and brings its schema
// up to date. It refuses a database written by a newer build.
func Open(ctx context.Context, path string) (*DB, error) {
	p, err := sqlitefile.OpenPools(ctx, "stationdb", path, migrationFiles, "migration", readers)
	if err != nil {
		return nil, fmt.Errorf("stationdb: %w", err)
	}
	return &DB{p: p}, nil
}

// Close closes the database. The last connection to close checkpoints the
// WAL into the main file.
func (db *DB) Close() error { return db.p.Close() }

// Update runs fn in one immediate write transaction and commits it when fn
// returns nil. fn's error is returned as it is, after the rollback. A
// panic in fn rolls back too, then goes on. fn must not call Update: the
// one write connection is fn's own.
func (db *DB) Update(ctx context.Context, fn func(station.Tx) error) error {
	return db.p.Update(ctx, func(tx *sql.Tx) error { return fn(&writeTx{readTx: readTx{ctx: ctx, tx: tx}}) })
}

// View runs fn on one snapshot of the database, taken when View begins:
// whatever commits meanwhile, fn sees none of it. It never waits for an
// Update.
func (db *DB) View(ctx context.Context, fn func(station.Reader) error) error {
	return db.p.View(ctx, func(tx *sql.Tx) error { return fn(&readTx{ctx: ctx, tx: tx}) })
}

// IntegrityCheck runs SQLite's integrity check over the whole file.
func (db *DB) IntegrityCheck(ctx context.Context) error {
	if err := sqlitefile.IntegrityCheck(ctx, db.p.Reader); err != nil {
		return fmt.Errorf("stationdb: integrity check of %s: %w", db.p.Path, err)
	}
	return nil
}

// SchemaVersion is the version of the last migration applied.
func (db *DB) SchemaVersion(ctx context.Context) (int, error) {
	v, err := sqlitefile.SchemaVersion(ctx, db.p.Reader)
	if err != nil {
		return 0, fmt.Errorf("stationdb: schema version: %w", err)
	}
	return v, nil
}
