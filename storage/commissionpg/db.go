// Package commissionpg is the commission's store (commission.Store) on
// PostgreSQL, for a commission that runs several tallyd nodes behind a
// load balancer on one database.
//
// Every node commits at once, so what keeps the data whole is the
// database's: unique constraints refuse a second copy of a submission, a
// conflict, a decision, a key or a code (the store asks with ON CONFLICT
// DO NOTHING, so that a loser learns it lost without aborting its
// transaction), and triggers refuse any change to what is append-only.
// Write transactions lock one row (write_lock) as they begin, so that
// writes from all nodes take turns: the audit chain stays one chain,
// receipt numbers follow the order of commits with no gap, no two writers
// can wait on each other, and what a write transaction reads stays true
// until it ends, so that it can keep it, and hold its new submissions and
// audit records back to send them with the commit. View transactions take
// no lock, and never wait.
package commissionpg

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"runtime"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"tally/app/commission"
)

var _ commission.Store = (*DB)(nil)

// DB is the commission's PostgreSQL database.
type DB struct {
	pool *pgxpool.Pool
}

// Open connects to the database at a postgres:// URL and brings its schema
// up to date; several nodes may open the same database at once. It
// refuses a database migrated by a newer build. URL parameters that are
// not connection settings are session settings (search_path, for one).
func Open(ctx context.Context, databaseURL string) (*DB, error) {
	config, err := parseURL(databaseURL)
	if err != nil {
		return nil, fmt.Errorf("commissionpg: %w", err)
	}
	pool, err := pgxpool.NewWithConfig(ctx, config)
	if err != nil {
		return nil, fmt.Errorf("commissionpg: %w", err)
	}
	db := &DB{pool: pool}
	if err := db.migrate(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("commissionpg: %w", err)
	}
	return db, nil
}

// parseURL reads a postgres:// URL; pgxpool's pool_max_conns bounds the
// connections (by default the larger of 4 and the number of CPUs).
func parseURL(databaseURL string) (*pgxpool.Config, error) {
	u, err := url.Parse(databaseURL)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return nil, errors.New("the database is named by a postgres:// URL")
	}
	config, err := pgxpool.ParseConfig(databaseURL)
	if err != nil {
		return nil, err
	}
	if !strings.Contains(u.RawQuery, "pool_max_conns") {
		config.MaxConns = int32(max(4, runtime.NumCPU()))
	}
	if _, ok := config.ConnConfig.RuntimeParams["application_name"]; !ok {
		config.ConnConfig.RuntimeParams["application_name"] = "tallyd"
	}
	config.AfterConnect = func(ctx context.Context, conn *pgx.Conn) error {
		return requireDurableCommits(ctx, conn.PgConn())
	}
	return config, nil
}

// requireDurableCommits turns synchronous_commit on for a session whose
// setting (the server's or the URL's) is off: an acknowledged submission
// must survive a crash. Stronger settings (remote_write, remote_apply)
// are kept.
func requireDurableCommits(ctx context.Context, conn *pgconn.PgConn) error {
	return conn.Exec(ctx, `SELECT CASE WHEN current_setting('synchronous_commit') = 'off'
		THEN set_config('synchronous_commit', 'on', false) END`).Close()
}

// Close closes the connections. Transactions still running end with
// their own.
func (db *DB) Close() error {
	db.pool.Close()
	return nil
}

// endTimeout bounds a rollback, which runs even when the caller's context
// is done.
const endTimeout = 5 * time.Second

// Update runs fn in one READ COMMITTED transaction and commits it when fn
// returns nil; the commit is durable before Update returns. The
// transaction holds write_lock from its BEGIN (see beginWrite): Updates
// on every node take turns. fn's error is returned as it is, after the
// rollback; a panic in fn rolls back too, then goes on. fn runs on one
// connection: it must not call Update or View.
func (db *DB) Update(ctx context.Context, fn func(commission.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("commissionpg: begin: %w", err)
	}
	pc, err := db.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("commissionpg: begin: %w", err)
	}
	defer pc.Release() // a connection left inside a transaction is closed, not reused
	conn := pc.Conn()
	committed := false
	// Deferred, so that a panic or runtime.Goexit in fn rolls back too.
	defer func() {
		if !committed {
			rollback(ctx, conn)
		}
	}()
	w, err := beginWrite(ctx, conn)
	if err != nil {
		return fmt.Errorf("commissionpg: begin: %w", err)
	}
	if err := fn(w); err != nil {
		return err
	}
	if err := w.flush(); err != nil {
		return fmt.Errorf("commissionpg: commit: %w", err)
	}
	tag, err := conn.Exec(ctx, "COMMIT")
	if err != nil {
		return fmt.Errorf("commissionpg: commit: %w", err)
	}
	committed = true
	// COMMIT in a failed transaction (a statement in fn failed, and fn
	// went on) rolls back and says so, without an error.
	if tag.String() != "COMMIT" {
		return errors.New("commissionpg: commit: a statement failed, so the transaction was rolled back")
	}
	return nil
}

// View runs fn on one snapshot of the database, taken when View begins
// (REPEATABLE READ, READ ONLY): whatever commits meanwhile, fn sees none of
// it. It never waits for an Update.
func (db *DB) View(ctx context.Context, fn func(commission.Reader) error) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("commissionpg: begin: %w", err)
	}
	pc, err := db.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("commissionpg: begin: %w", err)
	}
	defer pc.Release() // a connection left inside a transaction is closed, not reused
	conn := pc.Conn()
	// BEGIN takes no snapshot by itself: the first query does. Take it
	// now, in the same round trip, so that it is the one of this moment.
	if _, err := conn.Exec(ctx, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SELECT 1"); err != nil {
		if conn.PgConn().TxStatus() != 'I' {
			rollback(ctx, conn)
		}
		return fmt.Errorf("commissionpg: begin: %w", err)
	}
	// A read-only transaction has nothing to commit: ending it is enough.
	defer rollback(ctx, conn)
	return fn(&readTx{ctx: ctx, conn: conn})
}

// rollback ends the connection's transaction, even when ctx is done; a
// connection it fails on is dropped by the pool.
func rollback(ctx context.Context, conn *pgx.Conn) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), endTimeout)
	defer cancel()
	_, _ = conn.Exec(ctx, "ROLLBACK")
}

// SchemaVersion is the version of the last migration applied.
func (db *DB) SchemaVersion(ctx context.Context) (int, error) {
	pc, err := db.pool.Acquire(ctx)
	if err != nil {
		return 0, fmt.Errorf("commissionpg: schema version: %w", err)
	}
	defer pc.Release() // a connection left inside a transaction is closed, not reused
	conn := pc.Conn()
	var v int
	if err := conn.QueryRow(ctx, "SELECT coalesce(max(version), 0) FROM schema_migrations").Scan(&v); err != nil {
		return 0, fmt.Errorf("commissionpg: schema version: %w", err)
	}
	return v, nil
}
