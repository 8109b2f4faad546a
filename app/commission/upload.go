package commission

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"slices"

	"tally/app/audit"
	"tally/app/election"
)

// MaxAttachmentSize bounds a photo or scan of a paper form.
const MaxAttachmentSize = 20 << 20

// Upload takes a part of a station's photo of a paper form, from offset.
// An upload is content-addressed: sha256 names the whole file, which must
// be the photo of one of the station's stored submissions. Parts arrive
// in order and may resume after a break; when the last part arrives the
// whole is checked against its hash, and stored, or refused and forgotten.
// It returns the upload's state; Received == Size once stored.
func (s *Service) Upload(ctx context.Context, station, sha string, size, offset int64, part []byte) (*Upload, error) {
	if err := election.CheckPhotoHash(sha); err != nil {
		return nil, Errorf(EInvalid, "%v", err)
	}
	if size <= 0 || size > MaxAttachmentSize {
		return nil, Errorf(EInvalid, "an attachment has 1 to %d bytes, not %d", MaxAttachmentSize, size)
	}
	if offset < 0 || offset+int64(len(part)) > size {
		return nil, Errorf(EInvalid, "bytes %d to %d are outside the file's %d", offset, offset+int64(len(part)), size)
	}
	at := s.clock()
	var state *Upload
	err := s.store.Update(ctx, func(tx Tx) error {
		if a, _, err := tx.Attachment(sha); err == nil {
			state = &Upload{SHA256: sha, Size: a.Size, Received: a.Size, Station: a.Station}
			return nil // already whole: nothing to add
		} else if !errors.Is(err, ErrNotFound) {
			return err
		}
		if err := s.checkPhotoOwner(tx, station, sha); err != nil {
			return err
		}
		u, err := tx.Upload(sha)
		switch {
		case errors.Is(err, ErrNotFound):
			u = &Upload{SHA256: sha, Size: size, Station: station}
		case err != nil:
			return err
		case u.Size != size:
			return Errorf(EConflict, "the upload of %s was begun with %d bytes, not %d", sha, u.Size, size)
		}
		if offset != u.Received {
			state = u
			return Errorf(EConflict, "the upload of %s has %d bytes; send from there, not from %d", sha, u.Received, offset)
		}
		if err := tx.PutUploadPart(u, offset, part); err != nil {
			return err
		}
		u.Received += int64(len(part))
		state = u
		if u.Received < u.Size {
			return nil
		}
		data, err := tx.UploadData(sha)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(data)
		if hex.EncodeToString(sum[:]) != sha {
			return Errorf(EInvalid, "the bytes received do not have the SHA-256 %s; send the file again from the start", sha)
		}
		if err := tx.CompleteUpload(&Attachment{SHA256: sha, Size: size, Station: station, ReceivedAt: at}, data); err != nil {
			return err
		}
		return tx.Audit(at, audit.Event{Action: "attachment.store", Subject: station, Actor: station,
			Details: map[string]any{"sha256": sha, "size": size}})
	})
	if err != nil {
		if KindOf(err) == EInvalid && state != nil && state.Received == state.Size {
			// The whole file did not match its hash: start again from zero.
			s.discardUpload(ctx, sha)
		}
		return state, err
	}
	return state, nil
}

// checkPhotoOwner refuses an attachment that no stored submission of the
// station names.
func (s *Service) checkPhotoOwner(tx Tx, station, sha string) error {
	def, err := s.Definition(context.Background())
	if err != nil {
		return err
	}
	st, ok := def.Station(station)
	if !ok {
		return Errorf(ENotFound, "station %q is not in the election", station)
	}
	subs, err := tx.Submissions(st.Municipality, station)
	if err != nil {
		return err
	}
	if !slices.ContainsFunc(subs, func(s Submission) bool { return s.PhotoSHA256 == sha }) {
		return Errorf(EForbidden, "no submission of station %s names the photo %s; send the submission first", station, sha)
	}
	return nil
}

// discardUpload forgets the parts of an upload whose whole did not match.
func (s *Service) discardUpload(ctx context.Context, sha string) {
	_ = s.store.Update(ctx, func(tx Tx) error {
		return tx.DiscardUpload(sha)
	})
}
