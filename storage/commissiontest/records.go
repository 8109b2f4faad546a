package commissiontest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tally/app/commission"
	"tally/app/election"
	"tally/app/enrollment"
	"tally/app/seal"
)

func (s *suite) testElection(t *testing.T) {
	t.Run("ErrNoElection", func(t *testing.T) {
		st := s.open(t)
		err := readErr(t, st, func(r commission.Reader) error {
			_, _, err := r.Election()
			return err
		})
		assert.ErrorIs(t, err, commission.ErrNoElection)
		assert.Equal(t, commission.EUnavailable, commission.KindOf(err))
	})

	t.Run("OK", func(t *testing.T) {
		st := s.open(t)
		signed := []byte(`{"payloadType":"application/vnd.tally.election+json","payload":"e30="}`)
		update(t, st, func(tx commission.Tx) error {
			if err := tx.PutElection(signed, "def-1a2b", t0); err != nil {
				return err
			}
			got, keyID, err := tx.Election()
			assert.Equal(t, signed, got, "the transaction sees its own write")
			assert.Equal(t, "def-1a2b", keyID)
			return err
		})
		view(t, st, func(r commission.Reader) error {
			got, keyID, err := r.Election()
			assert.Equal(t, signed, got)
			assert.Equal(t, "def-1a2b", keyID)
			return err
		})
	})

	t.Run("ErrSecondIsConflict", func(t *testing.T) {
		st := s.open(t)
		update(t, st, func(tx commission.Tx) error { return tx.PutElection([]byte("first"), "def-1", t0) })
		err := st.Update(t.Context(), func(tx commission.Tx) error {
			return tx.PutElection([]byte("second"), "def-2", minute(1))
		})
		assertConflict(t, err, "a second election")
		view(t, st, func(r commission.Reader) error {
			got, keyID, err := r.Election()
			assert.Equal(t, []byte("first"), got)
			assert.Equal(t, "def-1", keyID)
			return err
		})
	})
}

func (s *suite) testKeys(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		st := s.open(t)
		// Enrolled in an order that is not the ids' order.
		keys := []*commission.Key{stationKey("k-c", stA1, minute(1)), stationKey("k-a", stA2, minute(2)),
			{ID: "k-b", Public: "ed25519:k-b", Role: enrollment.RoleSupervisor, Unit: muniA, EnrolledAt: minute(3)}}
		update(t, st, func(tx commission.Tx) error {
			for _, k := range keys[:2] {
				if err := tx.PutKey(k); err != nil {
					return err
				}
			}
			got, err := tx.Key("k-a")
			assert.Equal(t, keys[1], got, "the transaction sees its own write")
			return err
		})
		update(t, st, func(tx commission.Tx) error { return tx.PutKey(keys[2]) })

		for _, k := range keys {
			got := read(t, st, func(r commission.Reader) (*commission.Key, error) { return r.Key(k.ID) })
			assert.Equal(t, k, got)
			assert.False(t, got.Revoked())
		}
		all := read(t, st, func(r commission.Reader) ([]commission.Key, error) { return r.Keys() })
		assert.Equal(t, []commission.Key{*keys[0], *keys[1], *keys[2]}, all, "in the order enrolled")
	})

	t.Run("ErrExistingIDIsConflict", func(t *testing.T) {
		st := s.open(t)
		first := stationKey("k-1", stA1, minute(1))
		update(t, st, func(tx commission.Tx) error { return tx.PutKey(first) })
		err := st.Update(t.Context(), func(tx commission.Tx) error {
			return tx.PutKey(stationKey("k-1", stA2, minute(2)))
		})
		assertConflict(t, err, "a key id enrolled again")
		got := read(t, st, func(r commission.Reader) (*commission.Key, error) { return r.Key("k-1") })
		assert.Equal(t, first, got)
	})

	t.Run("Revoke", func(t *testing.T) {
		st := s.open(t)
		k := stationKey("k-1", stA1, minute(1))
		other := stationKey("k-2", stA2, minute(2))
		update(t, st, func(tx commission.Tx) error {
			if err := tx.PutKey(k); err != nil {
				return err
			}
			return tx.PutKey(other)
		})
		update(t, st, func(tx commission.Tx) error { return tx.RevokeKey("k-1", minute(10), "laptop stolen") })

		want := *k
		revokedAt := minute(10)
		want.RevokedAt, want.RevokedReason = &revokedAt, "laptop stolen"
		got := read(t, st, func(r commission.Reader) (*commission.Key, error) { return r.Key("k-1") })
		assert.Equal(t, &want, got)
		assert.True(t, got.Revoked())

		t.Run("AgainChangesNothing", func(t *testing.T) {
			update(t, st, func(tx commission.Tx) error { return tx.RevokeKey("k-1", minute(20), "another reason") })
			got := read(t, st, func(r commission.Reader) (*commission.Key, error) { return r.Key("k-1") })
			assert.Equal(t, &want, got)
		})

		t.Run("OthersUntouched", func(t *testing.T) {
			got := read(t, st, func(r commission.Reader) (*commission.Key, error) { return r.Key("k-2") })
			assert.Equal(t, other, got)
			all := read(t, st, func(r commission.Reader) ([]commission.Key, error) { return r.Keys() })
			assert.Equal(t, []commission.Key{want, *other}, all, "revoked keys are listed too")
		})

		t.Run("RevokedKeys", func(t *testing.T) {
			ids := read(t, st, func(r commission.Reader) ([]string, error) { return r.RevokedKeys() })
			assert.Equal(t, []string{"k-1"}, ids)
		})
	})
}

func (s *suite) testCodes(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		st := s.open(t)
		c := codeFor(enrollment.RoleStation, stA1, "ABCD-EFGH", minute(1))
		update(t, st, func(tx commission.Tx) error {
			if err := tx.PutCode(c); err != nil {
				return err
			}
			got, err := tx.Code(c.Hash)
			assert.Equal(t, c, got, "the transaction sees its own write")
			return err
		})
		got := read(t, st, func(r commission.Reader) (*commission.Code, error) { return r.Code(c.Hash) })
		assert.Equal(t, c, got)
	})

	t.Run("UseCode", func(t *testing.T) {
		st := s.open(t)
		c := codeFor(enrollment.RoleStation, stA1, "ABCD-EFGH", minute(1))
		update(t, st, func(tx commission.Tx) error { return tx.PutCode(c) })
		update(t, st, func(tx commission.Tx) error { return tx.UseCode(c.Hash, "k-1", minute(5)) })
		want := *c
		usedAt := minute(5)
		want.UsedAt, want.UsedBy = &usedAt, "k-1"
		got := read(t, st, func(r commission.Reader) (*commission.Code, error) { return r.Code(c.Hash) })
		assert.Equal(t, &want, got)

		t.Run("ErrUsedIsConflict", func(t *testing.T) {
			for _, by := range []string{"k-2", "k-1"} {
				err := st.Update(t.Context(), func(tx commission.Tx) error { return tx.UseCode(c.Hash, by, minute(6)) })
				assertConflict(t, err, "a used code, used again by "+by)
			}
			got := read(t, st, func(r commission.Reader) (*commission.Code, error) { return r.Code(c.Hash) })
			assert.Equal(t, &want, got)
		})
	})

	t.Run("PutCodeRetiresUnused", func(t *testing.T) {
		st := s.open(t)
		used := codeFor(enrollment.RoleStation, stA1, "1111-1111", minute(1))
		unused := codeFor(enrollment.RoleStation, stA1, "2222-2222", minute(2))
		otherUnit := codeFor(enrollment.RoleStation, stA2, "3333-3333", minute(3))
		// A supervisor's unit is a municipality; the same text as a
		// station's code must still be another unit.
		otherRole := codeFor(enrollment.RoleSupervisor, stA1, "4444-4444", minute(4))
		newest := codeFor(enrollment.RoleStation, stA1, "5555-5555", minute(5))
		update(t, st, func(tx commission.Tx) error {
			if err := tx.PutCode(used); err != nil {
				return err
			}
			if err := tx.UseCode(used.Hash, "k-1", minute(2)); err != nil {
				return err
			}
			for _, c := range []*commission.Code{unused, otherUnit, otherRole} {
				if err := tx.PutCode(c); err != nil {
					return err
				}
			}
			return nil
		})
		update(t, st, func(tx commission.Tx) error { return tx.PutCode(newest) })

		retiredAt, usedAt := newest.IssuedAt, minute(2)
		wantUnused, wantUsed := *unused, *used
		wantUnused.RetiredAt = &retiredAt
		wantUsed.UsedAt, wantUsed.UsedBy = &usedAt, "k-1"
		codes := read(t, st, func(r commission.Reader) ([]commission.Code, error) {
			return r.Codes(enrollment.RoleStation, stA1)
		})
		assert.Equal(t, []commission.Code{*newest, wantUnused, wantUsed}, codes, "newest first")
		for _, c := range []*commission.Code{otherUnit, otherRole} {
			got := read(t, st, func(r commission.Reader) (*commission.Code, error) { return r.Code(c.Hash) })
			assert.Equal(t, c, got, "another unit's code stays")
		}
		assert.Equal(t, []commission.Code{*otherRole}, read(t, st, func(r commission.Reader) ([]commission.Code, error) {
			return r.Codes(enrollment.RoleSupervisor, stA1)
		}))
		assert.Empty(t, read(t, st, func(r commission.Reader) ([]commission.Code, error) {
			return r.Codes(enrollment.RoleStation, stB1)
		}))

		t.Run("ErrUseRetiredIsConflict", func(t *testing.T) {
			err := st.Update(t.Context(), func(tx commission.Tx) error { return tx.UseCode(unused.Hash, "k-2", minute(6)) })
			assertConflict(t, err, "a retired code")
			got := read(t, st, func(r commission.Reader) (*commission.Code, error) { return r.Code(unused.Hash) })
			assert.Equal(t, &wantUnused, got)
		})
	})
}

func (s *suite) testSubmissions(t *testing.T) {
	results := formOf(stA1, "ASM", election.ResultsForm)

	t.Run("OK", func(t *testing.T) {
		st := s.open(t)
		v1 := submission(results, 1, nil, "")
		v2 := submission(results, 2, v1, "")
		require.Empty(t, v1.Supersedes)
		require.Empty(t, v1.PhotoSHA256)
		update(t, st, func(tx commission.Tx) error {
			ok, err := tx.InsertSubmission(v1)
			require.NoError(t, err)
			assert.True(t, ok)
			assert.NotZero(t, v1.Number, "InsertSubmission sets the receipt number")
			got, err := tx.Submission(v1.Digest)
			assert.Equal(t, v1, got, "the transaction sees its own write")
			return err
		})
		insert(t, st, v2)
		assert.Greater(t, v2.Number, v1.Number)
		for _, want := range []*commission.Submission{v1, v2} {
			got := read(t, st, func(r commission.Reader) (*commission.Submission, error) { return r.Submission(want.Digest) })
			assert.Equal(t, want, got)
			got = read(t, st, func(r commission.Reader) (*commission.Submission, error) {
				return r.SubmissionAt(results, want.Version)
			})
			assert.Equal(t, want, got)
		}
	})

	t.Run("OKHeads", func(t *testing.T) {
		st := s.open(t)
		assert.Empty(t, read(t, st, func(r commission.Reader) ([]commission.Submission, error) { return r.Heads() }))
		v1 := submission(results, 1, nil, "")
		v2 := submission(results, 2, v1, "")
		v3 := submission(results, 3, v2, "")
		otherForm := submission(formOf(stA1, "KK-PR", election.ResultsForm), 1, nil, "")
		otherStation := submission(formOf(stB1, "ASM", election.ResultsForm), 1, nil, "")
		insert(t, st, v1, otherStation)
		insert(t, st, v2, otherForm)
		insert(t, st, v3)
		heads := read(t, st, func(r commission.Reader) ([]commission.Submission, error) { return r.Heads() })
		var got []string
		for _, h := range heads {
			got = append(got, h.Digest)
		}
		// By station, contest, form: stA1's ASM (version 3) and KK-PR, then stB1's.
		want := []string{v3.Digest, otherForm.Digest, otherStation.Digest}
		if stA1 > stB1 {
			want = []string{otherStation.Digest, v3.Digest, otherForm.Digest}
		}
		assert.Equal(t, want, got)
		require.Len(t, heads, 3)
		for _, h := range heads {
			assert.Nil(t, h.Envelope, "heads come without their envelopes")
			if h.Digest == v3.Digest {
				want := *v3
				want.Envelope = nil
				assert.Equal(t, want, h)
			}
		}
	})

	t.Run("NumbersIncrease", func(t *testing.T) {
		st := s.open(t)
		var subs []*commission.Submission
		for _, station := range []string{stA1, stA2, stB1} {
			for _, contest := range []string{"ASM", "KK-PR"} {
				subs = append(subs, submission(formOf(station, contest, election.ResultsForm), 1, nil, ""))
			}
		}
		insert(t, st, subs[:4]...)
		insert(t, st, subs[4])
		insert(t, st, subs[5])
		for i := 1; i < len(subs); i++ {
			assert.Greater(t, subs[i].Number, subs[i-1].Number, "in the order inserted")
		}
		for _, want := range subs {
			got := read(t, st, func(r commission.Reader) (*commission.Submission, error) { return r.Submission(want.Digest) })
			assert.Equal(t, want.Number, got.Number)
		}
	})

	t.Run("ExistingDigestIsFalse", func(t *testing.T) {
		st := s.open(t)
		v1 := submission(results, 1, nil, "")
		insert(t, st, v1)
		again := *v1
		again.Number, again.ReceivedAt = 0, minute(100)
		update(t, st, func(tx commission.Tx) error {
			ok, err := tx.InsertSubmission(&again)
			assert.False(t, ok)
			return err
		})
		got := read(t, st, func(r commission.Reader) (*commission.Submission, error) { return r.Submission(v1.Digest) })
		assert.Equal(t, v1, got)
		assert.Equal(t, 1, read(t, st, func(r commission.Reader) (commission.Counts, error) { return r.Counts() }).Submissions)
	})

	t.Run("ExistingVersionIsFalse", func(t *testing.T) {
		st := s.open(t)
		v1 := submission(results, 1, nil, "")
		other := submission(results, 1, nil, "another envelope for version 1")
		require.NotEqual(t, v1.Digest, other.Digest)
		insert(t, st, v1)
		update(t, st, func(tx commission.Tx) error {
			ok, err := tx.InsertSubmission(other)
			assert.False(t, ok)
			return err
		})
		assertNotFound(t, readErr(t, st, func(r commission.Reader) error {
			_, err := r.Submission(other.Digest)
			return err
		}), "the refused envelope")
		got := read(t, st, func(r commission.Reader) (*commission.Submission, error) { return r.SubmissionAt(results, 1) })
		assert.Equal(t, v1, got)
	})

	t.Run("FalseKeepsTheTransaction", func(t *testing.T) {
		// The service goes on after a false, in the same transaction.
		st := s.open(t)
		v1 := submission(results, 1, nil, "")
		insert(t, st, v1)
		next := submission(formOf(stA2, "ASM", election.ResultsForm), 1, nil, "")
		update(t, st, func(tx commission.Tx) error {
			if ok, err := tx.InsertSubmission(submission(results, 1, nil, "late")); err != nil || ok {
				return errors.New("want false, nil")
			}
			ok, err := tx.InsertSubmission(next)
			assert.True(t, ok)
			return err
		})
		got := read(t, st, func(r commission.Reader) (*commission.Submission, error) { return r.Submission(next.Digest) })
		assert.Equal(t, next, got)
	})

	t.Run("Head", func(t *testing.T) {
		st := s.open(t)
		v1 := submission(results, 1, nil, "")
		v2 := submission(results, 2, v1, "")
		v3 := submission(results, 3, v2, "")
		candidates := submission(formOf(stA1, "ASM", election.CandidatesForm), 1, nil, "")
		insert(t, st, v1, candidates)
		update(t, st, func(tx commission.Tx) error {
			head, err := tx.Head(results)
			assert.Equal(t, v1, head)
			return err
		})
		insert(t, st, v2, v3)
		head := read(t, st, func(r commission.Reader) (*commission.Submission, error) { return r.Head(results) })
		assert.Equal(t, v3, head, "the highest version")
		head = read(t, st, func(r commission.Reader) (*commission.Submission, error) {
			return r.Head(candidates.FormRef)
		})
		assert.Equal(t, candidates, head)
	})

	t.Run("DigestsAt", func(t *testing.T) {
		st := s.open(t)
		v1 := submission(results, 1, nil, "")
		v2 := submission(results, 2, v1, "")
		candidates := submission(formOf(stA1, "ASM", election.CandidatesForm), 1, nil, "")
		insert(t, st, v1, candidates)
		at := func(f commission.FormRef, v int) commission.VersionRef {
			return commission.VersionRef{FormRef: f, Version: v}
		}
		ask := []commission.VersionRef{at(results, 1), at(results, 2), at(candidates.FormRef, 1),
			at(formOf(stA2, "ASM", election.ResultsForm), 1)}
		var got map[commission.VersionRef]string
		require.NoError(t, st.View(context.Background(), func(r commission.Reader) error {
			var err error
			got, err = r.DigestsAt(ask)
			return err
		}))
		assert.Equal(t, map[commission.VersionRef]string{at(results, 1): v1.Digest,
			at(candidates.FormRef, 1): candidates.Digest}, got, "only what is stored")
		update(t, st, func(tx commission.Tx) error {
			if ok, err := tx.InsertSubmission(v2); err != nil || !ok {
				return fmt.Errorf("insert: %v, %w", ok, err)
			}
			got, err := tx.DigestsAt(ask)
			assert.Equal(t, v2.Digest, got[at(results, 2)], "what the transaction stored")
			assert.Len(t, got, 3)
			return err
		})
		update(t, st, func(tx commission.Tx) error {
			got, err := tx.DigestsAt(nil)
			assert.Empty(t, got)
			return err
		})
	})

	t.Run("Listed", func(t *testing.T) {
		st := s.open(t)
		a1 := submission(formOf(stA1, "KK-PR", election.ResultsForm), 1, nil, "")
		a2 := submission(formOf(stA1, "KK-PR", election.ResultsForm), 2, a1, "")
		a3 := submission(formOf(stA1, "ASM", election.ResultsForm), 1, nil, "")
		a4 := submission(formOf(stA1, "ASM", election.CandidatesForm), 1, nil, "")
		b1 := submission(formOf(stA2, "ASM", election.ResultsForm), 1, nil, "")
		c1 := submission(formOf(stB1, "ASM", election.ResultsForm), 1, nil, "")
		// Inserted out of the listed order.
		insert(t, st, b1, a1, c1)
		insert(t, st, a4, a2, a3)

		list := func(municipality, station string) []commission.Submission {
			return read(t, st, func(r commission.Reader) ([]commission.Submission, error) {
				return r.Submissions(municipality, station)
			})
		}
		assert.Equal(t, []commission.Submission{*a4, *a3, *a1, *a2, *b1}, list(muniA, ""),
			"a municipality's: by station, contest, form, then version")
		assert.Equal(t, []commission.Submission{*a4, *a3, *a1, *a2}, list(muniA, stA1), "one station's")
		assert.Equal(t, []commission.Submission{*c1}, list(muniB, ""))
		assert.Empty(t, list("99", ""))
		assert.Empty(t, list(muniB, stA1), "a station of another municipality")
	})
}

func (s *suite) testConflicts(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		st := s.open(t)
		v1 := submission(formOf(stA1, "ASM", election.ResultsForm), 1, nil, "")
		c := conflictOf(submission(v1.FormRef, 1, nil, "other"), "version 1 is already stored", minute(3))
		insert(t, st, v1)
		update(t, st, func(tx commission.Tx) error {
			fresh, err := tx.PutConflict(c)
			assert.True(t, fresh)
			assert.NotZero(t, c.ID, "PutConflict sets the id")
			return err
		})
		got := read(t, st, func(r commission.Reader) ([]commission.Conflict, error) { return r.Conflicts(muniA, stA1) })
		assert.Equal(t, []commission.Conflict{*c}, got)

		t.Run("SameDigestIsFalse", func(t *testing.T) {
			again := *c
			again.ID, again.Reason, again.At = 0, "another reason", minute(9)
			update(t, st, func(tx commission.Tx) error {
				fresh, err := tx.PutConflict(&again)
				assert.False(t, fresh)
				return err
			})
			assert.Equal(t, c.ID, again.ID, "the stored conflict's id")
			got := read(t, st, func(r commission.Reader) ([]commission.Conflict, error) { return r.Conflicts(muniA, "") })
			assert.Equal(t, []commission.Conflict{*c}, got)
		})
	})

	t.Run("Listed", func(t *testing.T) {
		st := s.open(t)
		var cs []*commission.Conflict
		for i, station := range []string{stA2, stB1, stA1, stA2} {
			sub := submission(formOf(station, "ASM", election.ResultsForm), 2, nil, string(rune('a'+i)))
			cs = append(cs, conflictOf(sub, "no version is stored", minute(i)))
		}
		update(t, st, func(tx commission.Tx) error {
			for _, c := range cs[:2] {
				if _, err := tx.PutConflict(c); err != nil {
					return err
				}
			}
			return nil
		})
		update(t, st, func(tx commission.Tx) error {
			for _, c := range cs[2:] {
				if _, err := tx.PutConflict(c); err != nil {
					return err
				}
			}
			return nil
		})
		for i := 1; i < len(cs); i++ {
			assert.Greater(t, cs[i].ID, cs[i-1].ID)
		}
		list := func(municipality, station string) []commission.Conflict {
			return read(t, st, func(r commission.Reader) ([]commission.Conflict, error) {
				return r.Conflicts(municipality, station)
			})
		}
		assert.Equal(t, []commission.Conflict{*cs[0], *cs[2], *cs[3]}, list(muniA, ""), "oldest first")
		assert.Equal(t, []commission.Conflict{*cs[0], *cs[3]}, list(muniA, stA2))
		assert.Equal(t, []commission.Conflict{*cs[1]}, list(muniB, ""))
		assert.Empty(t, list(muniB, stA1))
	})
}

func (s *suite) testDecisions(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		st := s.open(t)
		v1 := submission(formOf(stA1, "ASM", election.ResultsForm), 1, nil, "")
		d := decisionOn(v1, election.Return, "Rreshti B nuk përputhet.", minute(5))
		insert(t, st, v1)
		update(t, st, func(tx commission.Tx) error {
			fresh, err := tx.InsertDecision(d)
			assert.True(t, fresh)
			if err != nil {
				return err
			}
			got, err := tx.Decision(d.Digest)
			assert.Equal(t, d, got, "the transaction sees its own write")
			return err
		})
		got := read(t, st, func(r commission.Reader) (*commission.Decision, error) { return r.Decision(d.Digest) })
		assert.Equal(t, d, got)

		t.Run("RepeatIsFalse", func(t *testing.T) {
			again := *d
			again.ReceivedAt = minute(50)
			update(t, st, func(tx commission.Tx) error {
				fresh, err := tx.InsertDecision(&again)
				assert.False(t, fresh)
				return err
			})
			got := read(t, st, func(r commission.Reader) (*commission.Decision, error) { return r.Decision(d.Digest) })
			assert.Equal(t, d, got)
			assert.Equal(t, 1, read(t, st, func(r commission.Reader) (commission.Counts, error) { return r.Counts() }).Decisions)
		})
	})

	t.Run("Listed", func(t *testing.T) {
		st := s.open(t)
		var ds []*commission.Decision
		var subs []*commission.Submission
		for i, station := range []string{stA2, stB1, stA1, stA2} {
			sub := submission(formOf(station, fmt.Sprintf("C%d", i), election.ResultsForm), 1, nil, "")
			subs = append(subs, sub)
			// Received in an order that is not the decisions' times.
			ds = append(ds, decisionOn(sub, election.Approve, "", minute(10-i)))
		}
		insert(t, st, subs...)
		for _, d := range ds {
			update(t, st, func(tx commission.Tx) error {
				_, err := tx.InsertDecision(d)
				return err
			})
		}
		list := func(municipality, station string) []commission.Decision {
			return read(t, st, func(r commission.Reader) ([]commission.Decision, error) {
				return r.Decisions(municipality, station)
			})
		}
		assert.Equal(t, []commission.Decision{*ds[0], *ds[2], *ds[3]}, list(muniA, ""), "in the order received")
		assert.Equal(t, []commission.Decision{*ds[0], *ds[3]}, list(muniA, stA2))
		assert.Equal(t, []commission.Decision{*ds[1]}, list(muniB, ""))
		assert.Empty(t, list(muniB, stA1))
	})
}

func (s *suite) testUploads(t *testing.T) {
	photo := bytes.Repeat([]byte("the signed paper form, photographed. "), 1000)
	sha := seal.Digest(photo)
	parts := [][]byte{photo[:10000], photo[10000:25000], photo[25000:]}
	start := func() *commission.Upload {
		return &commission.Upload{SHA256: sha, Size: int64(len(photo)), Station: stA1}
	}
	upload := func(t *testing.T, st commission.Store) *commission.Upload {
		return read(t, st, func(r commission.Reader) (*commission.Upload, error) { return r.Upload(sha) })
	}

	t.Run("PartsInOrder", func(t *testing.T) {
		st := s.open(t)
		u := start()
		update(t, st, func(tx commission.Tx) error { return tx.PutUploadPart(u, 0, parts[0]) })
		assert.Equal(t, start(), u, "PutUploadPart leaves the *Upload as it is")
		assert.Equal(t, &commission.Upload{SHA256: sha, Size: int64(len(photo)), Received: 10000, Station: stA1}, upload(t, st))

		update(t, st, func(tx commission.Tx) error {
			u, err := tx.Upload(sha)
			if err != nil {
				return err
			}
			if err := tx.PutUploadPart(u, 10000, parts[1]); err != nil {
				return err
			}
			data, err := tx.UploadData(sha)
			assert.Equal(t, photo[:25000], data, "the transaction sees its own write")
			return err
		})
		assert.Equal(t, int64(25000), upload(t, st).Received)

		t.Run("ErrOffsetIsConflict", func(t *testing.T) {
			for _, offset := range []int64{0, 10000, 25001, int64(len(photo))} {
				err := st.Update(t.Context(), func(tx commission.Tx) error {
					u, err := tx.Upload(sha)
					if err != nil {
						return err
					}
					return tx.PutUploadPart(u, offset, parts[2])
				})
				assertConflict(t, err, "a part from the wrong offset")
			}
			assert.Equal(t, int64(25000), upload(t, st).Received)
		})

		t.Run("CompleteUpload", func(t *testing.T) {
			a := &commission.Attachment{SHA256: sha, Size: int64(len(photo)), Station: stA1, ReceivedAt: minute(7)}
			update(t, st, func(tx commission.Tx) error {
				u, err := tx.Upload(sha)
				if err != nil {
					return err
				}
				if err := tx.PutUploadPart(u, 25000, parts[2]); err != nil {
					return err
				}
				data, err := tx.UploadData(sha)
				if err != nil {
					return err
				}
				require.Equal(t, photo, data)
				if err := tx.CompleteUpload(a, data); err != nil {
					return err
				}
				_, err = tx.Upload(sha)
				assertNotFound(t, err, "a completed upload, in its transaction")
				return nil
			})
			view(t, st, func(r commission.Reader) error {
				got, data, err := r.Attachment(sha)
				assert.Equal(t, a, got)
				assert.Equal(t, photo, data)
				return err
			})
			assertNotFound(t, readErr(t, st, func(r commission.Reader) error {
				_, err := r.Upload(sha)
				return err
			}), "the parts of a completed upload")
			assert.Equal(t, 1, read(t, st, func(r commission.Reader) (commission.Counts, error) { return r.Counts() }).Attachments)
		})
	})

	t.Run("ErrFirstPartNotAtZeroIsConflict", func(t *testing.T) {
		st := s.open(t)
		err := st.Update(t.Context(), func(tx commission.Tx) error { return tx.PutUploadPart(start(), 10000, parts[1]) })
		assertConflict(t, err, "a first part from 10000")
		assertNotFound(t, readErr(t, st, func(r commission.Reader) error {
			_, err := r.Upload(sha)
			return err
		}), "an upload never begun")
	})

	t.Run("DiscardUpload", func(t *testing.T) {
		st := s.open(t)
		other := []byte("another photo")
		otherSHA := seal.Digest(other)
		update(t, st, func(tx commission.Tx) error {
			if err := tx.PutUploadPart(start(), 0, parts[0]); err != nil {
				return err
			}
			if err := tx.PutUploadPart(start(), 10000, parts[1]); err != nil {
				return err
			}
			return tx.PutUploadPart(&commission.Upload{SHA256: otherSHA, Size: int64(len(other)), Station: stA2}, 0, other[:5])
		})
		update(t, st, func(tx commission.Tx) error { return tx.DiscardUpload(sha) })
		assertNotFound(t, readErr(t, st, func(r commission.Reader) error {
			_, err := r.Upload(sha)
			return err
		}), "a discarded upload")
		assert.Equal(t, &commission.Upload{SHA256: otherSHA, Size: int64(len(other)), Received: 5, Station: stA2},
			read(t, st, func(r commission.Reader) (*commission.Upload, error) { return r.Upload(otherSHA) }),
			"another upload stays")

		// Begun again from the start.
		update(t, st, func(tx commission.Tx) error { return tx.PutUploadPart(start(), 0, parts[0]) })
		assert.Equal(t, int64(10000), upload(t, st).Received)

		t.Run("UnknownIsNoError", func(t *testing.T) {
			update(t, st, func(tx commission.Tx) error { return tx.DiscardUpload(seal.Digest([]byte("never sent"))) })
		})
	})
}

func (s *suite) testSecret(t *testing.T) {
	st := s.open(t)
	calls := 0
	makeAs := func(b []byte) func() ([]byte, error) {
		return func() ([]byte, error) {
			calls++
			return b, nil
		}
	}
	first := bytes.Repeat([]byte{0xA5}, 32)
	got := write(t, st, func(tx commission.Tx) ([]byte, error) { return tx.Secret("token", makeAs(first)) })
	assert.Equal(t, first, got)
	assert.Equal(t, 1, calls)

	t.Run("SameAfter", func(t *testing.T) {
		got := write(t, st, func(tx commission.Tx) ([]byte, error) {
			return tx.Secret("token", makeAs(bytes.Repeat([]byte{0x5A}, 32)))
		})
		assert.Equal(t, first, got)
		assert.Equal(t, 1, calls, "made once")
	})

	t.Run("ByName", func(t *testing.T) {
		other := bytes.Repeat([]byte{0x0F}, 32)
		got := write(t, st, func(tx commission.Tx) ([]byte, error) { return tx.Secret("challenge", makeAs(other)) })
		assert.Equal(t, other, got)
	})

	t.Run("ErrMake", func(t *testing.T) {
		errNoEntropy := errors.New("no entropy")
		err := st.Update(t.Context(), func(tx commission.Tx) error {
			_, err := tx.Secret("failed", func() ([]byte, error) { return nil, errNoEntropy })
			return err
		})
		assert.ErrorIs(t, err, errNoEntropy)
		made := []byte("made the next time")
		got := write(t, st, func(tx commission.Tx) ([]byte, error) { return tx.Secret("failed", makeAs(made)) })
		assert.Equal(t, made, got)
	})
}

func (s *suite) testCounts(t *testing.T) {
	st := s.open(t)
	assert.Equal(t, commission.Counts{}, read(t, st, func(r commission.Reader) (commission.Counts, error) { return r.Counts() }))

	v1 := submission(formOf(stA1, "ASM", election.ResultsForm), 1, nil, "")
	v2 := submission(v1.FormRef, 2, v1, "")
	b1 := submission(formOf(stB1, "ASM", election.ResultsForm), 1, nil, "")
	photo := []byte("photo")
	update(t, st, func(tx commission.Tx) error {
		for _, k := range []*commission.Key{stationKey("k-1", stA1, t0), stationKey("k-2", stA2, t0), stationKey("k-3", stB1, t0)} {
			if err := tx.PutKey(k); err != nil {
				return err
			}
		}
		if err := tx.RevokeKey("k-2", minute(1), "lost"); err != nil {
			return err
		}
		for _, sub := range []*commission.Submission{v1, v2, b1} {
			if _, err := tx.InsertSubmission(sub); err != nil {
				return err
			}
		}
		if _, err := tx.PutConflict(conflictOf(submission(v1.FormRef, 1, nil, "x"), "stored", t0)); err != nil {
			return err
		}
		for _, sub := range []*commission.Submission{v1, v2} {
			if _, err := tx.InsertDecision(decisionOn(sub, election.Approve, "", t0)); err != nil {
				return err
			}
		}
		return tx.CompleteUpload(&commission.Attachment{SHA256: seal.Digest(photo), Size: int64(len(photo)),
			Station: stA1, ReceivedAt: t0}, photo)
	})
	assert.Equal(t, commission.Counts{Keys: 3, Revoked: 1, Submissions: 3, Conflicts: 1, Decisions: 2, Attachments: 1},
		read(t, st, func(r commission.Reader) (commission.Counts, error) { return r.Counts() }))
}

// testNotFound asks an empty store, and a full one, for what it lacks:
// each answer is ErrNotFound, in a View and in an Update.
func (s *suite) testNotFound(t *testing.T) {
	missing := seal.Digest([]byte("missing"))
	f := formOf(stA1, "ASM", election.ResultsForm)
	asks := []struct {
		name string
		ask  func(commission.Reader) error
	}{
		{"Key", func(r commission.Reader) error { _, err := r.Key("k-missing"); return err }},
		{"Code", func(r commission.Reader) error { _, err := r.Code(missing); return err }},
		{"Submission", func(r commission.Reader) error { _, err := r.Submission(missing); return err }},
		{"SubmissionAt", func(r commission.Reader) error { _, err := r.SubmissionAt(f, 2); return err }},
		{"Head", func(r commission.Reader) error {
			_, err := r.Head(formOf(stA1, "ASM", election.CandidatesForm))
			return err
		}},
		{"Decision", func(r commission.Reader) error { _, err := r.Decision(missing); return err }},
		{"Attachment", func(r commission.Reader) error { _, _, err := r.Attachment(missing); return err }},
		{"Upload", func(r commission.Reader) error { _, err := r.Upload(missing); return err }},
	}
	fill := func(t *testing.T, st commission.Store) {
		v1 := submission(f, 1, nil, "")
		insert(t, st, v1)
		update(t, st, func(tx commission.Tx) error {
			if err := tx.PutKey(stationKey("k-1", stA1, t0)); err != nil {
				return err
			}
			if err := tx.PutCode(codeFor(enrollment.RoleStation, stA1, "ABCD", t0)); err != nil {
				return err
			}
			if _, err := tx.InsertDecision(decisionOn(v1, election.Approve, "", t0)); err != nil {
				return err
			}
			photo := []byte("photo")
			if err := tx.CompleteUpload(&commission.Attachment{SHA256: seal.Digest(photo), Size: 5, Station: stA1, ReceivedAt: t0}, photo); err != nil {
				return err
			}
			return tx.PutUploadPart(&commission.Upload{SHA256: seal.Digest([]byte("other")), Size: 5, Station: stA1}, 0, []byte("ot"))
		})
	}
	for _, full := range []bool{false, true} {
		name := "Empty"
		if full {
			name = "Full"
		}
		t.Run(name, func(t *testing.T) {
			st := s.open(t)
			if full {
				fill(t, st)
			}
			for _, a := range asks {
				t.Run(a.name, func(t *testing.T) {
					assertNotFound(t, readErr(t, st, a.ask), "in a View")
					var err error
					require.NoError(t, st.Update(t.Context(), func(tx commission.Tx) error {
						err = a.ask(tx)
						return nil
					}))
					assertNotFound(t, err, "in an Update")
				})
			}
		})
	}
}
