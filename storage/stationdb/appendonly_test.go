package stationdb_test

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tally/app/audit"
	"tally/app/election"
	"tally/app/station"
	"tally/storage/stationdb"
)

// TestAppendOnly changes the file with plain SQL, as a person with a
// database tool could: the schema itself must refuse.
func TestAppendOnly(t *testing.T) {
	path := filepath.Join(t.TempDir(), "station.db")
	db, err := stationdb.Open(t.Context(), path)
	require.NoError(t, err)
	v1 := sealed(results, 1, "", 1)
	v2 := sealed(results, 2, v1.Digest, 2)
	r1 := receiptOf(v1, 1)
	d1 := decisionOn(v1, election.Return, "Row B does not add up.")
	photo := []byte("photo")
	update(t, db, func(tx station.Tx) error {
		for _, err := range []error{
			tx.PutDefinition([]byte("definition")),
			tx.PutPhoto(digest(photo), photo),
			tx.AppendVersion(&v1),
			tx.Enqueue(v1.Digest, t0),
			tx.PutReceipt(&r1),
			tx.PutDecision(&d1),
			tx.AppendVersion(&v2),
			tx.Enqueue(v2.Digest, t0), // no receipt yet
			tx.Audit(t0, audit.Event{Action: "form.seal", Subject: results.String(), Actor: "chair"}),
			tx.Audit(t0, audit.Event{Action: "form.correct", Subject: results.String(), Actor: "chair"}),
		} {
			if err != nil {
				return err
			}
		}
		return nil
	})
	require.NoError(t, db.Close())

	raw := rawDB(t, path)
	tables := []string{"definition", "photos", "versions", "receipts", "decisions", "audit", "outbox"}
	counts := map[string]int{}
	for _, table := range tables {
		counts[table] = countRows(t, raw, table)
		require.NotZero(t, counts[table], "every table has a row for its triggers to guard")
	}

	for _, c := range []struct {
		name, sql, want string
	}{
		{"UpdateDefinition", "UPDATE definition SET signed = x'00'", "never changed"},
		{"DeleteDefinition", "DELETE FROM definition", "never removed"},
		{"ReplaceDefinition", "INSERT OR REPLACE INTO definition (id, signed) VALUES (1, x'00')", "one definition, ever"},
		{"UpdatePhoto", "UPDATE photos SET data = x'00'", "never changed"},
		{"DeletePhoto", "DELETE FROM photos", "never removed"},
		{"ReplacePhoto", "INSERT OR REPLACE INTO photos SELECT sha256, x'00' FROM photos", "already stored"},
		{"UpdateVersion", "UPDATE versions SET envelope = x'00'", "never changed"},
		{"DeleteVersion", "DELETE FROM versions WHERE version = 2", "never removed"},
		{"ReplaceVersion", `INSERT OR REPLACE INTO versions (id, contest, form, version, digest, supersedes,
			envelope, sealed_at, sequence) SELECT id, contest, form, version, digest, supersedes, x'00',
			sealed_at, sequence FROM versions`, "already sealed"},
		{"UpdateReceipt", "UPDATE receipts SET number = 2", "never changed"},
		{"DeleteReceipt", "DELETE FROM receipts", "never removed"},
		{"ReplaceReceipt", `INSERT OR REPLACE INTO receipts SELECT submission, digest, 2, received_at,
			envelope, stored_at FROM receipts`, "already has its receipt"},
		{"UpdateDecision", "UPDATE decisions SET verdict = 'approve'", "never changed"},
		{"DeleteDecision", "DELETE FROM decisions", "never removed"},
		{"ReplaceDecision", `INSERT OR REPLACE INTO decisions SELECT digest, submission, contest, form,
			'approve', reason, signed_by, decided_at, envelope, stored_at FROM decisions`, "already stored"},
		{"UpdateAudit", "UPDATE audit SET actor = 'someone else'", "never changed"},
		{"DeleteAudit", "DELETE FROM audit WHERE seq = 2", "never removed"},
		{"ReplaceAudit", `INSERT OR REPLACE INTO audit SELECT seq, at, action, subject, 'someone else',
			details, prev, hash FROM audit WHERE seq = 2`, "follow the last one and link to it"},
		{"AuditUnlinked", `INSERT INTO audit SELECT seq + 1, at, action, subject, actor, details, prev,
			'` + digest([]byte("forged")) + `' FROM audit WHERE seq = 2`, "follow the last one and link to it"},
		{"UpdateOutbox", "UPDATE outbox SET queued_at = '2000-01-01T00:00:00.000000000Z'", "never changed"},
		{"DeleteOutboxWithoutReceipt", "DELETE FROM outbox", "only with its receipt"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := raw.Exec(c.sql)
			assert.ErrorContains(t, err, c.want)
		})
	}

	for _, table := range tables {
		assert.Equal(t, counts[table], countRows(t, raw, table), table)
	}
	db, err = stationdb.Open(t.Context(), path)
	require.NoError(t, err)
	defer func() { assert.NoError(t, db.Close()) }()
	view(t, db, func(r station.Reader) error {
		got, err := r.Version(v1.Digest)
		require.NoError(t, err)
		assert.Equal(t, &v1, got)
		var v audit.Verifier
		return r.AuditRecords(v.Add)
	})
}
