package review

import (
	"encoding/json"
	"errors"
	"fmt"

	"tally/app/election"
	"tally/app/enrollment"
	"tally/app/seal"
)

// maxSubmissionEnvelope bounds a submission's envelope: the payload's
// limit in base64, and room for the signature.
const maxSubmissionEnvelope = election.MaxSubmissionSize*4/3 + 16<<10

// verified is a submission that verified here, from its envelope.
type verified struct {
	digest   string
	keyID    string
	station  *election.Station
	sub      *election.Submission
	findings []election.Finding
	layout   *election.Layout
}

// openKeyList verifies the stored key list again under the receipt key.
func (sc *scope) openKeyList(stored *KeyList) (*enrollment.KeyList, error) {
	if stored == nil {
		return nil, ErrNoKeyList
	}
	list, err := enrollment.OpenKeyList(stored.Envelope, sc.receipt, sc.def.Election.ID)
	if err != nil {
		return nil, fmt.Errorf("the stored key list no longer verifies: %w", err)
	}
	return list, nil
}

// verifySubmission checks a station's envelope here, as the commission
// would: the strict envelope, one signature, by a key the commission's
// list holds for the form's station as a station key in force, over the
// exact bytes received; then the payload against the definition. The
// station must be one of the municipality's.
func (sc *scope) verifySubmission(list *enrollment.KeyList, raw []byte) (*verified, error) {
	env, err := seal.Parse(raw, maxSubmissionEnvelope)
	if err != nil {
		return nil, fmt.Errorf("submission: %w", err)
	}
	if env.PayloadType != election.SubmissionPayloadType {
		return nil, fmt.Errorf("submission: payload type %q is not %q", env.PayloadType, election.SubmissionPayloadType)
	}
	if len(env.Signatures) != 1 {
		return nil, fmt.Errorf("submission: a submission carries exactly one signature; this has %d", len(env.Signatures))
	}
	// The station is read before the signature verifies only to choose
	// the keys to verify it with: a false claim fails the verification.
	var claim struct {
		Form struct {
			Station string `json:"station"`
		} `json:"form"`
	}
	if err := json.Unmarshal(env.Payload, &claim); err != nil {
		return nil, fmt.Errorf("submission: %w", err)
	}
	st, err := sc.station(claim.Form.Station)
	if err != nil {
		return nil, err
	}
	ring, err := list.Ring(enrollment.RoleStation, st.Code)
	if err != nil {
		return nil, err
	}
	keyID := env.Signatures[0].KeyID
	opened, err := env.Open(raw, election.SubmissionPayloadType, ring)
	switch {
	case errors.Is(err, seal.ErrUntrusted):
		return nil, keyProblem(list, keyID, st.Code)
	case errors.Is(err, seal.ErrBadSignature):
		return nil, fmt.Errorf("%w: the signature of station %s's key %s does not verify: %v",
			ErrTampered, st.Code, seal.Fingerprint(keyID), err)
	case err != nil:
		return nil, fmt.Errorf("submission: %w", err)
	}
	sub, findings, err := election.ParseSubmission(opened.Payload, sc.def)
	if err != nil {
		return nil, err
	}
	l, err := sc.def.Layout(sub.Form.Contest, sub.Form.Kind)
	if err != nil {
		return nil, err
	}
	return &verified{digest: opened.Digest, keyID: keyID, station: st, sub: sub, findings: findings, layout: l}, nil
}

// keyProblem says why the list does not make a key one of the station's.
func keyProblem(list *enrollment.KeyList, keyID, station string) error {
	e := &KeyError{KeyID: keyID, Station: station, Reason: KeyNotListed}
	for _, k := range list.Keys {
		if k.ID != keyID {
			continue
		}
		e.Unit = k.Unit
		switch {
		case k.Role != enrollment.RoleStation:
			e.Reason = KeyNotStation
		case k.Unit != station:
			e.Reason = KeyOtherStation
		case k.RevokedAt != nil:
			e.Reason, e.RevokedAt = KeyRevoked, k.RevokedAt
		}
		break
	}
	return e
}

// envelopeRecord is what is stored of a verified submission.
func (v *verified) envelopeRecord(raw []byte) *Envelope {
	return &Envelope{Digest: v.digest, Station: v.station.Code, Contest: v.sub.Form.Contest, Form: v.sub.Form.Kind,
		Version: v.sub.Version, Supersedes: v.sub.Supersedes, KeyID: v.keyID, Raw: raw}
}
