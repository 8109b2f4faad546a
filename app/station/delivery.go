package station

import (
	"context"
	"errors"
	"fmt"
	"time"

	"tally/app/audit"
	"tally/app/enrollment"
	"tally/app/provision"
	"tally/app/seal"
)

// Delivery is the sending of one sealed version to the commission: the
// attempts so far and, when the commission refused it, its reason. A
// refused version stays in the outbox, shown to the user and the
// supervisor, and is not sent again until the user says so.
type Delivery struct {
	Digest      string    `json:"digest"`
	Attempts    int       `json:"attempts"`
	LastAttempt time.Time `json:"last_attempt,omitzero"`
	NextAttempt time.Time `json:"next_attempt,omitzero"`
	LastError   string    `json:"last_error,omitempty"`
	Refused     bool      `json:"refused,omitempty"`
	Reason      string    `json:"reason,omitempty"`
}

// Pending is a version in the outbox with its envelope and its delivery.
type Pending struct {
	OutboxItem
	Envelope []byte   `json:"-"`
	Delivery Delivery `json:"delivery"`
}

// Pending lists the outbox in the order sealed, with each version's
// envelope and delivery: what the sync worker sends, oldest first.
func (s *Service) Pending(ctx context.Context) ([]Pending, error) {
	var out []Pending
	err := s.store.View(ctx, func(r Reader) error {
		items, err := r.Outbox()
		if err != nil {
			return err
		}
		for _, it := range items {
			v, err := r.Version(it.Digest)
			if err != nil {
				return err
			}
			d, err := r.Delivery(it.Digest)
			if errors.Is(err, ErrNotFound) {
				d = &Delivery{Digest: it.Digest}
			} else if err != nil {
				return err
			}
			out = append(out, Pending{OutboxItem: it, Envelope: v.Envelope, Delivery: *d})
		}
		return nil
	})
	return out, err
}

// RecordAttempt stores the outcome of an attempt to send a version that is
// still in the outbox. A refusal is audited; retries are bookkeeping.
func (s *Service) RecordAttempt(ctx context.Context, d Delivery) error {
	return s.store.Update(ctx, func(tx Tx) error {
		v, err := tx.Version(d.Digest)
		if err != nil {
			return err
		}
		if _, err := tx.Receipt(d.Digest); err == nil {
			return nil // delivered meanwhile: nothing to record
		} else if !errors.Is(err, ErrNotFound) {
			return err
		}
		if err := tx.PutDelivery(&d); err != nil {
			return err
		}
		if !d.Refused {
			return nil
		}
		return tx.Audit(s.clock(), audit.Event{Action: "delivery.refused", Subject: v.Key.String(), Actor: "commission",
			Details: map[string]any{"version": v.Version, "digest": v.Digest, "reason": d.Reason}})
	})
}

// RetryRefused puts a refused version back to be sent, at the user's word
// (after the commission has put right what made it refuse).
func (s *Service) RetryRefused(ctx context.Context, digest, by string) error {
	name, err := provision.PersonName(by)
	if err != nil {
		return err
	}
	return s.store.Update(ctx, func(tx Tx) error {
		d, err := tx.Delivery(digest)
		if err != nil {
			return err
		}
		if !d.Refused {
			return fmt.Errorf("%s was not refused", digest)
		}
		v, err := tx.Version(digest)
		if err != nil {
			return err
		}
		d.Refused, d.Reason, d.NextAttempt = false, "", time.Time{}
		if err := tx.PutDelivery(d); err != nil {
			return err
		}
		return tx.Audit(s.clock(), audit.Event{Action: "delivery.retry", Subject: v.Key.String(), Actor: name,
			Details: map[string]any{"version": v.Version, "digest": digest}})
	})
}

// PhotoRef is the photo of a delivered version, to upload.
type PhotoRef struct {
	SHA256  string  `json:"sha256"`
	Key     FormKey `json:"key"`
	Version int     `json:"version"`
}

// PendingPhotos lists the photos of versions the commission has receipted
// (it takes a photo only once it holds a submission that names it) and
// that are not uploaded yet.
func (s *Service) PendingPhotos(ctx context.Context) ([]PhotoRef, error) {
	var out []PhotoRef
	err := s.store.View(ctx, func(r Reader) error {
		receipts, err := r.Receipts()
		if err != nil {
			return err
		}
		seen := map[string]bool{}
		for _, rc := range receipts {
			v, err := r.Version(rc.Submission)
			if err != nil {
				return err
			}
			sub, err := payloadOf(v.Envelope)
			if err != nil {
				return err
			}
			sha := sub.Form.PhotoSHA256
			if sha == "" || seen[sha] {
				continue
			}
			seen[sha] = true
			done, err := r.Uploaded(sha)
			if err != nil {
				return err
			}
			if !done {
				out = append(out, PhotoRef{SHA256: sha, Key: v.Key, Version: v.Version})
			}
		}
		return nil
	})
	return out, err
}

// PhotoData is a stored photo's bytes.
func (s *Service) PhotoData(ctx context.Context, sha string) ([]byte, error) {
	var data []byte
	err := s.store.View(ctx, func(r Reader) error {
		var err error
		data, err = r.Photo(sha)
		return err
	})
	return data, err
}

// RecordUpload notes that the commission holds a photo.
func (s *Service) RecordUpload(ctx context.Context, sha string) error {
	return s.store.Update(ctx, func(tx Tx) error {
		if done, err := tx.Uploaded(sha); err != nil || done {
			return err
		}
		at := s.clock()
		if err := tx.PutUploaded(sha, at); err != nil {
			return err
		}
		return tx.Audit(at, audit.Event{Action: "photo.uploaded", Subject: sha, Actor: "commission"})
	})
}

// EnrollmentRequest makes the signed request that binds this station's key
// to the station at the commission, with the printed one-time code.
func (s *Service) EnrollmentRequest(ctx context.Context, key *seal.PrivateKey, code string) ([]byte, error) {
	sc, err := s.loadScope(ctx)
	if err != nil {
		return nil, err
	}
	if seal.EncodePublicKey(key.Public()) != sc.prov.PublicKey {
		return nil, ErrWrongKey
	}
	normal, err := enrollment.Normalize(code)
	if err != nil {
		return nil, err
	}
	return enrollment.SignRequest(enrollment.Request{Election: sc.def.Election.ID, Role: enrollment.RoleStation,
		Unit: sc.station.Code, Code: normal, At: s.clock()}, key)
}

// RecordEnrollment notes that the commission enrolled the station's key.
func (s *Service) RecordEnrollment(ctx context.Context, server string) error {
	return s.store.Update(ctx, func(tx Tx) error {
		p, err := tx.Provisioning()
		if err != nil {
			return err
		}
		if p.EnrolledAt != nil {
			return nil
		}
		at := s.clock()
		p.EnrolledAt, p.EnrolledWith = &at, server
		if err := tx.PutProvisioning(p); err != nil {
			return err
		}
		return tx.Audit(at, audit.Event{Action: "station.enroll", Subject: p.Station, Actor: "commission",
			Details: map[string]any{"server": server}})
	})
}
