package commissiontest

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tally/app/audit"
	"tally/app/commission"
	"tally/app/election"
	"tally/app/enrollment"
	"tally/app/seal"
)

// state is everything a Reader shows of a store.
type state struct {
	Election    []byte
	ElectionKey string
	Keys        []commission.Key
	Codes       map[string]*commission.Code
	Submissions []commission.Submission
	Conflicts   []commission.Conflict
	Decisions   []commission.Decision
	Attachments map[string][]byte
	Snapshots   [][]byte
	Audit       []audit.Record
	Counts      commission.Counts
}

func readState(t *testing.T, st commission.Store, codes, attachments []string) state {
	t.Helper()
	s := state{Codes: map[string]*commission.Code{}, Attachments: map[string][]byte{}}
	view(t, st, func(r commission.Reader) error {
		var err error
		s.Election, s.ElectionKey, err = r.Election()
		require.NoError(t, err)
		s.Keys, err = r.Keys()
		require.NoError(t, err)
		for _, hash := range codes {
			s.Codes[hash], err = r.Code(hash)
			require.NoError(t, err)
		}
		for _, m := range []string{muniA, muniB} {
			subs, err := r.Submissions(m, "")
			require.NoError(t, err)
			s.Submissions = append(s.Submissions, subs...)
			conflicts, err := r.Conflicts(m, "")
			require.NoError(t, err)
			s.Conflicts = append(s.Conflicts, conflicts...)
			decisions, err := r.Decisions(m, "")
			require.NoError(t, err)
			s.Decisions = append(s.Decisions, decisions...)
		}
		for _, sha := range attachments {
			_, data, err := r.Attachment(sha)
			require.NoError(t, err)
			s.Attachments[sha] = data
		}
		last, _, err := r.LastSnapshot()
		require.NoError(t, err)
		for n := uint64(1); n <= last; n++ {
			sealed, err := r.Snapshot(n)
			require.NoError(t, err)
			s.Snapshots = append(s.Snapshots, sealed)
		}
		require.NoError(t, r.AuditRecords(func(rec audit.Record) error {
			s.Audit = append(s.Audit, rec)
			return nil
		}))
		s.Counts, err = r.Counts()
		return err
	})
	return s
}

// testAppendOnly changes the database with plain SQL: the database itself
// refuses, and the store reads what it held.
func (s *suite) testAppendOnly(t *testing.T) {
	st := s.open(t)
	v1 := submission(formOf(stA1, "ASM", election.ResultsForm), 1, nil, "")
	v2 := submission(v1.FormRef, 2, v1, "")
	conflict := conflictOf(submission(v1.FormRef, 1, nil, "other"), "version 1 is already stored", minute(3))
	decision := decisionOn(v1, election.Return, "Row B does not add up.", minute(4))
	photo := []byte("the photo of the paper form")
	fresh := codeFor(enrollment.RoleStation, stB1, "1111", minute(1))
	used := codeFor(enrollment.RoleStation, stA1, "2222", minute(1))
	retired := codeFor(enrollment.RoleStation, stA2, "3333", minute(1))
	newer := codeFor(enrollment.RoleStation, stA2, "4444", minute(2))
	update(t, st, func(tx commission.Tx) error {
		for _, err := range []error{
			tx.PutElection([]byte("signed definition"), "def-1", t0),
			tx.PutCode(fresh), tx.PutCode(used), tx.PutCode(retired), tx.PutCode(newer),
			tx.UseCode(used.Hash, "k-active", minute(2)),
			tx.PutKey(stationKey("k-active", stA1, minute(2))),
			tx.PutKey(stationKey("k-revoked", stA2, minute(2))),
			tx.RevokeKey("k-revoked", minute(3), "laptop stolen"),
			tx.CompleteUpload(&commission.Attachment{SHA256: seal.Digest(photo), Size: int64(len(photo)),
				Station: stA1, ReceivedAt: minute(5)}, photo),
		} {
			if err != nil {
				return err
			}
		}
		for _, sub := range []*commission.Submission{v1, v2} {
			if _, err := tx.InsertSubmission(sub); err != nil {
				return err
			}
		}
		if _, err := tx.PutConflict(conflict); err != nil {
			return err
		}
		if _, err := tx.InsertDecision(decision); err != nil {
			return err
		}
		for n := range uint64(2) {
			if _, err := putSnapshot(tx, n+1, sealedSnapshot(n+1, "", 0), minute(5)); err != nil {
				return err
			}
		}
		for i := range 3 {
			if err := tx.Audit(minute(i), event("test.record", "", i)); err != nil {
				return err
			}
		}
		return nil
	})
	codes := []string{fresh.Hash, used.Hash, retired.Hash, newer.Hash}
	attachments := []string{seal.Digest(photo)}
	before := readState(t, st, codes, attachments)
	require.NotNil(t, before.Codes[retired.Hash].RetiredAt)
	require.Len(t, before.Snapshots, 2)

	for _, c := range []struct{ name, sql string }{
		{"UpdateElection", "UPDATE election SET key_id = 'forged'"},
		{"DeleteElection", "DELETE FROM election"},

		{"UpdateKey", "UPDATE keys SET unit = 'forged' WHERE id = 'k-active'"},
		{"UpdateRevokedKey", "UPDATE keys SET unit = 'forged' WHERE id = 'k-revoked'"},
		{"ChangeRevocationReason", "UPDATE keys SET revoked_reason = 'forged' WHERE id = 'k-revoked'"},
		{"Unrevoke", "UPDATE keys SET revoked_at = NULL WHERE id = 'k-revoked'"},
		{"DeleteKey", "DELETE FROM keys WHERE id = 'k-active'"},
		{"DeleteRevokedKey", "DELETE FROM keys WHERE id = 'k-revoked'"},

		{"UpdateCode", fmt.Sprintf("UPDATE codes SET unit = 'forged' WHERE hash = '%s'", fresh.Hash)},
		{"ChangeUsedBy", fmt.Sprintf("UPDATE codes SET used_by = 'forged' WHERE hash = '%s'", used.Hash)},
		{"UseRetired", fmt.Sprintf("UPDATE codes SET used_by = 'forged' WHERE hash = '%s'", retired.Hash)},
		{"Unretire", fmt.Sprintf("UPDATE codes SET retired_at = NULL WHERE hash = '%s'", retired.Hash)},
		{"DeleteCode", fmt.Sprintf("DELETE FROM codes WHERE hash = '%s'", fresh.Hash)},
		{"DeleteUsedCode", fmt.Sprintf("DELETE FROM codes WHERE hash = '%s'", used.Hash)},

		{"UpdateSubmission", fmt.Sprintf("UPDATE submissions SET municipality = 'forged' WHERE digest = '%s'", v1.Digest)},
		{"DeleteSubmission", fmt.Sprintf("DELETE FROM submissions WHERE digest = '%s'", v2.Digest)},
		{"DeleteSubmissions", "DELETE FROM submissions"},

		{"UpdateConflict", fmt.Sprintf("UPDATE conflicts SET reason = 'forged' WHERE digest = '%s'", conflict.Digest)},
		{"DeleteConflict", fmt.Sprintf("DELETE FROM conflicts WHERE digest = '%s'", conflict.Digest)},

		{"UpdateDecision", fmt.Sprintf("UPDATE decisions SET reason = 'forged' WHERE digest = '%s'", decision.Digest)},
		{"DeleteDecision", fmt.Sprintf("DELETE FROM decisions WHERE digest = '%s'", decision.Digest)},

		{"UpdateAttachment", fmt.Sprintf("UPDATE attachments SET station = 'forged' WHERE sha256 = '%s'", seal.Digest(photo))},
		{"DeleteAttachment", "DELETE FROM attachments"},

		{"UpdateSnapshot", fmt.Sprintf("UPDATE snapshots SET digest = '%s' WHERE number = 1", seal.Digest([]byte("forged")))},
		{"DeleteSnapshot", "DELETE FROM snapshots WHERE number = 2"},
		{"DeleteSnapshots", "DELETE FROM snapshots"},
		{"InsertOverSnapshot", `INSERT INTO snapshots (number, digest, sealed, created_at)
			SELECT number, digest, sealed, created_at FROM snapshots WHERE number = 1`},
		{"UpsertSnapshot", `INSERT INTO snapshots (number, digest, sealed, created_at)
			SELECT number, digest, sealed, created_at FROM snapshots WHERE number = 1
			ON CONFLICT (number) DO UPDATE SET sealed = excluded.sealed`},
		{"SnapshotAfterGap", `INSERT INTO snapshots (number, digest, sealed, created_at)
			SELECT number + 2, digest, sealed, created_at FROM snapshots WHERE number = 2`},

		{"UpdateAudit", "UPDATE audit SET actor = 'forged' WHERE seq = 2"},
		{"DeleteAuditRecord", "DELETE FROM audit WHERE seq = 2"},
		{"DeleteLastAuditRecord", "DELETE FROM audit WHERE seq = 3"},
		{"DeleteAudit", "DELETE FROM audit"},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := s.rawExec(t, st, c.sql)
			assert.Error(t, err, "the database took %s", c.sql)
			t.Logf("%s: %v", c.sql, err)
		})
	}

	after := readState(t, st, codes, attachments)
	assert.Equal(t, before, after, "the store holds what it held")
	verifyChain(t, st)

	t.Run("ServiceChangesStillAllowed", func(t *testing.T) {
		update(t, st, func(tx commission.Tx) error {
			if err := tx.UseCode(fresh.Hash, "k-new", minute(9)); err != nil {
				return err
			}
			if err := tx.RevokeKey("k-active", minute(9), "replaced"); err != nil {
				return err
			}
			if fresh, err := putSnapshot(tx, 3, sealedSnapshot(3, "", 0), minute(9)); err != nil || !fresh {
				return fmt.Errorf("snapshot 3: %v, %w", fresh, err)
			}
			return tx.PutCode(codeFor(enrollment.RoleStation, stA2, "5555", minute(9))) // retires newer
		})
		view(t, st, func(r commission.Reader) error {
			c, err := r.Code(newer.Hash)
			require.NoError(t, err)
			assert.NotNil(t, c.RetiredAt)
			k, err := r.Key("k-active")
			require.NoError(t, err)
			assert.True(t, k.Revoked())
			last, _, err := r.LastSnapshot()
			require.NoError(t, err)
			assert.Equal(t, uint64(3), last)
			return nil
		})
	})
}
