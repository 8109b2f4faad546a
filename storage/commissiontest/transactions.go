package commissiontest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
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
)

// testTimes stores times given in another zone: each comes back as the
// same instant, exactly, in UTC.
func (s *suite) testTimes(t *testing.T) {
	st := s.open(t)
	zone := time.FixedZone("CEST", 2*60*60)
	in := func(n int) time.Time { return minute(n).In(zone) }
	// Whole seconds, and times far from t0.
	edges := []time.Time{t0.Truncate(time.Second), time.Date(1999, 12, 31, 23, 59, 59, 999999000, time.UTC),
		time.Date(2099, 1, 2, 3, 4, 5, 6000, time.UTC)}

	key := stationKey("k-1", stA1, in(1))
	code := codeFor(enrollment.RoleStation, stA1, "ABCD", in(2))
	newer := codeFor(enrollment.RoleStation, stA1, "EFGH", in(3))
	used := codeFor(enrollment.RoleStation, stA2, "IJKL", in(4))
	sub := submission(formOf(stA1, "ASM", election.ResultsForm), 1, nil, "")
	sub.SealedAt, sub.ReceivedAt = in(5), in(6)
	conflict := conflictOf(submission(sub.FormRef, 1, nil, "x"), "stored", in(7))
	decision := decisionOn(sub, election.Approve, "", in(8))
	decision.ReceivedAt = in(9)
	photo := []byte("photo")
	attachment := &commission.Attachment{SHA256: seal.Digest(photo), Size: 5, Station: stA1, ReceivedAt: in(10)}
	var edgeKeys []*commission.Key
	for i, at := range edges {
		edgeKeys = append(edgeKeys, stationKey(fmt.Sprintf("k-edge-%d", i), stB1, at))
	}
	update(t, st, func(tx commission.Tx) error {
		for _, err := range []error{
			tx.PutKey(key), tx.RevokeKey(key.ID, in(11), "lost"),
			tx.PutCode(code), tx.PutCode(newer), tx.PutCode(used), tx.UseCode(used.Hash, "k-1", in(12)),
			tx.CompleteUpload(attachment, photo),
			tx.Audit(in(13), audit.Event{Action: "test.time"}),
		} {
			if err != nil {
				return err
			}
		}
		for _, k := range edgeKeys {
			if err := tx.PutKey(k); err != nil {
				return err
			}
		}
		if _, err := tx.InsertSubmission(sub); err != nil {
			return err
		}
		if _, err := tx.PutConflict(conflict); err != nil {
			return err
		}
		_, err := tx.InsertDecision(decision)
		return err
	})

	utc := func(n int) *time.Time {
		at := minute(n)
		return &at
	}
	view(t, st, func(r commission.Reader) error {
		k, err := r.Key(key.ID)
		require.NoError(t, err)
		assert.Equal(t, minute(1), k.EnrolledAt)
		assert.Equal(t, utc(11), k.RevokedAt)
		for i, want := range edges {
			k, err := r.Key(edgeKeys[i].ID)
			require.NoError(t, err)
			assert.Equal(t, want, k.EnrolledAt)
		}

		c, err := r.Code(code.Hash)
		require.NoError(t, err)
		assert.Equal(t, minute(2), c.IssuedAt)
		assert.Equal(t, utc(3), c.RetiredAt)
		c, err = r.Code(used.Hash)
		require.NoError(t, err)
		assert.Equal(t, utc(12), c.UsedAt)

		got, err := r.Submission(sub.Digest)
		require.NoError(t, err)
		assert.Equal(t, minute(5), got.SealedAt)
		assert.Equal(t, minute(6), got.ReceivedAt)

		conflicts, err := r.Conflicts(muniA, stA1)
		require.NoError(t, err)
		require.Len(t, conflicts, 1)
		assert.Equal(t, minute(7), conflicts[0].At)

		d, err := r.Decision(decision.Digest)
		require.NoError(t, err)
		assert.Equal(t, minute(8), d.DecidedAt)
		assert.Equal(t, minute(9), d.ReceivedAt)

		a, _, err := r.Attachment(attachment.SHA256)
		require.NoError(t, err)
		assert.Equal(t, minute(10), a.ReceivedAt)

		return r.AuditRecords(func(rec audit.Record) error {
			assert.Equal(t, minute(13), rec.At)
			return nil
		})
	})
	verifyChain(t, st)
}

var errBoom = errors.New("boom")

func (s *suite) testUpdate(t *testing.T) {
	// writeAll writes one of everything, then fails as fail says.
	writeAll := func(fail func() error) func(commission.Tx) error {
		return func(tx commission.Tx) error {
			sub := submission(formOf(stA1, "ASM", election.ResultsForm), 1, nil, "")
			for _, err := range []error{
				tx.PutElection([]byte("signed"), "def-1", t0),
				tx.PutKey(stationKey("k-1", stA1, t0)),
				tx.PutCode(codeFor(enrollment.RoleStation, stA1, "ABCD", t0)),
				tx.Audit(t0, event("test.write", "all", 1)),
			} {
				if err != nil {
					return err
				}
			}
			if ok, err := tx.InsertSubmission(sub); err != nil || !ok {
				return fmt.Errorf("insert: %v, %v", ok, err)
			}
			if _, err := tx.Secret("token", func() ([]byte, error) { return []byte("secret"), nil }); err != nil {
				return err
			}
			return fail()
		}
	}
	assertEmpty := func(t *testing.T, st commission.Store) {
		t.Helper()
		assert.Equal(t, commission.Counts{}, read(t, st, func(r commission.Reader) (commission.Counts, error) { return r.Counts() }))
		assert.Empty(t, verifyChain(t, st))
		view(t, st, func(r commission.Reader) error {
			_, _, err := r.Election()
			assert.ErrorIs(t, err, commission.ErrNoElection)
			_, err = r.Code(codeFor(enrollment.RoleStation, stA1, "ABCD", t0).Hash)
			assertNotFound(t, err, "the code")
			return nil
		})
		secret := write(t, st, func(tx commission.Tx) ([]byte, error) {
			return tx.Secret("token", func() ([]byte, error) { return []byte("made after"), nil })
		})
		assert.Equal(t, []byte("made after"), secret, "the rolled back secret is not kept")
	}
	// stillWorks commits after the failure: the store is not left in the
	// failed transaction, and the chain begins at 1.
	stillWorks := func(t *testing.T, st commission.Store) {
		t.Helper()
		update(t, st, writeAll(func() error { return nil }))
		records := verifyChain(t, st)
		require.Len(t, records, 1)
		assert.Equal(t, uint64(1), records[0].Seq)
		assert.Equal(t, 1, read(t, st, func(r commission.Reader) (commission.Counts, error) { return r.Counts() }).Submissions)
	}

	t.Run("RollsBackOnError", func(t *testing.T) {
		st := s.open(t)
		err := st.Update(t.Context(), writeAll(func() error { return fmt.Errorf("the last step: %w", errBoom) }))
		assert.ErrorIs(t, err, errBoom, "fn's error is returned")
		assertEmpty(t, st)
		stillWorks(t, st)
	})

	t.Run("RollsBackOnPanic", func(t *testing.T) {
		st := s.open(t)
		assert.PanicsWithValue(t, "boom", func() {
			_ = st.Update(t.Context(), writeAll(func() error { panic("boom") }))
		}, "the panic goes on")
		assertEmpty(t, st)
		stillWorks(t, st)
	})

	t.Run("RollsBackOnStoreError", func(t *testing.T) {
		// An EConflict from the store ends the transaction like any error:
		// what fn wrote before it is gone too.
		st := s.open(t)
		update(t, st, func(tx commission.Tx) error { return tx.PutKey(stationKey("k-0", stA2, t0)) })
		err := st.Update(t.Context(), func(tx commission.Tx) error {
			if err := tx.PutKey(stationKey("k-1", stA1, t0)); err != nil {
				return err
			}
			return tx.PutKey(stationKey("k-0", stA2, t0))
		})
		assertConflict(t, err, "a key enrolled twice")
		assertNotFound(t, readErr(t, st, func(r commission.Reader) error {
			_, err := r.Key("k-1")
			return err
		}), "the key written before the conflict")
	})

	t.Run("GoesOnAfterRefusal", func(t *testing.T) {
		// The service answers one submission of a group commit with its
		// error and commits the rest: a store's ENotFound or EConflict
		// leaves the transaction usable.
		st := s.open(t)
		used := codeFor(enrollment.RoleStation, stA1, "ABCD", t0)
		update(t, st, func(tx commission.Tx) error {
			for _, err := range []error{
				tx.PutElection([]byte("signed"), "def-1", t0),
				tx.PutKey(stationKey("k-1", stA1, t0)),
				tx.PutCode(used),
				tx.UseCode(used.Hash, "k-1", t0),
				tx.PutUploadPart(&commission.Upload{SHA256: seal.Digest([]byte("photo")), Size: 5, Station: stA1}, 0, []byte("ph")),
			} {
				if err != nil {
					return err
				}
			}
			return nil
		})
		sub := submission(formOf(stA1, "ASM", election.ResultsForm), 1, nil, "")
		update(t, st, func(tx commission.Tx) error {
			_, err := tx.Key("k-missing")
			assertNotFound(t, err, "an unknown key")
			_, err = tx.Head(sub.FormRef)
			assertNotFound(t, err, "a form with no version")
			assertConflict(t, tx.PutElection([]byte("other"), "def-2", t0), "a second election")
			assertConflict(t, tx.PutKey(stationKey("k-1", stA2, t0)), "a key enrolled again")
			assertConflict(t, tx.UseCode(used.Hash, "k-2", t0), "a used code")
			assertConflict(t, tx.PutUploadPart(&commission.Upload{SHA256: seal.Digest([]byte("photo")), Size: 5,
				Station: stA1}, 0, []byte("ph")), "a part from the wrong offset")
			ok, err := tx.InsertSubmission(sub)
			require.NoError(t, err)
			require.True(t, ok)
			return tx.Audit(t0, event("submission.store", formSubject(sub.FormRef), 1))
		})
		got := read(t, st, func(r commission.Reader) (*commission.Submission, error) { return r.Submission(sub.Digest) })
		assert.Equal(t, sub, got)
		assert.Len(t, verifyChain(t, st), 1)
	})

	t.Run("ErrCanceledContext", func(t *testing.T) {
		st := s.open(t)
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		err := st.Update(ctx, func(tx commission.Tx) error { return tx.PutKey(stationKey("k-1", stA1, t0)) })
		assert.ErrorIs(t, err, context.Canceled)
		assertNotFound(t, readErr(t, st, func(r commission.Reader) error {
			_, err := r.Key("k-1")
			return err
		}), "the key of a canceled Update")
	})
}

func (s *suite) testView(t *testing.T) {
	t.Run("Snapshot", func(t *testing.T) {
		st := s.open(t)
		v1 := submission(formOf(stA1, "ASM", election.ResultsForm), 1, nil, "")
		insert(t, st, v1)
		update(t, st, func(tx commission.Tx) error { return tx.Audit(t0, event("test.first", "", 1)) })

		v2 := submission(v1.FormRef, 2, v1, "")
		view(t, st, func(r commission.Reader) error {
			before, err := r.Submissions(muniA, "")
			require.NoError(t, err)
			require.Len(t, before, 1)

			// Committed while the View runs.
			insert(t, st, v2)
			update(t, st, func(tx commission.Tx) error {
				if err := tx.PutKey(stationKey("k-1", stA1, t0)); err != nil {
					return err
				}
				return tx.Audit(t0, event("test.second", "", 2))
			})

			after, err := r.Submissions(muniA, "")
			require.NoError(t, err)
			assert.Equal(t, before, after, "the View's snapshot")
			head, err := r.Head(v1.FormRef)
			require.NoError(t, err)
			assert.Equal(t, v1, head)
			_, err = r.Key("k-1")
			assertNotFound(t, err, "a key enrolled after the snapshot")
			counts, err := r.Counts()
			require.NoError(t, err)
			assert.Equal(t, commission.Counts{Submissions: 1}, counts)
			n := 0
			require.NoError(t, r.AuditRecords(func(audit.Record) error { n++; return nil }))
			assert.Equal(t, 1, n)
			return nil
		})

		head := read(t, st, func(r commission.Reader) (*commission.Submission, error) { return r.Head(v1.FormRef) })
		assert.Equal(t, v2, head, "a new View sees the commit")
	})

	t.Run("ErrOfFn", func(t *testing.T) {
		st := s.open(t)
		err := st.View(t.Context(), func(commission.Reader) error { return fmt.Errorf("reading: %w", errBoom) })
		assert.ErrorIs(t, err, errBoom)
	})
}

func (s *suite) testAudit(t *testing.T) {
	t.Run("Empty", func(t *testing.T) {
		st := s.open(t)
		assert.Empty(t, verifyChain(t, st))
	})

	t.Run("ChainAcrossUpdates", func(t *testing.T) {
		st := s.open(t)
		var want []audit.Event
		for i := range 12 {
			update(t, st, func(tx commission.Tx) error {
				for j := range i%3 + 1 {
					e := event("test.step", fmt.Sprintf("update %d", i), j)
					if j == 1 {
						e.Details = nil // stored as {}
					}
					if err := tx.Audit(minute(len(want)), e); err != nil {
						return err
					}
					want = append(want, e)
				}
				return nil
			})
		}
		records := verifyChain(t, st)
		require.Len(t, records, len(want))
		for i, rec := range records {
			assert.Equal(t, uint64(i+1), rec.Seq)
			assert.Equal(t, minute(i), rec.At)
			assert.Equal(t, want[i].Action, rec.Action)
			assert.Equal(t, want[i].Subject, rec.Subject)
			assert.Equal(t, want[i].Actor, rec.Actor)
			details := "{}"
			if want[i].Details != nil {
				b, err := json.Marshal(want[i].Details)
				require.NoError(t, err)
				details = string(b)
			}
			assert.Equal(t, details, string(rec.Details), "the exact JSON hashed")
		}
	})

	t.Run("RollbackLeavesNoGap", func(t *testing.T) {
		st := s.open(t)
		update(t, st, func(tx commission.Tx) error { return tx.Audit(t0, event("test.kept", "", 1)) })
		err := st.Update(t.Context(), func(tx commission.Tx) error {
			if err := tx.Audit(t0, event("test.dropped", "", 2)); err != nil {
				return err
			}
			return errBoom
		})
		require.ErrorIs(t, err, errBoom)
		update(t, st, func(tx commission.Tx) error { return tx.Audit(t0, event("test.kept", "", 3)) })
		records := verifyChain(t, st)
		require.Len(t, records, 2)
		assert.Equal(t, uint64(2), records[1].Seq)
		assert.Equal(t, records[0].Hash, records[1].Prev)
	})

	t.Run("ErrEventRefused", func(t *testing.T) {
		st := s.open(t)
		err := st.Update(t.Context(), func(tx commission.Tx) error { return tx.Audit(t0, audit.Event{}) })
		assert.Error(t, err, "an event without an action")
		assert.Empty(t, verifyChain(t, st))
	})

	t.Run("ErrOfFnEnds", func(t *testing.T) {
		st := s.open(t)
		update(t, st, func(tx commission.Tx) error {
			for i := range 3 {
				if err := tx.Audit(t0, event("test.step", "", i)); err != nil {
					return err
				}
			}
			return nil
		})
		calls := 0
		err := st.View(t.Context(), func(r commission.Reader) error {
			return r.AuditRecords(func(audit.Record) error {
				calls++
				return errBoom
			})
		})
		assert.ErrorIs(t, err, errBoom)
		assert.Equal(t, 1, calls)
	})
}

// testConcurrent runs Updates at once, as the group commits of several
// tallyd nodes do: every one succeeds, and the chain has no gap.
func (s *suite) testConcurrent(t *testing.T) {
	t.Run("Updates", func(t *testing.T) {
		st := s.open(t)
		const writers, each = 16, 6
		subs := make([][]*commission.Submission, writers)
		errs := make([][]error, writers)
		var wg sync.WaitGroup
		for w := range writers {
			subs[w] = make([]*commission.Submission, each)
			errs[w] = make([]error, each)
			station := []string{stA1, stA2, stB1}[w%3]
			for i := range each {
				subs[w][i] = submission(formOf(station, fmt.Sprintf("C%02d", w), election.ResultsForm), i+1, nil, "")
			}
			wg.Go(func() {
				for i, sub := range subs[w] {
					errs[w][i] = st.Update(t.Context(), func(tx commission.Tx) error {
						if _, err := tx.Head(sub.FormRef); err != nil && !errors.Is(err, commission.ErrNotFound) {
							return err
						}
						ok, err := tx.InsertSubmission(sub)
						if err != nil {
							return err
						}
						if !ok {
							return fmt.Errorf("%s v%d was not stored", formSubject(sub.FormRef), sub.Version)
						}
						return tx.Audit(sub.ReceivedAt, audit.Event{Action: "submission.store",
							Subject: formSubject(sub.FormRef), Actor: sub.KeyID,
							Details: map[string]any{"digest": sub.Digest, "number": sub.Number}})
					})
				}
			})
		}
		wg.Wait()

		numbers := map[uint64]bool{}
		digests := map[string]bool{}
		for w := range writers {
			for i, err := range errs[w] {
				require.NoError(t, err, "writer %d, update %d", w, i)
				numbers[subs[w][i].Number] = true
				digests[subs[w][i].Digest] = true
			}
		}
		assert.Len(t, numbers, writers*each, "each receipt number given once")
		assert.Equal(t, writers*each, read(t, st, func(r commission.Reader) (commission.Counts, error) { return r.Counts() }).Submissions)

		records := verifyChain(t, st)
		require.Len(t, records, writers*each)
		for i, rec := range records {
			assert.Equal(t, uint64(i+1), rec.Seq)
			var d struct {
				Digest string `json:"digest"`
			}
			require.NoError(t, json.Unmarshal(rec.Details, &d))
			assert.True(t, digests[d.Digest], "record %d names a stored submission", rec.Seq)
			delete(digests, d.Digest)
		}
	})

	t.Run("SameVersionOnce", func(t *testing.T) {
		// Nodes racing to store different envelopes for one version: one
		// is stored, the others are told false, none fails.
		st := s.open(t)
		const racers = 8
		f := formOf(stA1, "ASM", election.ResultsForm)
		stored := make([]bool, racers)
		errs := make([]error, racers)
		subs := make([]*commission.Submission, racers)
		var wg sync.WaitGroup
		for i := range racers {
			subs[i] = submission(f, 1, nil, fmt.Sprintf("racer %d", i))
			wg.Go(func() {
				errs[i] = st.Update(t.Context(), func(tx commission.Tx) error {
					ok, err := tx.InsertSubmission(subs[i])
					stored[i] = ok
					if err != nil || !ok {
						return err
					}
					return tx.Audit(t0, event("submission.store", formSubject(f), i))
				})
			})
		}
		wg.Wait()
		winners := 0
		for i := range racers {
			require.NoError(t, errs[i])
			if stored[i] {
				winners++
				head := read(t, st, func(r commission.Reader) (*commission.Submission, error) { return r.Head(f) })
				assert.Equal(t, subs[i], head)
			}
		}
		assert.Equal(t, 1, winners)
		assert.Len(t, verifyChain(t, st), 1)
	})

	t.Run("ViewsDuringUpdates", func(t *testing.T) {
		st := s.open(t)
		const n = 20
		var wg sync.WaitGroup
		var viewErr error
		f := formOf(stA1, "ASM", election.ResultsForm)
		wg.Go(func() {
			for range n {
				viewErr = st.View(t.Context(), func(r commission.Reader) error {
					subs, err := r.Submissions(muniA, stA1)
					if err != nil {
						return err
					}
					var v audit.Verifier
					if err := r.AuditRecords(v.Add); err != nil {
						return err
					}
					if int(v.Count()) != len(subs) {
						return fmt.Errorf("a snapshot with %d submissions and %d audit records", len(subs), v.Count())
					}
					return nil
				})
				if viewErr != nil {
					return
				}
			}
		})
		var prev *commission.Submission
		for i := range n {
			sub := submission(f, i+1, prev, "")
			update(t, st, func(tx commission.Tx) error {
				if _, err := tx.InsertSubmission(sub); err != nil {
					return err
				}
				return tx.Audit(t0, event("submission.store", formSubject(f), i))
			})
			prev = sub
		}
		wg.Wait()
		assert.NoError(t, viewErr)
	})
}
