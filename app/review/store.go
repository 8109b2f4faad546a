package review

import (
	"context"
	"errors"
	"time"

	"tally/app/audit"
	"tally/app/election"
	"tally/app/seal"
)

// Errors a Store returns.
var (
	ErrNotProvisioned     = errors.New("this laptop is not provisioned for a municipality's supervisor yet")
	ErrAlreadyProvisioned = errors.New("this laptop is already provisioned")
	ErrNotFound           = errors.New("not found")
)

// Store keeps the supervisor's state. storage/reviewdb implements it over
// SQLite.
type Store interface {
	// Update runs fn in one write transaction, committed durably when fn
	// returns nil and rolled back when it returns an error, so that a
	// refused operation changes nothing.
	Update(ctx context.Context, fn func(Tx) error) error
	// View runs fn on one consistent snapshot.
	View(ctx context.Context, fn func(Reader) error) error
}

// Reader reads the supervisor's state.
type Reader interface {
	// Definition is the signed election definition as imported.
	Definition() ([]byte, error)          // ErrNotProvisioned
	Provisioning() (*Provisioning, error) // ErrNotProvisioned
	// Overview is the municipality's overview as last fetched.
	Overview() (*Overview, error) // ErrNotFound before the first fetch
	// StationRecord is a station's record as last fetched.
	StationRecord(code string) (*StationRecord, error) // ErrNotFound
	// StationRecords lists every station record fetched, by code.
	StationRecords() ([]StationRecord, error)
	// KeyList is the commission's signed key list as last fetched.
	KeyList() (*KeyList, error) // ErrNotFound before the first fetch
	// Envelope is a fetched submission by its digest.
	Envelope(digest string) (*Envelope, error) // ErrNotFound
	// Envelopes lists the fetched submissions of a station, or of every
	// station when station is "", by station, contest, form, version.
	Envelopes(station string) ([]Envelope, error)
	Photo(sha256 string) ([]byte, error) // ErrNotFound
	HasPhoto(sha256 string) (bool, error)
	// Decisions lists the supervisor's signed decisions, in the order made.
	Decisions() ([]Decision, error)
	Decision(digest string) (*Decision, error) // ErrNotFound
	// Outbox lists the decisions the commission does not have yet, in the
	// order made.
	Outbox() ([]OutboxItem, error)
	// Delivery is the commission's acceptance of a decision.
	Delivery(digest string) (*Delivery, error) // ErrNotFound while unsent
	// Refusals lists the commission's refusals of decisions, in the order
	// recorded.
	Refusals() ([]Refusal, error)
	// Conflicts is the municipality's list of conflicts as last fetched.
	Conflicts() (*ConflictList, error) // ErrNotFound before the first fetch
	// AuditRecords calls fn on every audit record, in order.
	AuditRecords(fn func(audit.Record) error) error
}

// Tx changes the supervisor's state inside one transaction.
type Tx interface {
	Reader
	// PutDefinition stores the signed definition; there is only ever one.
	PutDefinition(signed []byte) error // ErrAlreadyProvisioned
	// PutProvisioning creates or updates the provisioning record.
	PutProvisioning(p *Provisioning) error
	// PutOverview replaces the overview, with its fetch time.
	PutOverview(o *Overview) error
	// PutStationRecord replaces a station's record, with its fetch time.
	PutStationRecord(r *StationRecord) error
	// PutKeyList replaces the key list, with its fetch time. The store
	// refuses a list generated before the stored one.
	PutKeyList(l *KeyList) error
	// AppendEnvelope stores a fetched submission; stored envelopes are
	// never changed or removed, and the schema refuses it too.
	AppendEnvelope(e *Envelope) error
	// PutPhoto stores a photo by its SHA-256; storing it again changes nothing.
	PutPhoto(sha256 string, data []byte, at time.Time) error
	// AppendDecision stores a signed decision; never changed or removed.
	AppendDecision(d *Decision) error
	// Enqueue puts a decision in the outbox.
	Enqueue(digest string, at time.Time) error
	// PutDelivery records that the commission has a decision and takes
	// it out of the outbox.
	PutDelivery(d *Delivery) error
	// AppendRefusal records the commission's refusal of a decision that it
	// does not have; never changed or removed.
	AppendRefusal(r *Refusal) error
	// PutConflicts replaces the list of conflicts, with its fetch time.
	PutConflicts(l *ConflictList) error
	// Audit appends the next record of the hash chain.
	Audit(at time.Time, e audit.Event) error
}

// Provisioning is what binds this laptop to its municipality.
type Provisioning struct {
	Election        string `json:"election"`
	Municipality    string `json:"municipality"`
	DefinitionKeyID string `json:"definition_key_id"`
	// PublicKey is the supervisor's key, seal.EncodePublicKey form.
	PublicKey string `json:"public_key"`
	// Vault is the supervisor's private key, sealed under the PIN.
	Vault         []byte        `json:"-"`
	Throttle      seal.Throttle `json:"throttle"`
	ProvisionedAt time.Time     `json:"provisioned_at"`
	ProvisionedBy string        `json:"provisioned_by"`
	// EnrolledAt is when the commission enrolled the supervisor's key,
	// and EnrolledWith the server that did.
	EnrolledAt   *time.Time `json:"enrolled_at,omitempty"`
	EnrolledWith string     `json:"enrolled_with,omitempty"`
}

// KeyList is the commission's signed list of enrolled keys as fetched.
type KeyList struct {
	Envelope    []byte    `json:"-"`
	Digest      string    `json:"digest"`
	GeneratedAt time.Time `json:"generated_at"`
	FetchedAt   time.Time `json:"fetched_at"`
}

// Envelope is a station's submission as fetched, exactly as signed. It is
// stored only once it verified against the key list.
type Envelope struct {
	Digest     string            `json:"digest"`
	Station    string            `json:"station"`
	Contest    string            `json:"contest"`
	Form       election.FormKind `json:"form"`
	Version    int               `json:"version"`
	Supersedes string            `json:"supersedes,omitempty"`
	KeyID      string            `json:"key_id"`
	Raw        []byte            `json:"-"`
	FetchedAt  time.Time         `json:"fetched_at"`
}

// Decision is one of the supervisor's signed decisions.
type Decision struct {
	Digest     string            `json:"digest"` // of the decision's envelope
	Submission string            `json:"submission"`
	Station    string            `json:"station"`
	Contest    string            `json:"contest"`
	Form       election.FormKind `json:"form"`
	Verdict    election.Verdict  `json:"verdict"`
	Reason     string            `json:"reason,omitempty"`
	SignedBy   string            `json:"signed_by"`
	DecidedAt  time.Time         `json:"decided_at"`
	Envelope   []byte            `json:"-"`
}

// OutboxItem is a decision waiting to reach the commission.
type OutboxItem struct {
	Digest   string    `json:"digest"`
	QueuedAt time.Time `json:"queued_at"`
}

// Delivery is the commission's word that it stored a decision.
type Delivery struct {
	Digest     string    `json:"digest"`
	ReceivedAt time.Time `json:"received_at"` // the commission's clock
	RecordedAt time.Time `json:"recorded_at"` // ours
}
