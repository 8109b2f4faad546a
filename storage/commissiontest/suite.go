// Package commissiontest holds every implementation of commission.Store
// to one contract: the SQLite store (storage/commissionlite) and the
// PostgreSQL store (storage/commissionpg) run the same black-box tests,
//
//	func TestStore(t *testing.T) {
//		commissiontest.Run(t, openFresh, rawExec)
//	}
//
// so that tallyd behaves the same on either.
//
// # What it checks
//
// Every Reader and Tx method round-trips what it stores; the documented
// "returns false", no-op and EConflict answers; not-found errors that
// satisfy errors.Is(err, commission.ErrNotFound) and have the kind
// ENotFound; Update's rollback on an error and on a panic (which goes on);
// View's snapshot; the audit chain across many Updates, and across
// concurrent ones (several tallyd nodes committing at once), verified with
// audit.Verifier; times that come back exactly, in UTC, to the microsecond.
//
// Details the interface leaves open, fixed here so that both stores agree:
// Counts.Keys counts every key ever enrolled, revoked ones too; a code
// retired by PutCode has the new code's IssuedAt as its RetiredAt;
// Submissions lists by station, contest, form, then version, and a station
// of another municipality lists nothing; PutUploadPart does not change the
// *Upload it is given (the caller adds the part's length to Received), and
// a first part from another offset than 0 is an EConflict; AuditRecords
// stops at fn's first error and returns it; Update with a canceled context
// stores nothing and returns an error that wraps context.Canceled; a
// transaction goes on after a method returned false or an EConflict;
// PutSnapshot of number 0 is an EInvalid, and of a stored number with its
// bytes but another digest an EConflict; Snapshot of a number past what
// the database can hold is ENotFound.
//
// It also runs the Service's archive of results snapshots
// (ArchiveSnapshot and the rest) on the store, as publish.Archive uses it.
//
// # Append-only, enforced by the database
//
// With a RawExec, Run also changes the store's database with plain SQL, as
// an operator with a database console could, and checks that the database
// itself refuses every UPDATE and DELETE of what was signed, received or
// recorded, but for the two changes the service makes: revoking a key once,
// and using or retiring a code once. So both stores use the same table
// names:
//
//	election      the signed election definition, one row
//	codes         enrollment codes (their hashes)
//	keys          enrolled keys
//	submissions   stored submissions, with their receipt numbers
//	conflicts     conflicting submissions kept for the supervisor
//	decisions     supervisors' decisions
//	attachments   whole uploaded photos, with their bytes
//	upload_parts  the parts of uploads on their way in (deleted once whole)
//	secrets       secrets shared by the tallyd nodes
//	snapshots     published results snapshots, by number
//	audit         the audit hash chain
//
// and the statements name these columns, the Go fields' names in
// snake_case, all text: election.key_id; codes.hash, codes.unit,
// codes.used_by, codes.retired_at; keys.id, keys.unit, keys.revoked_at,
// keys.revoked_reason; submissions.digest, submissions.municipality;
// conflicts.digest, conflicts.reason; decisions.digest, decisions.reason;
// attachments.sha256, attachments.station; snapshots.number,
// snapshots.digest, snapshots.sealed, snapshots.created_at; audit.seq,
// audit.actor.
package commissiontest

import (
	"testing"

	"tally/app/commission"
)

// RawExec runs one SQL statement against store's database, outside the
// store's transactions, and returns the database's answer.
type RawExec func(t *testing.T, store commission.Store, sql string) error

// Run runs the whole suite. open returns a new, empty store each time it
// is called, and closes it when its test ends (t.Cleanup). rawExec may be
// nil; then the append-only checks do not run.
func Run(t *testing.T, open func(t *testing.T) commission.Store, rawExec RawExec) {
	s := &suite{open: open, rawExec: rawExec}
	t.Run("Election", s.testElection)
	t.Run("Keys", s.testKeys)
	t.Run("Codes", s.testCodes)
	t.Run("Submissions", s.testSubmissions)
	t.Run("Conflicts", s.testConflicts)
	t.Run("Decisions", s.testDecisions)
	t.Run("Uploads", s.testUploads)
	t.Run("Secret", s.testSecret)
	t.Run("Snapshots", s.testSnapshots)
	t.Run("Counts", s.testCounts)
	t.Run("NotFound", s.testNotFound)
	t.Run("Times", s.testTimes)
	t.Run("Update", s.testUpdate)
	t.Run("View", s.testView)
	t.Run("Audit", s.testAudit)
	t.Run("Concurrent", s.testConcurrent)
	if rawExec != nil {
		t.Run("AppendOnly", s.testAppendOnly)
	}
}

type suite struct {
	open    func(t *testing.T) commission.Store
	rawExec RawExec
}
