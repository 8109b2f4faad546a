package station

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
	ErrNotProvisioned     = errors.New("this laptop is not provisioned for a station yet")
	ErrAlreadyProvisioned = errors.New("this laptop is already provisioned")
	ErrNotFound           = errors.New("not found")
)

// Store keeps the station's state. storage/stationdb implements it over
// SQLite.
type Store interface {
	// Update runs fn in one write transaction, committed durably when fn
	// returns nil and rolled back when it returns an error, so that a
	// refused operation changes nothing.
	Update(ctx context.Context, fn func(Tx) error) error
	// View runs fn on one consistent snapshot.
	View(ctx context.Context, fn func(Reader) error) error
}

// Reader reads the station's state.
type Reader interface {
	// Definition is the signed election definition as imported.
	Definition() ([]byte, error)          // ErrNotProvisioned
	Provisioning() (*Provisioning, error) // ErrNotProvisioned
	// Sheet is the form's working state; NewSheet(key) for a form never opened.
	Sheet(key FormKey) (*Sheet, error)
	// Sheets lists every sheet ever opened.
	Sheets() ([]*Sheet, error)
	// Versions lists a form's sealed versions, oldest first.
	Versions(key FormKey) ([]Version, error)
	// AllVersions calls fn on every sealed version, in the order sealed.
	AllVersions(fn func(Version) error) error
	Version(digest string) (*Version, error) // ErrNotFound
	// Outbox lists the versions sealed and not yet receipted, in the
	// order sealed (by sequence, whatever the wall clock said).
	Outbox() ([]OutboxItem, error)
	// Receipts lists the stored receipts, in the order stored.
	Receipts() ([]StoredReceipt, error)
	// Receipt is the receipt of a submission, by the submission's digest.
	Receipt(submission string) (*StoredReceipt, error) // ErrNotFound
	// Decisions lists the supervisors' decisions, in the order stored.
	Decisions() ([]StoredDecision, error)
	Photo(sha256 string) ([]byte, error) // ErrNotFound
	// AuditRecords calls fn on every audit record, in order.
	AuditRecords(fn func(audit.Record) error) error
	// Delivery is the sending of a version so far.
	Delivery(digest string) (*Delivery, error) // ErrNotFound before the first attempt
	// Uploaded reports whether the commission holds a photo.
	Uploaded(sha256 string) (bool, error)
}

// Tx changes the station's state inside one transaction.
type Tx interface {
	Reader
	// PutDefinition stores the signed definition; there is only ever one.
	PutDefinition(signed []byte) error // ErrAlreadyProvisioned
	// PutProvisioning creates or updates the provisioning record.
	PutProvisioning(p *Provisioning) error
	// PutSheet stores the scalar part of a sheet (not its draft values).
	PutSheet(s *Sheet) error
	// PutValue stores one draft value of one entry of one version, or
	// removes it when present is false.
	PutValue(key FormKey, version int, e Entry, f election.Field, value int, present bool) error
	// PutPhoto stores a photo by its SHA-256; storing it again changes nothing.
	PutPhoto(sha256 string, data []byte) error
	// AppendVersion stores a sealed version. Versions are never changed
	// or removed, and the schema refuses it too.
	AppendVersion(v *Version) error
	// Enqueue puts a sealed version in the outbox.
	Enqueue(digest string, at time.Time) error
	// PutReceipt stores a receipt and takes its submission out of the
	// outbox. Storing the same receipt again changes nothing.
	PutReceipt(r *StoredReceipt) error
	// PutDecision stores a decision; the same decision again changes nothing.
	PutDecision(d *StoredDecision) error
	// Audit appends the next record of the hash chain.
	Audit(at time.Time, e audit.Event) error
	// PutDelivery creates or replaces the delivery of a version (it is
	// bookkeeping, not record: it may change).
	PutDelivery(d *Delivery) error
	// PutUploaded notes that the commission holds a photo.
	PutUploaded(sha256 string, at time.Time) error
}

// Provisioning is what binds this laptop to its station.
type Provisioning struct {
	Election        string `json:"election"`
	Station         string `json:"station"`
	DefinitionKeyID string `json:"definition_key_id"`
	// PublicKey is the station's key, seal.EncodePublicKey form.
	PublicKey string `json:"public_key"`
	// Vault is the station's private key, sealed under the chair's PIN.
	Vault    []byte        `json:"-"`
	Throttle seal.Throttle `json:"throttle"`
	// Sequence is the last sequence number given to a sealed version.
	Sequence      uint64    `json:"sequence"`
	ProvisionedAt time.Time `json:"provisioned_at"`
	// EnrolledAt is when the commission enrolled the station's key, and
	// EnrolledWith the server that did.
	EnrolledAt   *time.Time `json:"enrolled_at,omitempty"`
	EnrolledWith string     `json:"enrolled_with,omitempty"`
}

// Version is one sealed version of a form: the envelope exactly as signed.
type Version struct {
	Key        FormKey   `json:"key"`
	Version    int       `json:"version"`
	Digest     string    `json:"digest"`
	Supersedes string    `json:"supersedes,omitempty"`
	Envelope   []byte    `json:"-"`
	SealedAt   time.Time `json:"sealed_at"`
	Sequence   uint64    `json:"sequence"`
}

// OutboxItem is a sealed version waiting for its receipt.
type OutboxItem struct {
	Digest   string    `json:"digest"`
	Key      FormKey   `json:"key"`
	Version  int       `json:"version"`
	QueuedAt time.Time `json:"queued_at"`
}

// StoredReceipt is a verified receipt as stored.
type StoredReceipt struct {
	Submission string    `json:"submission"` // digest of the receipted envelope
	Digest     string    `json:"digest"`     // digest of the receipt's own envelope
	Number     uint64    `json:"number"`
	ReceivedAt time.Time `json:"received_at"`
	Envelope   []byte    `json:"-"`
	StoredAt   time.Time `json:"stored_at"`
}

// StoredDecision is a verified supervisor's decision as stored.
type StoredDecision struct {
	Digest     string           `json:"digest"` // digest of the decision's envelope
	Submission string           `json:"submission"`
	Key        FormKey          `json:"key"`
	Verdict    election.Verdict `json:"verdict"`
	Reason     string           `json:"reason,omitempty"`
	SignedBy   string           `json:"signed_by"`
	DecidedAt  time.Time        `json:"decided_at"`
	Envelope   []byte           `json:"-"`
	StoredAt   time.Time        `json:"stored_at"`
}
