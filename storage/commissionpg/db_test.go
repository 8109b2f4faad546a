package commissionpg_test

import (
	"fmt"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tally/app/audit"
	"tally/app/commission"
	"tally/app/seal"
	"tally/storage/commissionpg"
)

func TestOpen(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		db, _ := openDB(t)
		v, err := db.SchemaVersion(t.Context())
		require.NoError(t, err)
		assert.Equal(t, 2, v)
	})

	t.Run("MigrationsRecordedOnce", func(t *testing.T) {
		u := freshSchema(t)
		type applied struct {
			Version int
			Name    string
		}
		recorded := func() []applied {
			rows, err := connect(t, u).Query(t.Context(), "SELECT version, name FROM schema_migrations ORDER BY version")
			require.NoError(t, err)
			defer rows.Close()
			var out []applied
			for rows.Next() {
				var a applied
				require.NoError(t, rows.Scan(&a.Version, &a.Name))
				out = append(out, a)
			}
			require.NoError(t, rows.Err())
			return out
		}

		db, err := commissionpg.Open(t.Context(), u)
		require.NoError(t, err)
		update(t, db, func(tx commission.Tx) error { return tx.PutElection([]byte("signed"), "def-1", t0) })
		require.NoError(t, db.Close())
		first := recorded()
		assert.Equal(t, []applied{{1, "0001_commission"}, {2, "0002_snapshots"}}, first)

		db = openAt(t, u)
		view(t, db, func(r commission.Reader) error {
			signed, _, err := r.Election()
			assert.Equal(t, []byte("signed"), signed)
			return err
		})
		assert.Equal(t, first, recorded(), "a second Open applies nothing")
	})

	t.Run("ConcurrentNodes", func(t *testing.T) {
		// Nodes starting at once on an empty schema: one migrates, the
		// others wait for it and find the schema done.
		u := freshSchema(t)
		const nodes = 6
		dbs := make([]*commissionpg.DB, nodes)
		errs := make([]error, nodes)
		var wg sync.WaitGroup
		for i := range nodes {
			wg.Go(func() { dbs[i], errs[i] = commissionpg.Open(t.Context(), u) })
		}
		wg.Wait()
		for i := range nodes {
			require.NoError(t, errs[i], "node %d", i)
			v, err := dbs[i].SchemaVersion(t.Context())
			require.NoError(t, err)
			assert.Equal(t, 2, v)
			require.NoError(t, dbs[i].Close())
		}
		var n int
		require.NoError(t, connect(t, u).QueryRow(t.Context(), "SELECT count(*) FROM schema_migrations").Scan(&n))
		assert.Equal(t, 2, n)
	})

	t.Run("ErrNewerSchema", func(t *testing.T) {
		db, u := openDB(t)
		_, err := connect(t, u).Exec(t.Context(), "INSERT INTO schema_migrations (version, name) VALUES (3, '0003_future')")
		require.NoError(t, err)
		_, err = commissionpg.Open(t.Context(), u)
		require.ErrorIs(t, err, commissionpg.ErrNewerSchema)
		assert.Contains(t, err.Error(), "schema version is 3, this build knows up to 2")
		view(t, db, func(r commission.Reader) error { return nil }) // the open one is untouched
	})

	t.Run("ErrNotAURL", func(t *testing.T) {
		for _, u := range []string{"host=127.0.0.1 dbname=test", "mysql://127.0.0.1/test",
			serverURL() + "?pool_max_conns=0"} {
			_, err := commissionpg.Open(t.Context(), u)
			assert.Error(t, err, u)
		}
	})

	t.Run("ErrUnreachable", func(t *testing.T) {
		_, err := commissionpg.Open(t.Context(), "postgres://postgres@127.0.0.1:1/test?connect_timeout=5")
		assert.Error(t, err)
	})

	t.Run("ErrClosed", func(t *testing.T) {
		u := freshSchema(t)
		db, err := commissionpg.Open(t.Context(), u)
		require.NoError(t, err)
		require.NoError(t, db.Close())
		assert.Error(t, db.View(t.Context(), func(commission.Reader) error { return nil }))
	})
}

func TestUpdate(t *testing.T) {
	t.Run("FailedStatementIsNotCommitted", func(t *testing.T) {
		// fn goes on after a statement failed: the transaction is rolled
		// back, and Update says so rather than report a commit.
		db, _ := openDB(t)
		err := db.Update(t.Context(), func(tx commission.Tx) error {
			if _, err := tx.InsertSubmission(sealedSubmission(results("0101A", "ASM"), "01", 1, "", "")); err != nil {
				return err
			}
			// A decision on no stored submission fails its foreign key.
			_, err := tx.InsertDecision(&commission.Decision{Digest: "d", Submission: "none", KeyID: "k",
				DecidedAt: t0, ReceivedAt: t0, Envelope: []byte("e")})
			assert.Error(t, err)
			return nil
		})
		assert.ErrorContains(t, err, "rolled back")
		view(t, db, func(r commission.Reader) error {
			c, err := r.Counts()
			assert.Zero(t, c.Submissions)
			return err
		})
	})

	t.Run("AuditReadInItsTransaction", func(t *testing.T) {
		db, _ := openDB(t)
		update(t, db, func(tx commission.Tx) error {
			for i := range 3 {
				if err := tx.Audit(t0, audit.Event{Action: "test.step", Details: map[string]any{"i": i}}); err != nil {
					return err
				}
			}
			var v audit.Verifier
			if err := tx.AuditRecords(v.Add); err != nil {
				return err
			}
			assert.Equal(t, uint64(3), v.Count(), "its own records, before the commit")
			return tx.Audit(t0, audit.Event{Action: "test.after"})
		})
		assert.Len(t, verifyChain(t, db), 4)
	})

	t.Run("ManyAuditPages", func(t *testing.T) {
		db, _ := openDB(t)
		const n = 2500 // more than a page of AuditRecords
		update(t, db, func(tx commission.Tx) error {
			for i := range n {
				if err := tx.Audit(t0, audit.Event{Action: "test.fill", Subject: fmt.Sprint(i)}); err != nil {
					return err
				}
			}
			return nil
		})
		records := verifyChain(t, db)
		require.Len(t, records, n)
		assert.Equal(t, fmt.Sprint(n-1), records[n-1].Subject)
	})
}

// TestAppendOnly adds what the shared suite cannot say in both dialects:
// TRUNCATE, and records forged into the chain.
func TestAppendOnly(t *testing.T) {
	db, u := openDB(t)
	photo := []byte("photo")
	update(t, db, func(tx commission.Tx) error {
		if err := tx.PutElection([]byte("signed"), "def-1", t0); err != nil {
			return err
		}
		if _, err := tx.InsertSubmission(sealedSubmission(results("0101A", "ASM"), "01", 1, "", "")); err != nil {
			return err
		}
		if err := tx.CompleteUpload(&commission.Attachment{SHA256: "sha", Size: int64(len(photo)), Station: "0101A",
			ReceivedAt: t0}, photo); err != nil {
			return err
		}
		if _, err := tx.Secret("token", func() ([]byte, error) { return []byte("secret"), nil }); err != nil {
			return err
		}
		if _, err := tx.PutSnapshot(1, []byte("snapshot 1"), seal.Digest([]byte("snapshot 1")), t0); err != nil {
			return err
		}
		for i := range 3 {
			if err := tx.Audit(t0, audit.Event{Action: "test.step", Details: map[string]any{"i": i}}); err != nil {
				return err
			}
		}
		return nil
	})
	before := verifyChain(t, db)
	raw := connect(t, u)
	for _, c := range []struct{ name, sql string }{
		{"TruncateElection", "TRUNCATE election"},
		{"TruncateSubmissions", "TRUNCATE submissions CASCADE"},
		{"TruncateAudit", "TRUNCATE audit"},
		{"TruncateCodes", "TRUNCATE codes"},
		{"TruncateKeys", "TRUNCATE keys"},
		{"TruncateAttachments", "TRUNCATE attachments"},
		{"TruncateSnapshots", "TRUNCATE snapshots"},
		{"SnapshotGap", `INSERT INTO snapshots (number, digest, sealed, created_at)
			SELECT 3, digest, sealed, created_at FROM snapshots WHERE number = 1`},
		{"SnapshotOverExisting", `INSERT INTO snapshots (number, digest, sealed, created_at)
			SELECT number, digest, 'forged', created_at FROM snapshots WHERE number = 1`},
		{"UpdateSecret", "UPDATE secrets SET value = 'forged'"},
		{"DeleteSecret", "DELETE FROM secrets"},
		{"AuditOverExisting", `INSERT INTO audit SELECT * FROM audit WHERE seq = 2
			ON CONFLICT (seq) DO UPDATE SET actor = 'forged'`},
		{"AuditUnlinked", `INSERT INTO audit (seq, at, action, subject, actor, details, prev, hash)
			SELECT 4, at, action, subject, actor, details, 'forged', repeat('1', 64) FROM audit WHERE seq = 3`},
		{"AuditGap", `INSERT INTO audit (seq, at, action, subject, actor, details, prev, hash)
			SELECT 5, at, action, subject, actor, details, hash, repeat('1', 64) FROM audit WHERE seq = 3`},
		{"DeleteWriteLock", "DELETE FROM write_lock"},
		{"UpdateWriteLock", "UPDATE write_lock SET id = 2"},
		{"CodeUsedAndRetired", "INSERT INTO codes (hash, role, unit, issued_at, used_at, used_by, retired_at) VALUES ('h', 'station', 'u', now(), now(), 'k', now())"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := raw.Exec(t.Context(), c.sql)
			var pgErr *pgconn.PgError
			if assert.ErrorAs(t, err, &pgErr) {
				assert.Equal(t, "23", pgErr.Code[:2], "an integrity constraint refuses it, not a mistake: %v", err)
			}
		})
	}
	assert.Equal(t, before, verifyChain(t, db))
	view(t, db, func(r commission.Reader) error {
		c, err := r.Counts()
		assert.Equal(t, commission.Counts{Submissions: 1, Attachments: 1}, c)
		return err
	})
	update(t, db, func(tx commission.Tx) error {
		secret, err := tx.Secret("token", func() ([]byte, error) { return []byte("other"), nil })
		assert.Equal(t, []byte("secret"), secret)
		return err
	})
	view(t, db, func(r commission.Reader) error {
		last, sealed, err := r.LastSnapshot()
		assert.Equal(t, uint64(1), last)
		assert.Equal(t, []byte("snapshot 1"), sealed)
		return err
	})
}
