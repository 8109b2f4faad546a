package stationdb

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"tally/app/audit"
	"tally/app/election"
	"tally/app/station"
	"tally/storage/sqlitefile"
)

// writeTx is a station.Tx over Update's transaction.
type writeTx struct {
	readTx
	// head is the audit chain's last record once read, so that several
	// Audit calls in one transaction read it once. Nothing else writes the
	// chain while the transaction holds the write lock.
	audit sqlitefile.AuditTail
}

var _ station.Tx = (*writeTx)(nil)

func (w *writeTx) PutDefinition(signed []byte) error {
	if len(signed) == 0 {
		return errors.New("stationdb: definition: empty")
	}
	var exists bool
	if err := w.tx.QueryRowContext(w.ctx, "SELECT EXISTS (SELECT 1 FROM definition)").Scan(&exists); err != nil {
		return fmt.Errorf("stationdb: definition: %w", err)
	}
	if exists {
		return station.ErrAlreadyProvisioned
	}
	if _, err := w.tx.ExecContext(w.ctx, "INSERT INTO definition (id, signed) VALUES (1, ?)", signed); err != nil {
		return fmt.Errorf("stationdb: definition: %w", err)
	}
	return nil
}

func (w *writeTx) PutProvisioning(p *station.Provisioning) error {
	if err := putProvisioning(w.ctx, w.tx, p); err != nil {
		return fmt.Errorf("stationdb: provisioning: %w", err)
	}
	return nil
}

func putProvisioning(ctx context.Context, tx *sql.Tx, p *station.Provisioning) error {
	sequence, err := sqlUint("sequence", p.Sequence)
	if err != nil {
		return err
	}
	vault := p.Vault
	if vault == nil {
		vault = []byte{} // NOT NULL: an empty vault is still a value
	}
	var enrolledAt sql.NullString
	if p.EnrolledAt != nil {
		enrolledAt = sql.NullString{String: formatTime(*p.EnrolledAt), Valid: true}
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO provisioning (id, election, station, definition_key_id, public_key,
			vault, throttle_failures, throttle_not_before, sequence, provisioned_at, enrolled_at, enrolled_with)
		VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET election = excluded.election, station = excluded.station,
			definition_key_id = excluded.definition_key_id, public_key = excluded.public_key,
			vault = excluded.vault, throttle_failures = excluded.throttle_failures,
			throttle_not_before = excluded.throttle_not_before, sequence = excluded.sequence,
			provisioned_at = excluded.provisioned_at, enrolled_at = excluded.enrolled_at,
			enrolled_with = excluded.enrolled_with`,
		p.Election, p.Station, p.DefinitionKeyID, p.PublicKey, vault, p.Throttle.Failures,
		formatTime(p.Throttle.NotBefore), sequence, formatTime(p.ProvisionedAt), enrolledAt, p.EnrolledWith)
	return err
}

func (w *writeTx) PutSheet(s *station.Sheet) error {
	if err := putSheet(w.ctx, w.tx, s); err != nil {
		return fmt.Errorf("stationdb: sheet %s: %w", s.Key, err)
	}
	return nil
}

// putSheet stores the scalar part of a sheet. Resolved and Confirmed are
// JSON, NULL when empty: they are read back nil.
func putSheet(ctx context.Context, tx *sql.Tx, s *station.Sheet) error {
	var resolved, confirmed sql.NullString
	if len(s.Resolved) > 0 {
		b, err := json.Marshal(s.Resolved)
		if err != nil {
			return err
		}
		resolved = sql.NullString{String: string(b), Valid: true}
	}
	if len(s.Confirmed) > 0 {
		b, err := json.Marshal(s.Confirmed)
		if err != nil {
			return err
		}
		confirmed = sql.NullString{String: string(b), Valid: true}
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO sheets (`+sheetColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (contest, form) DO UPDATE SET state = excluded.state, version = excluded.version,
			first_by = excluded.first_by, second_by = excluded.second_by, resolved = excluded.resolved,
			remarks = excluded.remarks, objections = excluded.objections, photo = excluded.photo,
			confirmed = excluded.confirmed, head = excluded.head, reason = excluded.reason,
			updated = excluded.updated`,
		s.Key.Contest, s.Key.Form, s.State, s.Version, s.First.By, s.Second.By, resolved, s.Remarks,
		s.Objections, s.Photo, confirmed, s.Head, s.Reason, formatTime(s.Updated))
	return err
}

// PutValue writes or removes one row: saving a field is one small write.
func (w *writeTx) PutValue(key station.FormKey, version int, e station.Entry, f election.Field, value int, present bool) error {
	if e != station.First && e != station.Second {
		return fmt.Errorf("stationdb: value %s of %s: no %s", f, key, e)
	}
	var err error
	if present {
		_, err = w.tx.ExecContext(w.ctx, `INSERT INTO draft_values (contest, form, version, entry, field, value)
			VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT (contest, form, version, entry, field) DO UPDATE SET value = excluded.value`,
			key.Contest, key.Form, version, e, f, value)
	} else {
		_, err = w.tx.ExecContext(w.ctx, `DELETE FROM draft_values
			WHERE contest = ? AND form = ? AND version = ? AND entry = ? AND field = ?`,
			key.Contest, key.Form, version, e, f)
	}
	if err != nil {
		return fmt.Errorf("stationdb: value %s of %s version %d, %s entry: %w", f, key, version, e, err)
	}
	return nil
}

// PutPhoto stores a photo once; the same photo again changes nothing.
func (w *writeTx) PutPhoto(sha256 string, data []byte) error {
	if err := putPhoto(w.ctx, w.tx, sha256, data); err != nil {
		return fmt.Errorf("stationdb: photo: %w", err)
	}
	return nil
}

func putPhoto(ctx context.Context, tx *sql.Tx, sha256 string, data []byte) error {
	if err := checkDigest("photo", sha256, data); err != nil {
		return err
	}
	// Checked first: the schema refuses an insert over an existing photo,
	// even one that would be ignored.
	var exists bool
	if err := tx.QueryRowContext(ctx, "SELECT EXISTS (SELECT 1 FROM photos WHERE sha256 = ?)", sha256).Scan(&exists); err != nil {
		return err
	}
	if exists {
		return nil
	}
	if data == nil {
		data = []byte{} // the empty photo still has a SHA-256
	}
	_, err := tx.ExecContext(ctx, "INSERT INTO photos (sha256, data) VALUES (?, ?)", sha256, data)
	return err
}

// AppendVersion stores a sealed version. The schema refuses a version or
// digest already stored, and a correction that does not supersede the
// form's previous version.
func (w *writeTx) AppendVersion(v *station.Version) error {
	if err := appendVersion(w.ctx, w.tx, v); err != nil {
		return fmt.Errorf("stationdb: version %d of %s: %w", v.Version, v.Key, err)
	}
	return nil
}

func appendVersion(ctx context.Context, tx *sql.Tx, v *station.Version) error {
	if err := checkDigest("digest", v.Digest, v.Envelope); err != nil {
		return err
	}
	sequence, err := sqlUint("sequence", v.Sequence)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO versions (`+versionColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		v.Key.Contest, v.Key.Form, v.Version, v.Digest, nullText(v.Supersedes), v.Envelope,
		formatTime(v.SealedAt), sequence)
	return err
}

// Enqueue puts a sealed version in the outbox; the schema refuses one
// already queued or receipted.
func (w *writeTx) Enqueue(digest string, at time.Time) error {
	if _, err := w.tx.ExecContext(w.ctx, "INSERT INTO outbox (digest, queued_at) VALUES (?, ?)",
		digest, formatTime(at)); err != nil {
		return fmt.Errorf("stationdb: enqueue %s: %w", digest, err)
	}
	return nil
}

// PutReceipt stores a receipt and takes its submission out of the outbox.
// The same receipt again changes nothing; another receipt for a
// submission already receipted is refused, as the first one stands.
func (w *writeTx) PutReceipt(r *station.StoredReceipt) error {
	if err := putReceipt(w.ctx, w.tx, r); err != nil {
		return fmt.Errorf("stationdb: receipt of %s: %w", r.Submission, err)
	}
	return nil
}

func putReceipt(ctx context.Context, tx *sql.Tx, r *station.StoredReceipt) error {
	if err := checkDigest("receipt digest", r.Digest, r.Envelope); err != nil {
		return err
	}
	number, err := sqlUint("receipt number", r.Number)
	if err != nil {
		return err
	}
	stored, err := findReceipt(ctx, tx, r.Submission)
	switch {
	case err == nil && stored.Digest == r.Digest:
		return nil
	case err == nil:
		return fmt.Errorf("already receipted by %s, not %s", stored.Digest, r.Digest)
	case !errors.Is(err, sql.ErrNoRows):
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO receipts (`+receiptColumns+`) VALUES (?, ?, ?, ?, ?, ?)`,
		r.Submission, r.Digest, number, formatTime(r.ReceivedAt), r.Envelope, formatTime(r.StoredAt)); err != nil {
		return err
	}
	// In the same transaction as the receipt: the schema lets the row go
	// only now that the receipt is there.
	_, err = tx.ExecContext(ctx, "DELETE FROM outbox WHERE digest = ?", r.Submission)
	return err
}

// PutDecision stores a decision once; the same decision again changes
// nothing.
func (w *writeTx) PutDecision(d *station.StoredDecision) error {
	if err := putDecision(w.ctx, w.tx, d); err != nil {
		return fmt.Errorf("stationdb: decision %s: %w", d.Digest, err)
	}
	return nil
}

func putDecision(ctx context.Context, tx *sql.Tx, d *station.StoredDecision) error {
	if err := checkDigest("digest", d.Digest, d.Envelope); err != nil {
		return err
	}
	var exists bool
	if err := tx.QueryRowContext(ctx, "SELECT EXISTS (SELECT 1 FROM decisions WHERE digest = ?)", d.Digest).Scan(&exists); err != nil {
		return err
	}
	if exists {
		return nil
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO decisions (digest, submission, contest, form, verdict, reason,
			signed_by, decided_at, envelope, stored_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		d.Digest, d.Submission, d.Key.Contest, d.Key.Form, d.Verdict, d.Reason, d.SignedBy,
		formatTime(d.DecidedAt), d.Envelope, formatTime(d.StoredAt))
	return err
}

// Audit appends the record that follows the chain's head.
func (w *writeTx) Audit(at time.Time, e audit.Event) error {
	if err := w.audit.Append(w.ctx, w.tx, at, e); err != nil {
		return fmt.Errorf("stationdb: audit %s: %w", e.Action, err)
	}
	return nil
}

// PutDelivery creates or replaces the delivery of a version.
func (w *writeTx) PutDelivery(d *station.Delivery) error {
	refused := 0
	if d.Refused {
		refused = 1
	}
	_, err := w.tx.ExecContext(w.ctx, `INSERT INTO deliveries (digest, attempts, last_attempt, next_attempt,
			last_error, refused, reason) VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (digest) DO UPDATE SET attempts = excluded.attempts, last_attempt = excluded.last_attempt,
			next_attempt = excluded.next_attempt, last_error = excluded.last_error, refused = excluded.refused,
			reason = excluded.reason`,
		d.Digest, d.Attempts, formatOptionalTime(d.LastAttempt), formatOptionalTime(d.NextAttempt),
		d.LastError, refused, d.Reason)
	if err != nil {
		return fmt.Errorf("stationdb: delivery %s: %w", d.Digest, err)
	}
	return nil
}

// PutUploaded notes that the commission holds a photo.
func (w *writeTx) PutUploaded(sha256 string, at time.Time) error {
	_, err := w.tx.ExecContext(w.ctx, "INSERT INTO uploads (sha256, uploaded_at) VALUES (?, ?)", sha256, formatTime(at))
	if err != nil {
		return fmt.Errorf("stationdb: upload %s: %w", sha256, err)
	}
	return nil
}
