package commissionpg_test

import (
	"testing"

	"tally/app/commission"
	"tally/storage/commissiontest"
)

// TestStore holds the store to the contract every commission.Store keeps,
// each test on a schema of its own.
func TestStore(t *testing.T) {
	commissiontest.Run(t, func(t *testing.T) commission.Store {
		db, _ := openDB(t)
		return db
	}, rawExec)
}
