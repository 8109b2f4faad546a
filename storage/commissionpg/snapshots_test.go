package commissionpg_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tally/app/audit"
	"tally/app/commission"
	"tally/app/seal"
	"tally/storage/commissionpg"
)

// TestSnapshotKeyDecides stores snapshot 1 while a session that does not
// take write_lock inserts it too, uncommitted: the store's insert waits for
// that transaction, and once it commits, the primary key decides. The
// store then compares what was stored, without failing its transaction.
func TestSnapshotKeyDecides(t *testing.T) {
	ours := []byte("our snapshot 1")
	for _, c := range []struct {
		name     string
		theirs   []byte
		conflict bool
	}{
		{"OtherBytes", []byte("their snapshot 1"), true},
		{"SameBytes", ours, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			db, u := openDB(t)
			ctx := t.Context()
			other := connect(t, u)
			theirs, err := other.Begin(ctx)
			require.NoError(t, err)
			defer func() { _ = theirs.Rollback(ctx) }()
			_, err = theirs.Exec(ctx, "INSERT INTO snapshots (number, digest, sealed, created_at) VALUES (1, $1, $2, $3)",
				seal.Digest(c.theirs), c.theirs, t0)
			require.NoError(t, err)
			var pid uint32
			require.NoError(t, theirs.QueryRow(ctx, "SELECT pg_backend_pid()").Scan(&pid))

			type result struct {
				fresh     bool
				putErr    error
				sealed    []byte
				updateErr error
			}
			done := make(chan result, 1)
			go func() {
				var r result
				r.updateErr = db.Update(ctx, func(tx commission.Tx) error {
					r.fresh, r.putErr = tx.PutSnapshot(1, ours, seal.Digest(ours), t0)
					if r.putErr != nil && commission.KindOf(r.putErr) != commission.EConflict {
						return r.putErr
					}
					// The transaction goes on: it reads the stored
					// snapshot and records what it found.
					var err error
					if r.sealed, err = tx.Snapshot(1); err != nil {
						return err
					}
					return tx.Audit(t0, audit.Event{Action: "test.after"})
				})
				done <- r
			}()

			// The store's transaction waits on the other session's.
			watch := connect(t, u)
			require.Eventually(t, func() bool {
				var n int
				err := watch.QueryRow(ctx, "SELECT count(*) FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))",
					pid).Scan(&n)
				return err == nil && n == 1
			}, time.Minute, time.Millisecond, "the store's insert waits for the other session")
			require.NoError(t, theirs.Commit(ctx))

			r := <-done
			require.NoError(t, r.updateErr)
			assert.False(t, r.fresh, "the other session stored it")
			if c.conflict {
				assertConflictErr(t, r.putErr)
			} else {
				assert.NoError(t, r.putErr)
			}
			assert.Equal(t, c.theirs, r.sealed)
			view(t, db, func(rd commission.Reader) error {
				last, sealed, err := rd.LastSnapshot()
				assert.Equal(t, uint64(1), last)
				assert.Equal(t, c.theirs, sealed)
				return err
			})
			assert.Len(t, verifyChain(t, db), 1, "the store's transaction committed")
		})
	}
}

func assertConflictErr(t *testing.T, err error) {
	t.Helper()
	require.Error(t, err)
	assert.Equal(t, commission.EConflict, commission.KindOf(err), "%v", err)
}

// TestSnapshotNodes has the publishers of two nodes on one schema race for
// each number, each with a snapshot of its own: one stores each number,
// the other is told EConflict, and the chain holds one record per stored
// snapshot.
func TestSnapshotNodes(t *testing.T) {
	u := freshSchema(t)
	nodes := []*commissionpg.DB{openAt(t, u), openAt(t, u)}
	svcs := make([]*commission.Service, len(nodes))
	for i, db := range nodes {
		svcs[i] = commission.New(db, commission.Options{Now: func() time.Time { return t0 }})
		t.Cleanup(svcs[i].Close)
	}
	const numbers = 10
	stored := make([][]byte, 0, numbers)
	for n := uint64(1); n <= numbers; n++ {
		mine := [][]byte{fmt.Appendf(nil, "node a's snapshot %d", n), fmt.Appendf(nil, "node b's snapshot %d", n)}
		errs := make([]error, len(nodes))
		var wg sync.WaitGroup
		for i, svc := range svcs {
			wg.Go(func() { errs[i] = svc.ArchiveSnapshot(t.Context(), n, mine[i]) })
		}
		wg.Wait()
		winner := 0
		if errs[0] != nil {
			winner = 1
		}
		require.NoError(t, errs[winner], "snapshot %d", n)
		assertConflictErr(t, errs[1-winner])
		stored = append(stored, mine[winner])
	}
	for i, svc := range svcs {
		last, sealed, err := svc.LastArchivedSnapshot(t.Context())
		require.NoError(t, err)
		assert.Equal(t, uint64(numbers), last, "node %d", i)
		assert.Equal(t, stored[numbers-1], sealed, "node %d", i)
		for n, want := range stored {
			got, err := svc.ArchivedSnapshot(t.Context(), uint64(n+1))
			require.NoError(t, err)
			assert.Equal(t, want, got, "node %d, snapshot %d", i, n+1)
		}
	}
	count, _, err := svcs[0].VerifyAudit(t.Context())
	require.NoError(t, err)
	assert.Equal(t, uint64(numbers), count)
}
