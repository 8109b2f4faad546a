package main

import (
	"context"
	"flag"
	"os"
	"strings"

	"tally/app/commission"
	"tally/storage/commissionlite"
	"tally/storage/commissionpg"
)

// defaultDB is where tallyd keeps its SQLite file unless told otherwise.
const defaultDB = "tallyd.db"

// dbFlag adds --db: a SQLite file (the default: one file, nothing to set
// up) or a postgres:// URL for several tallyd nodes on one database.
func dbFlag(fs *flag.FlagSet) *string {
	def := os.Getenv("TALLYD_DB")
	if def == "" {
		def = defaultDB
	}
	return fs.String("db", def, "a SQLite file, or postgres://… (default: $TALLYD_DB or "+defaultDB+")")
}

func isPostgres(db string) bool {
	return strings.HasPrefix(db, "postgres://") || strings.HasPrefix(db, "postgresql://")
}

// openStore opens the commission's store named by --db.
func openStore(ctx context.Context, db string) (commission.Store, error) {
	if isPostgres(db) {
		return commissionpg.Open(ctx, db)
	}
	return commissionlite.Open(ctx, db)
}

// withService opens the store, runs fn with a service on it, and closes both.
func withService(ctx context.Context, db string, o commission.Options, fn func(*commission.Service, commission.Store) error) error {
	store, err := openStore(ctx, db)
	if err != nil {
		return err
	}
	svc := commission.New(store, o)
	err = fn(svc, store)
	svc.Close()
	if cerr := store.Close(); err == nil {
		err = cerr
	}
	return err
}
