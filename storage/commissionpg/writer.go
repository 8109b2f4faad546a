package commissionpg

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"tally/app/audit"
	"tally/app/commission"
)

// writeTx is a commission.Tx over Update's transaction, which holds
// write_lock from its BEGIN to its end. No other writer runs meanwhile, on
// any node, so what the transaction reads of the submissions and keys
// stays true until it ends: it keeps what it read, answers again from
// that, and sends a submission it knows to be new with the commit rather
// than in a round trip of its own.
type writeTx struct {
	readTx
	// lastNumber is the last receipt number given; head is the audit
	// chain's last record (nil for none). Both move only under the lock.
	lastNumber uint64
	head       *audit.Record
	// pendingAudit are the records appended since the last flush.
	pendingAudit []audit.Record
	subs         submissionCache
	// keys are the keys read, nil for one known not to be enrolled.
	keys map[string]*commission.Key
}

var _ commission.Tx = (*writeTx)(nil)

// beginWrite begins a write transaction and takes write_lock, in one round
// trip: BEGIN, the lock, and, in a statement of its own (a new snapshot,
// taken once the lock is held), the last receipt number and the audit
// chain's head. Writers from every node take turns from here to their
// commit: none waits on a row another holds, so writers never deadlock,
// receipt numbers follow the order of commits without a gap, and the audit
// chain stays one chain.
func beginWrite(ctx context.Context, conn *pgx.Conn) (*writeTx, error) {
	results, err := conn.PgConn().Exec(ctx, `BEGIN ISOLATION LEVEL READ COMMITTED READ WRITE;
		SELECT id FROM write_lock WHERE id = 1 FOR UPDATE;
		SELECT (SELECT coalesce(max(number), 0) FROM submissions), a.seq, a.hash
		FROM (SELECT 1) AS one
		LEFT JOIN LATERAL (SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1) AS a ON true`).ReadAll()
	if err != nil {
		return nil, err
	}
	if len(results) != 3 || len(results[1].Rows) != 1 || len(results[2].Rows) != 1 {
		return nil, errors.New("the write_lock row is missing")
	}
	w := &writeTx{readTx: readTx{ctx: ctx, conn: conn}, subs: newSubmissionCache(),
		keys: map[string]*commission.Key{}}
	row := results[2].Rows[0]
	if w.lastNumber, err = strconv.ParseUint(string(row[0]), 10, 64); err != nil {
		return nil, fmt.Errorf("last receipt number: %w", err)
	}
	if row[1] != nil {
		seq, err := strconv.ParseUint(string(row[1]), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("audit head: %w", err)
		}
		// audit.Next needs only the head's sequence number and hash.
		w.head = &audit.Record{Seq: seq, Hash: string(row[2])}
	}
	return w, nil
}

func (w *writeTx) PutElection(signed []byte, keyID string, at time.Time) error {
	tag, err := w.conn.Exec(w.ctx, `INSERT INTO election (id, signed, key_id, imported_at) VALUES (1, $1, $2, $3)
		ON CONFLICT DO NOTHING`, nonNil(signed), keyID, at)
	if err != nil {
		return failed(err, "election")
	}
	if tag.RowsAffected() == 0 {
		return commission.Errorf(commission.EConflict, "an election is already imported; a server holds one")
	}
	return nil
}

// PutCode stores a code and retires the unused codes of its role and
// unit, in one statement.
func (w *writeTx) PutCode(c *commission.Code) error {
	var inserted int
	err := w.conn.QueryRow(w.ctx, `WITH new AS (
			INSERT INTO codes (hash, role, unit, issued_at) VALUES ($1, $2, $3, $4)
			ON CONFLICT DO NOTHING RETURNING hash
		), retired AS (
			UPDATE codes SET retired_at = $4
			WHERE role = $2 AND unit = $3 AND used_at IS NULL AND retired_at IS NULL
				AND EXISTS (SELECT 1 FROM new)
		)
		SELECT count(*) FROM new`, c.Hash, c.Role, c.Unit, c.IssuedAt).Scan(&inserted)
	if err != nil {
		return failed(err, "code for %s %s", c.Role, c.Unit)
	}
	if inserted == 0 {
		return commission.Errorf(commission.EConflict, "the code %s is already stored", c.Hash)
	}
	return nil
}

// UseCode marks a code used, only if it is neither used nor retired: the
// condition is the UPDATE's, so that it holds against every node.
func (w *writeTx) UseCode(hash, keyID string, at time.Time) error {
	tag, err := w.conn.Exec(w.ctx, `UPDATE codes SET used_at = $2, used_by = $3
		WHERE hash = $1 AND used_at IS NULL AND retired_at IS NULL`, hash, at, keyID)
	if err != nil {
		return failed(err, "use code %s", hash)
	}
	if tag.RowsAffected() == 1 {
		return nil
	}
	if _, err := w.Code(hash); err != nil {
		return err
	}
	return commission.Errorf(commission.EConflict, "the enrollment code was used or replaced meanwhile")
}

func (w *writeTx) PutKey(k *commission.Key) error {
	tag, err := w.conn.Exec(w.ctx, `INSERT INTO keys (id, public_key, role, unit, enrolled_at, revoked_at, revoked_reason)
		VALUES ($1, $2, $3, $4, $5, $6, CASE WHEN $6::timestamptz IS NULL THEN NULL ELSE $7::text END)
		ON CONFLICT DO NOTHING`, k.ID, k.Public, k.Role, k.Unit, k.EnrolledAt, k.RevokedAt, k.RevokedReason)
	if err != nil {
		return failed(err, "key %s", k.ID)
	}
	if tag.RowsAffected() == 0 {
		return commission.Errorf(commission.EConflict, "key %s is already enrolled", k.ID)
	}
	delete(w.keys, k.ID)
	return nil
}

// RevokeKey revokes a key once; revoking it again changes nothing, not
// even the reason.
func (w *writeTx) RevokeKey(id string, at time.Time, reason string) error {
	tag, err := w.conn.Exec(w.ctx, `UPDATE keys SET revoked_at = $2, revoked_reason = $3
		WHERE id = $1 AND revoked_at IS NULL`, id, at, reason)
	if err != nil {
		return failed(err, "revoke key %s", id)
	}
	if tag.RowsAffected() == 0 {
		_, err := w.Key(id) // not found, or revoked already
		return err
	}
	delete(w.keys, id)
	return nil
}

// InsertSubmission stores a submission under the next receipt number.
// One the transaction knows to be new (it read that neither its digest nor
// its version is stored) goes with the commit; otherwise the database
// decides: its unique digest and unique version of a form make the insert
// do nothing, and InsertSubmission return false.
func (w *writeTx) InsertSubmission(s *commission.Submission) (bool, error) {
	byDigest, digestKnown := w.subs.byDigest[s.Digest]
	atVersion, versionKnown := w.subs.byVersion[versionOf(s)]
	if byDigest != nil || atVersion != nil {
		return false, nil
	}
	if digestKnown && versionKnown {
		s.Number = w.lastNumber + 1
		w.lastNumber = s.Number
		stored := *s
		w.subs.add(&stored)
		if len(w.subs.pending) >= maxPending {
			return true, w.flush()
		}
		return true, nil
	}
	if err := w.flush(); err != nil {
		return false, err
	}
	number := w.lastNumber + 1
	err := w.conn.QueryRow(w.ctx, `INSERT INTO submissions (`+submissionInsertColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, NULLIF($8, ''), $9, NULLIF($10, ''), $11, $12, $13)
		ON CONFLICT DO NOTHING RETURNING number`,
		number, s.Digest, s.Station, s.Contest, s.Form, s.Municipality, s.Version, s.Supersedes, s.KeyID,
		s.PhotoSHA256, nonNil(s.Envelope), s.SealedAt, s.ReceivedAt).Scan(&number)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, failed(err, "submission %s", s.Digest)
	}
	w.lastNumber = number
	s.Number = number
	stored := *s
	w.subs.remember(&stored)
	w.subs.raiseHead(&stored)
	return true, nil
}

const submissionInsertColumns = `number, digest, station, contest, form, municipality, version, supersedes,
	key_id, photo_sha256, envelope, sealed_at, received_at`

// maxPending bounds the submissions a transaction holds back for its
// commit; more are sent at once.
const maxPending = 1024

// Key is the key, read once per transaction: no other writer can revoke
// it before this one ends.
func (w *writeTx) Key(id string) (*commission.Key, error) {
	if k, ok := w.keys[id]; ok {
		if k == nil {
			return nil, notFound("key %s", id)
		}
		c := *k
		return &c, nil
	}
	k, err := w.readTx.Key(id)
	switch {
	case err == nil:
		c := *k
		w.keys[id] = &c
	case errors.Is(err, commission.ErrNotFound):
		w.keys[id] = nil
	}
	return k, err
}

func (w *writeTx) Submission(digest string) (*commission.Submission, error) {
	if s, ok := w.subs.byDigest[digest]; ok {
		if s == nil {
			return nil, notFound("submission %s", digest)
		}
		c := *s
		return &c, nil
	}
	// Not held back either: every submission held back is known.
	s, err := w.readTx.Submission(digest)
	switch {
	case err == nil:
		c := *s
		w.subs.remember(&c)
	case errors.Is(err, commission.ErrNotFound):
		w.subs.byDigest[digest] = nil
	}
	return s, err
}

// SubmissionAt reads the form's head with the version asked for, in the
// same round trip: the caller asks for it next.
func (w *writeTx) SubmissionAt(f commission.FormRef, version int) (*commission.Submission, error) {
	key := versionRef{f, version}
	if s, ok := w.subs.byVersion[key]; ok {
		if s == nil {
			return nil, notFound("version %d of %s", version, formName(f))
		}
		c := *s
		return &c, nil
	}
	rows, err := w.conn.Query(w.ctx, `SELECT true, `+submissionColumns+` FROM submissions
			WHERE station = $1 AND contest = $2 AND form = $3 AND version = $4
		UNION ALL
		(SELECT false, `+submissionColumns+` FROM submissions
			WHERE station = $1 AND contest = $2 AND form = $3 ORDER BY version DESC LIMIT 1)`,
		f.Station, f.Contest, f.Form, version)
	if err != nil {
		return nil, failed(err, "version %d of %s", version, formName(f))
	}
	var at, head *commission.Submission
	for rows.Next() {
		var isAt bool
		s, err := scanSubmissionWith(rows, &isAt)
		if err != nil {
			rows.Close()
			return nil, failed(err, "version %d of %s", version, formName(f))
		}
		w.subs.remember(s)
		if isAt {
			at = s
		} else {
			head = s
		}
	}
	if err := rows.Err(); err != nil {
		return nil, failed(err, "version %d of %s", version, formName(f))
	}
	w.subs.learnHead(f, head)
	if at == nil {
		w.subs.byVersion[key] = nil
		return nil, notFound("version %d of %s", version, formName(f))
	}
	c := *at
	return &c, nil
}

// DigestsAt answers from what the transaction knows, held back or read,
// and asks the database for the rest in one round trip.
func (w *writeTx) DigestsAt(versions []commission.VersionRef) (map[commission.VersionRef]string, error) {
	out := make(map[commission.VersionRef]string, len(versions))
	var ask []commission.VersionRef
	for _, v := range versions {
		if s, ok := w.subs.byVersion[versionRef{v.FormRef, v.Version}]; ok {
			if s != nil {
				out[v] = s.Digest
			}
			continue
		}
		ask = append(ask, v)
	}
	if len(ask) == 0 {
		return out, nil
	}
	read, err := w.readTx.DigestsAt(ask)
	if err != nil {
		return nil, err
	}
	for v, d := range read {
		out[v] = d
	}
	return out, nil
}

func (w *writeTx) Head(f commission.FormRef) (*commission.Submission, error) {
	if s, ok := w.subs.heads[f]; ok {
		if s == nil {
			return nil, notFound("head of %s", formName(f))
		}
		c := *s
		return &c, nil
	}
	s, err := w.readTx.Head(f)
	switch {
	case err == nil:
		w.subs.remember(s)
	case !errors.Is(err, commission.ErrNotFound):
		return nil, err
	}
	s = w.subs.learnHead(f, s)
	if s == nil {
		return nil, notFound("head of %s", formName(f))
	}
	c := *s
	return &c, nil
}

// Submissions reads the table, with what is held back sent first.
func (w *writeTx) Submissions(municipality, station string) ([]commission.Submission, error) {
	if err := w.flush(); err != nil {
		return nil, err
	}
	return w.readTx.Submissions(municipality, station)
}

func (w *writeTx) Counts() (commission.Counts, error) {
	if err := w.flush(); err != nil {
		return commission.Counts{}, err
	}
	return w.readTx.Counts()
}

// PutConflict stores a conflict once per envelope. One statement inserts
// it unless its digest is stored, and reads the stored one's id if so; a
// repeat takes no number from the id sequence.
func (w *writeTx) PutConflict(c *commission.Conflict) (bool, error) {
	var (
		id    uint64
		fresh bool
	)
	err := w.conn.QueryRow(w.ctx, `WITH new AS (
			INSERT INTO conflicts (digest, station, contest, form, municipality, version, supersedes, key_id,
				reason, envelope, at)
			SELECT $1, $2, $3, $4, $5, $6, NULLIF($7, ''), $8, $9, $10, $11
			WHERE NOT EXISTS (SELECT 1 FROM conflicts WHERE digest = $1)
			ON CONFLICT DO NOTHING RETURNING id
		)
		SELECT id, true FROM new
		UNION ALL
		SELECT id, false FROM conflicts WHERE digest = $1`,
		c.Digest, c.Station, c.Contest, c.Form, c.Municipality, c.Version, c.Supersedes, c.KeyID, c.Reason,
		nonNil(c.Envelope), c.At).Scan(&id, &fresh)
	if err != nil {
		return false, failed(err, "conflict %s", c.Digest)
	}
	c.ID = id
	return fresh, nil
}

// InsertDecision stores a decision once per envelope. The submission it
// names may be one held back: it is sent first, for the foreign key.
func (w *writeTx) InsertDecision(d *commission.Decision) (bool, error) {
	if err := w.flush(); err != nil {
		return false, err
	}
	tag, err := w.conn.Exec(w.ctx, `INSERT INTO decisions (digest, submission, station, contest, form, municipality,
			verdict, reason, key_id, decided_at, received_at, envelope)
		VALUES ($1, $2, $3, $4, $5, $6, $7, NULLIF($8, ''), $9, $10, $11, $12)
		ON CONFLICT DO NOTHING`,
		d.Digest, d.Submission, d.Station, d.Contest, d.Form, d.Municipality, d.Verdict, d.Reason, d.KeyID,
		d.DecidedAt, d.ReceivedAt, nonNil(d.Envelope))
	if err != nil {
		return false, failed(err, "decision %s", d.Digest)
	}
	return tag.RowsAffected() == 1, nil
}

// PutUploadPart appends a part in one statement, which inserts nothing
// unless offset is the bytes received so far.
func (w *writeTx) PutUploadPart(u *commission.Upload, offset int64, data []byte) error {
	tag, err := w.conn.Exec(w.ctx, `WITH upload AS (
			SELECT count(*) AS parts, coalesce(sum(octet_length(data)), 0) AS received,
				coalesce((array_agg(size ORDER BY part))[1], $4) AS size
			FROM upload_parts WHERE sha256 = $1
		)
		INSERT INTO upload_parts (sha256, part, "offset", size, station, data)
		SELECT $1, parts, $2, $4, $5, $3 FROM upload WHERE received = $2 AND size = $4`,
		u.SHA256, offset, nonNil(data), u.Size, u.Station)
	if err != nil {
		return failed(err, "upload %s", u.SHA256)
	}
	if tag.RowsAffected() == 1 {
		return nil
	}
	stored, err := w.Upload(u.SHA256)
	if errors.Is(err, commission.ErrNotFound) {
		stored, err = &commission.Upload{SHA256: u.SHA256, Size: u.Size}, nil
	}
	if err != nil {
		return err
	}
	if stored.Size != u.Size {
		return commission.Errorf(commission.EConflict, "the upload of %s was begun with %d bytes, not %d",
			u.SHA256, stored.Size, u.Size)
	}
	return commission.Errorf(commission.EConflict, "the upload of %s has %d bytes; send from there, not from %d",
		u.SHA256, stored.Received, offset)
}

// CompleteUpload stores the attachment and forgets its parts. An
// attachment is content-addressed: one already stored is the same file.
func (w *writeTx) CompleteUpload(a *commission.Attachment, data []byte) error {
	_, err := w.conn.Exec(w.ctx, `WITH stored AS (
			INSERT INTO attachments (sha256, size, station, received_at, data) VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT DO NOTHING
		)
		DELETE FROM upload_parts WHERE sha256 = $1`, a.SHA256, a.Size, a.Station, a.ReceivedAt, nonNil(data))
	if err != nil {
		return failed(err, "attachment %s", a.SHA256)
	}
	return nil
}

func (w *writeTx) UploadData(sha256 string) ([]byte, error) {
	rows, err := w.conn.Query(w.ctx, "SELECT data FROM upload_parts WHERE sha256 = $1 ORDER BY part", sha256)
	if err != nil {
		return nil, failed(err, "upload %s", sha256)
	}
	parts, err := pgx.CollectRows(rows, pgx.RowTo[[]byte])
	if err != nil {
		return nil, failed(err, "upload %s", sha256)
	}
	if len(parts) == 0 {
		return nil, notFound("upload %s", sha256)
	}
	var data []byte
	for _, p := range parts {
		data = append(data, p...)
	}
	return data, nil
}

func (w *writeTx) DiscardUpload(sha256 string) error {
	if _, err := w.conn.Exec(w.ctx, "DELETE FROM upload_parts WHERE sha256 = $1", sha256); err != nil {
		return failed(err, "discard upload %s", sha256)
	}
	return nil
}

// Secret reads the named secret, or makes and stores it: under the
// write lock, so that no other node makes one meanwhile; ON CONFLICT DO
// NOTHING and reading it back keep to the one stored first even so.
func (w *writeTx) Secret(name string, create func() ([]byte, error)) ([]byte, error) {
	secret, err := w.secret(name)
	if err != nil || secret != nil {
		return secret, err
	}
	made, err := create()
	if err != nil {
		return nil, err
	}
	if _, err := w.conn.Exec(w.ctx, "INSERT INTO secrets (name, value) VALUES ($1, $2) ON CONFLICT DO NOTHING",
		name, nonNil(made)); err != nil {
		return nil, failed(err, "secret %s", name)
	}
	if secret, err = w.secret(name); err == nil && secret == nil {
		err = fmt.Errorf("commissionpg: secret %s: not stored", name)
	}
	return secret, err
}

// secret is the stored secret, nil when there is none.
func (w *writeTx) secret(name string) ([]byte, error) {
	var value []byte
	err := w.conn.QueryRow(w.ctx, "SELECT value FROM secrets WHERE name = $1", name).Scan(&value)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, failed(err, "secret %s", name)
	}
	if value == nil {
		value = []byte{}
	}
	return value, nil
}

// PutSnapshot stores the snapshot that follows the last one. Under
// write_lock the last number read stays the last; the insert still leaves
// the decision to the primary key (ON CONFLICT DO NOTHING), and a number
// stored meanwhile by a session without the lock is then compared like
// any stored one. The schema's trigger refuses a gap.
func (w *writeTx) PutSnapshot(number uint64, sealed []byte, digest string, at time.Time) (bool, error) {
	if number == 0 {
		return false, commission.Errorf(commission.EInvalid, "results snapshots are numbered from 1")
	}
	var last uint64
	if err := w.conn.QueryRow(w.ctx, "SELECT coalesce(max(number), 0) FROM snapshots").Scan(&last); err != nil {
		return false, failed(err, "snapshot %d", number)
	}
	switch {
	case number <= last:
		return false, w.sameSnapshot(number, sealed, digest)
	case last == 0 && number != 1:
		return false, commission.Errorf(commission.EConflict,
			"results snapshot %d cannot be the first published: the first is 1", number)
	case number != last+1:
		return false, commission.Errorf(commission.EConflict,
			"results snapshot %d cannot follow snapshot %d: the next is %d", number, last, last+1)
	case number > math.MaxInt64:
		return false, fmt.Errorf("commissionpg: snapshot %d: larger than the database can hold", number)
	}
	tag, err := w.conn.Exec(w.ctx, `INSERT INTO snapshots (number, digest, sealed, created_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (number) DO NOTHING`, int64(number), digest, nonNil(sealed), at)
	if err != nil {
		return false, failed(err, "snapshot %d", number)
	}
	if tag.RowsAffected() == 1 {
		return true, nil
	}
	return false, w.sameSnapshot(number, sealed, digest)
}

// sameSnapshot is nil when the snapshot stored under number is sealed,
// with digest, and an EConflict *Error when it is other bytes.
func (w *writeTx) sameSnapshot(number uint64, sealed []byte, digest string) error {
	var same bool
	err := w.conn.QueryRow(w.ctx, "SELECT sealed = $2 AND digest = $3 FROM snapshots WHERE number = $1",
		int64(number), nonNil(sealed), digest).Scan(&same)
	if err != nil {
		return failed(err, "snapshot %d", number)
	}
	if !same {
		return commission.Errorf(commission.EConflict, "results snapshot %d is already published with other bytes", number)
	}
	return nil
}

// Audit appends the record that follows the chain's head, sent with the
// commit.
func (w *writeTx) Audit(at time.Time, e audit.Event) error {
	rec, err := audit.Next(w.head, at, e)
	if err != nil {
		return err
	}
	w.pendingAudit = append(w.pendingAudit, rec)
	w.head = &rec
	return nil
}

// AuditRecords reads the chain with this transaction's records in it.
func (w *writeTx) AuditRecords(fn func(audit.Record) error) error {
	if err := w.flush(); err != nil {
		return err
	}
	return w.readTx.AuditRecords(fn)
}

// flush sends what is held back, the submissions, then the audit records,
// each in one statement, both in one round trip. The schema's trigger
// checks that each record follows the last.
func (w *writeTx) flush() error {
	var b pgx.Batch
	if n := len(w.subs.pending); n > 0 {
		// One array a column, for unnest.
		var (
			number               = make([]uint64, n)
			version              = make([]int, n)
			text                 = make([][]string, 8) // digest … photo_sha256, in the order of the columns
			envelope             = make([][]byte, n)
			sealedAt, receivedAt = make([]time.Time, n), make([]time.Time, n)
		)
		for i := range text {
			text[i] = make([]string, n)
		}
		for i, s := range w.subs.pending {
			number[i], version[i], envelope[i] = s.Number, s.Version, nonNil(s.Envelope)
			sealedAt[i], receivedAt[i] = s.SealedAt, s.ReceivedAt
			for j, v := range []string{s.Digest, s.Station, s.Contest, string(s.Form), s.Municipality, s.Supersedes,
				s.KeyID, s.PhotoSHA256} {
				text[j][i] = v
			}
		}
		b.Queue(`INSERT INTO submissions (`+submissionInsertColumns+`)
			SELECT n, d, st, c, f, m, v, NULLIF(sup, ''), k, NULLIF(ph, ''), e, sa, ra
			FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::integer[],
				$8::text[], $9::text[], $10::text[], $11::bytea[], $12::timestamptz[], $13::timestamptz[])
				AS u (n, d, st, c, f, m, v, sup, k, ph, e, sa, ra)
			ORDER BY n`,
			number, text[0], text[1], text[2], text[3], text[4], version, text[5], text[6], text[7], envelope,
			sealedAt, receivedAt)
	}
	if n := len(w.pendingAudit); n > 0 {
		var (
			seq                                           = make([]uint64, n)
			at                                            = make([]time.Time, n)
			action, subject, actor, details, prev, hashes = make([]string, n), make([]string, n), make([]string, n),
				make([]string, n), make([]string, n), make([]string, n)
		)
		for i, r := range w.pendingAudit {
			seq[i], at[i], action[i], subject[i], actor[i] = r.Seq, r.At, r.Action, r.Subject, r.Actor
			details[i], prev[i], hashes[i] = string(r.Details), r.Prev, r.Hash
		}
		b.Queue(`INSERT INTO audit (`+auditColumns+`)
			SELECT * FROM unnest($1::bigint[], $2::timestamptz[], $3::text[], $4::text[], $5::text[], $6::text[],
				$7::text[], $8::text[]) ORDER BY 1`,
			seq, at, action, subject, actor, details, prev, hashes)
	}
	if b.Len() == 0 {
		return nil
	}
	if err := w.conn.SendBatch(w.ctx, &b).Close(); err != nil {
		return failed(err, "flush")
	}
	w.subs.pending = w.subs.pending[:0]
	w.pendingAudit = w.pendingAudit[:0]
	return nil
}

// versionRef names one version of one form.
type versionRef struct {
	commission.FormRef
	version int
}

func versionOf(s *commission.Submission) versionRef { return versionRef{s.FormRef, s.Version} }

// submissionCache is what a write transaction knows of the submissions:
// what it read, and what it stored. A nil entry is one known to be absent.
// It hands out copies: callers change what they are given.
type submissionCache struct {
	byDigest  map[string]*commission.Submission
	byVersion map[versionRef]*commission.Submission
	heads     map[commission.FormRef]*commission.Submission
	// pending are the submissions stored but not sent yet, in the order
	// of their numbers.
	pending []*commission.Submission
}

func newSubmissionCache() submissionCache {
	return submissionCache{byDigest: map[string]*commission.Submission{},
		byVersion: map[versionRef]*commission.Submission{}, heads: map[commission.FormRef]*commission.Submission{}}
}

func (c *submissionCache) remember(s *commission.Submission) {
	c.byDigest[s.Digest] = s
	c.byVersion[versionOf(s)] = s
}

// add holds a new submission back for the commit.
func (c *submissionCache) add(s *commission.Submission) {
	c.pending = append(c.pending, s)
	c.remember(s)
	c.raiseHead(s)
}

// raiseHead makes s its form's head if the head is known and older.
func (c *submissionCache) raiseHead(s *commission.Submission) {
	if h, ok := c.heads[s.FormRef]; ok && (h == nil || s.Version > h.Version) {
		c.heads[s.FormRef] = s
	}
}

// learnHead keeps a form's head as the database has it (nil for none),
// or a later version held back, and returns it.
func (c *submissionCache) learnHead(f commission.FormRef, stored *commission.Submission) *commission.Submission {
	head := stored
	for _, p := range c.pending {
		if p.FormRef == f && (head == nil || p.Version > head.Version) {
			head = p
		}
	}
	c.heads[f] = head
	return head
}

// nonNil is b, or an empty slice for nil: pgx sends nil as NULL, and the
// byte columns are NOT NULL.
func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}
