package commissionpg_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tally/app/audit"
	"tally/app/commission"
	"tally/app/enrollment"
	"tally/storage/commissionpg"
)

// outcome is what one submission came to in one commit.
type outcome struct {
	number   uint64 // stored or repeated: its receipt number
	repeat   bool
	conflict bool
}

// commitOne decides a submission as the service's group commit does
// (app/commission, commitOne): a repeat, a conflict with what is stored,
// or the next version, stored and audited.
func commitOne(tx commission.Tx, sub *commission.Submission) (outcome, error) {
	key, err := tx.Key(sub.KeyID)
	if err != nil {
		return outcome{}, err
	}
	if key.Revoked() {
		return outcome{}, fmt.Errorf("key %s revoked", key.ID)
	}
	for range 2 {
		if old, err := tx.Submission(sub.Digest); err == nil {
			return outcome{number: old.Number, repeat: true}, nil
		} else if !errors.Is(err, commission.ErrNotFound) {
			return outcome{}, err
		}
		reason := ""
		if other, err := tx.SubmissionAt(sub.FormRef, sub.Version); err == nil {
			reason = "version is stored as " + other.Digest
		} else if !errors.Is(err, commission.ErrNotFound) {
			return outcome{}, err
		}
		if reason == "" {
			head, err := tx.Head(sub.FormRef)
			switch {
			case errors.Is(err, commission.ErrNotFound):
				if sub.Version != 1 {
					reason = "no version is stored"
				}
			case err != nil:
				return outcome{}, err
			case sub.Version != head.Version+1 || sub.Supersedes != head.Digest:
				reason = "does not supersede the head " + head.Digest
			}
		}
		if reason != "" {
			c := &commission.Conflict{Digest: sub.Digest, FormRef: sub.FormRef, Municipality: sub.Municipality,
				Version: sub.Version, Supersedes: sub.Supersedes, KeyID: sub.KeyID, Reason: reason,
				Envelope: sub.Envelope, At: t0}
			fresh, err := tx.PutConflict(c)
			if err != nil {
				return outcome{}, err
			}
			if fresh {
				err = tx.Audit(t0, audit.Event{Action: "submission.conflict", Subject: formName(sub.FormRef),
					Actor: sub.KeyID, Details: map[string]any{"digest": sub.Digest, "conflict": c.ID}})
			}
			return outcome{conflict: true}, err
		}
		stored := *sub
		stored.ReceivedAt = t0
		ok, err := tx.InsertSubmission(&stored)
		if err != nil {
			return outcome{}, err
		}
		if !ok {
			continue // stored meanwhile by another node: decide again
		}
		return outcome{number: stored.Number}, tx.Audit(t0, audit.Event{Action: "submission.store",
			Subject: formName(sub.FormRef), Actor: sub.KeyID,
			Details: map[string]any{"digest": sub.Digest, "number": stored.Number}})
	}
	return outcome{}, fmt.Errorf("submission %s refused twice", sub.Digest)
}

func formName(f commission.FormRef) string { return f.Station + "/" + f.Contest + "/" + string(f.Form) }

// TestNodes runs two stores on one schema, as two tallyd nodes behind a
// load balancer, each with two committers. Every envelope reaches every
// committer (stations resend through the balancer), and a rival envelope
// for each form's version 2 races the real one. The database must keep
// one copy of each, one version 2 per form, gapless receipt numbers in
// commit order, and one audit chain.
func TestNodes(t *testing.T) {
	u := freshSchema(t)
	nodes := make([]*commissionpg.DB, 2)
	var wg sync.WaitGroup
	errs := make([]error, len(nodes))
	for i := range nodes {
		wg.Go(func() { nodes[i], errs[i] = commissionpg.Open(t.Context(), u) })
	}
	wg.Wait()
	for i, db := range nodes {
		require.NoError(t, errs[i])
		t.Cleanup(func() { assert.NoError(t, db.Close()) })
	}

	const stations, contests, batch = 12, 2, 16
	var rounds [3][]*commission.Submission // version 1s, then 2s and rivals, then 3s
	update(t, nodes[0], func(tx commission.Tx) error {
		for s := range stations {
			station := fmt.Sprintf("01%02dA", s)
			if err := tx.PutKey(&commission.Key{ID: "key-" + station, Public: "ed25519:" + station,
				Role: enrollment.RoleStation, Unit: station, EnrolledAt: t0}); err != nil {
				return err
			}
			for c := range contests {
				f := results(station, fmt.Sprintf("C%d", c))
				v1 := sealedSubmission(f, "01", 1, "", "")
				v2 := sealedSubmission(f, "01", 2, v1.Digest, "")
				rival := sealedSubmission(f, "01", 2, v1.Digest, "from a cloned laptop")
				v3 := sealedSubmission(f, "01", 3, v2.Digest, "")
				rounds[0] = append(rounds[0], v1)
				rounds[1] = append(rounds[1], v2, rival)
				rounds[2] = append(rounds[2], v3)
			}
		}
		return nil
	})

	type result struct {
		sub *commission.Submission
		outcome
	}
	const committers = 4
	results := make([][]result, committers)
	commitErrs := make([]error, committers)
	for c := range committers {
		db := nodes[c%len(nodes)]
		rng := rand.New(rand.NewPCG(uint64(c), 7))
		wg.Go(func() {
			for _, round := range rounds {
				queue := append([]*commission.Submission(nil), round...)
				rng.Shuffle(len(queue), func(i, j int) { queue[i], queue[j] = queue[j], queue[i] })
				for len(queue) > 0 {
					n := min(batch, len(queue))
					var done []result
					err := db.Update(t.Context(), func(tx commission.Tx) error {
						done = done[:0]
						for _, sub := range queue[:n] {
							o, err := commitOne(tx, sub)
							if err != nil {
								return err
							}
							done = append(done, result{sub, o})
						}
						return nil
					})
					if err != nil {
						commitErrs[c] = err
						return
					}
					results[c] = append(results[c], done...)
					queue = queue[n:]
				}
			}
		})
	}
	wg.Wait()
	for c, err := range commitErrs {
		require.NoError(t, err, "committer %d", c)
	}

	// What the store holds.
	var stored []commission.Submission
	var conflicts []commission.Conflict
	view(t, nodes[1], func(r commission.Reader) error {
		var err error
		if stored, err = r.Submissions("01", ""); err != nil {
			return err
		}
		conflicts, err = r.Conflicts("01", "")
		return err
	})
	byDigest := map[string]commission.Submission{}
	byNumber := map[uint64]string{}
	for _, s := range stored {
		byDigest[s.Digest] = s
		byNumber[s.Number] = s.Digest
	}
	for n := uint64(1); n <= uint64(len(stored)); n++ {
		assert.Contains(t, byNumber, n, "receipt numbers without a gap")
	}
	forms := map[commission.FormRef][]commission.Submission{}
	for _, s := range stored {
		forms[s.FormRef] = append(forms[s.FormRef], s)
	}
	assert.Len(t, forms, stations*contests)
	for f, versions := range forms {
		for i, v := range versions {
			require.Equal(t, i+1, v.Version, "%s: versions 1, 2, … without a gap or a second copy", formName(f))
			if i > 0 {
				assert.Equal(t, versions[i-1].Digest, v.Supersedes, "%s v%d", formName(f), v.Version)
			}
		}
		assert.GreaterOrEqual(t, len(versions), 2, "%s: version 2 or its rival is stored", formName(f))
	}
	conflicted := map[string]bool{}
	for _, c := range conflicts {
		assert.False(t, conflicted[c.Digest], "one conflict per envelope")
		conflicted[c.Digest] = true
		assert.NotContains(t, byDigest, c.Digest, "a conflict is not stored as a submission")
	}

	// What each committer was told agrees with it.
	repeats := 0
	for c := range committers {
		for _, r := range results[c] {
			if r.repeat {
				repeats++
			}
			if r.conflict {
				assert.True(t, conflicted[r.sub.Digest], "committer %d: a conflict is recorded", c)
				continue
			}
			s, ok := byDigest[r.sub.Digest]
			if assert.True(t, ok, "committer %d: a receipt for a stored submission", c) {
				assert.Equal(t, s.Number, r.number, "committer %d: the receipt's number", c)
			}
		}
	}

	assert.NotZero(t, repeats, "committers found envelopes that others had stored")

	// One chain, each submission's record once, in the order of the
	// receipt numbers.
	records := verifyChain(t, nodes[0])
	var last uint64
	storeRecords, conflictRecords := 0, 0
	for _, rec := range records {
		var d struct {
			Digest string `json:"digest"`
			Number uint64 `json:"number"`
		}
		require.NoError(t, json.Unmarshal(rec.Details, &d))
		switch rec.Action {
		case "submission.store":
			storeRecords++
			assert.Equal(t, byDigest[d.Digest].Number, d.Number)
			assert.Greater(t, d.Number, last, "numbers follow the chain's order")
			last = d.Number
		case "submission.conflict":
			conflictRecords++
			assert.True(t, conflicted[d.Digest])
		}
	}
	assert.Equal(t, len(stored), storeRecords)
	assert.Equal(t, len(conflicts), conflictRecords)
}
