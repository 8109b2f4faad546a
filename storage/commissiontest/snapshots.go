package commissiontest

import (
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tally/app/audit"
	"tally/app/commission"
	"tally/app/seal"
)

// sealedSnapshot stands for sealed snapshot n: bytes of its own for each
// number and note, with a NUL, bytes that are not UTF-8, and (size > 0)
// padding to size bytes, all of which must come back exactly.
func sealedSnapshot(n uint64, note string, size int) []byte {
	b := fmt.Appendf(nil, `{"payloadType":"application/vnd.tally.results+json","payload":"snapshot %d %s"}`, n, note)
	b = append(b, 0, 0xff, 0xfe, '\n')
	for i := 0; len(b) < size; i++ {
		b = append(b, byte(i*31+int(n)))
	}
	return b
}

// putSnapshot stores a snapshot as the service does, with its digest.
func putSnapshot(tx commission.Tx, n uint64, sealed []byte, at time.Time) (bool, error) {
	return tx.PutSnapshot(n, sealed, seal.Digest(sealed), at)
}

// publish stores a snapshot and, if it is new, its audit record, as
// Service.ArchiveSnapshot does, in one Update.
func publish(t *testing.T, st commission.Store, n uint64, sealed []byte) (bool, error) {
	var fresh bool
	err := st.Update(t.Context(), func(tx commission.Tx) error {
		var err error
		fresh, err = putSnapshot(tx, n, sealed, minute(int(n)))
		if err != nil || !fresh {
			return err
		}
		return tx.Audit(minute(int(n)), audit.Event{Action: "results.publish", Subject: fmt.Sprintf("snapshot/%d", n),
			Actor: "system", Details: map[string]any{"digest": seal.Digest(sealed), "size": len(sealed)}})
	})
	return fresh, err
}

// snapshots reads snapshots 1 to the last, and checks that the last is
// the one LastSnapshot names.
func snapshots(t *testing.T, st commission.Store) [][]byte {
	t.Helper()
	var out [][]byte
	view(t, st, func(r commission.Reader) error {
		last, lastSealed, err := r.LastSnapshot()
		require.NoError(t, err)
		for n := uint64(1); n <= last; n++ {
			sealed, err := r.Snapshot(n)
			require.NoError(t, err, "snapshot %d of %d", n, last)
			out = append(out, sealed)
		}
		if last > 0 {
			assert.Equal(t, out[last-1], lastSealed, "LastSnapshot's bytes are snapshot %d's", last)
		} else {
			assert.Nil(t, lastSealed)
		}
		return nil
	})
	return out
}

func (s *suite) testSnapshots(t *testing.T) {
	t.Run("Empty", func(t *testing.T) {
		st := s.open(t)
		view(t, st, func(r commission.Reader) error {
			n, sealed, err := r.LastSnapshot()
			require.NoError(t, err)
			assert.Zero(t, n)
			assert.Nil(t, sealed)
			for _, n := range []uint64{0, 1, 1 << 63, ^uint64(0)} {
				_, err := r.Snapshot(n)
				assertNotFound(t, err, fmt.Sprintf("snapshot %d of none", n))
			}
			return nil
		})
	})

	t.Run("OK", func(t *testing.T) {
		st := s.open(t)
		want := [][]byte{sealedSnapshot(1, "", 0), sealedSnapshot(2, "", 256<<10), sealedSnapshot(3, "", 0)}
		for i, sealed := range want {
			n := uint64(i + 1)
			update(t, st, func(tx commission.Tx) error {
				fresh, err := putSnapshot(tx, n, sealed, minute(i))
				require.NoError(t, err)
				assert.True(t, fresh, "snapshot %d is new", n)
				got, err := tx.Snapshot(n)
				require.NoError(t, err)
				assert.Equal(t, sealed, got, "the transaction sees its own write")
				last, lastSealed, err := tx.LastSnapshot()
				require.NoError(t, err)
				assert.Equal(t, n, last)
				assert.Equal(t, sealed, lastSealed)
				return nil
			})
		}
		assert.Equal(t, want, snapshots(t, st))
		view(t, st, func(r commission.Reader) error {
			last, sealed, err := r.LastSnapshot()
			require.NoError(t, err)
			assert.Equal(t, uint64(3), last)
			assert.Equal(t, want[2], sealed)
			_, err = r.Snapshot(4)
			assertNotFound(t, err, "a snapshot after the last")
			_, err = r.Snapshot(0)
			assertNotFound(t, err, "snapshot 0")
			return nil
		})
	})

	t.Run("SameBytesAgain", func(t *testing.T) {
		st := s.open(t)
		one, two := sealedSnapshot(1, "", 0), sealedSnapshot(2, "", 0)
		for i, sealed := range [][]byte{one, two} {
			fresh, err := publish(t, st, uint64(i+1), sealed)
			require.NoError(t, err)
			require.True(t, fresh)
		}
		for i, sealed := range [][]byte{one, two} {
			n := uint64(i + 1)
			fresh, err := publish(t, st, n, append([]byte(nil), sealed...))
			require.NoError(t, err, "snapshot %d again", n)
			assert.False(t, fresh, "snapshot %d again stores nothing", n)
		}
		assert.Equal(t, [][]byte{one, two}, snapshots(t, st))
		assert.Len(t, verifyChain(t, st), 2, "no record for a repeat")
	})

	t.Run("ErrOtherBytesIsConflict", func(t *testing.T) {
		st := s.open(t)
		one, two := sealedSnapshot(1, "", 0), sealedSnapshot(2, "", 0)
		for n, sealed := range [][]byte{one, two} {
			_, err := publish(t, st, uint64(n+1), sealed)
			require.NoError(t, err)
		}
		other := sealedSnapshot(2, "counted otherwise", 0)
		shorter := two[:len(two)-1]
		longer := append(append([]byte(nil), two...), 0)
		for name, sealed := range map[string][]byte{"other": other, "shorter": shorter, "longer": longer,
			"first's": one} {
			_, err := publish(t, st, 2, sealed)
			assertConflict(t, err, name+" bytes under number 2")
			assert.Contains(t, commission.ErrorMessage(err), "snapshot 2", name)
		}
		// The same bytes with another digest are not the snapshot stored.
		err := st.Update(t.Context(), func(tx commission.Tx) error {
			_, err := tx.PutSnapshot(2, two, seal.Digest(other), minute(9))
			return err
		})
		assertConflict(t, err, "snapshot 2's bytes with another digest")
		assert.Equal(t, [][]byte{one, two}, snapshots(t, st))
		assert.Len(t, verifyChain(t, st), 2)
	})

	t.Run("ErrGapIsConflict", func(t *testing.T) {
		st := s.open(t)
		for _, n := range []uint64{2, 3, 1 << 63} {
			_, err := publish(t, st, n, sealedSnapshot(n, "", 0))
			assertConflict(t, err, fmt.Sprintf("snapshot %d first", n))
			assert.Contains(t, commission.ErrorMessage(err), fmt.Sprintf("snapshot %d", n))
		}
		_, err := publish(t, st, 1, sealedSnapshot(1, "", 0))
		require.NoError(t, err)
		for _, n := range []uint64{3, 7, 1 << 63, ^uint64(0)} {
			_, err := publish(t, st, n, sealedSnapshot(n, "", 0))
			assertConflict(t, err, fmt.Sprintf("snapshot %d after 1", n))
			msg := commission.ErrorMessage(err)
			assert.Contains(t, msg, fmt.Sprintf("snapshot %d", n), "names the number refused")
			assert.Contains(t, msg, "snapshot 1", "names the last stored")
		}
		assert.Len(t, snapshots(t, st), 1)
		assert.Len(t, verifyChain(t, st), 1)
	})

	t.Run("ErrZeroIsInvalid", func(t *testing.T) {
		st := s.open(t)
		err := st.Update(t.Context(), func(tx commission.Tx) error {
			_, err := putSnapshot(tx, 0, sealedSnapshot(0, "", 0), t0)
			return err
		})
		assert.Equal(t, commission.EInvalid, commission.KindOf(err), "%v", err)
		assert.Empty(t, snapshots(t, st))
	})

	t.Run("GoesOnAfterRefusal", func(t *testing.T) {
		// An EConflict leaves the transaction usable: what it stores
		// after is committed.
		st := s.open(t)
		one := sealedSnapshot(1, "", 0)
		_, err := publish(t, st, 1, one)
		require.NoError(t, err)
		two := sealedSnapshot(2, "", 0)
		update(t, st, func(tx commission.Tx) error {
			_, err := putSnapshot(tx, 1, sealedSnapshot(1, "other", 0), t0)
			assertConflict(t, err, "other bytes under 1")
			_, err = putSnapshot(tx, 3, sealedSnapshot(3, "", 0), t0)
			assertConflict(t, err, "a gap")
			fresh, err := putSnapshot(tx, 1, one, t0)
			require.NoError(t, err)
			assert.False(t, fresh)
			fresh, err = putSnapshot(tx, 2, two, t0)
			require.NoError(t, err)
			assert.True(t, fresh)
			return tx.Audit(t0, event("results.publish", "snapshot/2", 2))
		})
		assert.Equal(t, [][]byte{one, two}, snapshots(t, st))
		assert.Len(t, verifyChain(t, st), 2)
	})

	t.Run("RolledBack", func(t *testing.T) {
		// A snapshot of a transaction that fails is not stored, and its
		// number is free again.
		st := s.open(t)
		err := st.Update(t.Context(), func(tx commission.Tx) error {
			if _, err := putSnapshot(tx, 1, sealedSnapshot(1, "dropped", 0), t0); err != nil {
				return err
			}
			return errBoom
		})
		require.ErrorIs(t, err, errBoom)
		assert.Empty(t, snapshots(t, st))
		kept := sealedSnapshot(1, "kept", 0)
		fresh, err := publish(t, st, 1, kept)
		require.NoError(t, err)
		assert.True(t, fresh)
		assert.Equal(t, [][]byte{kept}, snapshots(t, st))
	})

	t.Run("ConcurrentOtherBytes", func(t *testing.T) {
		// Publishers on several nodes race to store their own snapshot
		// under the same number: one stores it, every other is told
		// EConflict, and the chain holds the winner's record alone.
		st := s.open(t)
		_, err := publish(t, st, 1, sealedSnapshot(1, "", 0))
		require.NoError(t, err)
		const racers = 8
		sealed := make([][]byte, racers)
		fresh := make([]bool, racers)
		errs := make([]error, racers)
		var wg sync.WaitGroup
		for i := range racers {
			sealed[i] = sealedSnapshot(2, fmt.Sprintf("racer %d", i), 0)
			wg.Go(func() { fresh[i], errs[i] = publish(t, st, 2, sealed[i]) })
		}
		wg.Wait()
		winner := -1
		for i := range racers {
			if errs[i] == nil {
				assert.Equal(t, -1, winner, "racers %d and %d both stored snapshot 2", winner, i)
				assert.True(t, fresh[i])
				winner = i
				continue
			}
			assertConflict(t, errs[i], fmt.Sprintf("racer %d", i))
		}
		require.NotEqual(t, -1, winner, "one racer stores snapshot 2")
		got := snapshots(t, st)
		require.Len(t, got, 2)
		assert.Equal(t, sealed[winner], got[1])
		records := verifyChain(t, st)
		require.Len(t, records, 2)
		assert.Equal(t, "snapshot/2", records[1].Subject)
		assert.Contains(t, string(records[1].Details), seal.Digest(sealed[winner]))
	})

	t.Run("ConcurrentSameBytes", func(t *testing.T) {
		// Nodes that made the same snapshot: one stores it, the others
		// are told it was stored, none fails.
		st := s.open(t)
		const racers = 8
		sealed := sealedSnapshot(1, "", 0)
		fresh := make([]bool, racers)
		errs := make([]error, racers)
		var wg sync.WaitGroup
		for i := range racers {
			wg.Go(func() { fresh[i], errs[i] = publish(t, st, 1, append([]byte(nil), sealed...)) })
		}
		wg.Wait()
		stored := 0
		for i := range racers {
			require.NoError(t, errs[i], "racer %d", i)
			if fresh[i] {
				stored++
			}
		}
		assert.Equal(t, 1, stored)
		assert.Equal(t, [][]byte{sealed}, snapshots(t, st))
		assert.Len(t, verifyChain(t, st), 1)
	})

	t.Run("Service", s.testArchive)
}

// testArchive holds the Service's archive of snapshots to what
// publish.Archive promises (Append durable before it returns, Get with
// ENotFound for a number not published, Last with 0 and nil for none),
// and checks its audit records.
func (s *suite) testArchive(t *testing.T) {
	st := s.open(t)
	svc := commission.New(st, commission.Options{Now: func() time.Time { return t0 }})
	t.Cleanup(svc.Close)
	ctx := t.Context()

	n, sealed, err := svc.LastArchivedSnapshot(ctx)
	require.NoError(t, err)
	assert.Zero(t, n)
	assert.Nil(t, sealed)
	_, err = svc.ArchivedSnapshot(ctx, 1)
	assert.Equal(t, commission.ENotFound, commission.KindOf(err), "Get before any Append: %v", err)
	assert.Equal(t, "no results snapshot 1 has been published", commission.ErrorMessage(err))

	want := [][]byte{sealedSnapshot(1, "", 0), sealedSnapshot(2, "", 64<<10), sealedSnapshot(3, "", 0)}
	for i, b := range want {
		require.NoError(t, svc.ArchiveSnapshot(ctx, uint64(i+1), b))
	}
	for i, b := range want {
		got, err := svc.ArchivedSnapshot(ctx, uint64(i+1))
		require.NoError(t, err)
		assert.Equal(t, b, got)
	}
	_, err = svc.ArchivedSnapshot(ctx, 4)
	assert.Equal(t, commission.ENotFound, commission.KindOf(err), "Get after the last: %v", err)
	n, sealed, err = svc.LastArchivedSnapshot(ctx)
	require.NoError(t, err)
	assert.Equal(t, uint64(3), n)
	assert.Equal(t, want[2], sealed)

	require.NoError(t, svc.ArchiveSnapshot(ctx, 2, append([]byte(nil), want[1]...)), "the same snapshot again")
	assertConflict(t, svc.ArchiveSnapshot(ctx, 2, sealedSnapshot(2, "other", 0)), "other bytes under 2")
	assertConflict(t, svc.ArchiveSnapshot(ctx, 5, sealedSnapshot(5, "", 0)), "a gap")
	assert.Equal(t, commission.EInvalid, commission.KindOf(svc.ArchiveSnapshot(ctx, 0, sealedSnapshot(0, "", 0))))
	assert.Equal(t, commission.EInvalid, commission.KindOf(svc.ArchiveSnapshot(ctx, 4, nil)))

	// Two nodes' publishers race for number 4 with different snapshots.
	racers := [][]byte{sealedSnapshot(4, "node a", 0), sealedSnapshot(4, "node b", 0)}
	errs := make([]error, len(racers))
	var wg sync.WaitGroup
	for i := range racers {
		wg.Go(func() { errs[i] = svc.ArchiveSnapshot(ctx, 4, racers[i]) })
	}
	wg.Wait()
	winner := 0
	if errs[0] != nil {
		winner = 1
	}
	require.NoError(t, errs[winner])
	assertConflict(t, errs[1-winner], "the loser of the race")
	want = append(want, racers[winner])
	assert.Equal(t, want, snapshots(t, st))

	count, head, err := svc.VerifyAudit(ctx)
	require.NoError(t, err)
	assert.Equal(t, uint64(len(want)), count, "one record per stored snapshot")
	require.NotNil(t, head)
	assert.Equal(t, "snapshot/4", head.Subject)
	for i, rec := range verifyChain(t, st) {
		assert.Equal(t, "results.publish", rec.Action)
		assert.Equal(t, fmt.Sprintf("snapshot/%d", i+1), rec.Subject)
		assert.Equal(t, "system", rec.Actor)
		assert.Equal(t, t0, rec.At)
		var d struct {
			Digest string `json:"digest"`
			Size   int    `json:"size"`
		}
		require.NoError(t, json.Unmarshal(rec.Details, &d))
		assert.Equal(t, seal.Digest(want[i]), d.Digest, "record %d", rec.Seq)
		assert.Equal(t, len(want[i]), d.Size, "record %d", rec.Seq)
	}
}
