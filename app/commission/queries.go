package commission

import (
	"context"
	"errors"
)

// Read queries for the server's views: what a station sees of itself and
// what a supervisor sees of the municipality. They read one snapshot each
// and change nothing.

// StationRecord is what the commission holds of a station's forms (or of
// every station of a municipality): every stored version, the supervisors'
// decisions and the conflicts, in the orders of Reader.
type StationRecord struct {
	Submissions []Submission
	Decisions   []Decision
	Conflicts   []Conflict
}

// StationRecord reads what is stored of one station of the election.
func (s *Service) StationRecord(ctx context.Context, station string) (*StationRecord, error) {
	def, err := s.Definition(ctx)
	if err != nil {
		return nil, err
	}
	st, ok := def.Station(station)
	if !ok {
		return nil, Errorf(ENotFound, "station %q is not in election %s", station, def.Election.ID)
	}
	return s.record(ctx, st.Municipality, st.Code)
}

// MunicipalityRecord reads what is stored of every station of a
// municipality of the election.
func (s *Service) MunicipalityRecord(ctx context.Context, municipality string) (*StationRecord, error) {
	def, err := s.Definition(ctx)
	if err != nil {
		return nil, err
	}
	m, ok := def.Municipality(municipality)
	if !ok {
		return nil, Errorf(ENotFound, "municipality %q is not in election %s", municipality, def.Election.ID)
	}
	return s.record(ctx, m.Code, "")
}

// HeadsRecord is what the results count, in one consistent read: the
// latest stored version of every form (Submissions, without their
// envelopes: see SubmissionEnvelopes) and every decision.
func (s *Service) HeadsRecord(ctx context.Context) (*StationRecord, error) {
	var rec StationRecord
	err := s.store.View(ctx, func(r Reader) error {
		var err error
		if rec.Submissions, err = r.Heads(); err != nil {
			return err
		}
		rec.Decisions, err = r.Decisions("", "")
		return err
	})
	if err != nil {
		return nil, err
	}
	return &rec, nil
}

func (s *Service) record(ctx context.Context, municipality, station string) (*StationRecord, error) {
	var rec StationRecord
	err := s.store.View(ctx, func(r Reader) error {
		var err error
		if rec.Submissions, err = r.Submissions(municipality, station); err != nil {
			return err
		}
		if rec.Decisions, err = r.Decisions(municipality, station); err != nil {
			return err
		}
		rec.Conflicts, err = r.Conflicts(municipality, station)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &rec, nil
}

// StoredSubmission is a stored submission, its envelope included.
func (s *Service) StoredSubmission(ctx context.Context, digest string) (*Submission, error) {
	var sub *Submission
	err := s.store.View(ctx, func(r Reader) error {
		var err error
		sub, err = r.Submission(digest)
		return err
	})
	return sub, notFound(err, "submission %s is not stored", digest)
}

// StoredDecision is a stored decision, its envelope included.
func (s *Service) StoredDecision(ctx context.Context, digest string) (*Decision, error) {
	var d *Decision
	err := s.store.View(ctx, func(r Reader) error {
		var err error
		d, err = r.Decision(digest)
		return err
	})
	return d, notFound(err, "decision %s is not stored", digest)
}

// StoredAttachment is a whole stored attachment and its bytes.
func (s *Service) StoredAttachment(ctx context.Context, sha256 string) (*Attachment, []byte, error) {
	var (
		a    *Attachment
		data []byte
	)
	err := s.store.View(ctx, func(r Reader) error {
		var err error
		a, data, err = r.Attachment(sha256)
		return err
	})
	return a, data, notFound(err, "attachment %s is not stored", sha256)
}

// UploadProgress is how far an attachment's upload has come: Received ==
// Size once it is whole.
func (s *Service) UploadProgress(ctx context.Context, sha256 string) (*Upload, error) {
	var u *Upload
	err := s.store.View(ctx, func(r Reader) error {
		u = nil
		if a, _, err := r.Attachment(sha256); err == nil {
			u = &Upload{SHA256: sha256, Size: a.Size, Received: a.Size, Station: a.Station}
			return nil
		} else if !errors.Is(err, ErrNotFound) {
			return err
		}
		var err error
		u, err = r.Upload(sha256)
		return err
	})
	return u, notFound(err, "no upload of %s has begun", sha256)
}

// EnrolledKey is an enrolled key, revoked or not, read from the store.
func (s *Service) EnrolledKey(ctx context.Context, id string) (*Key, error) {
	var k *Key
	err := s.store.View(ctx, func(r Reader) error {
		var err error
		k, err = r.Key(id)
		return err
	})
	return k, notFound(err, "key %s is not enrolled", id)
}

// StoreCounts are the store's running totals.
func (s *Service) StoreCounts(ctx context.Context) (Counts, error) {
	var c Counts
	err := s.store.View(ctx, func(r Reader) error {
		var err error
		c, err = r.Counts()
		return err
	})
	return c, err
}

// notFound gives a store's ErrNotFound a message that names the thing.
func notFound(err error, format string, args ...any) error {
	if errors.Is(err, ErrNotFound) {
		return Errorf(ENotFound, format, args...)
	}
	return err
}
