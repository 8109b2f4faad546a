package commission

import (
	"context"
	"time"

	"tally/app/audit"
	"tally/app/enrollment"
)

// Store keeps the commission's state. Implementations: SQLite
// (storage/commissionlite) and PostgreSQL (storage/commissionpg); one test
// suite (storage/commissiontest) holds both to this contract.
type Store interface {
	// Update runs fn in one write transaction, committed durably when fn
	// returns nil and rolled back when it returns an error. With several
	// tallyd nodes on one database, transactions on different nodes may
	// run at once: the uniqueness rules below are the database's, not the
	// caller's.
	Update(ctx context.Context, fn func(Tx) error) error
	// View runs fn on one consistent snapshot.
	View(ctx context.Context, fn func(Reader) error) error
	Close() error
}

// Reader reads the commission's state.
type Reader interface {
	// Election is the signed definition and the definition key's id it
	// was imported under.
	Election() (signed []byte, keyID string, err error) // ErrNoElection
	Key(id string) (*Key, error)                        // ErrNotFound
	// Keys lists every key ever enrolled, revoked ones too, in the order
	// enrolled.
	Keys() ([]Key, error)
	// RevokedKeys lists the ids of the revoked keys: few, read once for a
	// whole batch of submissions.
	RevokedKeys() ([]string, error)
	Code(hash string) (*Code, error) // ErrNotFound
	// Codes lists the codes of a role and unit, newest first.
	Codes(role enrollment.Role, unit string) ([]Code, error)
	Submission(digest string) (*Submission, error) // ErrNotFound
	// SubmissionAt is the stored version of a form, if any.
	SubmissionAt(f FormRef, version int) (*Submission, error) // ErrNotFound
	// DigestsAt reads the digests of those of the given versions of forms
	// that are stored, in one go: a group commit asks for the version
	// before each of its submissions. A version not stored is not in the
	// map.
	DigestsAt(versions []VersionRef) (map[VersionRef]string, error)
	// Head is a form's latest stored version.
	Head(f FormRef) (*Submission, error) // ErrNotFound
	// Submissions lists every version of every form of a station, or of
	// every station of a municipality when station is "", by form then
	// version.
	Submissions(municipality, station string) ([]Submission, error)
	// Heads lists the latest stored version of every form of every
	// station, by station, contest and form: what results count. Their
	// Envelope is nil (Submission reads one): the heads are read every
	// few seconds, and their envelopes are megabytes that rarely changed.
	Heads() ([]Submission, error)
	// Conflicts lists the conflicts of a municipality's stations (or of
	// one station), oldest first.
	Conflicts(municipality, station string) ([]Conflict, error)
	// Decisions lists the decisions on a municipality's stations (or one
	// station's), in the order received.
	Decisions(municipality, station string) ([]Decision, error)
	Decision(digest string) (*Decision, error)             // ErrNotFound
	Attachment(sha256 string) (*Attachment, []byte, error) // ErrNotFound
	Upload(sha256 string) (*Upload, error)                 // ErrNotFound
	// Snapshot is the sealed results snapshot stored under a number,
	// exactly as stored.
	Snapshot(number uint64) ([]byte, error) // ErrNotFound
	// LastSnapshot is the stored snapshot with the highest number; 0 and
	// nil when none is stored.
	LastSnapshot() (uint64, []byte, error)
	// AuditRecords calls fn on every record of the audit chain, in order.
	AuditRecords(fn func(audit.Record) error) error
	// Counts are the totals the metrics show.
	Counts() (Counts, error)
}

// Counts are running totals.
type Counts struct {
	Keys        int `json:"keys"`
	Revoked     int `json:"revoked"`
	Submissions int `json:"submissions"`
	Conflicts   int `json:"conflicts"`
	Decisions   int `json:"decisions"`
	Attachments int `json:"attachments"`
}

// Tx changes the commission's state inside one transaction.
type Tx interface {
	Reader
	// PutElection stores the signed definition; there is only ever one:
	// another is refused with an EConflict *Error.
	PutElection(signed []byte, keyID string, at time.Time) error
	// PutCode stores a new code, retiring the unused codes of the same
	// role and unit.
	PutCode(c *Code) error
	// UseCode marks a code used by a key. It fails with an EConflict *Error
	// when the code was used or retired meanwhile (by another node).
	UseCode(hash, keyID string, at time.Time) error
	// PutKey stores a newly enrolled key; an existing id is an EConflict *Error.
	PutKey(k *Key) error
	// RevokeKey marks a key revoked; revoking it again changes nothing.
	RevokeKey(id string, at time.Time, reason string) error
	// InsertSubmission stores a submission and gives it the next receipt
	// number (set in s.Number). It stores nothing and returns false when
	// the digest, or the form's version, is already stored: the caller
	// reads what is there and decides.
	InsertSubmission(s *Submission) (bool, error)
	// PutConflict stores a conflict and sets its ID; the same envelope's
	// conflict again stores nothing, sets the stored ID and returns false.
	PutConflict(c *Conflict) (bool, error)
	// InsertDecision stores a decision; false when its digest is stored.
	InsertDecision(d *Decision) (bool, error)
	// PutUploadPart stores the bytes of an upload from offset, which must
	// be the bytes received so far (an EConflict *Error otherwise). The first part
	// creates the upload.
	PutUploadPart(u *Upload, offset int64, data []byte) error
	// CompleteUpload turns a whole upload into an attachment (the caller
	// checked its hash) and forgets its parts; data is the whole file.
	CompleteUpload(a *Attachment, data []byte) error
	// UploadData is the bytes of an upload received so far.
	UploadData(sha256 string) ([]byte, error)
	// DiscardUpload forgets an upload's parts (its whole did not match
	// its hash); an unknown upload is no error.
	DiscardUpload(sha256 string) error
	// Secret is the named secret, made with make and stored the first
	// time; every node then reads the same bytes.
	Secret(name string, make func() ([]byte, error)) ([]byte, error)
	// PutSnapshot stores a sealed results snapshot under its number, with
	// the digest of its bytes. Numbers follow one another from 1 (0 is an
	// EInvalid *Error): a number past the next one is an EConflict *Error
	// that names it and the last stored. A stored number names its bytes
	// for good: the same bytes (and digest) again store nothing and return
	// false; other bytes are an EConflict *Error. Between transactions
	// that store a number at once (several nodes), the database's
	// uniqueness decides which one stores it.
	PutSnapshot(number uint64, sealed []byte, digest string, at time.Time) (bool, error)
	// Audit appends the next record of the audit chain. Appends from
	// concurrent transactions (several nodes) are serialised by the store.
	Audit(at time.Time, e audit.Event) error
}
