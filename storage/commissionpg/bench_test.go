package commissionpg_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"tally/app/commission"
	"tally/app/enrollment"
)

// BenchmarkCommitBatch is the store's part of tallyd's ingest: one durable
// Update per group commit of 256 submissions, each doing what the service's
// commit does (the key, the digest, the version, the head, the insert, the
// audit record), over an election of 2,500 stations with two contests,
// whose forms get version after version. The goal is thousands of
// submissions a second.
func BenchmarkCommitBatch(b *testing.B) {
	const batch, stations, contests = 256, 2500, 2
	db, _ := openDB(b)
	station := func(n int) string { return fmt.Sprintf("%02d%02d%c", n%38+1, n/38%100, 'A'+n/3800) }
	update(b, db, func(tx commission.Tx) error {
		for s := range stations {
			code := station(s)
			if err := tx.PutKey(&commission.Key{ID: "key-" + code, Public: "ed25519:" + code,
				Role: enrollment.RoleStation, Unit: code, EnrolledAt: t0}); err != nil {
				return err
			}
		}
		return nil
	})

	heads := map[commission.FormRef]*commission.Submission{}
	next := 0
	makeBatch := func() []*commission.Submission {
		subs := make([]*commission.Submission, batch)
		for i := range subs {
			form := next % (stations * contests)
			f := results(station(form/contests), fmt.Sprintf("C%d", form%contests))
			version, supersedes := 1, ""
			if head := heads[f]; head != nil {
				version, supersedes = head.Version+1, head.Digest
			}
			subs[i] = sealedSubmission(f, f.Station[:2], version, supersedes, "")
			heads[f] = subs[i]
			next++
		}
		return subs
	}

	ctx := context.Background() // as the service's committer's
	var took time.Duration
	for b.Loop() {
		b.StopTimer()
		subs := makeBatch()
		b.StartTimer()
		start := time.Now()
		err := db.Update(ctx, func(tx commission.Tx) error {
			for _, sub := range subs {
				o, err := commitOne(tx, sub)
				if err != nil {
					return err
				}
				if o.repeat || o.conflict {
					return fmt.Errorf("%s v%d: want it stored", formName(sub.FormRef), sub.Version)
				}
			}
			return nil
		})
		took += time.Since(start)
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*batch)/took.Seconds(), "submissions/s")
	b.ReportMetric(float64(took.Microseconds())/float64(b.N), "us/batch")
}
