package sqlitefile

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// Pools is a SQLite file as the desktop stores keep it: one write
// connection (SQLite has one writer at a time anyway) and a pool of
// query-only readers, each reading one snapshot.
type Pools struct {
	Name   string // the store's name, at the head of its errors
	Path   string
	Writer *sql.DB
	Reader *sql.DB
}

// OpenPools opens the file at path, creating it with mode 0600 if it is
// missing (it holds a sealed private key), checks that it is in WAL mode,
// applies the migrations in dir of migrations, and opens readers readers.
// It refuses a file written by a newer build (ErrNewerSchema). name heads
// the errors of Update and View.
func OpenPools(ctx context.Context, name, path string, migrations fs.FS, dir string, readers int) (*Pools, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	if err := f.Close(); err != nil {
		return nil, err
	}
	dsn, err := DataSourceName(path)
	if err != nil {
		return nil, err
	}
	p := &Pools{Name: name, Path: path}
	if p.Writer, err = sql.Open("sqlite", dsn); err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	p.Writer.SetMaxOpenConns(1)
	p.Writer.SetMaxIdleConns(1)
	if err := CheckJournalMode(ctx, p.Writer); err != nil {
		return nil, errors.Join(fmt.Errorf("open %s: %w", path, err), p.Writer.Close())
	}
	if err := Migrate(ctx, p.Writer, migrations, dir); err != nil {
		return nil, errors.Join(fmt.Errorf("open %s: %w", path, err), p.Writer.Close())
	}
	// Opened after the migrations, so that a reader never sees a file
	// whose journal mode is not WAL yet.
	if p.Reader, err = sql.Open("sqlite", dsn+"&_pragma=query_only(1)"); err != nil {
		return nil, errors.Join(fmt.Errorf("open %s: %w", path, err), p.Writer.Close())
	}
	p.Reader.SetMaxOpenConns(readers)
	p.Reader.SetMaxIdleConns(readers)
	return p, nil
}

// Close closes both pools. The last connection to close checkpoints the
// WAL into the main file.
func (p *Pools) Close() error {
	return errors.Join(p.Reader.Close(), p.Writer.Close())
}

// Update runs fn in one immediate write transaction and commits it when fn
// returns nil. fn's error is returned as it is, after the rollback. A
// panic in fn rolls back too, then goes on. fn must not call Update: the
// one write connection is fn's own.
func (p *Pools) Update(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := p.Writer.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("%s: begin: %w", p.Name, err)
	}
	// Deferred, so that a panic or runtime.Goexit in fn rolls back too.
	done := false
	defer func() {
		if !done {
			_ = tx.Rollback()
		}
	}()
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("%s: commit: %w", p.Name, err)
	}
	done = true
	return nil
}

// View runs fn on one snapshot of the file, taken when View begins:
// whatever commits meanwhile, fn sees none of it. It never waits for an
// Update.
func (p *Pools) View(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := p.Reader.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return fmt.Errorf("%s: begin: %w", p.Name, err)
	}
	// A read-only transaction has nothing to commit: ending it is enough.
	defer func() { _ = tx.Rollback() }()
	// BEGIN takes no snapshot by itself: the first read does. Read now,
	// so that the snapshot is the one of this moment, not of whenever fn
	// first reads.
	var version int
	if err := tx.QueryRowContext(ctx, "SELECT coalesce(max(version), 0) FROM schema_migrations").Scan(&version); err != nil {
		return fmt.Errorf("%s: begin: %w", p.Name, err)
	}
	return fn(tx)
}
