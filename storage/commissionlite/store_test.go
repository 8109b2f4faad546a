package commissionlite_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	_ "modernc.org/sqlite"

	"tally/app/commission"
	"tally/storage/commissionlite"
	"tally/storage/commissiontest"
)

func TestStore(t *testing.T) {
	commissiontest.Run(t, func(t *testing.T) commission.Store {
		db, _ := openDB(t)
		return db
	}, rawExec)
}

// rawExec runs SQL through a plain connection of its own, without the
// store's pragmas: what someone poking at the file would have.
func rawExec(t *testing.T, store commission.Store, query string) error {
	t.Helper()
	db, ok := store.(*commissionlite.DB)
	require.True(t, ok, "a %T", store)
	_, err := rawDB(t, db.Path()).ExecContext(context.Background(), query)
	return err
}

// openDB opens a new database in the test's directory, closed at the end.
func openDB(t testing.TB) (*commissionlite.DB, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "tallyd.db")
	db, err := commissionlite.Open(t.Context(), path)
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, db.Close()) })
	return db, path
}

// rawDB opens the file with a plain connection, closed at the end of the
// test.
func rawDB(t *testing.T, path string) *sql.DB {
	t.Helper()
	raw, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(5000)")
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, raw.Close()) })
	return raw
}
