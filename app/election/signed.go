package election

import (
	"encoding/json"
	"errors"
	"fmt"

	"tally/app/seal"
)

// Problem codes of a signed definition.
const (
	ProblemBadSignature        = "bad-signature"
	ProblemWrongElection       = "wrong-election"
	ProblemFingerprintMismatch = "fingerprint-mismatch"
)

// maxSignedDefinitionSize leaves room for base64 and the signatures.
const maxSignedDefinitionSize = MaxDefinitionSize/3*4 + 64<<10

// Sign seals a definition with the commission's definition key, which must
// be the key the definition names.
func Sign(d *Definition, key *seal.PrivateKey) ([]byte, error) {
	if got := seal.EncodePublicKey(key.Public()); got != d.Election.Keys.Definition {
		return nil, fmt.Errorf("election: signing key %s is not the definition key the election names", key.ID())
	}
	payload, err := json.Marshal(d)
	if err != nil {
		return nil, fmt.Errorf("election: encode definition: %w", err)
	}
	return seal.Sign(PayloadType, payload, key)
}

// Trust is what the importer already knows of the commission. An empty
// field is not checked; a station that has no printed fingerprint yet must
// show the definition key's fingerprint to the user to compare.
type Trust struct {
	DefinitionKeyID string // seal.KeyID of the commission's definition key
	ElectionID      string
}

// OpenSigned verifies a signed definition and loads it. The envelope must
// carry a valid signature by the definition key the payload names; that
// key must be the trusted one; the election must be the expected one.
// Verification is over the exact payload bytes received.
func OpenSigned(raw []byte, t Trust) (*Definition, error) {
	env, err := seal.Parse(raw, maxSignedDefinitionSize)
	if err != nil {
		return nil, signatureProblem(err)
	}
	if env.PayloadType != PayloadType {
		return nil, signatureProblem(fmt.Errorf("payload type %q", env.PayloadType))
	}
	// Only the key is read before the signature verifies.
	var head struct {
		Election struct {
			ID   string `json:"id"`
			Keys struct {
				Definition string `json:"definition"`
			} `json:"keys"`
		} `json:"election"`
	}
	if err := json.Unmarshal(env.Payload, &head); err != nil {
		return nil, signatureProblem(err)
	}
	key, err := seal.ParsePublicKey(head.Election.Keys.Definition)
	if err != nil {
		return nil, signatureProblem(err)
	}
	if t.DefinitionKeyID != "" && key.ID != t.DefinitionKeyID {
		return nil, Problems{{Path: "$.election.keys.definition", Code: ProblemFingerprintMismatch, Args: map[string]any{
			"Got": seal.Fingerprint(key.ID), "Want": seal.Fingerprint(t.DefinitionKeyID)}}}
	}
	ring, err := seal.NewKeyring(key)
	if err != nil {
		return nil, signatureProblem(err)
	}
	opened, err := seal.Open(raw, maxSignedDefinitionSize, PayloadType, ring)
	if err != nil {
		return nil, signatureProblem(err)
	}
	d, err := Load(opened.Payload)
	if err != nil {
		return nil, err
	}
	if t.ElectionID != "" && d.Election.ID != t.ElectionID {
		return nil, Problems{{Path: "$.election.id", Code: ProblemWrongElection, Args: map[string]any{
			"Got": d.Election.ID, "Want": t.ElectionID}}}
	}
	return d, nil
}

func signatureProblem(err error) error {
	return Problems{{Path: "$", Code: ProblemBadSignature, Args: map[string]any{"Detail": err.Error()}}}
}

// IsSignatureProblem reports whether err refuses a definition because its
// signature or key is not the commission's.
func IsSignatureProblem(err error) bool {
	var ps Problems
	if !errors.As(err, &ps) {
		return false
	}
	for _, p := range ps {
		if p.Code == ProblemBadSignature || p.Code == ProblemFingerprintMismatch {
			return true
		}
	}
	return false
}
