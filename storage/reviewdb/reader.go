package reviewdb

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"tally/app/audit"
	"tally/app/review"
	"tally/storage/sqlitefile"
)

// readTx is a review.Reader over one transaction: View's read-only one or
// Update's write one.
type readTx struct {
	ctx context.Context
	tx  *sql.Tx
}

var _ review.Reader = (*readTx)(nil)

func (r *readTx) Definition() ([]byte, error) {
	var signed []byte
	err := r.tx.QueryRowContext(r.ctx, "SELECT signed FROM definition WHERE id = 1").Scan(&signed)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, review.ErrNotProvisioned
	}
	if err != nil {
		return nil, fmt.Errorf("reviewdb: definition: %w", err)
	}
	return signed, nil
}

func (r *readTx) Provisioning() (*review.Provisioning, error) {
	var (
		p                        review.Provisioning
		notBefore, provisionedAt string
		enrolledAt               sql.NullString
	)
	err := r.tx.QueryRowContext(r.ctx, `SELECT election, municipality, definition_key_id, public_key, vault,
			throttle_failures, throttle_not_before, provisioned_at, provisioned_by, enrolled_at, enrolled_with
		FROM provisioning WHERE id = 1`).Scan(&p.Election, &p.Municipality, &p.DefinitionKeyID, &p.PublicKey,
		&p.Vault, &p.Throttle.Failures, &notBefore, &provisionedAt, &p.ProvisionedBy, &enrolledAt, &p.EnrolledWith)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, review.ErrNotProvisioned
	}
	if err != nil {
		return nil, fmt.Errorf("reviewdb: provisioning: %w", err)
	}
	if p.Throttle.NotBefore, err = parseTime(notBefore); err != nil {
		return nil, fmt.Errorf("reviewdb: provisioning: %w", err)
	}
	if p.ProvisionedAt, err = parseTime(provisionedAt); err != nil {
		return nil, fmt.Errorf("reviewdb: provisioning: %w", err)
	}
	if enrolledAt.Valid {
		t, err := parseTime(enrolledAt.String)
		if err != nil {
			return nil, fmt.Errorf("reviewdb: provisioning: %w", err)
		}
		p.EnrolledAt = &t
	}
	return &p, nil
}

func (r *readTx) Overview() (*review.Overview, error) {
	var body, at string
	err := r.tx.QueryRowContext(r.ctx, "SELECT body, fetched_at FROM overview WHERE id = 1").Scan(&body, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, review.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("reviewdb: overview: %w", err)
	}
	var o review.Overview
	if err := json.Unmarshal([]byte(body), &o); err != nil {
		return nil, fmt.Errorf("reviewdb: overview: %w", err)
	}
	if o.FetchedAt, err = parseTime(at); err != nil {
		return nil, fmt.Errorf("reviewdb: overview: %w", err)
	}
	return &o, nil
}

func (r *readTx) StationRecord(code string) (*review.StationRecord, error) {
	rec, err := scanStationRecord(r.tx.QueryRowContext(r.ctx,
		"SELECT body, fetched_at FROM station_records WHERE code = ?", code))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, review.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("reviewdb: station record %s: %w", code, err)
	}
	return rec, nil
}

func (r *readTx) StationRecords() ([]review.StationRecord, error) {
	rows, err := r.tx.QueryContext(r.ctx, "SELECT body, fetched_at FROM station_records ORDER BY code")
	if err != nil {
		return nil, fmt.Errorf("reviewdb: station records: %w", err)
	}
	defer rows.Close()
	var out []review.StationRecord
	for rows.Next() {
		rec, err := scanStationRecord(rows)
		if err != nil {
			return nil, fmt.Errorf("reviewdb: station records: %w", err)
		}
		out = append(out, *rec)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reviewdb: station records: %w", err)
	}
	return out, nil
}

func scanStationRecord(row sqlitefile.Scanner) (*review.StationRecord, error) {
	var body, at string
	if err := row.Scan(&body, &at); err != nil {
		return nil, err
	}
	var rec review.StationRecord
	if err := json.Unmarshal([]byte(body), &rec); err != nil {
		return nil, err
	}
	var err error
	rec.FetchedAt, err = parseTime(at)
	return &rec, err
}

func (r *readTx) KeyList() (*review.KeyList, error) {
	var (
		l                      review.KeyList
		generatedAt, fetchedAt string
	)
	err := r.tx.QueryRowContext(r.ctx, "SELECT envelope, digest, generated_at, fetched_at FROM key_list WHERE id = 1").
		Scan(&l.Envelope, &l.Digest, &generatedAt, &fetchedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, review.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("reviewdb: key list: %w", err)
	}
	if l.GeneratedAt, err = parseTime(generatedAt); err != nil {
		return nil, fmt.Errorf("reviewdb: key list: %w", err)
	}
	if l.FetchedAt, err = parseTime(fetchedAt); err != nil {
		return nil, fmt.Errorf("reviewdb: key list: %w", err)
	}
	return &l, nil
}

const envelopeColumns = "digest, station, contest, form, version, supersedes, key_id, envelope, fetched_at"

func scanEnvelope(row sqlitefile.Scanner) (*review.Envelope, error) {
	var (
		e          review.Envelope
		supersedes sql.NullString
		at         string
	)
	if err := row.Scan(&e.Digest, &e.Station, &e.Contest, &e.Form, &e.Version, &supersedes, &e.KeyID, &e.Raw, &at); err != nil {
		return nil, err
	}
	e.Supersedes = supersedes.String
	var err error
	e.FetchedAt, err = parseTime(at)
	return &e, err
}

func (r *readTx) Envelope(digest string) (*review.Envelope, error) {
	e, err := scanEnvelope(r.tx.QueryRowContext(r.ctx, "SELECT "+envelopeColumns+" FROM envelopes WHERE digest = ?", digest))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, review.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("reviewdb: envelope %s: %w", digest, err)
	}
	return e, nil
}

func (r *readTx) Envelopes(station string) ([]review.Envelope, error) {
	rows, err := r.tx.QueryContext(r.ctx, "SELECT "+envelopeColumns+` FROM envelopes
		WHERE ? = '' OR station = ? ORDER BY station, contest, form, version, id`, station, station)
	if err != nil {
		return nil, fmt.Errorf("reviewdb: envelopes: %w", err)
	}
	defer rows.Close()
	var out []review.Envelope
	for rows.Next() {
		e, err := scanEnvelope(rows)
		if err != nil {
			return nil, fmt.Errorf("reviewdb: envelopes: %w", err)
		}
		out = append(out, *e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reviewdb: envelopes: %w", err)
	}
	return out, nil
}

func (r *readTx) Photo(sha256 string) ([]byte, error) {
	var data []byte
	err := r.tx.QueryRowContext(r.ctx, "SELECT data FROM photos WHERE sha256 = ?", sha256).Scan(&data)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, review.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("reviewdb: photo %s: %w", sha256, err)
	}
	return data, nil
}

func (r *readTx) HasPhoto(sha256 string) (bool, error) {
	var ok bool
	if err := r.tx.QueryRowContext(r.ctx, "SELECT EXISTS (SELECT 1 FROM photos WHERE sha256 = ?)", sha256).Scan(&ok); err != nil {
		return false, fmt.Errorf("reviewdb: photo %s: %w", sha256, err)
	}
	return ok, nil
}

const decisionColumns = "digest, submission, station, contest, form, verdict, reason, signed_by, decided_at, envelope"

func scanDecision(row sqlitefile.Scanner) (*review.Decision, error) {
	var (
		d  review.Decision
		at string
	)
	if err := row.Scan(&d.Digest, &d.Submission, &d.Station, &d.Contest, &d.Form, &d.Verdict, &d.Reason,
		&d.SignedBy, &at, &d.Envelope); err != nil {
		return nil, err
	}
	var err error
	d.DecidedAt, err = parseTime(at)
	return &d, err
}

func (r *readTx) Decisions() ([]review.Decision, error) {
	rows, err := r.tx.QueryContext(r.ctx, "SELECT "+decisionColumns+" FROM decisions ORDER BY id")
	if err != nil {
		return nil, fmt.Errorf("reviewdb: decisions: %w", err)
	}
	defer rows.Close()
	var out []review.Decision
	for rows.Next() {
		d, err := scanDecision(rows)
		if err != nil {
			return nil, fmt.Errorf("reviewdb: decisions: %w", err)
		}
		out = append(out, *d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reviewdb: decisions: %w", err)
	}
	return out, nil
}

func (r *readTx) Decision(digest string) (*review.Decision, error) {
	d, err := scanDecision(r.tx.QueryRowContext(r.ctx, "SELECT "+decisionColumns+" FROM decisions WHERE digest = ?", digest))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, review.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("reviewdb: decision %s: %w", digest, err)
	}
	return d, nil
}

func (r *readTx) Outbox() ([]review.OutboxItem, error) {
	rows, err := r.tx.QueryContext(r.ctx, `SELECT o.digest, o.queued_at FROM outbox o
		JOIN decisions d ON d.digest = o.digest ORDER BY d.id`)
	if err != nil {
		return nil, fmt.Errorf("reviewdb: outbox: %w", err)
	}
	defer rows.Close()
	var out []review.OutboxItem
	for rows.Next() {
		var (
			it review.OutboxItem
			at string
		)
		if err := rows.Scan(&it.Digest, &at); err != nil {
			return nil, fmt.Errorf("reviewdb: outbox: %w", err)
		}
		if it.QueuedAt, err = parseTime(at); err != nil {
			return nil, fmt.Errorf("reviewdb: outbox: %w", err)
		}
		out = append(out, it)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reviewdb: outbox: %w", err)
	}
	return out, nil
}

func (r *readTx) Delivery(digest string) (*review.Delivery, error) {
	var receivedAt, recordedAt string
	err := r.tx.QueryRowContext(r.ctx, "SELECT received_at, recorded_at FROM deliveries WHERE digest = ?", digest).
		Scan(&receivedAt, &recordedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, review.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("reviewdb: delivery %s: %w", digest, err)
	}
	d := &review.Delivery{Digest: digest}
	if d.ReceivedAt, err = parseTime(receivedAt); err != nil {
		return nil, fmt.Errorf("reviewdb: delivery %s: %w", digest, err)
	}
	if d.RecordedAt, err = parseTime(recordedAt); err != nil {
		return nil, fmt.Errorf("reviewdb: delivery %s: %w", digest, err)
	}
	return d, nil
}

func (r *readTx) AuditRecords(fn func(audit.Record) error) error {
	return sqlitefile.EachAudit(r.ctx, r.tx, "reviewdb", fn)
}

func (r *readTx) Refusals() ([]review.Refusal, error) {
	rows, err := r.tx.QueryContext(r.ctx, "SELECT decision, reason, recorded_at FROM refusals ORDER BY id")
	if err != nil {
		return nil, fmt.Errorf("reviewdb: refusals: %w", err)
	}
	defer rows.Close()
	var out []review.Refusal
	for rows.Next() {
		var (
			ref review.Refusal
			at  string
		)
		if err := rows.Scan(&ref.Decision, &ref.Reason, &at); err != nil {
			return nil, fmt.Errorf("reviewdb: refusals: %w", err)
		}
		if ref.At, err = parseTime(at); err != nil {
			return nil, fmt.Errorf("reviewdb: refusals: %w", err)
		}
		out = append(out, ref)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reviewdb: refusals: %w", err)
	}
	return out, nil
}

func (r *readTx) Conflicts() (*review.ConflictList, error) {
	var body, at string
	err := r.tx.QueryRowContext(r.ctx, "SELECT body, fetched_at FROM conflicts WHERE id = 1").Scan(&body, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, review.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("reviewdb: conflicts: %w", err)
	}
	var l review.ConflictList
	if err := json.Unmarshal([]byte(body), &l); err != nil {
		return nil, fmt.Errorf("reviewdb: conflicts: %w", err)
	}
	if l.FetchedAt, err = parseTime(at); err != nil {
		return nil, fmt.Errorf("reviewdb: conflicts: %w", err)
	}
	return &l, nil
}
