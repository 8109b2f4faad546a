package reviewdb

import (
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"tally/app/audit"
	"tally/app/review"
	"tally/storage/sqlitefile"
)

// writeTx is a review.Tx over Update's transaction.
type writeTx struct {
	readTx
	// head is the audit chain's last record once read, so that several
	// Audit calls in one transaction read it once.
	audit sqlitefile.AuditTail
}

var _ review.Tx = (*writeTx)(nil)

func (w *writeTx) PutDefinition(signed []byte) error {
	if len(signed) == 0 {
		return errors.New("reviewdb: definition: empty")
	}
	var exists bool
	if err := w.tx.QueryRowContext(w.ctx, "SELECT EXISTS (SELECT 1 FROM definition)").Scan(&exists); err != nil {
		return fmt.Errorf("reviewdb: definition: %w", err)
	}
	if exists {
		return review.ErrAlreadyProvisioned
	}
	if _, err := w.tx.ExecContext(w.ctx, "INSERT INTO definition (id, signed) VALUES (1, ?)", signed); err != nil {
		return fmt.Errorf("reviewdb: definition: %w", err)
	}
	return nil
}

func (w *writeTx) PutProvisioning(p *review.Provisioning) error {
	vault := p.Vault
	if vault == nil {
		vault = []byte{}
	}
	var enrolledAt sql.NullString
	if p.EnrolledAt != nil {
		enrolledAt = sql.NullString{String: formatTime(*p.EnrolledAt), Valid: true}
	}
	_, err := w.tx.ExecContext(w.ctx, `INSERT INTO provisioning (id, election, municipality, definition_key_id,
			public_key, vault, throttle_failures, throttle_not_before, provisioned_at, provisioned_by, enrolled_at,
			enrolled_with)
		VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET election = excluded.election, municipality = excluded.municipality,
			definition_key_id = excluded.definition_key_id, public_key = excluded.public_key,
			vault = excluded.vault, throttle_failures = excluded.throttle_failures,
			throttle_not_before = excluded.throttle_not_before, provisioned_at = excluded.provisioned_at,
			provisioned_by = excluded.provisioned_by, enrolled_at = excluded.enrolled_at,
			enrolled_with = excluded.enrolled_with`,
		p.Election, p.Municipality, p.DefinitionKeyID, p.PublicKey, vault, p.Throttle.Failures,
		formatTime(p.Throttle.NotBefore), formatTime(p.ProvisionedAt), p.ProvisionedBy, enrolledAt, p.EnrolledWith)
	if err != nil {
		return fmt.Errorf("reviewdb: provisioning: %w", err)
	}
	return nil
}

func (w *writeTx) PutOverview(o *review.Overview) error {
	body, err := json.Marshal(o)
	if err != nil {
		return fmt.Errorf("reviewdb: overview: %w", err)
	}
	_, err = w.tx.ExecContext(w.ctx, `INSERT INTO overview (id, body, fetched_at) VALUES (1, ?, ?)
		ON CONFLICT (id) DO UPDATE SET body = excluded.body, fetched_at = excluded.fetched_at`,
		string(body), formatTime(o.FetchedAt))
	if err != nil {
		return fmt.Errorf("reviewdb: overview: %w", err)
	}
	return nil
}

func (w *writeTx) PutStationRecord(r *review.StationRecord) error {
	body, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("reviewdb: station record %s: %w", r.Station.Code, err)
	}
	_, err = w.tx.ExecContext(w.ctx, `INSERT INTO station_records (code, body, fetched_at) VALUES (?, ?, ?)
		ON CONFLICT (code) DO UPDATE SET body = excluded.body, fetched_at = excluded.fetched_at`,
		r.Station.Code, string(body), formatTime(r.FetchedAt))
	if err != nil {
		return fmt.Errorf("reviewdb: station record %s: %w", r.Station.Code, err)
	}
	return nil
}

func (w *writeTx) PutKeyList(l *review.KeyList) error {
	if err := checkDigest("key list", l.Digest, l.Envelope); err != nil {
		return fmt.Errorf("reviewdb: %w", err)
	}
	_, err := w.tx.ExecContext(w.ctx, `INSERT INTO key_list (id, envelope, digest, generated_at, fetched_at)
		VALUES (1, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET envelope = excluded.envelope, digest = excluded.digest,
			generated_at = excluded.generated_at, fetched_at = excluded.fetched_at`,
		l.Envelope, l.Digest, formatTime(l.GeneratedAt), formatTime(l.FetchedAt))
	if err != nil {
		return fmt.Errorf("reviewdb: key list: %w", err)
	}
	return nil
}

func (w *writeTx) AppendEnvelope(e *review.Envelope) error {
	if err := checkDigest("envelope", e.Digest, e.Raw); err != nil {
		return fmt.Errorf("reviewdb: %w", err)
	}
	var supersedes sql.NullString
	if e.Supersedes != "" {
		supersedes = sql.NullString{String: e.Supersedes, Valid: true}
	}
	_, err := w.tx.ExecContext(w.ctx, "INSERT INTO envelopes ("+envelopeColumns+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
		e.Digest, e.Station, e.Contest, string(e.Form), e.Version, supersedes, e.KeyID, e.Raw, formatTime(e.FetchedAt))
	if err != nil {
		return fmt.Errorf("reviewdb: envelope %s: %w", e.Digest, err)
	}
	return nil
}

func (w *writeTx) PutPhoto(sha256 string, data []byte, at time.Time) error {
	if err := checkDigest("photo", sha256, data); err != nil {
		return fmt.Errorf("reviewdb: %w", err)
	}
	if data == nil {
		data = []byte{}
	}
	_, err := w.tx.ExecContext(w.ctx, `INSERT INTO photos (sha256, data, fetched_at) SELECT ?, ?, ?
		WHERE NOT EXISTS (SELECT 1 FROM photos WHERE sha256 = ?)`, sha256, data, formatTime(at), sha256)
	if err != nil {
		return fmt.Errorf("reviewdb: photo %s: %w", sha256, err)
	}
	return nil
}

func (w *writeTx) AppendDecision(d *review.Decision) error {
	if err := checkDigest("decision", d.Digest, d.Envelope); err != nil {
		return fmt.Errorf("reviewdb: %w", err)
	}
	_, err := w.tx.ExecContext(w.ctx, "INSERT INTO decisions ("+decisionColumns+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
		d.Digest, d.Submission, d.Station, d.Contest, string(d.Form), string(d.Verdict), d.Reason, d.SignedBy,
		formatTime(d.DecidedAt), d.Envelope)
	if err != nil {
		return fmt.Errorf("reviewdb: decision %s: %w", d.Digest, err)
	}
	return nil
}

func (w *writeTx) Enqueue(digest string, at time.Time) error {
	if _, err := w.tx.ExecContext(w.ctx, "INSERT INTO outbox (digest, queued_at) VALUES (?, ?)", digest, formatTime(at)); err != nil {
		return fmt.Errorf("reviewdb: outbox %s: %w", digest, err)
	}
	return nil
}

func (w *writeTx) PutDelivery(d *review.Delivery) error {
	if _, err := w.tx.ExecContext(w.ctx, "INSERT INTO deliveries (digest, received_at, recorded_at) VALUES (?, ?, ?)",
		d.Digest, formatTime(d.ReceivedAt), formatTime(d.RecordedAt)); err != nil {
		return fmt.Errorf("reviewdb: delivery %s: %w", d.Digest, err)
	}
	if _, err := w.tx.ExecContext(w.ctx, "DELETE FROM outbox WHERE digest = ?", d.Digest); err != nil {
		return fmt.Errorf("reviewdb: outbox %s: %w", d.Digest, err)
	}
	return nil
}

// Audit appends the record that follows the chain's head.
func (w *writeTx) Audit(at time.Time, e audit.Event) error {
	if err := w.audit.Append(w.ctx, w.tx, at, e); err != nil {
		return fmt.Errorf("reviewdb: audit %s: %w", e.Action, err)
	}
	return nil
}

func (w *writeTx) AppendRefusal(r *review.Refusal) error {
	if _, err := w.tx.ExecContext(w.ctx, "INSERT INTO refusals (decision, reason, recorded_at) VALUES (?, ?, ?)",
		r.Decision, r.Reason, formatTime(r.At)); err != nil {
		return fmt.Errorf("reviewdb: refusal of %s: %w", r.Decision, err)
	}
	return nil
}

func (w *writeTx) PutConflicts(l *review.ConflictList) error {
	body, err := json.Marshal(l)
	if err != nil {
		return fmt.Errorf("reviewdb: conflicts: %w", err)
	}
	_, err = w.tx.ExecContext(w.ctx, `INSERT INTO conflicts (id, body, fetched_at) VALUES (1, ?, ?)
		ON CONFLICT (id) DO UPDATE SET body = excluded.body, fetched_at = excluded.fetched_at`,
		string(body), formatTime(l.FetchedAt))
	if err != nil {
		return fmt.Errorf("reviewdb: conflicts: %w", err)
	}
	return nil
}
