package commissionlite_test

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tally/app/audit"
	"tally/app/commission"
	"tally/app/election"
	"tally/app/enrollment"
	"tally/app/seal"
	"tally/storage/commissionlite"
)

var t0 = time.Date(2026, 10, 4, 19, 42, 7, 123456000, time.UTC)

func update(t *testing.T, db commission.Store, fn func(commission.Tx) error) {
	t.Helper()
	require.NoError(t, db.Update(t.Context(), fn))
}

func view(t *testing.T, db commission.Store, fn func(commission.Reader) error) {
	t.Helper()
	require.NoError(t, db.View(t.Context(), fn))
}

// submission makes version 1 of a results form of station.
func submission(station, note string) *commission.Submission {
	env := fmt.Appendf(nil, `{"payloadType":"test","payload":"%s %s"}`, station, note)
	return &commission.Submission{Digest: seal.Digest(env),
		FormRef:      commission.FormRef{Station: station, Contest: "ASM", Form: election.ResultsForm},
		Municipality: station[:2], Version: 1, KeyID: "key-" + station, Envelope: env, SealedAt: t0, ReceivedAt: t0}
}

func TestOpen(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		db, path := openDB(t)
		assert.Equal(t, path, db.Path())
		info, err := os.Stat(path)
		require.NoError(t, err)
		assert.Equal(t, os.FileMode(0o600), info.Mode().Perm())

		v, err := db.SchemaVersion(t.Context())
		require.NoError(t, err)
		assert.Equal(t, 3, v)
		assert.NoError(t, db.IntegrityCheck(t.Context()))

		var mode string
		require.NoError(t, rawDB(t, path).QueryRow("PRAGMA journal_mode").Scan(&mode))
		assert.Equal(t, "wal", mode)
	})

	t.Run("MigrationsRecordedOnce", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "tallyd.db")
		type applied struct{ Version, Name, At string }
		recorded := func() []applied {
			rows, err := rawDB(t, path).Query("SELECT version, name, applied_at FROM schema_migrations ORDER BY version")
			require.NoError(t, err)
			defer rows.Close()
			var out []applied
			for rows.Next() {
				var a applied
				require.NoError(t, rows.Scan(&a.Version, &a.Name, &a.At))
				out = append(out, a)
			}
			require.NoError(t, rows.Err())
			return out
		}

		db, err := commissionlite.Open(t.Context(), path)
		require.NoError(t, err)
		update(t, db, func(tx commission.Tx) error { return tx.PutElection([]byte("signed"), "def-1", t0) })
		require.NoError(t, db.Close())
		first := recorded()
		require.Len(t, first, 3)
		assert.Equal(t, "1", first[0].Version)
		assert.Equal(t, "0001_commission", first[0].Name)
		assert.Equal(t, "2", first[1].Version)
		assert.Equal(t, "0002_keys_revoked", first[1].Name)
		assert.Equal(t, "3", first[2].Version)
		assert.Equal(t, "0003_snapshots", first[2].Name)

		db, err = commissionlite.Open(t.Context(), path)
		require.NoError(t, err)
		view(t, db, func(r commission.Reader) error {
			signed, _, err := r.Election()
			assert.Equal(t, []byte("signed"), signed)
			return err
		})
		require.NoError(t, db.Close())
		assert.Equal(t, first, recorded(), "a second Open applies nothing")
	})

	t.Run("ErrNewerSchema", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "tallyd.db")
		db, err := commissionlite.Open(t.Context(), path)
		require.NoError(t, err)
		require.NoError(t, db.Close())
		_, err = rawDB(t, path).Exec(
			"INSERT INTO schema_migrations (version, name, applied_at) VALUES (4, '0004_future', '2027-01-01T00:00:00Z')")
		require.NoError(t, err)

		_, err = commissionlite.Open(t.Context(), path)
		require.ErrorIs(t, err, commissionlite.ErrNewerSchema)
		assert.Contains(t, err.Error(), "schema version is 4, this build knows up to 3")
	})

	t.Run("PathIsEscaped", func(t *testing.T) {
		dir := t.TempDir()
		name := "tallyd ?#%41&x=1.db"
		db, err := commissionlite.Open(t.Context(), filepath.Join(dir, name))
		require.NoError(t, err)
		update(t, db, func(tx commission.Tx) error { return tx.PutElection([]byte("signed"), "def-1", t0) })
		require.NoError(t, db.Close())

		entries, err := os.ReadDir(dir)
		require.NoError(t, err)
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		assert.Equal(t, []string{name}, names)
	})

	t.Run("ErrMissingDirectory", func(t *testing.T) {
		_, err := commissionlite.Open(t.Context(), filepath.Join(t.TempDir(), "missing", "tallyd.db"))
		assert.ErrorIs(t, err, os.ErrNotExist)
	})

	t.Run("KeepsWhatItStored", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "tallyd.db")
		db, err := commissionlite.Open(t.Context(), path)
		require.NoError(t, err)
		first, second := submission("0101A", ""), submission("0101B", "")
		update(t, db, func(tx commission.Tx) error {
			if _, err := tx.InsertSubmission(first); err != nil {
				return err
			}
			return tx.Audit(t0, audit.Event{Action: "submission.store", Subject: "0101A"})
		})
		require.NoError(t, db.Close())

		db, err = commissionlite.Open(t.Context(), path)
		require.NoError(t, err)
		defer func() { assert.NoError(t, db.Close()) }()
		update(t, db, func(tx commission.Tx) error {
			if _, err := tx.InsertSubmission(second); err != nil {
				return err
			}
			return tx.Audit(t0, audit.Event{Action: "submission.store", Subject: "0101B"})
		})
		assert.Greater(t, second.Number, first.Number, "receipt numbers go on after a restart")
		var v audit.Verifier
		view(t, db, func(r commission.Reader) error { return r.AuditRecords(v.Add) })
		assert.Equal(t, uint64(2), v.Count())
	})
}

func TestIntegrityCheck(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		db, _ := openDB(t)
		assert.NoError(t, db.IntegrityCheck(t.Context()))
	})

	t.Run("ErrCorrupt", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "tallyd.db")
		db, err := commissionlite.Open(t.Context(), path)
		require.NoError(t, err)
		// Enough rows for the audit table to span several pages.
		for i := range 200 {
			update(t, db, func(tx commission.Tx) error {
				return tx.Audit(t0, audit.Event{Action: "test.fill", Subject: "ASM", Actor: "system",
					Details: map[string]any{"i": i, "padding": "................................................"}})
			})
		}
		require.NoError(t, db.Close())

		// Scribble over the middle of the last page: a b-tree page of the
		// audit table, not the header that Open reads.
		data, err := os.ReadFile(path)
		require.NoError(t, err)
		page := 4096
		require.Greater(t, len(data), 4*page)
		last := len(data) - page
		for i := last + 8; i < last+page-8; i++ {
			data[i] = 0xA5
		}
		require.NoError(t, os.WriteFile(path, data, 0o600))

		db, err = commissionlite.Open(t.Context(), path)
		require.NoError(t, err)
		defer func() { assert.NoError(t, db.Close()) }()
		assert.ErrorContains(t, db.IntegrityCheck(t.Context()), "integrity check of "+path+": the file is damaged")
	})
}

// TestUpdateAfterFailedStatement goes on in a transaction after the
// schema refused a statement: SQLite undoes the statement, not the
// transaction, and the service relies on that (an EConflict inside a group
// commit refuses one submission, not the batch).
func TestUpdateAfterFailedStatement(t *testing.T) {
	db, _ := openDB(t)
	kept := submission("0101A", "")
	update(t, db, func(tx commission.Tx) error {
		if err := tx.PutKey(&commission.Key{ID: "k-1", Public: "p", Role: enrollment.RoleStation, Unit: "0101A",
			EnrolledAt: t0}); err != nil {
			return err
		}
		err := tx.PutKey(&commission.Key{ID: "k-1", Public: "p", Role: enrollment.RoleStation, Unit: "0101A", EnrolledAt: t0})
		require.Equal(t, commission.EConflict, commission.KindOf(err))
		err = tx.UseCode("unknown", "k-1", t0)
		require.ErrorIs(t, err, commission.ErrNotFound)
		ok, err := tx.InsertSubmission(kept)
		require.True(t, ok)
		return err
	})
	view(t, db, func(r commission.Reader) error {
		_, err := r.Key("k-1")
		require.NoError(t, err)
		got, err := r.Submission(kept.Digest)
		assert.Equal(t, kept, got)
		return err
	})
}

// TestHeadInUpdate reads versions within one Update as a group commit
// does: the transaction's own inserts show at once.
func TestHeadInUpdate(t *testing.T) {
	db, _ := openDB(t)
	v1 := submission("0101A", "")
	env := []byte(`{"payloadType":"test","payload":"v2"}`)
	v2 := *v1
	v2.Digest, v2.Envelope, v2.Version, v2.Supersedes = seal.Digest(env), env, 2, v1.Digest
	update(t, db, func(tx commission.Tx) error {
		_, err := tx.SubmissionAt(v1.FormRef, 1)
		require.ErrorIs(t, err, commission.ErrNotFound)
		_, err = tx.Head(v1.FormRef)
		require.ErrorIs(t, err, commission.ErrNotFound)
		ok, err := tx.InsertSubmission(v1)
		require.True(t, ok)
		require.NoError(t, err)

		head, err := tx.Head(v1.FormRef)
		require.NoError(t, err)
		assert.Equal(t, v1, head)
		head.Version = 99 // the caller's copy
		at, err := tx.SubmissionAt(v1.FormRef, 1)
		require.NoError(t, err)
		assert.Equal(t, v1, at)
		_, err = tx.SubmissionAt(v1.FormRef, 2)
		require.ErrorIs(t, err, commission.ErrNotFound)

		ok, err = tx.InsertSubmission(&v2)
		require.True(t, ok)
		require.NoError(t, err)
		head, err = tx.Head(v1.FormRef)
		require.NoError(t, err)
		assert.Equal(t, &v2, head)
		at, err = tx.SubmissionAt(v1.FormRef, 1)
		require.NoError(t, err)
		assert.Equal(t, v1, at, "an older version")
		return nil
	})
}

// TestTwoOpens writes through two DBs on one file at once, as tallyd serve
// and an admin command do: each Update waits its turn for SQLite's write
// lock, and the audit chain stays one chain.
func TestTwoOpens(t *testing.T) {
	first, path := openDB(t)
	second, err := commissionlite.Open(t.Context(), path)
	require.NoError(t, err)
	defer func() { assert.NoError(t, second.Close()) }()

	const each = 30
	errs := make(chan error, 2*each)
	var wg sync.WaitGroup
	for n, db := range []*commissionlite.DB{first, second} {
		wg.Go(func() {
			for i := range each {
				sub := submission(fmt.Sprintf("%02d%02dA", n+1, i), "")
				errs <- db.Update(t.Context(), func(tx commission.Tx) error {
					if ok, err := tx.InsertSubmission(sub); err != nil || !ok {
						return fmt.Errorf("insert: %v, %v", ok, err)
					}
					return tx.Audit(t0, audit.Event{Action: "submission.store", Subject: sub.Station})
				})
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	for _, db := range []*commissionlite.DB{first, second} {
		var v audit.Verifier
		view(t, db, func(r commission.Reader) error { return r.AuditRecords(v.Add) })
		assert.Equal(t, uint64(2*each), v.Count())
		view(t, db, func(r commission.Reader) error {
			c, err := r.Counts()
			assert.Equal(t, 2*each, c.Submissions)
			return err
		})
	}
}
