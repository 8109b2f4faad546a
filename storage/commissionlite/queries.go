package commissionlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// query names one of the store's statements.
type query int

const (
	qBegin query = iota
	qBeginImmediate
	qCommit
	qRollback
	qSchemaVersion
	qElection
	qKey
	qKeys
	qRevokedKeys
	qCode
	qCodes
	qSubmission
	qSubmissionAt
	qDigestAt
	qHead
	qSubmissionsAll
	qSubmissionsOfMunicipality
	qSubmissionsOfStation
	qHeads
	qConflictsAll
	qConflictsOfMunicipality
	qConflictsOfStation
	qDecisionsAll
	qDecisionsOfMunicipality
	qDecisionsOfStation
	qDecision
	qAttachment
	qUpload
	qUploadData
	qAuditRecords
	qLastAudit
	qCounts
	qSecret
	qSnapshot
	qLastSnapshot
	qLastSnapshotNumber
	qSnapshotIs

	// Writes, prepared on the writer only.
	qPutElection
	qRetireCodes
	qPutCode
	qUseCode
	qPutKey
	qRevokeKey
	qInsertSubmission
	qPutConflict
	qConflictID
	qInsertDecision
	qPutUploadPart
	qDeleteUploadParts
	qPutAttachment
	qPutSecret
	qAppendAudit
	qPutSnapshot

	numQueries
)

// firstWrite is the first statement that writes: the query-only readers
// prepare the ones before it.
const firstWrite = qPutElection

const (
	keyColumns        = "id, public_key, role, unit, enrolled_at, revoked_at, revoked_reason"
	codeColumns       = "hash, role, unit, issued_at, used_at, used_by, retired_at"
	submissionColumns = `number, digest, station, contest, form, municipality, version, supersedes, key_id,
		photo_sha256, envelope, sealed_at, received_at`
	conflictColumns = `id, digest, station, contest, form, municipality, version, supersedes, key_id, reason,
		envelope, at`
	decisionColumns = `digest, submission, station, contest, form, municipality, verdict, reason, key_id,
		decided_at, received_at, envelope`
	auditColumns = "seq, at, action, subject, actor, details, prev, hash"
)

// queries are the statements' texts. A list of one station's rows names its
// municipality too, unless that is "".
var queries = [numQueries]string{
	qBegin:          "BEGIN",
	qBeginImmediate: "BEGIN IMMEDIATE",
	qCommit:         "COMMIT",
	qRollback:       "ROLLBACK",
	qSchemaVersion:  "SELECT coalesce(max(version), 0) FROM schema_migrations",
	qElection:       "SELECT signed, key_id FROM election WHERE id = 1",
	qKey:            "SELECT " + keyColumns + " FROM keys WHERE id = ?",
	qKeys:           "SELECT " + keyColumns + " FROM keys ORDER BY seq",
	qRevokedKeys:    "SELECT id FROM keys WHERE revoked_at IS NOT NULL ORDER BY seq",
	qCode:           "SELECT " + codeColumns + " FROM codes WHERE hash = ?",
	qCodes:          "SELECT " + codeColumns + " FROM codes WHERE role = ? AND unit = ? ORDER BY issued_at DESC, seq DESC",

	qSubmission:   "SELECT " + submissionColumns + " FROM submissions WHERE digest = ?",
	qSubmissionAt: "SELECT " + submissionColumns + " FROM submissions WHERE station = ? AND contest = ? AND form = ? AND version = ?",
	qDigestAt:     "SELECT digest FROM submissions WHERE station = ? AND contest = ? AND form = ? AND version = ?",
	qHead: "SELECT " + submissionColumns + ` FROM submissions WHERE station = ? AND contest = ? AND form = ?
		ORDER BY version DESC LIMIT 1`,
	qSubmissionsAll: "SELECT " + submissionColumns + " FROM submissions ORDER BY station, contest, form, version",
	qSubmissionsOfMunicipality: "SELECT " + submissionColumns + ` FROM submissions WHERE municipality = ?
		ORDER BY station, contest, form, version`,
	qSubmissionsOfStation: "SELECT " + submissionColumns + ` FROM submissions
		WHERE station = ?1 AND (?2 = '' OR municipality = ?2) ORDER BY contest, form, version`,
	// The head of each form: its version is the form's highest, found in
	// the (station, contest, form, version) key.
	// The heads, as submissionColumns without the envelope (NULL): each
	// form's highest version from the (station, contest, form, version)
	// index alone, then that row. The correlated form
	// (each row against its form's max) reads every version's row.
	qHeads: `SELECT s.number, s.digest, s.station, s.contest, s.form, s.municipality, s.version, s.supersedes,
		s.key_id, s.photo_sha256, NULL, s.sealed_at, s.received_at FROM
		(SELECT station, contest, form, max(version) AS v FROM submissions GROUP BY station, contest, form) AS m
		CROSS JOIN submissions AS s
			ON s.station = m.station AND s.contest = m.contest AND s.form = m.form AND s.version = m.v
		ORDER BY m.station, m.contest, m.form`,

	qConflictsAll:            "SELECT " + conflictColumns + " FROM conflicts ORDER BY id",
	qConflictsOfMunicipality: "SELECT " + conflictColumns + " FROM conflicts WHERE municipality = ? ORDER BY id",
	qConflictsOfStation: "SELECT " + conflictColumns + ` FROM conflicts
		WHERE station = ?1 AND (?2 = '' OR municipality = ?2) ORDER BY id`,

	qDecisionsAll:            "SELECT " + decisionColumns + " FROM decisions ORDER BY seq",
	qDecisionsOfMunicipality: "SELECT " + decisionColumns + " FROM decisions WHERE municipality = ? ORDER BY seq",
	qDecisionsOfStation: "SELECT " + decisionColumns + ` FROM decisions
		WHERE station = ?1 AND (?2 = '' OR municipality = ?2) ORDER BY seq`,
	qDecision: "SELECT " + decisionColumns + " FROM decisions WHERE digest = ?",

	qAttachment: "SELECT sha256, size, station, received_at, data FROM attachments WHERE sha256 = ?",
	// The size and station are the first part's: every part carries the same.
	qUpload: `SELECT size, station, (SELECT sum(length(data)) FROM upload_parts WHERE sha256 = ?1)
		FROM upload_parts WHERE sha256 = ?1 ORDER BY start, seq LIMIT 1`,
	qUploadData: "SELECT data FROM upload_parts WHERE sha256 = ? ORDER BY start, seq",

	qAuditRecords: "SELECT " + auditColumns + " FROM audit ORDER BY seq",
	qLastAudit:    "SELECT " + auditColumns + " FROM audit ORDER BY seq DESC LIMIT 1",
	qCounts: `SELECT (SELECT count(*) FROM keys), (SELECT count(*) FROM keys WHERE revoked_at IS NOT NULL),
		(SELECT count(*) FROM submissions), (SELECT count(*) FROM conflicts),
		(SELECT count(*) FROM decisions), (SELECT count(*) FROM attachments)`,
	qSecret: "SELECT value FROM secrets WHERE name = ?",

	qSnapshot:           "SELECT sealed FROM snapshots WHERE number = ?",
	qLastSnapshot:       "SELECT number, sealed FROM snapshots ORDER BY number DESC LIMIT 1",
	qLastSnapshotNumber: "SELECT coalesce(max(number), 0) FROM snapshots",
	// Whether the stored snapshot is these bytes, with this digest.
	qSnapshotIs: "SELECT sealed = ?2 AND digest = ?3 FROM snapshots WHERE number = ?1",

	qPutElection: "INSERT INTO election (id, signed, key_id, imported_at) VALUES (1, ?, ?, ?)",
	qRetireCodes: `UPDATE codes SET retired_at = ?
		WHERE role = ? AND unit = ? AND used_at IS NULL AND retired_at IS NULL`,
	qPutCode: "INSERT INTO codes (" + codeColumns + ") VALUES (?, ?, ?, ?, NULL, NULL, NULL)",
	qUseCode: `UPDATE codes SET used_at = ?, used_by = ?
		WHERE hash = ? AND used_at IS NULL AND retired_at IS NULL`,
	qPutKey:    "INSERT INTO keys (" + keyColumns + ") VALUES (?, ?, ?, ?, ?, NULL, NULL)",
	qRevokeKey: "UPDATE keys SET revoked_at = ?, revoked_reason = ? WHERE id = ? AND revoked_at IS NULL",
	// The schema's insert trigger ignores a row whose digest or version
	// is stored, before ON CONFLICT would: either way, nothing changes
	// and the statement succeeds.
	qInsertSubmission: `INSERT INTO submissions (digest, station, contest, form, municipality, version, supersedes,
			key_id, photo_sha256, envelope, sealed_at, received_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
	qPutConflict: `INSERT INTO conflicts (digest, station, contest, form, municipality, version, supersedes, key_id,
			reason, envelope, at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
	qConflictID: "SELECT id FROM conflicts WHERE digest = ?",
	qInsertDecision: `INSERT INTO decisions (` + decisionColumns + `)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
	qPutUploadPart:     "INSERT INTO upload_parts (sha256, start, size, station, data) VALUES (?, ?, ?, ?, ?)",
	qDeleteUploadParts: "DELETE FROM upload_parts WHERE sha256 = ?",
	qPutAttachment:     "INSERT INTO attachments (sha256, size, station, received_at, data) VALUES (?, ?, ?, ?, ?)",
	qPutSecret:         "INSERT INTO secrets (name, value) VALUES (?, ?)",
	qAppendAudit:       "INSERT INTO audit (" + auditColumns + ") VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
	qPutSnapshot:       "INSERT INTO snapshots (number, digest, sealed, created_at) VALUES (?, ?, ?, ?)",
}

// statements are the queries prepared on one connection.
type statements [numQueries]*sql.Stmt

// conn is a connection with the store's statements prepared on it.
type conn struct {
	sql   *sql.Conn
	stmts statements
}

// prepare prepares the read queries, and the writes too when write is
// set, on c.
func prepare(ctx context.Context, c *sql.Conn, write bool) (*conn, error) {
	prepared := &conn{sql: c}
	last := firstWrite
	if write {
		last = numQueries
	}
	for q := range last {
		stmt, err := c.PrepareContext(ctx, queries[q])
		if err != nil {
			return nil, errors.Join(fmt.Errorf("prepare %q: %w", queries[q], err), prepared.closeStatements())
		}
		prepared.stmts[q] = stmt
	}
	return prepared, nil
}

func (c *conn) exec(ctx context.Context, q query, args ...any) (sql.Result, error) {
	return c.stmts[q].ExecContext(ctx, args...)
}

// rollback ends the connection's transaction, whatever the context of the
// transaction: a canceled one must not leave the connection inside it. An
// error means there was no transaction left to end (SQLite rolls back by
// itself after some errors).
func (c *conn) rollback() {
	_, _ = c.exec(context.Background(), qRollback)
}

func (c *conn) closeStatements() error {
	var errs []error
	for _, stmt := range c.stmts {
		if stmt != nil {
			errs = append(errs, stmt.Close())
		}
	}
	return errors.Join(errs...)
}

// close closes the statements and gives the connection back to its pool,
// which then closes it.
func (c *conn) close() error {
	return errors.Join(c.closeStatements(), c.sql.Close())
}
