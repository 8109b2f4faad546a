package stationdb

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"tally/app/audit"
	"tally/app/election"
	"tally/app/station"
	"tally/storage/sqlitefile"
)

// readTx is a station.Reader over one transaction: View's read-only one or
// Update's write one. The interface has no context, so the transaction's
// is kept here.
type readTx struct {
	ctx context.Context
	tx  *sql.Tx
}

var _ station.Reader = (*readTx)(nil)

func (r *readTx) Definition() ([]byte, error) {
	var signed []byte
	err := r.tx.QueryRowContext(r.ctx, "SELECT signed FROM definition WHERE id = 1").Scan(&signed)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, station.ErrNotProvisioned
	}
	if err != nil {
		return nil, fmt.Errorf("stationdb: definition: %w", err)
	}
	return signed, nil
}

func (r *readTx) Provisioning() (*station.Provisioning, error) {
	p, err := findProvisioning(r.ctx, r.tx)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, station.ErrNotProvisioned
	}
	if err != nil {
		return nil, fmt.Errorf("stationdb: provisioning: %w", err)
	}
	return p, nil
}

func findProvisioning(ctx context.Context, tx *sql.Tx) (*station.Provisioning, error) {
	var (
		p                        station.Provisioning
		notBefore, provisionedAt string
		enrolledAt               sql.NullString
		sequence                 int64
	)
	err := tx.QueryRowContext(ctx, `SELECT election, station, definition_key_id, public_key, vault,
		throttle_failures, throttle_not_before, sequence, provisioned_at, enrolled_at, enrolled_with
		FROM provisioning WHERE id = 1`).Scan(&p.Election, &p.Station, &p.DefinitionKeyID, &p.PublicKey,
		&p.Vault, &p.Throttle.Failures, &notBefore, &sequence, &provisionedAt, &enrolledAt, &p.EnrolledWith)
	if err != nil {
		return nil, err
	}
	if enrolledAt.Valid {
		t, err := parseTime(enrolledAt.String)
		if err != nil {
			return nil, err
		}
		p.EnrolledAt = &t
	}
	p.Sequence = uint64(sequence)
	if p.Throttle.NotBefore, err = parseTime(notBefore); err != nil {
		return nil, err
	}
	if p.ProvisionedAt, err = parseTime(provisionedAt); err != nil {
		return nil, err
	}
	return &p, nil
}

// Sheet is the stored sheet with the draft values of both entries of its
// current version, or NewSheet(key) for a form never opened.
func (r *readTx) Sheet(key station.FormKey) (*station.Sheet, error) {
	sh, err := findSheet(r.ctx, r.tx, key)
	if err != nil {
		return nil, fmt.Errorf("stationdb: sheet %s: %w", key, err)
	}
	return sh, nil
}

const sheetColumns = `contest, form, state, version, first_by, second_by, resolved, remarks,
	objections, photo, confirmed, head, reason, updated`

func findSheet(ctx context.Context, tx *sql.Tx, key station.FormKey) (*station.Sheet, error) {
	sh, err := scanSheet(tx.QueryRowContext(ctx, "SELECT "+sheetColumns+" FROM sheets WHERE contest = ? AND form = ?",
		key.Contest, key.Form))
	if errors.Is(err, sql.ErrNoRows) {
		return station.NewSheet(key), nil
	}
	if err != nil {
		return nil, err
	}
	rows, err := tx.QueryContext(ctx, `SELECT entry, field, value FROM draft_values
		WHERE contest = ? AND form = ? AND version = ?`, key.Contest, key.Form, sh.Version)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		if err := scanValue(rows, sh); err != nil {
			return nil, err
		}
	}
	return sh, rows.Err()
}

// Sheets lists the stored sheets by contest and form, each with the draft
// values of its current version.
func (r *readTx) Sheets() ([]*station.Sheet, error) {
	sheets, err := listSheets(r.ctx, r.tx)
	if err != nil {
		return nil, fmt.Errorf("stationdb: sheets: %w", err)
	}
	return sheets, nil
}

func listSheets(ctx context.Context, tx *sql.Tx) ([]*station.Sheet, error) {
	rows, err := tx.QueryContext(ctx, "SELECT "+sheetColumns+" FROM sheets ORDER BY contest, form")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var sheets []*station.Sheet
	byKey := make(map[station.FormKey]*station.Sheet)
	for rows.Next() {
		sh, err := scanSheet(rows)
		if err != nil {
			return nil, err
		}
		sheets = append(sheets, sh)
		byKey[sh.Key] = sh
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}

	// Every sheet's values in one query rather than one per sheet.
	values, err := tx.QueryContext(ctx, `SELECT d.contest, d.form, d.entry, d.field, d.value
		FROM draft_values d JOIN sheets s
		ON s.contest = d.contest AND s.form = d.form AND s.version = d.version`)
	if err != nil {
		return nil, err
	}
	defer values.Close()
	for values.Next() {
		var (
			key   station.FormKey
			entry station.Entry
			field election.Field
			value int
		)
		if err := values.Scan(&key.Contest, &key.Form, &entry, &field, &value); err != nil {
			return nil, err
		}
		byKey[key].Draft(entry).Values[field] = value
	}
	return sheets, values.Err()
}

func scanSheet(row scanner) (*station.Sheet, error) {
	var (
		sh                  station.Sheet
		resolved, confirmed sql.NullString
		updated             string
	)
	if err := row.Scan(&sh.Key.Contest, &sh.Key.Form, &sh.State, &sh.Version, &sh.First.By, &sh.Second.By,
		&resolved, &sh.Remarks, &sh.Objections, &sh.Photo, &confirmed, &sh.Head, &sh.Reason, &updated); err != nil {
		return nil, err
	}
	sh.First.Values = map[election.Field]int{}
	sh.Second.Values = map[election.Field]int{}
	if resolved.Valid {
		if err := json.Unmarshal([]byte(resolved.String), &sh.Resolved); err != nil {
			return nil, fmt.Errorf("resolved fields: %w", err)
		}
	}
	if confirmed.Valid {
		if err := json.Unmarshal([]byte(confirmed.String), &sh.Confirmed); err != nil {
			return nil, fmt.Errorf("confirmations: %w", err)
		}
	}
	var err error
	sh.Updated, err = parseTime(updated)
	return &sh, err
}

func scanValue(rows *sql.Rows, sh *station.Sheet) error {
	var (
		entry station.Entry
		field election.Field
		value int
	)
	if err := rows.Scan(&entry, &field, &value); err != nil {
		return err
	}
	sh.Draft(entry).Values[field] = value
	return nil
}

const versionColumns = "contest, form, version, digest, supersedes, envelope, sealed_at, sequence"

// Versions lists a form's sealed versions, version 1 first.
func (r *readTx) Versions(key station.FormKey) ([]station.Version, error) {
	var out []station.Version
	err := eachVersion(r.ctx, r.tx, func(v station.Version) error {
		out = append(out, v)
		return nil
	}, "SELECT "+versionColumns+" FROM versions WHERE contest = ? AND form = ? ORDER BY version",
		key.Contest, key.Form)
	if err != nil {
		return nil, fmt.Errorf("stationdb: versions of %s: %w", key, err)
	}
	return out, nil
}

// AllVersions calls fn on every sealed version in the order sealed, one
// row at a time. fn's error ends it and is returned as it is.
func (r *readTx) AllVersions(fn func(station.Version) error) error {
	var fnErr error
	err := eachVersion(r.ctx, r.tx, func(v station.Version) error {
		fnErr = fn(v)
		return fnErr
	}, "SELECT "+versionColumns+" FROM versions ORDER BY id")
	if fnErr != nil {
		return fnErr
	}
	if err != nil {
		return fmt.Errorf("stationdb: versions: %w", err)
	}
	return nil
}

func eachVersion(ctx context.Context, tx *sql.Tx, fn func(station.Version) error, query string, args ...any) error {
	rows, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		v, err := scanVersion(rows)
		if err != nil {
			return err
		}
		if err := fn(*v); err != nil {
			return err
		}
	}
	return rows.Err()
}

func (r *readTx) Version(digest string) (*station.Version, error) {
	v, err := scanVersion(r.tx.QueryRowContext(r.ctx, "SELECT "+versionColumns+" FROM versions WHERE digest = ?", digest))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("stationdb: version %s: %w", digest, station.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("stationdb: version %s: %w", digest, err)
	}
	return v, nil
}

func scanVersion(row scanner) (*station.Version, error) {
	var (
		v          station.Version
		supersedes sql.NullString
		sealedAt   string
		sequence   int64
	)
	if err := row.Scan(&v.Key.Contest, &v.Key.Form, &v.Version, &v.Digest, &supersedes, &v.Envelope,
		&sealedAt, &sequence); err != nil {
		return nil, err
	}
	v.Supersedes = supersedes.String
	v.Sequence = uint64(sequence)
	var err error
	v.SealedAt, err = parseTime(sealedAt)
	return &v, err
}

// Outbox lists the versions waiting for their receipt in the order sealed
// (the station's sequence, not the wall clock, which may be set back
// between two seals): a correction never goes before what it supersedes.
func (r *readTx) Outbox() ([]station.OutboxItem, error) {
	items, err := listOutbox(r.ctx, r.tx)
	if err != nil {
		return nil, fmt.Errorf("stationdb: outbox: %w", err)
	}
	return items, nil
}

func listOutbox(ctx context.Context, tx *sql.Tx) ([]station.OutboxItem, error) {
	rows, err := tx.QueryContext(ctx, `SELECT o.digest, v.contest, v.form, v.version, o.queued_at
		FROM outbox o JOIN versions v ON v.digest = o.digest
		ORDER BY v.sequence, v.id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var items []station.OutboxItem
	for rows.Next() {
		var (
			it       station.OutboxItem
			queuedAt string
		)
		if err := rows.Scan(&it.Digest, &it.Key.Contest, &it.Key.Form, &it.Version, &queuedAt); err != nil {
			return nil, err
		}
		if it.QueuedAt, err = parseTime(queuedAt); err != nil {
			return nil, err
		}
		items = append(items, it)
	}
	return items, rows.Err()
}

const receiptColumns = "submission, digest, number, received_at, envelope, stored_at"

// Receipts lists the receipts in the order stored.
func (r *readTx) Receipts() ([]station.StoredReceipt, error) {
	rows, err := r.tx.QueryContext(r.ctx, "SELECT "+receiptColumns+" FROM receipts ORDER BY rowid")
	if err != nil {
		return nil, fmt.Errorf("stationdb: receipts: %w", err)
	}
	defer rows.Close()
	var out []station.StoredReceipt
	for rows.Next() {
		rc, err := scanReceipt(rows)
		if err != nil {
			return nil, fmt.Errorf("stationdb: receipts: %w", err)
		}
		out = append(out, *rc)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("stationdb: receipts: %w", err)
	}
	return out, nil
}

func (r *readTx) Receipt(submission string) (*station.StoredReceipt, error) {
	rc, err := findReceipt(r.ctx, r.tx, submission)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("stationdb: receipt of %s: %w", submission, station.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("stationdb: receipt of %s: %w", submission, err)
	}
	return rc, nil
}

func findReceipt(ctx context.Context, tx *sql.Tx, submission string) (*station.StoredReceipt, error) {
	return scanReceipt(tx.QueryRowContext(ctx, "SELECT "+receiptColumns+" FROM receipts WHERE submission = ?", submission))
}

func scanReceipt(row scanner) (*station.StoredReceipt, error) {
	var (
		rc                   station.StoredReceipt
		number               int64
		receivedAt, storedAt string
	)
	if err := row.Scan(&rc.Submission, &rc.Digest, &number, &receivedAt, &rc.Envelope, &storedAt); err != nil {
		return nil, err
	}
	rc.Number = uint64(number)
	var err error
	if rc.ReceivedAt, err = parseTime(receivedAt); err != nil {
		return nil, err
	}
	rc.StoredAt, err = parseTime(storedAt)
	return &rc, err
}

// Decisions lists the decisions in the order stored.
func (r *readTx) Decisions() ([]station.StoredDecision, error) {
	out, err := listDecisions(r.ctx, r.tx)
	if err != nil {
		return nil, fmt.Errorf("stationdb: decisions: %w", err)
	}
	return out, nil
}

func listDecisions(ctx context.Context, tx *sql.Tx) ([]station.StoredDecision, error) {
	rows, err := tx.QueryContext(ctx, `SELECT digest, submission, contest, form, verdict, reason, signed_by,
		decided_at, envelope, stored_at FROM decisions ORDER BY rowid`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []station.StoredDecision
	for rows.Next() {
		var (
			d                   station.StoredDecision
			decidedAt, storedAt string
		)
		if err := rows.Scan(&d.Digest, &d.Submission, &d.Key.Contest, &d.Key.Form, &d.Verdict, &d.Reason,
			&d.SignedBy, &decidedAt, &d.Envelope, &storedAt); err != nil {
			return nil, err
		}
		if d.DecidedAt, err = parseTime(decidedAt); err != nil {
			return nil, err
		}
		if d.StoredAt, err = parseTime(storedAt); err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

func (r *readTx) Photo(sha256 string) ([]byte, error) {
	var data []byte
	err := r.tx.QueryRowContext(r.ctx, "SELECT data FROM photos WHERE sha256 = ?", sha256).Scan(&data)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("stationdb: photo %s: %w", sha256, station.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("stationdb: photo %s: %w", sha256, err)
	}
	return data, nil
}

// Delivery is the sending of a version so far.
func (r *readTx) Delivery(digest string) (*station.Delivery, error) {
	d := station.Delivery{Digest: digest}
	var last, next string
	var refused int
	err := r.tx.QueryRowContext(r.ctx, `SELECT attempts, last_attempt, next_attempt, last_error, refused, reason
		FROM deliveries WHERE digest = ?`, digest).Scan(&d.Attempts, &last, &next, &d.LastError, &refused, &d.Reason)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("stationdb: delivery %s: %w", digest, station.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("stationdb: delivery %s: %w", digest, err)
	}
	d.Refused = refused == 1
	if d.LastAttempt, err = parseOptionalTime(last); err != nil {
		return nil, err
	}
	if d.NextAttempt, err = parseOptionalTime(next); err != nil {
		return nil, err
	}
	return &d, nil
}

// Uploaded reports whether the commission holds a photo.
func (r *readTx) Uploaded(sha256 string) (bool, error) {
	var done bool
	err := r.tx.QueryRowContext(r.ctx, "SELECT EXISTS (SELECT 1 FROM uploads WHERE sha256 = ?)", sha256).Scan(&done)
	if err != nil {
		return false, fmt.Errorf("stationdb: upload %s: %w", sha256, err)
	}
	return done, nil
}

// AuditRecords calls fn on every audit record in order, one row at a time,
// so that verifying a long chain holds one record. fn's error ends it and
// is returned as it is.
func (r *readTx) AuditRecords(fn func(audit.Record) error) error {
	return sqlitefile.EachAudit(r.ctx, r.tx, "stationdb", fn)
}
