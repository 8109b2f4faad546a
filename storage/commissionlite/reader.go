package commissionlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"tally/app/audit"
	"tally/app/commission"
	"tally/app/enrollment"
	"tally/storage/sqlitefile"
)

// readTx is a commission.Reader over one transaction: View's read-only one
// or Update's write one. The interface has no context, so the
// transaction's is kept here.
type readTx struct {
	ctx context.Context
	c   *conn
}

var _ commission.Reader = (*readTx)(nil)

func (r *readTx) queryRow(q query, args ...any) *sql.Row {
	return r.c.stmts[q].QueryRowContext(r.ctx, args...)
}

func (r *readTx) query(q query, args ...any) (*sql.Rows, error) {
	return r.c.stmts[q].QueryContext(r.ctx, args...)
}

func (r *readTx) exec(q query, args ...any) (sql.Result, error) {
	return r.c.exec(r.ctx, q, args...)
}

// notFound is ErrNotFound for sql.ErrNoRows, else err as it is.
func notFound(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return commission.ErrNotFound
	}
	return err
}

func (r *readTx) Election() ([]byte, string, error) {
	var (
		signed []byte
		keyID  string
	)
	err := r.queryRow(qElection).Scan(&signed, &keyID)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, "", commission.ErrNoElection
	}
	if err != nil {
		return nil, "", fmt.Errorf("commissionlite: election: %w", err)
	}
	return signed, keyID, nil
}

func (r *readTx) Key(id string) (*commission.Key, error) {
	k, err := scanKey(r.queryRow(qKey, id))
	if err != nil {
		return nil, fmt.Errorf("commissionlite: key %s: %w", id, notFound(err))
	}
	return k, nil
}

func (r *readTx) Keys() ([]commission.Key, error) {
	keys, err := list(r, scanKey, qKeys)
	if err != nil {
		return nil, fmt.Errorf("commissionlite: keys: %w", err)
	}
	return keys, nil
}

// RevokedKeys lists the ids of the revoked keys.
func (r *readTx) RevokedKeys() ([]string, error) {
	ids, err := list(r, func(row scanner) (*string, error) {
		var id string
		return &id, row.Scan(&id)
	}, qRevokedKeys)
	if err != nil {
		return nil, fmt.Errorf("commissionlite: revoked keys: %w", err)
	}
	return ids, nil
}

func scanKey(row scanner) (*commission.Key, error) {
	var (
		k                  commission.Key
		enrolledAt         string
		revokedAt, revoked sql.NullString
	)
	if err := row.Scan(&k.ID, &k.Public, &k.Role, &k.Unit, &enrolledAt, &revokedAt, &revoked); err != nil {
		return nil, err
	}
	k.RevokedReason = revoked.String
	var err error
	if k.EnrolledAt, err = parseTime(enrolledAt); err != nil {
		return nil, err
	}
	k.RevokedAt, err = parseNullTime(revokedAt)
	return &k, err
}

func (r *readTx) Code(hash string) (*commission.Code, error) {
	c, err := scanCode(r.queryRow(qCode, hash))
	if err != nil {
		return nil, fmt.Errorf("commissionlite: code %s: %w", hash, notFound(err))
	}
	return c, nil
}

func (r *readTx) Codes(role enrollment.Role, unit string) ([]commission.Code, error) {
	codes, err := list(r, scanCode, qCodes, role, unit)
	if err != nil {
		return nil, fmt.Errorf("commissionlite: codes of %s %s: %w", role, unit, err)
	}
	return codes, nil
}

func scanCode(row scanner) (*commission.Code, error) {
	var (
		c                         commission.Code
		issuedAt                  string
		usedAt, usedBy, retiredAt sql.NullString
	)
	if err := row.Scan(&c.Hash, &c.Role, &c.Unit, &issuedAt, &usedAt, &usedBy, &retiredAt); err != nil {
		return nil, err
	}
	c.UsedBy = usedBy.String
	var err error
	if c.IssuedAt, err = parseTime(issuedAt); err != nil {
		return nil, err
	}
	if c.UsedAt, err = parseNullTime(usedAt); err != nil {
		return nil, err
	}
	c.RetiredAt, err = parseNullTime(retiredAt)
	return &c, err
}

func (r *readTx) Submission(digest string) (*commission.Submission, error) {
	s, err := scanSubmission(r.queryRow(qSubmission, digest))
	if err != nil {
		return nil, fmt.Errorf("commissionlite: submission %s: %w", digest, notFound(err))
	}
	return s, nil
}

func (r *readTx) SubmissionAt(f commission.FormRef, version int) (*commission.Submission, error) {
	s, err := scanSubmission(r.queryRow(qSubmissionAt, f.Station, f.Contest, f.Form, version))
	if err != nil {
		return nil, fmt.Errorf("commissionlite: version %d of %s: %w", version, formName(f), notFound(err))
	}
	return s, nil
}

// DigestsAt reads each version's digest alone, through the unique index
// on the form and version: no envelope is read.
func (r *readTx) DigestsAt(versions []commission.VersionRef) (map[commission.VersionRef]string, error) {
	out := make(map[commission.VersionRef]string, len(versions))
	stmt := r.c.stmts[qDigestAt]
	for _, v := range versions {
		var digest string
		err := stmt.QueryRowContext(r.ctx, v.Station, v.Contest, string(v.Form), v.Version).Scan(&digest)
		switch {
		case err == nil:
			out[v] = digest
		case !errors.Is(err, sql.ErrNoRows):
			return nil, fmt.Errorf("commissionlite: version %d of %s: %w", v.Version, formName(v.FormRef), err)
		}
	}
	return out, nil
}

func (r *readTx) Head(f commission.FormRef) (*commission.Submission, error) {
	s, err := scanSubmission(r.queryRow(qHead, f.Station, f.Contest, f.Form))
	if err != nil {
		return nil, fmt.Errorf("commissionlite: head of %s: %w", formName(f), notFound(err))
	}
	return s, nil
}

func formName(f commission.FormRef) string { return f.Station + "/" + f.Contest + "/" + string(f.Form) }

// Submissions lists by station, contest, form, then version.
func (r *readTx) Submissions(municipality, station string) ([]commission.Submission, error) {
	q, args := byPlace(qSubmissionsAll, qSubmissionsOfMunicipality, qSubmissionsOfStation, municipality, station)
	subs, err := list(r, scanSubmission, q, args...)
	if err != nil {
		return nil, fmt.Errorf("commissionlite: submissions of %q %q: %w", municipality, station, err)
	}
	return subs, nil
}

// Heads lists the latest stored version of every form, by station,
// contest and form, without its envelope.
func (r *readTx) Heads() ([]commission.Submission, error) {
	subs, err := list(r, scanSubmission, qHeads)
	if err != nil {
		return nil, fmt.Errorf("commissionlite: the heads of the forms: %w", err)
	}
	return subs, nil
}

// byPlace chooses the query for a municipality's rows, one station's, or
// (both "") every row.
func byPlace(all, ofMunicipality, ofStation query, municipality, station string) (query, []any) {
	switch {
	case station != "":
		return ofStation, []any{station, municipality}
	case municipality != "":
		return ofMunicipality, []any{municipality}
	}
	return all, nil
}

func scanSubmission(row scanner) (*commission.Submission, error) {
	var (
		s                    commission.Submission
		number               int64
		supersedes, photo    sql.NullString
		sealedAt, receivedAt string
	)
	if err := row.Scan(&number, &s.Digest, &s.Station, &s.Contest, &s.Form, &s.Municipality, &s.Version,
		&supersedes, &s.KeyID, &photo, &s.Envelope, &sealedAt, &receivedAt); err != nil {
		return nil, err
	}
	s.Number = uint64(number)
	s.Supersedes, s.PhotoSHA256 = supersedes.String, photo.String
	var err error
	if s.SealedAt, err = parseTime(sealedAt); err != nil {
		return nil, err
	}
	s.ReceivedAt, err = parseTime(receivedAt)
	return &s, err
}

// Conflicts lists in the order recorded.
func (r *readTx) Conflicts(municipality, station string) ([]commission.Conflict, error) {
	q, args := byPlace(qConflictsAll, qConflictsOfMunicipality, qConflictsOfStation, municipality, station)
	conflicts, err := list(r, scanConflict, q, args...)
	if err != nil {
		return nil, fmt.Errorf("commissionlite: conflicts of %q %q: %w", municipality, station, err)
	}
	return conflicts, nil
}

func scanConflict(row scanner) (*commission.Conflict, error) {
	var (
		c          commission.Conflict
		id         int64
		supersedes sql.NullString
		at         string
	)
	if err := row.Scan(&id, &c.Digest, &c.Station, &c.Contest, &c.Form, &c.Municipality, &c.Version,
		&supersedes, &c.KeyID, &c.Reason, &c.Envelope, &at); err != nil {
		return nil, err
	}
	c.ID = uint64(id)
	c.Supersedes = supersedes.String
	var err error
	c.At, err = parseTime(at)
	return &c, err
}

// Decisions lists in the order received.
func (r *readTx) Decisions(municipality, station string) ([]commission.Decision, error) {
	q, args := byPlace(qDecisionsAll, qDecisionsOfMunicipality, qDecisionsOfStation, municipality, station)
	decisions, err := list(r, scanDecision, q, args...)
	if err != nil {
		return nil, fmt.Errorf("commissionlite: decisions of %q %q: %w", municipality, station, err)
	}
	return decisions, nil
}

func (r *readTx) Decision(digest string) (*commission.Decision, error) {
	d, err := scanDecision(r.queryRow(qDecision, digest))
	if err != nil {
		return nil, fmt.Errorf("commissionlite: decision %s: %w", digest, notFound(err))
	}
	return d, nil
}

func scanDecision(row scanner) (*commission.Decision, error) {
	var (
		d                     commission.Decision
		decidedAt, receivedAt string
	)
	if err := row.Scan(&d.Digest, &d.Submission, &d.Station, &d.Contest, &d.Form, &d.Municipality, &d.Verdict,
		&d.Reason, &d.KeyID, &decidedAt, &receivedAt, &d.Envelope); err != nil {
		return nil, err
	}
	var err error
	if d.DecidedAt, err = parseTime(decidedAt); err != nil {
		return nil, err
	}
	d.ReceivedAt, err = parseTime(receivedAt)
	return &d, err
}

func (r *readTx) Attachment(sha256 string) (*commission.Attachment, []byte, error) {
	var (
		a          commission.Attachment
		receivedAt string
		data       []byte
	)
	err := r.queryRow(qAttachment, sha256).Scan(&a.SHA256, &a.Size, &a.Station, &receivedAt, &data)
	if err == nil {
		a.ReceivedAt, err = parseTime(receivedAt)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("commissionlite: attachment %s: %w", sha256, notFound(err))
	}
	return &a, data, nil
}

func (r *readTx) Upload(sha256 string) (*commission.Upload, error) {
	u := commission.Upload{SHA256: sha256}
	if err := r.queryRow(qUpload, sha256).Scan(&u.Size, &u.Station, &u.Received); err != nil {
		return nil, fmt.Errorf("commissionlite: upload %s: %w", sha256, notFound(err))
	}
	return &u, nil
}

// Snapshot reads a stored snapshot; a number past what the database can
// hold is not stored either.
func (r *readTx) Snapshot(number uint64) ([]byte, error) {
	n, err := sqlUint("snapshot number", number)
	if err != nil {
		return nil, fmt.Errorf("commissionlite: snapshot %d: %w", number, commission.ErrNotFound)
	}
	var sealed []byte
	if err := r.queryRow(qSnapshot, n).Scan(&sealed); err != nil {
		return nil, fmt.Errorf("commissionlite: snapshot %d: %w", number, notFound(err))
	}
	return sealed, nil
}

func (r *readTx) LastSnapshot() (uint64, []byte, error) {
	var (
		number int64
		sealed []byte
	)
	err := r.queryRow(qLastSnapshot).Scan(&number, &sealed)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil, nil
	}
	if err != nil {
		return 0, nil, fmt.Errorf("commissionlite: last snapshot: %w", err)
	}
	return uint64(number), sealed, nil
}

// AuditRecords calls fn on every audit record in order, one row at a time,
// so that verifying a long chain holds one record. fn's error ends it and
// is returned as it is.
func (r *readTx) AuditRecords(fn func(audit.Record) error) error {
	rows, err := r.query(qAuditRecords)
	if err != nil {
		return fmt.Errorf("commissionlite: audit: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		rec, err := sqlitefile.ScanAudit(rows)
		if err != nil {
			return fmt.Errorf("commissionlite: audit: %w", err)
		}
		if err := fn(*rec); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("commissionlite: audit: %w", err)
	}
	return nil
}

// lastAudit is the chain's head, nil when the chain is empty.
func (r *readTx) lastAudit() (*audit.Record, error) {
	rec, err := sqlitefile.ScanAudit(r.queryRow(qLastAudit))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	return rec, err
}

func (r *readTx) Counts() (commission.Counts, error) {
	var c commission.Counts
	if err := r.queryRow(qCounts).Scan(&c.Keys, &c.Revoked, &c.Submissions, &c.Conflicts, &c.Decisions,
		&c.Attachments); err != nil {
		return commission.Counts{}, fmt.Errorf("commissionlite: counts: %w", err)
	}
	return c, nil
}

// list runs q and scans every row.
func list[T any](r *readTx, scan func(scanner) (*T, error), q query, args ...any) ([]T, error) {
	rows, err := r.query(q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *v)
	}
	return out, rows.Err()
}
