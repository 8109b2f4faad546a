package sqlitefile

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"

	"tally/app/audit"
)

// AuditColumns are the columns of the audit table, in the order ScanAudit
// reads them. at is the exact text the record's hash covers.
const AuditColumns = "seq, at, action, subject, actor, details, prev, hash"

// ScanAudit reads an audit record.
func ScanAudit(row Scanner) (*audit.Record, error) {
	var (
		rec         audit.Record
		seq         int64
		at, details string
	)
	if err := row.Scan(&seq, &at, &rec.Action, &rec.Subject, &rec.Actor, &details, &rec.Prev, &rec.Hash); err != nil {
		return nil, err
	}
	rec.Seq = uint64(seq)
	rec.Details = json.RawMessage(details)
	var err error
	rec.At, err = ParseTime(at)
	return &rec, err
}

// AuditTail appends to a store's audit chain within one write
// transaction: it reads the chain's head once, on the first append, and
// follows on from each record it appends.
type AuditTail struct {
	head  *audit.Record
	known bool
}

// Append writes the record that follows the chain's head.
func (t *AuditTail) Append(ctx context.Context, tx *sql.Tx, at time.Time, e audit.Event) error {
	if !t.known {
		head, err := LastAudit(ctx, tx)
		if err != nil {
			return err
		}
		t.head, t.known = head, true
	}
	rec, err := audit.Next(t.head, at, e)
	if err != nil {
		return err
	}
	if rec.Seq > math.MaxInt64 {
		return fmt.Errorf("audit sequence %d is larger than the database can hold", rec.Seq)
	}
	// at is stored as the very text the hash covers.
	if _, err := tx.ExecContext(ctx, `INSERT INTO audit (`+AuditColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		int64(rec.Seq), rec.At.UTC().Format(time.RFC3339Nano), rec.Action, rec.Subject, rec.Actor, string(rec.Details),
		rec.Prev, rec.Hash); err != nil {
		return err
	}
	t.head = &rec
	return nil
}

// LastAudit is the chain's head, nil when the chain is empty.
func LastAudit(ctx context.Context, q Querier) (*audit.Record, error) {
	rec, err := ScanAudit(q.QueryRowContext(ctx, "SELECT "+AuditColumns+" FROM audit ORDER BY seq DESC LIMIT 1"))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	return rec, err
}

// EachAudit calls fn on every audit record in order, one row at a time,
// so that verifying a long chain holds one record. fn's error ends it and
// is returned as it is; the store's own errors are headed by name.
func EachAudit(ctx context.Context, q Querier, name string, fn func(audit.Record) error) error {
	rows, err := q.QueryContext(ctx, "SELECT "+AuditColumns+" FROM audit ORDER BY seq")
	if err != nil {
		return fmt.Errorf("%s: audit: %w", name, err)
	}
	defer rows.Close()
	for rows.Next() {
		rec, err := ScanAudit(rows)
		if err != nil {
			return fmt.Errorf("%s: audit: %w", name, err)
		}
		if err := fn(*rec); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("%s: audit: %w", name, err)
	}
	return nil
}
