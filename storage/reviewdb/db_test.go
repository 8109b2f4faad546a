package reviewdb_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"testing"
	"testing/fstest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tally/app/audit"
	"tally/app/review"
	"tally/storage/reviewdb"
	"tally/storage/sqlitefile"
)

func open(t *testing.T) (*reviewdb.DB, string) {
	t.Helper()
	path := t.TempDir() + "/supervisor.db"
	db, err := reviewdb.Open(context.Background(), path)
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	return db, path
}

func digest(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

var at = time.Date(2026, 10, 4, 19, 0, 0, 0, time.UTC)

// seed stores one envelope, one decision in the outbox and two audit
// records, as the service does.
func seed(t *testing.T, db *reviewdb.DB) (env, dec []byte) {
	t.Helper()
	env, dec = []byte(`{"envelope":1}`), []byte(`{"decision":1}`)
	require.NoError(t, db.Update(context.Background(), func(tx review.Tx) error {
		if err := tx.AppendEnvelope(&review.Envelope{Digest: digest(env), Station: "01001A", Contest: "ASM",
			Form: "results", Version: 1, KeyID: digest([]byte("key")), Raw: env, FetchedAt: at}); err != nil {
			return err
		}
		if err := tx.AppendDecision(&review.Decision{Digest: digest(dec), Submission: digest(env), Station: "01001A",
			Contest: "ASM", Form: "results", Verdict: "approve", SignedBy: digest([]byte("sup")), DecidedAt: at,
			Envelope: dec}); err != nil {
			return err
		}
		if err := tx.Enqueue(digest(dec), at); err != nil {
			return err
		}
		if err := tx.Audit(at, audit.Event{Action: "test.one", Actor: "test"}); err != nil {
			return err
		}
		return tx.Audit(at, audit.Event{Action: "test.two", Actor: "test"})
	}))
	return env, dec
}

func TestOpen(t *testing.T) {
	db, path := open(t)
	v, err := db.SchemaVersion(context.Background())
	require.NoError(t, err)
	assert.Equal(t, 2, v)
	require.NoError(t, db.Close())
	db, err = reviewdb.Open(context.Background(), path)
	require.NoError(t, err, "opened again, nothing to migrate")
	require.NoError(t, db.IntegrityCheck(context.Background()))
	require.NoError(t, db.Close())
}

func TestRollback(t *testing.T) {
	db, _ := open(t)
	ctx := context.Background()
	boom := assert.AnError
	err := db.Update(ctx, func(tx review.Tx) error {
		if err := tx.Audit(at, audit.Event{Action: "test.one", Actor: "test"}); err != nil {
			return err
		}
		return boom
	})
	require.ErrorIs(t, err, boom)
	n := 0
	require.NoError(t, db.View(ctx, func(r review.Reader) error {
		return r.AuditRecords(func(audit.Record) error { n++; return nil })
	}))
	assert.Zero(t, n, "a refused change writes nothing")
}

func TestDigestsChecked(t *testing.T) {
	db, _ := open(t)
	err := db.Update(context.Background(), func(tx review.Tx) error {
		return tx.AppendEnvelope(&review.Envelope{Digest: digest([]byte("other")), Station: "01001A", Contest: "ASM",
			Form: "results", Version: 1, KeyID: digest([]byte("key")), Raw: []byte("x"), FetchedAt: at})
	})
	assert.ErrorContains(t, err, "not the SHA-256 of its bytes")
	err = db.Update(context.Background(), func(tx review.Tx) error {
		return tx.PutPhoto(digest([]byte("a")), []byte("b"), at)
	})
	assert.ErrorContains(t, err, "not the SHA-256 of its bytes")
}

// TestAppendOnly runs SQL past the store's code, as anyone with the file
// could: the schema refuses to change or remove what is record.
func TestAppendOnly(t *testing.T) {
	db, path := open(t)
	_, dec := seed(t, db)
	require.NoError(t, db.Update(context.Background(), func(tx review.Tx) error {
		return tx.AppendRefusal(&review.Refusal{Decision: digest(dec), Reason: "key revoked", At: at})
	}))
	require.NoError(t, db.Close())
	raw, err := reviewdb.OpenRaw(path)
	require.NoError(t, err)
	defer raw.Close()
	for name, stmt := range map[string]string{
		"UpdateEnvelope":      "UPDATE envelopes SET version = 2",
		"DeleteEnvelope":      "DELETE FROM envelopes",
		"ReplaceEnvelope":     "INSERT OR REPLACE INTO envelopes (digest, station, contest, form, version, key_id, envelope, fetched_at) SELECT digest, station, contest, form, version, key_id, x'00', fetched_at FROM envelopes",
		"UpdateDecision":      "UPDATE decisions SET verdict = 'return', reason = 'x'",
		"DeleteDecision":      "DELETE FROM decisions",
		"DeleteOutboxUnsent":  "DELETE FROM outbox",
		"UpdateAudit":         "UPDATE audit SET actor = 'someone else'",
		"DeleteAudit":         "DELETE FROM audit WHERE seq = 2",
		"AuditOutOfChain":     "INSERT INTO audit (seq, at, action, subject, actor, details, prev, hash) VALUES (9, 'x', 'a', '', '', '{}', 'p', '" + digest(nil) + "')",
		"UpdateRefusal":       "UPDATE refusals SET reason = 'other'",
		"DeleteRefusal":       "DELETE FROM refusals",
		"RefusalNoReason":     "INSERT INTO refusals (decision, reason, recorded_at) SELECT digest, '', 'x' FROM decisions",
		"RefusalOfNothing":    "INSERT INTO refusals (decision, reason, recorded_at) VALUES ('" + digest([]byte("none")) + "', 'r', 'x')",
		"ReturnWithoutReason": "INSERT INTO decisions (digest, submission, station, contest, form, verdict, reason, signed_by, decided_at, envelope) SELECT '" + digest([]byte("d2")) + "', submission, station, contest, form, 'return', '', signed_by, decided_at, x'01' FROM decisions",
	} {
		t.Run(name, func(t *testing.T) {
			_, err := raw.Exec(stmt)
			assert.Error(t, err)
		})
	}
}

func TestOutboxLeavesWithDelivery(t *testing.T) {
	db, _ := open(t)
	_, dec := seed(t, db)
	ctx := context.Background()
	require.NoError(t, db.Update(ctx, func(tx review.Tx) error {
		return tx.PutDelivery(&review.Delivery{Digest: digest(dec), ReceivedAt: at, RecordedAt: at})
	}))
	require.NoError(t, db.View(ctx, func(r review.Reader) error {
		out, err := r.Outbox()
		assert.Empty(t, out)
		return err
	}))
	err := db.Update(ctx, func(tx review.Tx) error { return tx.Enqueue(digest(dec), at) })
	assert.Error(t, err, "a delivered decision is not queued again")
}

func TestKeyListNeverOlder(t *testing.T) {
	db, _ := open(t)
	ctx := context.Background()
	put := func(body string, generated time.Time) error {
		return db.Update(ctx, func(tx review.Tx) error {
			return tx.PutKeyList(&review.KeyList{Envelope: []byte(body), Digest: digest([]byte(body)),
				GeneratedAt: generated, FetchedAt: at})
		})
	}
	require.NoError(t, put("new", at))
	assert.Error(t, put("old", at.Add(-time.Minute)))
	require.NoError(t, db.View(ctx, func(r review.Reader) error {
		l, err := r.KeyList()
		require.NoError(t, err)
		assert.Equal(t, "new", string(l.Envelope))
		return nil
	}))
}

func TestRefusals(t *testing.T) {
	db, _ := open(t)
	_, dec := seed(t, db)
	ctx := context.Background()
	refuse := func(reason string) error {
		return db.Update(ctx, func(tx review.Tx) error {
			return tx.AppendRefusal(&review.Refusal{Decision: digest(dec), Reason: reason, At: at})
		})
	}
	require.NoError(t, refuse("first"))
	require.NoError(t, refuse("second"))
	require.NoError(t, db.View(ctx, func(r review.Reader) error {
		list, err := r.Refusals()
		require.NoError(t, err)
		require.Len(t, list, 2)
		assert.Equal(t, "first", list[0].Reason, "in the order recorded")
		assert.Equal(t, "second", list[1].Reason)
		assert.True(t, list[1].At.Equal(at))
		return nil
	}))
	require.NoError(t, db.Update(ctx, func(tx review.Tx) error {
		return tx.PutDelivery(&review.Delivery{Digest: digest(dec), ReceivedAt: at, RecordedAt: at})
	}))
	assert.Error(t, refuse("late"), "the commission cannot refuse what it has")
}

func TestConflictList(t *testing.T) {
	db, _ := open(t)
	ctx := context.Background()
	require.NoError(t, db.View(ctx, func(r review.Reader) error {
		_, err := r.Conflicts()
		assert.ErrorIs(t, err, review.ErrNotFound)
		return nil
	}))
	put := func(n int, fetched time.Time) {
		l := &review.ConflictList{Municipality: "01", FetchedAt: fetched}
		for i := range n {
			l.Conflicts = append(l.Conflicts, review.ConflictInfo{ID: uint64(i + 1), Digest: digest([]byte{byte(i)}),
				Station: "01001A", Contest: "ASM", Form: "results", Version: 2, Reason: "r", At: at})
		}
		require.NoError(t, db.Update(ctx, func(tx review.Tx) error { return tx.PutConflicts(l) }))
	}
	put(1, at)
	put(2, at.Add(time.Minute))
	require.NoError(t, db.View(ctx, func(r review.Reader) error {
		l, err := r.Conflicts()
		require.NoError(t, err)
		assert.Len(t, l.Conflicts, 2, "replaced by the newer fetch")
		assert.True(t, l.FetchedAt.Equal(at.Add(time.Minute)))
		assert.Equal(t, "01", l.Municipality)
		return nil
	}))
}

// TestRefusalsFromTheAuditLog: a database of the first schema kept the
// commission's refusals in its audit log only; the migration copies them
// into their table, with their reasons, and leaves the audit chain whole.
func TestRefusalsFromTheAuditLog(t *testing.T) {
	ctx := context.Background()
	path := t.TempDir() + "/supervisor.db"
	first, err := os.ReadFile("migration/0001_review.sql")
	require.NoError(t, err)
	raw, err := reviewdb.OpenRaw(path)
	require.NoError(t, err)
	require.NoError(t, sqlitefile.Migrate(ctx, raw, fstest.MapFS{"migration/0001_review.sql": {Data: first}}, "migration"))
	env, dec := []byte(`{"envelope":1}`), []byte(`{"decision":1}`)
	_, err = raw.Exec(`INSERT INTO envelopes (digest, station, contest, form, version, key_id, envelope, fetched_at)
		VALUES (?, '01001A', 'ASM', 'results', 1, ?, ?, 'x')`, digest(env), digest([]byte("key")), env)
	require.NoError(t, err)
	_, err = raw.Exec(`INSERT INTO decisions (digest, submission, station, contest, form, verdict, reason, signed_by,
		decided_at, envelope) VALUES (?, ?, '01001A', 'ASM', 'results', 'approve', '', ?, 'x', ?)`,
		digest(dec), digest(env), digest([]byte("sup")), dec)
	require.NoError(t, err)
	var head *audit.Record
	for _, e := range []audit.Event{
		{Action: "decision.sign", Actor: "sup", Details: map[string]any{"decision": digest(dec)}},
		{Action: "decision.refused", Actor: "commission", Details: map[string]any{"decision": digest(dec), "reason": "key revoked"}},
		{Action: "decision.refused", Actor: "commission", Details: map[string]any{"decision": digest([]byte("gone")), "reason": "x"}},
	} {
		rec, err := audit.Next(head, at, e)
		require.NoError(t, err)
		_, err = raw.Exec("INSERT INTO audit ("+sqlitefile.AuditColumns+") VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
			int64(rec.Seq), rec.At.UTC().Format(time.RFC3339Nano), rec.Action, rec.Subject, rec.Actor, string(rec.Details),
			rec.Prev, rec.Hash)
		require.NoError(t, err)
		head = &rec
	}
	require.NoError(t, raw.Close())

	db, err := reviewdb.Open(ctx, path)
	require.NoError(t, err)
	defer db.Close()
	v, err := db.SchemaVersion(ctx)
	require.NoError(t, err)
	assert.Equal(t, 2, v)
	require.NoError(t, db.View(ctx, func(r review.Reader) error {
		list, err := r.Refusals()
		require.NoError(t, err)
		require.Len(t, list, 1, "the refusal of a decision this laptop does not hold is not copied")
		assert.Equal(t, digest(dec), list[0].Decision)
		assert.Equal(t, "key revoked", list[0].Reason)
		assert.True(t, list[0].At.Equal(at))
		var ver audit.Verifier
		require.NoError(t, r.AuditRecords(ver.Add))
		assert.Equal(t, uint64(3), ver.Count())
		return nil
	}))
}
