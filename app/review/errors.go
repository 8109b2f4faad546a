package review

import (
	"errors"
	"fmt"
	"time"

	"tally/app/provision"
	"tally/app/seal"
)

// Refusals of the supervisor's use cases. Each is wrapped with a message
// that names what was wrong.
var (
	// ErrFingerprintMismatch refuses a definition signed by another key
	// than the one whose fingerprint the commission printed.
	ErrFingerprintMismatch = provision.ErrFingerprintMismatch
	// ErrWrongKey refuses a key that is not this supervisor's.
	ErrWrongKey = errors.New("the key is not this supervisor's key")
	// ErrOutsideMunicipality refuses what concerns a station that is not
	// one of the supervisor's municipality (or not in the election).
	ErrOutsideMunicipality = errors.New("outside the supervisor's municipality")
	// ErrNoKeyList: nothing can be verified before the commission's key
	// list is fetched.
	ErrNoKeyList = errors.New("the commission's list of station keys has not been fetched yet")
	// ErrStaleKeyList refuses a key list older than the one stored: an
	// old list could bring a revoked key back.
	ErrStaleKeyList = errors.New("the key list is older than the one already stored")
	// ErrTampered: a listed key's signature does not verify over the
	// bytes received.
	ErrTampered = errors.New("the envelope was changed after it was signed")
	// ErrPhotoMismatch refuses a photo whose bytes do not hash to its name.
	ErrPhotoMismatch = errors.New("the photo's SHA-256 is not the one it was fetched under")
	// ErrReasonRequired refuses a return without a reason.
	ErrReasonRequired = errors.New("a form is returned only with a reason")
	// ErrNotHead refuses a decision on a version that a later one superseded.
	ErrNotHead = errors.New("a decision is made on the latest version only")
	// ErrInvalidView refuses a fetched view that contradicts the definition.
	ErrInvalidView = errors.New("the server's answer does not fit the election")
)

// KeyError refuses a submission whose signing key the commission's list
// does not hold for the form's station, as a station's key in force.
type KeyError struct {
	KeyID   string
	Station string // the station whose form it signed
	// Reason says what the list holds of the key.
	Reason    KeyProblem
	Unit      string     // the key's station or municipality, when listed
	RevokedAt *time.Time // when it was revoked, for KeyRevoked
}

// KeyProblem is why a key is not trusted for a station.
type KeyProblem string

// Why a key is refused.
const (
	KeyNotListed    KeyProblem = "not-listed"    // the list does not hold it
	KeyRevoked      KeyProblem = "revoked"       // revoked by the commission
	KeyOtherStation KeyProblem = "other-station" // another station's key
	KeyNotStation   KeyProblem = "not-a-station" // a supervisor's key
)

func (e *KeyError) Error() string {
	fp := seal.Fingerprint(e.KeyID)
	switch e.Reason {
	case KeyRevoked:
		return fmt.Sprintf("the form of station %s is signed by key %s, which the commission revoked on %s",
			e.Station, fp, e.RevokedAt.UTC().Format(time.RFC3339))
	case KeyOtherStation:
		return fmt.Sprintf("the form of station %s is signed by key %s, which is enrolled for station %s",
			e.Station, fp, e.Unit)
	case KeyNotStation:
		return fmt.Sprintf("the form of station %s is signed by key %s, which is the supervisor's key of %s, not a station's",
			e.Station, fp, e.Unit)
	default:
		return fmt.Sprintf("the form of station %s is signed by key %s, which is not in the commission's list of enrolled keys",
			e.Station, fp)
	}
}
