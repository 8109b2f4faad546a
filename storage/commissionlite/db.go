// Package commissionlite is the commission's store (commission.Store) in
// one SQLite file, through the pure-Go modernc.org/sqlite driver: tallyd's
// default, one file and nothing to set up.
//
// The file is in WAL mode with synchronous=FULL: a committed Update
// survives a power cut, and readers never wait for the writer. Writes go
// through one connection, so Update transactions run one at a time, each
// holding the write lock from its BEGIN; View transactions read from a
// separate pool of query-only connections, each on one snapshot. Every
// statement is prepared once per connection, as a group commit runs a few
// of them for each of its hundreds of submissions.
//
// What the commission signed, received or recorded (the election, keys,
// codes, submissions, conflicts, decisions, attachments, the published
// results snapshots, the audit chain) is append-only, and the schema
// itself refuses changes to it but for revoking a key and using or
// retiring a code, once (see migration/).
package commissionlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"

	"tally/app/commission"
	"tally/storage/sqlitefile"
)

var _ commission.Store = (*DB)(nil)

// writerPragmas keep a group commit's work in memory until it commits: a
// page cache large enough that a batch's pages are not spilled to the WAL
// (and written again) before the commit, and statement journals in memory
// rather than in temporary files. The WAL is checkpointed every 4,000
// pages (16 MB) rather than 1,000: an index page that several group
// commits change is copied into the file once, not once per commit.
const writerPragmas = "&_pragma=cache_size(-65536)&_pragma=temp_store(MEMORY)&_pragma=wal_autocheckpoint(4000)"

// readers is the size of the read pool: HTTP handlers reading at once
// while the committer writes.
const readers = 4

// DB is the commission's SQLite database.
//
// Each connection is taken from its pool once, at Open, and keeps its
// prepared statements for the life of the DB: the writer, which Update
// takes in turn, and the readers, which View shares out. Transactions are
// plain BEGIN and COMMIT on them, so that no per-query goroutine watches a
// transaction's context: the committer's queries run without one.
type DB struct {
	path    string
	writer  *sql.DB    // one connection: SQLite has one writer at a time anyway
	reader  *sql.DB    // query-only connections for View
	write   chan *conn // the writer connection, while no Update holds it
	readers chan *conn // the idle reader connections
	conns   []*conn
}

// Open opens the database at path, creating the file (mode 0600) if it is
// missing, and brings its schema up to date. It refuses a database written
// by a newer build.
func Open(ctx context.Context, path string) (*DB, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("commissionlite: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("commissionlite: %w", err)
	}
	dsn, err := sqlitefile.DataSourceName(path)
	if err != nil {
		return nil, fmt.Errorf("commissionlite: %w", err)
	}

	db := &DB{path: path, write: make(chan *conn, 1), readers: make(chan *conn, readers)}
	fail := func(err error) (*DB, error) {
		err = fmt.Errorf("commissionlite: open %s: %w", path, err)
		return nil, errors.Join(err, db.close())
	}
	if db.writer, err = sql.Open("sqlite", dsn+writerPragmas); err != nil {
		return fail(err)
	}
	db.writer.SetMaxOpenConns(1)
	if err := sqlitefile.CheckJournalMode(ctx, db.writer); err != nil {
		return fail(err)
	}
	if err := sqlitefile.Migrate(ctx, db.writer, migrationFiles, "migration"); err != nil {
		return fail(err)
	}
	w, err := db.take(ctx, db.writer, true)
	if err != nil {
		return fail(err)
	}
	db.write <- w

	// Opened after the migrations, so that a reader never sees a file
	// whose journal mode is not WAL yet.
	if db.reader, err = sql.Open("sqlite", dsn+"&_pragma=query_only(1)"); err != nil {
		return fail(err)
	}
	db.reader.SetMaxOpenConns(readers)
	for range readers {
		r, err := db.take(ctx, db.reader, false)
		if err != nil {
			return fail(err)
		}
		db.readers <- r
	}
	return db, nil
}

// take takes a connection from pool for good and prepares the statements
// on it.
func (db *DB) take(ctx context.Context, pool *sql.DB, write bool) (*conn, error) {
	c, err := pool.Conn(ctx)
	if err != nil {
		return nil, err
	}
	prepared, err := prepare(ctx, c, write)
	if err != nil {
		return nil, errors.Join(err, c.Close())
	}
	db.conns = append(db.conns, prepared)
	return prepared, nil
}

// Path is the database file's path, as given to Open.
func (db *DB) Path() string { return db.path }

// Close closes the connections and both pools. The last connection to
// close checkpoints the WAL into the main file. Nothing may use the DB
// meanwhile or after.
func (db *DB) Close() error {
	if err := db.close(); err != nil {
		return fmt.Errorf("commissionlite: close: %w", err)
	}
	return nil
}

func (db *DB) close() error {
	var errs []error
	for _, c := range db.conns {
		errs = append(errs, c.close())
	}
	db.conns = nil
	for _, pool := range []*sql.DB{db.reader, db.writer} {
		if pool != nil {
			errs = append(errs, pool.Close())
		}
	}
	return errors.Join(errs...)
}

// Update runs fn in one immediate write transaction and commits it when fn
// returns nil. fn's error is returned as it is, after the rollback. A
// panic in fn rolls back too, then goes on. fn must not call Update: the
// one write connection is fn's own.
func (db *DB) Update(ctx context.Context, fn func(commission.Tx) error) error {
	var c *conn
	select {
	case c = <-db.write:
	case <-ctx.Done():
		return fmt.Errorf("commissionlite: begin: %w", ctx.Err())
	}
	defer func() { db.write <- c }()
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("commissionlite: begin: %w", err)
	}
	// IMMEDIATE: the write lock from the start, so that another process
	// on the file cannot make a read-then-write transaction fail.
	if _, err := c.exec(ctx, qBeginImmediate); err != nil {
		return fmt.Errorf("commissionlite: begin: %w", err)
	}
	// Deferred, so that a panic or runtime.Goexit in fn rolls back too.
	done := false
	defer func() {
		if !done {
			c.rollback()
		}
	}()
	if err := fn(&writeTx{readTx: readTx{ctx: ctx, c: c}}); err != nil {
		return err
	}
	if _, err := c.exec(ctx, qCommit); err != nil {
		return fmt.Errorf("commissionlite: commit: %w", err)
	}
	done = true
	return nil
}

// View runs fn on one snapshot of the database, taken when View begins:
// whatever commits meanwhile, fn sees none of it. It never waits for an
// Update.
func (db *DB) View(ctx context.Context, fn func(commission.Reader) error) error {
	c, err := db.takeReader(ctx)
	if err != nil {
		return err
	}
	defer func() { db.readers <- c }()
	if _, err := c.exec(ctx, qBegin); err != nil {
		return fmt.Errorf("commissionlite: begin: %w", err)
	}
	// A read-only transaction has nothing to commit: ending it is enough.
	defer c.rollback()
	r := &readTx{ctx: ctx, c: c}
	// BEGIN takes no snapshot by itself: the first read does. Read now,
	// so that the snapshot is the one of this moment, not of whenever fn
	// first reads.
	var version int
	if err := r.queryRow(qSchemaVersion).Scan(&version); err != nil {
		return fmt.Errorf("commissionlite: begin: %w", err)
	}
	return fn(r)
}

func (db *DB) takeReader(ctx context.Context) (*conn, error) {
	select {
	case c := <-db.readers:
		return c, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("commissionlite: begin: %w", ctx.Err())
	}
}

// IntegrityCheck runs SQLite's integrity check over the whole file.
func (db *DB) IntegrityCheck(ctx context.Context) error {
	c, err := db.takeReader(ctx)
	if err != nil {
		return err
	}
	defer func() { db.readers <- c }()
	if err := sqlitefile.IntegrityCheck(ctx, c.sql); err != nil {
		return fmt.Errorf("commissionlite: integrity check of %s: %w", db.path, err)
	}
	return nil
}

// SchemaVersion is the version of the last migration applied.
func (db *DB) SchemaVersion(ctx context.Context) (int, error) {
	c, err := db.takeReader(ctx)
	if err != nil {
		return 0, err
	}
	defer func() { db.readers <- c }()
	var v int
	if err := c.stmts[qSchemaVersion].QueryRowContext(ctx).Scan(&v); err != nil {
		return 0, fmt.Errorf("commissionlite: schema version: %w", err)
	}
	return v, nil
}
