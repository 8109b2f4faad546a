package commission

import (
	"context"
	"errors"
	"fmt"

	"tally/app/audit"
	"tally/app/seal"
)

// The archive of published results snapshots (app/publish): every sealed
// snapshot is stored under its number before it is served, so that a
// number names the same bytes on every node and after a restart.

// ArchiveSnapshot stores a sealed results snapshot under its number,
// durably, and records its publication in the audit log in the same
// transaction. Numbers follow one another from 1. The same snapshot again
// changes nothing; other bytes under a stored number, or a number that
// does not follow the last one stored, are an EConflict *Error.
func (s *Service) ArchiveSnapshot(ctx context.Context, number uint64, sealed []byte) error {
	return s.ArchiveSnapshotAs(ctx, number, sealed, seal.Digest(sealed))
}

// ArchiveSnapshotAs is ArchiveSnapshot for a snapshot kept in another form
// than its sealed bytes (app/publish keeps it without the station
// envelopes the store holds already): digest is the published snapshot's,
// which the audit record names and the store keeps beside it.
func (s *Service) ArchiveSnapshotAs(ctx context.Context, number uint64, sealed []byte, digest string) error {
	if number == 0 {
		return Errorf(EInvalid, "results snapshots are numbered from 1")
	}
	if len(sealed) == 0 {
		return Errorf(EInvalid, "results snapshot %d is empty", number)
	}
	at := s.clock()
	return s.store.Update(ctx, func(tx Tx) error {
		fresh, err := tx.PutSnapshot(number, sealed, digest, at)
		if err != nil || !fresh {
			return err
		}
		return tx.Audit(at, audit.Event{Action: "results.publish", Subject: fmt.Sprintf("snapshot/%d", number),
			Actor: "system", Details: map[string]any{"digest": digest, "size": len(sealed)}})
	})
}

// ArchivedSnapshot is the sealed results snapshot stored under a number,
// exactly as stored; an ENotFound *Error when there is none.
func (s *Service) ArchivedSnapshot(ctx context.Context, number uint64) ([]byte, error) {
	var sealed []byte
	err := s.store.View(ctx, func(r Reader) error {
		var err error
		sealed, err = r.Snapshot(number)
		return err
	})
	if err != nil {
		return nil, notFound(err, "no results snapshot %d has been published", number)
	}
	return sealed, nil
}

// LastArchivedSnapshot is the stored results snapshot with the highest
// number, and that number; 0 and nil when none is stored.
func (s *Service) LastArchivedSnapshot(ctx context.Context) (uint64, []byte, error) {
	var (
		number uint64
		sealed []byte
	)
	err := s.store.View(ctx, func(r Reader) error {
		var err error
		number, sealed, err = r.LastSnapshot()
		return err
	})
	if err != nil {
		return 0, nil, err
	}
	return number, sealed, nil
}

// SubmissionEnvelopes reads the envelopes of stored submissions by digest,
// in one read; a digest not stored is an ENotFound *Error.
func (s *Service) SubmissionEnvelopes(ctx context.Context, digests []string) (map[string][]byte, error) {
	out := make(map[string][]byte, len(digests))
	err := s.store.View(ctx, func(r Reader) error {
		for _, d := range digests {
			if _, ok := out[d]; ok {
				continue
			}
			sub, err := r.Submission(d)
			if errors.Is(err, ErrNotFound) {
				return Errorf(ENotFound, "no submission %s is stored", d)
			}
			if err != nil {
				return err
			}
			out[d] = sub.Envelope
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
