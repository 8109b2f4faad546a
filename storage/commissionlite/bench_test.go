package commissionlite_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"tally/app/audit"
	"tally/app/commission"
	"tally/app/election"
	"tally/app/enrollment"
	"tally/app/seal"
)

// batchSize is the service's largest group commit.
const batchSize = 256

// BenchmarkCommitBatch is the store's part of tallyd's ingest: one durable
// Update per batch of 256 submissions, each doing what the service's
// commit does (see commitOne), over an election of 2,500 stations with two
// contests; every form gets version 1, then 2, and so on. The goal is well
// above 8,000 submissions/s.
func BenchmarkCommitBatch(b *testing.B) {
	db, _ := openDB(b)
	ctx := context.Background() // as the service's committer: no per-statement cancellation
	at := time.Date(2026, 10, 4, 19, 0, 0, 0, time.UTC)
	var st benchState
	st.init(b, db, at)
	for b.Loop() {
		b.StopTimer()
		batch := st.makeBatch()
		b.StartTimer()
		if err := db.Update(ctx, func(tx commission.Tx) error {
			revoked, err := tx.RevokedKeys()
			if err != nil {
				return err
			}
			if len(revoked) > 0 {
				return errors.New("revoked")
			}
			var prev []commission.VersionRef
			for _, s := range batch {
				if s.Version > 1 {
					prev = append(prev, commission.VersionRef{FormRef: s.FormRef, Version: s.Version - 1})
				}
			}
			digests, err := tx.DigestsAt(prev)
			if err != nil {
				return err
			}
			for _, s := range batch {
				if err := commitOne(tx, s, at, digests); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*batchSize)/b.Elapsed().Seconds(), "submissions/s")
}

// benchState makes the submissions of the benchmark's batches: every
// station's forms in turn, each a new version of the form.
type benchState struct {
	heads map[commission.FormRef]*commission.Submission
	next  int
	at    time.Time
}

const stations, contests = 2500, 2

// init enrolls every station's key.
func (st *benchState) init(tb testing.TB, db commission.Store, at time.Time) {
	st.heads = map[commission.FormRef]*commission.Submission{}
	st.at = at
	err := db.Update(context.Background(), func(tx commission.Tx) error {
		for s := range stations {
			station := stationCode(s)
			if err := tx.PutKey(&commission.Key{ID: "key-" + station, Public: "ed25519:" + station,
				Role: enrollment.RoleStation, Unit: station, EnrolledAt: at}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
}

// padding makes a results form's envelope about 2 KB.
var padding = bytes.Repeat([]byte("A"), 1900)

func (st *benchState) makeBatch() []*commission.Submission {
	batch := make([]*commission.Submission, batchSize)
	for i := range batch {
		form := st.next % (stations * contests)
		f := commission.FormRef{Station: stationCode(form / contests), Contest: fmt.Sprintf("C%d", form%contests),
			Form: election.ResultsForm}
		s := &commission.Submission{FormRef: f, Municipality: f.Station[:2], Version: 1,
			KeyID: "key-" + f.Station, SealedAt: st.at, ReceivedAt: st.at}
		if head := st.heads[f]; head != nil {
			s.Version, s.Supersedes = head.Version+1, head.Digest
		}
		s.Envelope = fmt.Appendf(nil, `{"payloadType":"application/vnd.tally.submission+json","payload":"%s v%d %s","signatures":[]}`,
			formKey(f), s.Version, padding)
		s.Digest = seal.Digest(s.Envelope)
		st.heads[f] = s
		batch[i] = s
		st.next++
	}
	return batch
}

// commitOne does what commission.Service does for a new submission in a
// group commit, once the batch has read the revoked keys (none) and the
// digests of the versions before its submissions: the version before it,
// which it must supersede; the insert; the audit record.
func commitOne(tx commission.Tx, s *commission.Submission, at time.Time, prev map[commission.VersionRef]string) error {
	if s.Version > 1 && prev[commission.VersionRef{FormRef: s.FormRef, Version: s.Version - 1}] != s.Supersedes {
		return errors.New("not the next version")
	}
	s.ReceivedAt = at
	ok, err := tx.InsertSubmission(s)
	if err != nil || !ok {
		return fmt.Errorf("insert: %v, %v", ok, err)
	}
	return tx.Audit(at, audit.Event{Action: "submission.store", Subject: formKey(s.FormRef), Actor: s.KeyID,
		Details: map[string]any{"version": s.Version, "digest": s.Digest, "supersedes": s.Supersedes,
			"number": s.Number}})
}

// stationCode is the n-th of 2,500 stations, in 38 municipalities.
func stationCode(n int) string { return fmt.Sprintf("%02d%02d%c", n%38+1, n/38%100, 'A'+n/3800) }

func formKey(f commission.FormRef) string { return f.Station + "/" + f.Contest + "/" + string(f.Form) }
