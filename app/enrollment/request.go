package enrollment

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"

	"tally/app/seal"
)

// What a laptop sends to enroll, and the commission's list of the keys it
// enrolled: both DSSE envelopes.
const (
	RequestFormat       = "tally.enrollment/v1"
	RequestPayloadType  = "application/vnd.tally.enrollment+json"
	KeyListFormat       = "tally.keys/v1"
	KeyListPayloadType  = "application/vnd.tally.keys+json"
	MaxRequestSize      = 4 << 10
	MaxKeyListSize      = 8 << 20
	maxUnitLength       = 32
	maxElectionIDLength = 64
)

// Request asks the commission to bind the key that signs it to a station
// or a municipality's supervisor, with the printed one-time code. Signing
// the request with the new key proves that the sender holds it.
type Request struct {
	Format    string    `json:"format"`
	Election  string    `json:"election"`
	Role      Role      `json:"role"`
	Unit      string    `json:"unit"` // the station's code, or the municipality's
	Code      string    `json:"code"` // as typed; normalised by the server
	PublicKey string    `json:"public_key"`
	At        time.Time `json:"at"`
}

// SignRequest makes the envelope of an enrollment request, signed by the
// key being enrolled.
func SignRequest(r Request, key *seal.PrivateKey) ([]byte, error) {
	r.Format = RequestFormat
	r.PublicKey = seal.EncodePublicKey(key.Public())
	payload, err := json.Marshal(r)
	if err != nil {
		return nil, err
	}
	return seal.Sign(RequestPayloadType, payload, key)
}

// OpenRequest verifies an enrollment request: strictly decoded, signed by
// the key it names, with a well-formed code. It returns the request with
// its code in canonical form, and the key.
func OpenRequest(raw []byte) (*Request, seal.PublicKey, error) {
	env, err := seal.Parse(raw, MaxRequestSize)
	if err != nil {
		return nil, seal.PublicKey{}, err
	}
	if env.PayloadType != RequestPayloadType {
		return nil, seal.PublicKey{}, fmt.Errorf("enrollment: payload type %q is not %q", env.PayloadType, RequestPayloadType)
	}
	var r Request
	dec := json.NewDecoder(bytes.NewReader(env.Payload))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		return nil, seal.PublicKey{}, fmt.Errorf("enrollment: %w", err)
	}
	if dec.More() {
		return nil, seal.PublicKey{}, fmt.Errorf("enrollment: data after the request")
	}
	switch {
	case r.Format != RequestFormat:
		return nil, seal.PublicKey{}, fmt.Errorf("enrollment: format %q is not %q", r.Format, RequestFormat)
	case r.Role != RoleStation && r.Role != RoleSupervisor:
		return nil, seal.PublicKey{}, fmt.Errorf("enrollment: role %q is neither %q nor %q", r.Role, RoleStation, RoleSupervisor)
	case r.Unit == "" || len(r.Unit) > maxUnitLength:
		return nil, seal.PublicKey{}, fmt.Errorf("enrollment: unit must have 1 to %d characters", maxUnitLength)
	case r.Election == "" || len(r.Election) > maxElectionIDLength:
		return nil, seal.PublicKey{}, fmt.Errorf("enrollment: election must have 1 to %d characters", maxElectionIDLength)
	case r.At.IsZero():
		return nil, seal.PublicKey{}, fmt.Errorf("enrollment: at is missing")
	}
	if r.Code, err = Normalize(r.Code); err != nil {
		return nil, seal.PublicKey{}, err
	}
	pub, err := seal.ParsePublicKey(r.PublicKey)
	if err != nil {
		return nil, seal.PublicKey{}, fmt.Errorf("enrollment: %w", err)
	}
	ring, err := seal.NewKeyring(pub)
	if err != nil {
		return nil, seal.PublicKey{}, err
	}
	if _, err := seal.Open(raw, MaxRequestSize, RequestPayloadType, ring); err != nil {
		return nil, seal.PublicKey{}, fmt.Errorf("enrollment: not signed by the key it enrolls: %w", err)
	}
	return &r, pub, nil
}

// KeyList is the commission's signed list of every key it enrolled, so
// that a supervisor's app can verify a station's submission itself and a
// station can verify its supervisor's decision.
type KeyList struct {
	Format      string      `json:"format"`
	Election    string      `json:"election"`
	GeneratedAt time.Time   `json:"generated_at"`
	Keys        []ListedKey `json:"keys"`
}

// ListedKey is one key of the list.
type ListedKey struct {
	ID         string     `json:"id"`
	PublicKey  string     `json:"public_key"`
	Role       Role       `json:"role"`
	Unit       string     `json:"unit"`
	EnrolledAt time.Time  `json:"enrolled_at"`
	RevokedAt  *time.Time `json:"revoked_at,omitempty"`
}

// OpenKeyList verifies a key list signed by the commission's key and
// decodes it strictly.
func OpenKeyList(raw []byte, commission *seal.Keyring, electionID string) (*KeyList, error) {
	opened, err := seal.Open(raw, MaxKeyListSize, KeyListPayloadType, commission)
	if err != nil {
		return nil, fmt.Errorf("key list: %w", err)
	}
	var l KeyList
	dec := json.NewDecoder(bytes.NewReader(opened.Payload))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&l); err != nil {
		return nil, fmt.Errorf("key list: %w", err)
	}
	if l.Format != KeyListFormat {
		return nil, fmt.Errorf("key list: format %q is not %q", l.Format, KeyListFormat)
	}
	if l.Election != electionID {
		return nil, fmt.Errorf("key list: for election %q, not %q", l.Election, electionID)
	}
	for i, k := range l.Keys {
		pub, err := seal.ParsePublicKey(k.PublicKey)
		if err != nil {
			return nil, fmt.Errorf("key list: key %d: %w", i, err)
		}
		if pub.ID != k.ID {
			return nil, fmt.Errorf("key list: key %d: id %q is not its key's", i, k.ID)
		}
	}
	return &l, nil
}

// Ring is the keyring of the list's keys of a role and unit that are not
// revoked.
func (l *KeyList) Ring(role Role, unit string) (*seal.Keyring, error) {
	var keys []seal.PublicKey
	for _, k := range l.Keys {
		if k.Role == role && k.Unit == unit && k.RevokedAt == nil {
			pub, err := seal.ParsePublicKey(k.PublicKey)
			if err != nil {
				return nil, err
			}
			keys = append(keys, pub)
		}
	}
	return seal.NewKeyring(keys...)
}

// An enrolled key proves itself to the commission's server by signing a
// challenge the server gave, in exchange for a short-lived token.
const (
	AuthFormat      = "tally.auth/v1"
	AuthPayloadType = "application/vnd.tally.auth+json"
)

// Auth answers a server's challenge.
type Auth struct {
	Format    string    `json:"format"`
	Election  string    `json:"election"`
	Challenge string    `json:"challenge"`
	At        time.Time `json:"at"`
}

// SignAuth signs the answer to a challenge with an enrolled key.
func SignAuth(electionID, challenge string, at time.Time, key *seal.PrivateKey) ([]byte, error) {
	payload, err := json.Marshal(Auth{Format: AuthFormat, Election: electionID, Challenge: challenge, At: at})
	if err != nil {
		return nil, err
	}
	return seal.Sign(AuthPayloadType, payload, key)
}
