package commissionpg

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/jackc/pgx/v5"

	"tally/app/audit"
	"tally/app/commission"
	"tally/app/enrollment"
)

// readTx is a commission.Reader over one transaction: View's read-only one
// or Update's write one. The interface has no context, so the
// transaction's is kept here.
type readTx struct {
	ctx  context.Context
	conn *pgx.Conn
}

var _ commission.Reader = (*readTx)(nil)

// notFound wraps commission.ErrNotFound with what was not found.
func notFound(format string, args ...any) error {
	return fmt.Errorf("commissionpg: "+format+": %w", append(args, commission.ErrNotFound)...)
}

func failed(err error, format string, args ...any) error {
	return fmt.Errorf("commissionpg: "+format+": %w", append(args, err)...)
}

// utc is t in UTC: pgx reads a timestamptz in the local zone.
func utc(t time.Time) time.Time { return t.UTC() }

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

func (r *readTx) Election() ([]byte, string, error) {
	var (
		signed []byte
		keyID  string
	)
	err := r.conn.QueryRow(r.ctx, "SELECT signed, key_id FROM election WHERE id = 1").Scan(&signed, &keyID)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, "", commission.ErrNoElection
	}
	if err != nil {
		return nil, "", failed(err, "election")
	}
	return signed, keyID, nil
}

const keyColumns = "id, public_key, role, unit, enrolled_at, revoked_at, coalesce(revoked_reason, '')"

func scanKey(row pgx.Row) (*commission.Key, error) {
	var k commission.Key
	if err := row.Scan(&k.ID, &k.Public, &k.Role, &k.Unit, &k.EnrolledAt, &k.RevokedAt, &k.RevokedReason); err != nil {
		return nil, err
	}
	k.EnrolledAt, k.RevokedAt = utc(k.EnrolledAt), utcPtr(k.RevokedAt)
	return &k, nil
}

func (r *readTx) Key(id string) (*commission.Key, error) {
	k, err := scanKey(r.conn.QueryRow(r.ctx, "SELECT "+keyColumns+" FROM keys WHERE id = $1", id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, notFound("key %s", id)
	}
	if err != nil {
		return nil, failed(err, "key %s", id)
	}
	return k, nil
}

// Keys lists every key in the order enrolled.
func (r *readTx) Keys() ([]commission.Key, error) {
	keys, err := collect(r, scanKey, "SELECT "+keyColumns+" FROM keys ORDER BY ord")
	if err != nil {
		return nil, failed(err, "keys")
	}
	return keys, nil
}

// RevokedKeys lists the ids of the revoked keys.
func (r *readTx) RevokedKeys() ([]string, error) {
	rows, err := r.conn.Query(r.ctx, "SELECT id FROM keys WHERE revoked_at IS NOT NULL ORDER BY ord")
	if err != nil {
		return nil, failed(err, "revoked keys")
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, failed(err, "revoked keys")
	}
	return ids, nil
}

const codeColumns = "hash, role, unit, issued_at, used_at, coalesce(used_by, ''), retired_at"

func scanCode(row pgx.Row) (*commission.Code, error) {
	var c commission.Code
	if err := row.Scan(&c.Hash, &c.Role, &c.Unit, &c.IssuedAt, &c.UsedAt, &c.UsedBy, &c.RetiredAt); err != nil {
		return nil, err
	}
	c.IssuedAt, c.UsedAt, c.RetiredAt = utc(c.IssuedAt), utcPtr(c.UsedAt), utcPtr(c.RetiredAt)
	return &c, nil
}

func (r *readTx) Code(hash string) (*commission.Code, error) {
	c, err := scanCode(r.conn.QueryRow(r.ctx, "SELECT "+codeColumns+" FROM codes WHERE hash = $1", hash))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, notFound("code %s", hash)
	}
	if err != nil {
		return nil, failed(err, "code %s", hash)
	}
	return c, nil
}

// Codes lists the codes of a role and unit, the latest issued first.
func (r *readTx) Codes(role enrollment.Role, unit string) ([]commission.Code, error) {
	codes, err := collect(r, scanCode, "SELECT "+codeColumns+` FROM codes
		WHERE role = $1 AND unit = $2 ORDER BY issued_at DESC, id DESC`, role, unit)
	if err != nil {
		return nil, failed(err, "codes of %s %s", role, unit)
	}
	return codes, nil
}

const submissionColumns = `number, digest, station, contest, form, municipality, version,
	coalesce(supersedes, ''), key_id, coalesce(photo_sha256, ''), envelope, sealed_at, received_at`

// headColumns are submissionColumns without the envelope (NULL).
const headColumns = `number, digest, station, contest, form, municipality, version,
	coalesce(supersedes, ''), key_id, coalesce(photo_sha256, ''), NULL::bytea, sealed_at, received_at`

func scanSubmission(row pgx.Row) (*commission.Submission, error) { return scanSubmissionWith(row) }

// scanSubmissionWith scans the columns before submissionColumns into lead.
func scanSubmissionWith(row pgx.Row, lead ...any) (*commission.Submission, error) {
	var s commission.Submission
	if err := row.Scan(append(lead, &s.Number, &s.Digest, &s.Station, &s.Contest, &s.Form, &s.Municipality, &s.Version,
		&s.Supersedes, &s.KeyID, &s.PhotoSHA256, &s.Envelope, &s.SealedAt, &s.ReceivedAt)...); err != nil {
		return nil, err
	}
	s.SealedAt, s.ReceivedAt = utc(s.SealedAt), utc(s.ReceivedAt)
	return &s, nil
}

func (r *readTx) Submission(digest string) (*commission.Submission, error) {
	s, err := scanSubmission(r.conn.QueryRow(r.ctx, "SELECT "+submissionColumns+" FROM submissions WHERE digest = $1", digest))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, notFound("submission %s", digest)
	}
	if err != nil {
		return nil, failed(err, "submission %s", digest)
	}
	return s, nil
}

func (r *readTx) SubmissionAt(f commission.FormRef, version int) (*commission.Submission, error) {
	s, err := scanSubmission(r.conn.QueryRow(r.ctx, "SELECT "+submissionColumns+` FROM submissions
		WHERE station = $1 AND contest = $2 AND form = $3 AND version = $4`, f.Station, f.Contest, f.Form, version))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, notFound("version %d of %s", version, formName(f))
	}
	if err != nil {
		return nil, failed(err, "version %d of %s", version, formName(f))
	}
	return s, nil
}

// DigestsAt reads the digests of every version asked for in one round
// trip.
func (r *readTx) DigestsAt(versions []commission.VersionRef) (map[commission.VersionRef]string, error) {
	out := make(map[commission.VersionRef]string, len(versions))
	if len(versions) == 0 {
		return out, nil
	}
	var (
		station, contest, form = make([]string, len(versions)), make([]string, len(versions)), make([]string, len(versions))
		version                = make([]int, len(versions))
	)
	for i, v := range versions {
		station[i], contest[i], form[i], version[i] = v.Station, v.Contest, string(v.Form), v.Version
	}
	rows, err := r.conn.Query(r.ctx, `SELECT s.station, s.contest, s.form, s.version, s.digest
		FROM unnest($1::text[], $2::text[], $3::text[], $4::integer[]) AS u (st, c, f, v)
		JOIN submissions s ON s.station = u.st AND s.contest = u.c AND s.form = u.f AND s.version = u.v`,
		station, contest, form, version)
	if err != nil {
		return nil, failed(err, "digests of %d versions", len(versions))
	}
	defer rows.Close()
	for rows.Next() {
		var (
			v      commission.VersionRef
			digest string
		)
		if err := rows.Scan(&v.Station, &v.Contest, &v.Form, &v.Version, &digest); err != nil {
			return nil, failed(err, "digests of %d versions", len(versions))
		}
		out[v] = digest
	}
	if err := rows.Err(); err != nil {
		return nil, failed(err, "digests of %d versions", len(versions))
	}
	return out, nil
}

func (r *readTx) Head(f commission.FormRef) (*commission.Submission, error) {
	s, err := scanSubmission(r.conn.QueryRow(r.ctx, "SELECT "+submissionColumns+` FROM submissions
		WHERE station = $1 AND contest = $2 AND form = $3 ORDER BY version DESC LIMIT 1`, f.Station, f.Contest, f.Form))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, notFound("head of %s", formName(f))
	}
	if err != nil {
		return nil, failed(err, "head of %s", formName(f))
	}
	return s, nil
}

func formName(f commission.FormRef) string { return f.Station + "/" + f.Contest + "/" + string(f.Form) }

// unitFilter is the WHERE clause for a municipality's rows, or one
// station's when station is not "".
func unitFilter(municipality, station string) (string, []any) {
	if station == "" {
		return "municipality = $1", []any{municipality}
	}
	return "municipality = $1 AND station = $2", []any{municipality, station}
}

// Submissions lists the versions of the forms of a municipality's
// stations, or of one station, by station, contest, form, then version.
func (r *readTx) Submissions(municipality, station string) ([]commission.Submission, error) {
	where, args := unitFilter(municipality, station)
	subs, err := collect(r, scanSubmission, "SELECT "+submissionColumns+" FROM submissions WHERE "+where+
		" ORDER BY station, contest, form, version", args...)
	if err != nil {
		return nil, failed(err, "submissions of %s %s", municipality, station)
	}
	return subs, nil
}

// Heads lists the latest stored version of every form, by station,
// contest and form, without its envelope.
func (r *readTx) Heads() ([]commission.Submission, error) {
	subs, err := collect(r, scanSubmission, "SELECT DISTINCT ON (station, contest, form) "+headColumns+
		" FROM submissions ORDER BY station, contest, form, version DESC")
	if err != nil {
		return nil, failed(err, "the heads of the forms")
	}
	return subs, nil
}

const conflictColumns = `id, digest, station, contest, form, municipality, version, coalesce(supersedes, ''),
	key_id, reason, envelope, at`

func scanConflict(row pgx.Row) (*commission.Conflict, error) {
	var c commission.Conflict
	if err := row.Scan(&c.ID, &c.Digest, &c.Station, &c.Contest, &c.Form, &c.Municipality, &c.Version,
		&c.Supersedes, &c.KeyID, &c.Reason, &c.Envelope, &c.At); err != nil {
		return nil, err
	}
	c.At = utc(c.At)
	return &c, nil
}

// Conflicts lists the conflicts of a municipality's stations, or of one
// station, in the order stored.
func (r *readTx) Conflicts(municipality, station string) ([]commission.Conflict, error) {
	where, args := unitFilter(municipality, station)
	out, err := collect(r, scanConflict, "SELECT "+conflictColumns+" FROM conflicts WHERE "+where+" ORDER BY id", args...)
	if err != nil {
		return nil, failed(err, "conflicts of %s %s", municipality, station)
	}
	return out, nil
}

const decisionColumns = `digest, submission, station, contest, form, municipality, verdict, coalesce(reason, ''),
	key_id, decided_at, received_at, envelope`

func scanDecision(row pgx.Row) (*commission.Decision, error) {
	var d commission.Decision
	if err := row.Scan(&d.Digest, &d.Submission, &d.Station, &d.Contest, &d.Form, &d.Municipality, &d.Verdict,
		&d.Reason, &d.KeyID, &d.DecidedAt, &d.ReceivedAt, &d.Envelope); err != nil {
		return nil, err
	}
	d.DecidedAt, d.ReceivedAt = utc(d.DecidedAt), utc(d.ReceivedAt)
	return &d, nil
}

// Decisions lists the decisions on a municipality's stations, or on one
// station's, in the order stored.
func (r *readTx) Decisions(municipality, station string) ([]commission.Decision, error) {
	where, args := unitFilter(municipality, station)
	out, err := collect(r, scanDecision, "SELECT "+decisionColumns+" FROM decisions WHERE "+where+" ORDER BY ord", args...)
	if err != nil {
		return nil, failed(err, "decisions of %s %s", municipality, station)
	}
	return out, nil
}

func (r *readTx) Decision(digest string) (*commission.Decision, error) {
	d, err := scanDecision(r.conn.QueryRow(r.ctx, "SELECT "+decisionColumns+" FROM decisions WHERE digest = $1", digest))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, notFound("decision %s", digest)
	}
	if err != nil {
		return nil, failed(err, "decision %s", digest)
	}
	return d, nil
}

func (r *readTx) Attachment(sha256 string) (*commission.Attachment, []byte, error) {
	a := commission.Attachment{SHA256: sha256}
	var data []byte
	err := r.conn.QueryRow(r.ctx, "SELECT size, station, received_at, data FROM attachments WHERE sha256 = $1",
		sha256).Scan(&a.Size, &a.Station, &a.ReceivedAt, &data)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil, notFound("attachment %s", sha256)
	}
	if err != nil {
		return nil, nil, failed(err, "attachment %s", sha256)
	}
	a.ReceivedAt = utc(a.ReceivedAt)
	return &a, data, nil
}

// Upload is an upload's state: its size and station as its first part
// gave them, and the bytes received so far.
func (r *readTx) Upload(sha256 string) (*commission.Upload, error) {
	u := commission.Upload{SHA256: sha256}
	err := r.conn.QueryRow(r.ctx, `SELECT (array_agg(size ORDER BY part))[1], (array_agg(station ORDER BY part))[1],
			sum(octet_length(data))
		FROM upload_parts WHERE sha256 = $1 HAVING count(*) > 0`, sha256).Scan(&u.Size, &u.Station, &u.Received)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, notFound("upload %s", sha256)
	}
	if err != nil {
		return nil, failed(err, "upload %s", sha256)
	}
	return &u, nil
}

// Snapshot reads a stored snapshot; a number past what the database can
// hold is not stored either.
func (r *readTx) Snapshot(number uint64) ([]byte, error) {
	if number > math.MaxInt64 {
		return nil, notFound("snapshot %d", number)
	}
	var sealed []byte
	err := r.conn.QueryRow(r.ctx, "SELECT sealed FROM snapshots WHERE number = $1", int64(number)).Scan(&sealed)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, notFound("snapshot %d", number)
	}
	if err != nil {
		return nil, failed(err, "snapshot %d", number)
	}
	return sealed, nil
}

func (r *readTx) LastSnapshot() (uint64, []byte, error) {
	var (
		number int64
		sealed []byte
	)
	err := r.conn.QueryRow(r.ctx, "SELECT number, sealed FROM snapshots ORDER BY number DESC LIMIT 1").Scan(&number,
		&sealed)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil, nil
	}
	if err != nil {
		return 0, nil, failed(err, "last snapshot")
	}
	return uint64(number), sealed, nil
}

// auditPage is how many audit records AuditRecords reads at a time: it
// holds no more, and fn may use the transaction between pages.
const auditPage = 1000

// AuditRecords calls fn on every audit record in order. fn's error ends it
// and is returned as it is.
func (r *readTx) AuditRecords(fn func(audit.Record) error) error {
	var after uint64
	for {
		page, err := collect(r, scanAudit, "SELECT "+auditColumns+" FROM audit WHERE seq > $1 ORDER BY seq LIMIT $2",
			after, auditPage)
		if err != nil {
			return failed(err, "audit")
		}
		for _, rec := range page {
			if err := fn(rec); err != nil {
				return err
			}
		}
		if len(page) < auditPage {
			return nil
		}
		after = page[len(page)-1].Seq
	}
}

const auditColumns = "seq, at, action, subject, actor, details, prev, hash"

func scanAudit(row pgx.Row) (*audit.Record, error) {
	var (
		rec     audit.Record
		details string
	)
	if err := row.Scan(&rec.Seq, &rec.At, &rec.Action, &rec.Subject, &rec.Actor, &details, &rec.Prev, &rec.Hash); err != nil {
		return nil, err
	}
	rec.At = utc(rec.At)
	rec.Details = json.RawMessage(details)
	return &rec, nil
}

func (r *readTx) Counts() (commission.Counts, error) {
	var c commission.Counts
	err := r.conn.QueryRow(r.ctx, `SELECT
		(SELECT count(*) FROM keys), (SELECT count(*) FROM keys WHERE revoked_at IS NOT NULL),
		(SELECT count(*) FROM submissions), (SELECT count(*) FROM conflicts),
		(SELECT count(*) FROM decisions), (SELECT count(*) FROM attachments)`).Scan(
		&c.Keys, &c.Revoked, &c.Submissions, &c.Conflicts, &c.Decisions, &c.Attachments)
	if err != nil {
		return commission.Counts{}, failed(err, "counts")
	}
	return c, nil
}

// collect reads every row of a query with scan.
func collect[T any](r *readTx, scan func(pgx.Row) (*T, error), query string, args ...any) ([]T, error) {
	rows, err := r.conn.Query(r.ctx, query, args...)
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
