package commissionpg_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tally/app/audit"
	"tally/app/commission"
	"tally/app/election"
)

// checkNew reads what commitOne reads before storing a submission: that
// neither its digest nor its version is stored. Then the transaction
// knows it is new, and holds it back for the commit.
func checkNew(t *testing.T, tx commission.Tx, s *commission.Submission) {
	t.Helper()
	_, err := tx.Submission(s.Digest)
	require.ErrorIs(t, err, commission.ErrNotFound)
	_, err = tx.SubmissionAt(s.FormRef, s.Version)
	require.ErrorIs(t, err, commission.ErrNotFound)
}

// TestHeldBack checks that a submission held back for the commit reads, in
// its transaction, as one stored.
func TestHeldBack(t *testing.T) {
	f := results("0101A", "ASM")
	v1 := sealedSubmission(f, "01", 1, "", "")
	v2 := sealedSubmission(f, "01", 2, v1.Digest, "")
	rival := sealedSubmission(f, "01", 2, v1.Digest, "rival")
	other := sealedSubmission(results("0101A", "KK-PR"), "01", 1, "", "")

	t.Run("ReadsAsStored", func(t *testing.T) {
		db, _ := openDB(t)
		update(t, db, func(tx commission.Tx) error {
			checkNew(t, tx, v1)
			_, err := tx.Head(f)
			require.ErrorIs(t, err, commission.ErrNotFound)
			ok, err := tx.InsertSubmission(v1)
			require.NoError(t, err)
			require.True(t, ok)
			assert.Equal(t, uint64(1), v1.Number)

			got, err := tx.Submission(v1.Digest)
			require.NoError(t, err)
			assert.Equal(t, v1, got)
			got, err = tx.SubmissionAt(f, 1)
			require.NoError(t, err)
			assert.Equal(t, v1, got)
			head, err := tx.Head(f)
			require.NoError(t, err)
			assert.Equal(t, v1, head, "the head known before the insert is raised")

			got.KeyID = "changed by the caller"
			again, err := tx.Submission(v1.Digest)
			require.NoError(t, err)
			assert.Equal(t, v1.KeyID, again.KeyID, "a copy was handed out")

			checkNew(t, tx, v2)
			ok, err = tx.InsertSubmission(v2)
			require.NoError(t, err)
			require.True(t, ok)
			ok, err = tx.InsertSubmission(rival)
			require.NoError(t, err)
			assert.False(t, ok, "the version is held back already")
			ok, err = tx.InsertSubmission(v2)
			require.NoError(t, err)
			assert.False(t, ok, "the digest is held back already")
			head, err = tx.Head(f)
			require.NoError(t, err)
			assert.Equal(t, v2, head)

			list, err := tx.Submissions("01", "0101A")
			require.NoError(t, err)
			assert.Equal(t, []commission.Submission{*v1, *v2}, list, "sent before the table is read")
			counts, err := tx.Counts()
			require.NoError(t, err)
			assert.Equal(t, 2, counts.Submissions)
			return tx.Audit(t0, audit.Event{Action: "test.stored"})
		})
		view(t, db, func(r commission.Reader) error {
			list, err := r.Submissions("01", "")
			assert.Equal(t, []commission.Submission{*v1, *v2}, list)
			return err
		})
		assert.Len(t, verifyChain(t, db), 1)
	})

	t.Run("HeadUnknownBeforeTheInsert", func(t *testing.T) {
		db, _ := openDB(t)
		insertAll(t, db, v1)
		update(t, db, func(tx commission.Tx) error {
			checkNew(t, tx, v2)
			ok, err := tx.InsertSubmission(v2)
			require.True(t, ok)
			require.NoError(t, err)
			head, err := tx.Head(f) // the table's is v1; v2 is held back
			assert.Equal(t, v2, head)
			return err
		})
	})

	t.Run("DecisionOnOneHeldBack", func(t *testing.T) {
		db, _ := openDB(t)
		update(t, db, func(tx commission.Tx) error {
			checkNew(t, tx, other)
			if _, err := tx.InsertSubmission(other); err != nil {
				return err
			}
			fresh, err := tx.InsertDecision(&commission.Decision{Digest: "decision", Submission: other.Digest,
				FormRef: other.FormRef, Municipality: "01", Verdict: election.Approve, KeyID: "supervisor-01",
				DecidedAt: t0, ReceivedAt: t0, Envelope: []byte("decision")})
			assert.True(t, fresh)
			return err
		})
	})

	t.Run("RolledBack", func(t *testing.T) {
		db, _ := openDB(t)
		errBoom := errors.New("boom")
		err := db.Update(t.Context(), func(tx commission.Tx) error {
			checkNew(t, tx, v1)
			if _, err := tx.InsertSubmission(v1); err != nil {
				return err
			}
			return errBoom
		})
		require.ErrorIs(t, err, errBoom)
		insertAll(t, db, other)
		view(t, db, func(r commission.Reader) error {
			_, err := r.Submission(v1.Digest)
			assert.ErrorIs(t, err, commission.ErrNotFound)
			got, err := r.Submission(other.Digest)
			require.NoError(t, err)
			assert.Equal(t, uint64(1), got.Number, "the number of a rolled back submission is given again")
			return nil
		})
	})

	t.Run("ManyInOneUpdate", func(t *testing.T) {
		// More than a transaction holds back at once.
		db, _ := openDB(t)
		subs := make([]*commission.Submission, 1500)
		for i := range subs {
			subs[i] = sealedSubmission(results(fmt.Sprintf("01%02dA", i%50), fmt.Sprintf("C%d", i/50)), "01", 1, "", "")
		}
		update(t, db, func(tx commission.Tx) error {
			for _, s := range subs {
				checkNew(t, tx, s)
				if ok, err := tx.InsertSubmission(s); err != nil || !ok {
					return fmt.Errorf("insert: %v, %w", ok, err)
				}
				if err := tx.Audit(t0, audit.Event{Action: "submission.store", Details: map[string]any{"n": s.Number}}); err != nil {
					return err
				}
			}
			return nil
		})
		view(t, db, func(r commission.Reader) error {
			for i, s := range subs {
				got, err := r.Submission(s.Digest)
				require.NoError(t, err)
				assert.Equal(t, uint64(i+1), got.Number)
			}
			return nil
		})
		assert.Len(t, verifyChain(t, db), len(subs))
	})
}

// insertAll stores submissions in one Update, each one new.
func insertAll(t *testing.T, db commission.Store, subs ...*commission.Submission) {
	t.Helper()
	update(t, db, func(tx commission.Tx) error {
		for _, s := range subs {
			if ok, err := tx.InsertSubmission(s); err != nil || !ok {
				return fmt.Errorf("insert %s: %v, %w", s.Digest, ok, err)
			}
		}
		return nil
	})
}
