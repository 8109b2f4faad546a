package commissionlite

import (
	"bytes"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"tally/app/audit"
	"tally/app/commission"
)

// writeTx is a commission.Tx over Update's transaction. The transaction
// holds SQLite's write lock from its BEGIN, so what it reads stays true
// until it commits: a check and the insert after it are one step.
type writeTx struct {
	readTx
	// head is the audit chain's last record once read, so that the
	// Audit calls of one transaction (a group commit's hundreds) read it
	// once.
	head      *audit.Record
	headKnown bool
	// heads are the latest versions of the forms the transaction has
	// looked at (nil: none stored): a commit asks for the version before
	// the new one, which is nearly always the head, and when it takes the
	// careful path, for the new version and the head too.
	heads map[commission.FormRef]*commission.Submission
}

var _ commission.Tx = (*writeTx)(nil)

func (w *writeTx) PutElection(signed []byte, keyID string, at time.Time) error {
	if _, _, err := w.Election(); err == nil {
		return commission.Errorf(commission.EConflict, "an election is already imported; a server holds one")
	} else if !errors.Is(err, commission.ErrNoElection) {
		return err
	}
	if _, err := w.exec(qPutElection, signed, keyID, formatTime(at)); err != nil {
		return fmt.Errorf("commissionlite: election: %w", err)
	}
	return nil
}

// PutCode stores a code and retires the unused codes of its role and unit,
// as of the new code's issue.
func (w *writeTx) PutCode(c *commission.Code) error {
	if _, err := w.Code(c.Hash); err == nil {
		return commission.Errorf(commission.EConflict, "the code %s is already issued", c.Hash)
	} else if !errors.Is(err, commission.ErrNotFound) {
		return err
	}
	issuedAt := formatTime(c.IssuedAt)
	if _, err := w.exec(qRetireCodes, issuedAt, c.Role, c.Unit); err != nil {
		return fmt.Errorf("commissionlite: retire the codes of %s %s: %w", c.Role, c.Unit, err)
	}
	if _, err := w.exec(qPutCode, c.Hash, c.Role, c.Unit, issuedAt); err != nil {
		return fmt.Errorf("commissionlite: code of %s %s: %w", c.Role, c.Unit, err)
	}
	return nil
}

func (w *writeTx) UseCode(hash, keyID string, at time.Time) error {
	res, err := w.exec(qUseCode, formatTime(at), keyID, hash)
	if err != nil {
		return fmt.Errorf("commissionlite: use code %s: %w", hash, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("commissionlite: use code %s: %w", hash, err)
	} else if n == 1 {
		return nil
	}
	c, err := w.Code(hash)
	switch {
	case err != nil:
		return err
	case c.UsedAt != nil:
		return commission.Errorf(commission.EConflict, "the enrollment code was used on %s", c.UsedAt.Format(time.RFC3339))
	case c.RetiredAt != nil:
		return commission.Errorf(commission.EConflict, "the enrollment code was replaced by a newer one on %s",
			c.RetiredAt.Format(time.RFC3339))
	}
	return fmt.Errorf("commissionlite: use code %s: not changed, and neither used nor retired", hash)
}

func (w *writeTx) PutKey(k *commission.Key) error {
	if _, err := w.Key(k.ID); err == nil {
		return commission.Errorf(commission.EConflict, "key %s is already enrolled", k.ID)
	} else if !errors.Is(err, commission.ErrNotFound) {
		return err
	}
	if k.RevokedAt != nil {
		return fmt.Errorf("commissionlite: key %s: a key is enrolled unrevoked", k.ID)
	}
	if _, err := w.exec(qPutKey, k.ID, k.Public, k.Role, k.Unit, formatTime(k.EnrolledAt)); err != nil {
		return fmt.Errorf("commissionlite: key %s: %w", k.ID, err)
	}
	return nil
}

// RevokeKey revokes an unrevoked key; a revoked one keeps its first
// revocation.
func (w *writeTx) RevokeKey(id string, at time.Time, reason string) error {
	res, err := w.exec(qRevokeKey, formatTime(at), reason, id)
	if err != nil {
		return fmt.Errorf("commissionlite: revoke key %s: %w", id, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("commissionlite: revoke key %s: %w", id, err)
	} else if n == 1 {
		return nil
	}
	_, err = w.Key(id) // revoked already, or unknown
	return err
}

// formHead is the latest version of f, nil when none is stored.
func (w *writeTx) formHead(f commission.FormRef) (*commission.Submission, error) {
	if head, ok := w.heads[f]; ok {
		return head, nil
	}
	head, err := w.readTx.Head(f)
	switch {
	case errors.Is(err, commission.ErrNotFound):
		head = nil
	case err != nil:
		return nil, err
	}
	if w.heads == nil {
		w.heads = map[commission.FormRef]*commission.Submission{}
	}
	w.heads[f] = head
	return head, nil
}

// Head is read once per transaction and form, then kept: nothing else
// stores a version while the transaction holds the write lock.
func (w *writeTx) Head(f commission.FormRef) (*commission.Submission, error) {
	head, err := w.formHead(f)
	if err != nil {
		return nil, err
	}
	if head == nil {
		return nil, fmt.Errorf("commissionlite: head of %s: %w", formName(f), commission.ErrNotFound)
	}
	found := *head // the caller's copy
	return &found, nil
}

// SubmissionAt reads the form's head, which is the version asked for, or
// tells that it is not stored, but when an older version is asked for.
func (w *writeTx) SubmissionAt(f commission.FormRef, version int) (*commission.Submission, error) {
	head, err := w.formHead(f)
	switch {
	case err != nil:
		return nil, err
	case head != nil && head.Version > version:
		return w.readTx.SubmissionAt(f, version)
	case head == nil || head.Version < version:
		return nil, fmt.Errorf("commissionlite: version %d of %s: %w", version, formName(f), commission.ErrNotFound)
	}
	found := *head
	return &found, nil
}

// InsertSubmission gives the submission the next receipt number, the
// row's: AUTOINCREMENT numbers rows in the order inserted, never twice.
func (w *writeTx) InsertSubmission(s *commission.Submission) (bool, error) {
	res, err := w.exec(qInsertSubmission, s.Digest, s.Station, s.Contest, s.Form, s.Municipality, s.Version,
		nullText(s.Supersedes), s.KeyID, nullText(s.PhotoSHA256), s.Envelope, formatTime(s.SealedAt),
		formatTime(s.ReceivedAt))
	if err != nil {
		return false, fmt.Errorf("commissionlite: submission %s: %w", s.Digest, err)
	}
	number, stored, err := inserted(res)
	if err != nil || !stored {
		return false, wrap(err, "commissionlite: submission %s", s.Digest)
	}
	s.Number = uint64(number)
	delete(w.heads, s.FormRef) // read again when asked
	return true, nil
}

// inserted is the rowid of the row res inserted, or false when the insert
// was ignored.
func inserted(res sql.Result) (int64, bool, error) {
	n, err := res.RowsAffected()
	if err != nil || n == 0 {
		return 0, false, err
	}
	id, err := res.LastInsertId()
	return id, err == nil, err
}

func wrap(err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf(format+": %w", append(args, err)...)
}

func (w *writeTx) PutConflict(c *commission.Conflict) (bool, error) {
	res, err := w.exec(qPutConflict, c.Digest, c.Station, c.Contest, c.Form, c.Municipality, c.Version,
		nullText(c.Supersedes), c.KeyID, c.Reason, c.Envelope, formatTime(c.At))
	if err != nil {
		return false, fmt.Errorf("commissionlite: conflict %s: %w", c.Digest, err)
	}
	id, stored, err := inserted(res)
	if err != nil {
		return false, fmt.Errorf("commissionlite: conflict %s: %w", c.Digest, err)
	}
	if !stored {
		if err := w.queryRow(qConflictID, c.Digest).Scan(&id); err != nil {
			return false, fmt.Errorf("commissionlite: conflict %s: %w", c.Digest, err)
		}
	}
	c.ID = uint64(id)
	return stored, nil
}

func (w *writeTx) InsertDecision(d *commission.Decision) (bool, error) {
	res, err := w.exec(qInsertDecision, d.Digest, d.Submission, d.Station, d.Contest, d.Form, d.Municipality,
		d.Verdict, d.Reason, d.KeyID, formatTime(d.DecidedAt), formatTime(d.ReceivedAt), d.Envelope)
	if err != nil {
		return false, fmt.Errorf("commissionlite: decision %s: %w", d.Digest, err)
	}
	_, stored, err := inserted(res)
	return stored, wrap(err, "commissionlite: decision %s", d.Digest)
}

// PutUploadPart appends a part. The first part gives the upload its size
// and station; later parts keep them.
func (w *writeTx) PutUploadPart(u *commission.Upload, offset int64, data []byte) error {
	current, err := w.Upload(u.SHA256)
	switch {
	case errors.Is(err, commission.ErrNotFound):
		current = &commission.Upload{SHA256: u.SHA256, Size: u.Size, Station: u.Station}
	case err != nil:
		return err
	}
	if offset != current.Received {
		return commission.Errorf(commission.EConflict, "the upload of %s has %d bytes; send from there, not from %d",
			u.SHA256, current.Received, offset)
	}
	if end := offset + int64(len(data)); end > current.Size {
		return commission.Errorf(commission.EInvalid, "bytes %d to %d are outside the file's %d", offset, end, current.Size)
	}
	if data == nil {
		data = []byte{} // NOT NULL: an empty part is still a value
	}
	if _, err := w.exec(qPutUploadPart, u.SHA256, offset, current.Size, current.Station, data); err != nil {
		return fmt.Errorf("commissionlite: upload %s: %w", u.SHA256, err)
	}
	return nil
}

// UploadData is the parts joined, in order.
func (w *writeTx) UploadData(sha256 string) ([]byte, error) {
	rows, err := w.query(qUploadData, sha256)
	if err != nil {
		return nil, fmt.Errorf("commissionlite: upload %s: %w", sha256, err)
	}
	defer rows.Close()
	var (
		buf   bytes.Buffer
		parts int
	)
	for rows.Next() {
		var part sql.RawBytes
		if err := rows.Scan(&part); err != nil {
			return nil, fmt.Errorf("commissionlite: upload %s: %w", sha256, err)
		}
		buf.Write(part)
		parts++
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("commissionlite: upload %s: %w", sha256, err)
	}
	if parts == 0 {
		return nil, fmt.Errorf("commissionlite: upload %s: %w", sha256, commission.ErrNotFound)
	}
	return buf.Bytes(), nil
}

func (w *writeTx) CompleteUpload(a *commission.Attachment, data []byte) error {
	if _, _, err := w.Attachment(a.SHA256); err == nil {
		return commission.Errorf(commission.EConflict, "the attachment %s is already stored", a.SHA256)
	} else if !errors.Is(err, commission.ErrNotFound) {
		return err
	}
	if data == nil {
		data = []byte{}
	}
	if _, err := w.exec(qPutAttachment, a.SHA256, a.Size, a.Station, formatTime(a.ReceivedAt), data); err != nil {
		return fmt.Errorf("commissionlite: attachment %s: %w", a.SHA256, err)
	}
	return w.DiscardUpload(a.SHA256)
}

func (w *writeTx) DiscardUpload(sha256 string) error {
	if _, err := w.exec(qDeleteUploadParts, sha256); err != nil {
		return fmt.Errorf("commissionlite: discard upload %s: %w", sha256, err)
	}
	return nil
}

func (w *writeTx) Secret(name string, makeSecret func() ([]byte, error)) ([]byte, error) {
	var value []byte
	err := w.queryRow(qSecret, name).Scan(&value)
	if err == nil {
		return value, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("commissionlite: secret %s: %w", name, err)
	}
	if value, err = makeSecret(); err != nil {
		return nil, err
	}
	if value == nil {
		value = []byte{}
	}
	if _, err := w.exec(qPutSecret, name, value); err != nil {
		return nil, fmt.Errorf("commissionlite: secret %s: %w", name, err)
	}
	return value, nil
}

// PutSnapshot stores the snapshot that follows the last one. The
// transaction holds the write lock, so the last number it reads stays the
// last until it stores the next; the schema refuses a gap or a second row
// for a number even so.
func (w *writeTx) PutSnapshot(number uint64, sealed []byte, digest string, at time.Time) (bool, error) {
	if number == 0 {
		return false, commission.Errorf(commission.EInvalid, "results snapshots are numbered from 1")
	}
	var last uint64
	if err := w.queryRow(qLastSnapshotNumber).Scan(&last); err != nil {
		return false, fmt.Errorf("commissionlite: snapshot %d: %w", number, err)
	}
	switch {
	case number <= last:
		var same bool
		if err := w.queryRow(qSnapshotIs, int64(number), sealed, digest).Scan(&same); err != nil {
			return false, fmt.Errorf("commissionlite: snapshot %d: %w", number, err)
		}
		if !same {
			return false, commission.Errorf(commission.EConflict,
				"results snapshot %d is already published with other bytes", number)
		}
		return false, nil
	case last == 0 && number != 1:
		return false, commission.Errorf(commission.EConflict,
			"results snapshot %d cannot be the first published: the first is 1", number)
	case number != last+1:
		return false, commission.Errorf(commission.EConflict,
			"results snapshot %d cannot follow snapshot %d: the next is %d", number, last, last+1)
	}
	n, err := sqlUint("snapshot number", number)
	if err != nil {
		return false, fmt.Errorf("commissionlite: %w", err)
	}
	if _, err := w.exec(qPutSnapshot, n, digest, sealed, formatTime(at)); err != nil {
		return false, fmt.Errorf("commissionlite: snapshot %d: %w", number, err)
	}
	return true, nil
}

// Audit appends the record that follows the chain's head. Nothing else
// writes the chain while the transaction holds the write lock, so the head
// read once stays the head.
func (w *writeTx) Audit(at time.Time, e audit.Event) error {
	if !w.headKnown {
		head, err := w.lastAudit()
		if err != nil {
			return fmt.Errorf("commissionlite: audit %s: %w", e.Action, err)
		}
		w.head, w.headKnown = head, true
	}
	rec, err := audit.Next(w.head, at, e)
	if err != nil {
		return err
	}
	seq, err := sqlUint("audit sequence", rec.Seq)
	if err != nil {
		return err
	}
	// at is stored as the very text the hash covers.
	if _, err := w.exec(qAppendAudit, seq, rec.At.UTC().Format(time.RFC3339Nano), rec.Action, rec.Subject,
		rec.Actor, string(rec.Details), rec.Prev, rec.Hash); err != nil {
		return fmt.Errorf("commissionlite: audit %s: %w", e.Action, err)
	}
	w.head = &rec
	return nil
}
