package commission

import (
	"time"

	"tally/app/election"
	"tally/app/enrollment"
)

// Key is a station's or a supervisor's public key, bound to its place in
// the election by a one-time code.
type Key struct {
	ID            string          `json:"id"`
	Public        string          `json:"public_key"` // seal.EncodePublicKey
	Role          enrollment.Role `json:"role"`
	Unit          string          `json:"unit"` // the station's code, or the supervisor's municipality
	EnrolledAt    time.Time       `json:"enrolled_at"`
	RevokedAt     *time.Time      `json:"revoked_at,omitempty"`
	RevokedReason string          `json:"revoked_reason,omitempty"`
}

// Revoked reports whether the key was revoked.
func (k *Key) Revoked() bool { return k.RevokedAt != nil }

// Code is an enrollment code as the server keeps it: only its hash.
type Code struct {
	Hash     string          `json:"hash"` // enrollment.Hash
	Role     enrollment.Role `json:"role"`
	Unit     string          `json:"unit"`
	IssuedAt time.Time       `json:"issued_at"`
	// UsedAt and UsedBy are set when the code enrolled a key; a code
	// enrolls once.
	UsedAt *time.Time `json:"used_at,omitempty"`
	UsedBy string     `json:"used_by,omitempty"`
	// RetiredAt is set when a newer code was issued for the same unit.
	RetiredAt *time.Time `json:"retired_at,omitempty"`
}

// FormRef names one form of one station.
type FormRef struct {
	Station string            `json:"station"`
	Contest string            `json:"contest"`
	Form    election.FormKind `json:"form"`
}

// VersionRef names one version of one form.
type VersionRef struct {
	FormRef
	Version int
}

// Submission is one verified, stored version of a station's form.
type Submission struct {
	Digest string `json:"digest"` // seal.Digest of the envelope
	FormRef
	Municipality string    `json:"municipality"`
	Version      int       `json:"version"`
	Supersedes   string    `json:"supersedes,omitempty"`
	KeyID        string    `json:"key_id"`
	PhotoSHA256  string    `json:"photo_sha256,omitempty"`
	Envelope     []byte    `json:"-"`
	SealedAt     time.Time `json:"sealed_at"` // the station's clock
	// Number and ReceivedAt are the receipt's: the commission's running
	// number and its clock when the submission became durable.
	Number     uint64    `json:"number"`
	ReceivedAt time.Time `json:"received_at"`
}

// Conflict is a submission that verified but contradicts what is stored:
// another envelope for the same version, or a version that does not
// supersede the current head. It is kept for the supervisor.
type Conflict struct {
	ID     uint64 `json:"id"`
	Digest string `json:"digest"`
	FormRef
	Municipality string    `json:"municipality"`
	Version      int       `json:"version"`
	Supersedes   string    `json:"supersedes,omitempty"`
	KeyID        string    `json:"key_id"`
	Reason       string    `json:"reason"`
	Envelope     []byte    `json:"-"`
	At           time.Time `json:"at"`
}

// Decision is a supervisor's verified decision on a submission.
type Decision struct {
	Digest     string `json:"digest"` // of the decision's envelope
	Submission string `json:"submission"`
	FormRef
	Municipality string           `json:"municipality"`
	Verdict      election.Verdict `json:"verdict"`
	Reason       string           `json:"reason,omitempty"`
	KeyID        string           `json:"key_id"`
	DecidedAt    time.Time        `json:"decided_at"`
	ReceivedAt   time.Time        `json:"received_at"`
	Envelope     []byte           `json:"-"`
}

// Attachment is a stored photo or scan of a paper form.
type Attachment struct {
	SHA256     string    `json:"sha256"`
	Size       int64     `json:"size"`
	Station    string    `json:"station"` // who uploaded it
	ReceivedAt time.Time `json:"received_at"`
}

// Upload is an attachment on its way in, in pieces.
type Upload struct {
	SHA256   string `json:"sha256"`
	Size     int64  `json:"size"`     // the whole file's
	Received int64  `json:"received"` // bytes stored so far, from the start
	Station  string `json:"station"`
}
