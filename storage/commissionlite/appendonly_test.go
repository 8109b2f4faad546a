package commissionlite_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tally/app/audit"
	"tally/app/commission"
	"tally/app/election"
	"tally/app/enrollment"
	"tally/app/seal"
)

// TestAppendOnlySQLite changes the file with SQLite's own ways around
// UPDATE and DELETE (commissiontest checks those): INSERT OR REPLACE, which
// removes the old row without firing delete triggers, and inserts that
// would break the audit chain or an upload's order.
func TestAppendOnlySQLite(t *testing.T) {
	db, path := openDB(t)
	sub := submission("0101A", "")
	photo := []byte("photo")
	code := &commission.Code{Hash: seal.Digest([]byte("code")), Role: enrollment.RoleStation, Unit: "0101A", IssuedAt: t0}
	update(t, db, func(tx commission.Tx) error {
		for _, err := range []error{
			tx.PutElection([]byte("signed"), "def-1", t0),
			tx.PutCode(code),
			tx.PutKey(&commission.Key{ID: "k-1", Public: "p", Role: enrollment.RoleStation, Unit: "0101A", EnrolledAt: t0}),
			tx.CompleteUpload(&commission.Attachment{SHA256: seal.Digest(photo), Size: int64(len(photo)),
				Station: "0101A", ReceivedAt: t0}, photo),
			tx.PutUploadPart(&commission.Upload{SHA256: seal.Digest([]byte("part")), Size: 4, Station: "0101A"},
				0, []byte("pa")),
			tx.Audit(t0, audit.Event{Action: "test.one"}),
			tx.Audit(t0, audit.Event{Action: "test.two"}),
		} {
			if err != nil {
				return err
			}
		}
		if _, err := tx.Secret("token", func() ([]byte, error) { return []byte("secret"), nil }); err != nil {
			return err
		}
		if _, err := tx.InsertSubmission(sub); err != nil {
			return err
		}
		if _, err := tx.PutConflict(&commission.Conflict{Digest: seal.Digest([]byte("c")), FormRef: sub.FormRef,
			Municipality: "01", Version: 1, KeyID: sub.KeyID, Reason: "r", Envelope: []byte("c"), At: t0}); err != nil {
			return err
		}
		if _, err := tx.PutSnapshot(1, []byte("snapshot 1"), seal.Digest([]byte("snapshot 1")), t0); err != nil {
			return err
		}
		_, err := tx.InsertDecision(&commission.Decision{Digest: seal.Digest([]byte("d")), Submission: sub.Digest,
			FormRef: sub.FormRef, Municipality: "01", Verdict: election.Approve, KeyID: "k-s", DecidedAt: t0,
			ReceivedAt: t0, Envelope: []byte("d")})
		return err
	})
	raw := rawDB(t, path)

	for _, c := range []struct{ name, sql, want string }{
		{"ReplaceElection", "INSERT OR REPLACE INTO election SELECT id, x'00', key_id, imported_at FROM election",
			"one election, ever"},
		{"ReplaceCode", `INSERT OR REPLACE INTO codes (hash, role, unit, issued_at)
			SELECT hash, role, 'forged', issued_at FROM codes`, "already issued"},
		{"ReplaceKey", `INSERT OR REPLACE INTO keys (id, public_key, role, unit, enrolled_at)
			SELECT id, 'forged', role, unit, enrolled_at FROM keys`, "already enrolled"},
		{"ReplaceAttachment", "INSERT OR REPLACE INTO attachments SELECT sha256, 1, station, received_at, x'00' FROM attachments",
			"already stored"},
		{"ReplaceSecret", "INSERT OR REPLACE INTO secrets SELECT name, x'00' FROM secrets", "already made"},
		{"UpdateSecret", "UPDATE secrets SET value = x'00'", "never changed"},
		{"DeleteSecret", "DELETE FROM secrets", "never removed"},
		{"ReplaceAudit", `INSERT OR REPLACE INTO audit SELECT seq, at, action, subject, 'forged', details, prev, hash
			FROM audit WHERE seq = 2`, "follow the last one and link to it"},
		{"AuditUnlinked", `INSERT INTO audit SELECT seq + 1, at, action, subject, actor, details, prev, '` +
			seal.Digest([]byte("forged")) + `' FROM audit WHERE seq = 2`, "follow the last one and link to it"},
		{"AuditGap", `INSERT INTO audit SELECT seq + 2, at, action, subject, actor, details, hash, '` +
			seal.Digest([]byte("forged")) + `' FROM audit WHERE seq = 2`, "follow the last one and link to it"},
		{"UploadPartOutOfOrder", `INSERT INTO upload_parts (sha256, start, size, station, data)
			SELECT sha256, 3, size, station, x'00' FROM upload_parts`, "follows the bytes received"},
		{"UploadPartOtherSize", `INSERT INTO upload_parts (sha256, start, size, station, data)
			SELECT sha256, 2, 5, station, x'00' FROM upload_parts`, "follows the bytes received"},
		{"UpdateUploadPart", "UPDATE upload_parts SET data = x'0000'", "never changed"},
		{"ReplaceSnapshot", "INSERT OR REPLACE INTO snapshots SELECT number, digest, x'00', created_at FROM snapshots",
			"a number names one snapshot"},
		{"SnapshotGap", "INSERT INTO snapshots SELECT number + 2, digest, sealed, created_at FROM snapshots",
			"a snapshot follows the last one"},
		{"UpdateSnapshot", "UPDATE snapshots SET sealed = x'00'", "never changed"},
		{"DeleteSnapshot", "DELETE FROM snapshots", "never removed"},
		{"UseCodeTwice", "UPDATE codes SET used_at = issued_at, used_by = 'k-1'", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := raw.Exec(c.sql)
			if c.want == "" {
				assert.NoError(t, err, "the service's own change")
				return
			}
			assert.ErrorContains(t, err, c.want)
		})
	}
	t.Run("UseCodeAgain", func(t *testing.T) {
		_, err := raw.Exec("UPDATE codes SET used_at = issued_at, used_by = 'k-2'")
		assert.ErrorContains(t, err, "only used or retired, once")
	})

	// Over submissions, conflicts and decisions an insert is ignored, so
	// that the store's ON CONFLICT DO NOTHING still answers "not stored".
	for _, c := range []struct{ name, sql string }{
		{"ReplaceSubmission", `INSERT OR REPLACE INTO submissions SELECT number, digest, station, contest, form,
			'forged', version, supersedes, key_id, photo_sha256, envelope, sealed_at, received_at FROM submissions`},
		{"ReplaceSubmissionByNumber", `INSERT OR REPLACE INTO submissions SELECT number, '` + seal.Digest([]byte("x")) + `',
			station, 'KK', form, municipality, version, supersedes, key_id, photo_sha256, envelope, sealed_at, received_at
			FROM submissions`},
		{"ReplaceSubmissionByVersion", `INSERT OR REPLACE INTO submissions (digest, station, contest, form,
			municipality, version, key_id, envelope, sealed_at, received_at) SELECT '` + seal.Digest([]byte("y")) + `',
			station, contest, form, 'forged', version, key_id, envelope, sealed_at, received_at FROM submissions`},
		{"ReplaceConflict", `INSERT OR REPLACE INTO conflicts SELECT id, digest, station, contest, form, municipality,
			version, supersedes, key_id, 'forged', envelope, at FROM conflicts`},
		{"ReplaceDecision", `INSERT OR REPLACE INTO decisions SELECT seq, digest, submission, station, contest, form,
			municipality, verdict, 'forged', key_id, decided_at, received_at, envelope FROM decisions`},
	} {
		t.Run(c.name, func(t *testing.T) {
			res, err := raw.Exec(c.sql)
			require.NoError(t, err)
			n, err := res.RowsAffected()
			require.NoError(t, err)
			assert.Zero(t, n)
		})
	}

	view(t, db, func(r commission.Reader) error {
		got, err := r.Submission(sub.Digest)
		require.NoError(t, err)
		assert.Equal(t, sub, got)
		subs, err := r.Submissions("", "")
		require.NoError(t, err)
		assert.Len(t, subs, 1)
		conflicts, err := r.Conflicts("", "")
		require.NoError(t, err)
		require.Len(t, conflicts, 1)
		assert.Equal(t, "r", conflicts[0].Reason)
		decisions, err := r.Decisions("", "")
		require.NoError(t, err)
		require.Len(t, decisions, 1)
		assert.Empty(t, decisions[0].Reason)
		k, err := r.Key("k-1")
		require.NoError(t, err)
		assert.Equal(t, "p", k.Public)
		u, err := r.Upload(seal.Digest([]byte("part")))
		require.NoError(t, err)
		assert.Equal(t, int64(2), u.Received)
		var v audit.Verifier
		require.NoError(t, r.AuditRecords(v.Add))
		assert.Equal(t, uint64(2), v.Count())
		snapshot, err := r.Snapshot(1)
		require.NoError(t, err)
		assert.Equal(t, []byte("snapshot 1"), snapshot)
		return nil
	})
	assert.NoError(t, db.IntegrityCheck(t.Context()))
}
