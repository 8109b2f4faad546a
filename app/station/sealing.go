package station

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"tally/app/audit"
	"tally/app/election"
	"tally/app/provision"
	"tally/app/seal"
)

// ErrWrongKey refuses to seal with a key that is not this station's.
var ErrWrongKey = errors.New("the key is not this station's key")

// Seal signs the agreed form as its next version and queues it for the
// commission, in one transaction: a version is never sealed without being
// queued. The form must be agreed, carry the photo of the paper form, and
// have every error confirmed. The key comes from Unlock.
func (s *Service) Seal(ctx context.Context, key FormKey, signer *seal.PrivateKey) (*Version, error) {
	var sealed *Version
	err := s.onSheet(ctx, key, func(tx Tx, sc *scope, l *election.Layout, sh *Sheet) error {
		if err := check(sh.State, OpSeal); err != nil {
			return err
		}
		p, err := tx.Provisioning()
		if err != nil {
			return err
		}
		if signer == nil || seal.EncodePublicKey(signer.Public()) != p.PublicKey {
			return ErrWrongKey
		}
		if sh.Photo == "" {
			return &election.InputError{Field: election.FieldPhoto, Key: election.InputPhotoMissing}
		}
		form := sh.form(sc.def.Election.ID, sc.station.Code, sh.Agreed())
		findings := election.Validate(l, sc.station, form)
		confirmed := confirmedErrors(findings, sh.Confirmed)
		if err := election.CheckConfirmations(findings, confirmed); err != nil {
			return err
		}
		at := s.clock()
		sub := election.Submission{
			Format: election.SubmissionFormat, Form: *form, Version: sh.Version, Confirmed: confirmed,
			SealedAt: at, Sequence: p.Sequence + 1,
		}
		if sh.Version > 1 {
			sub.Supersedes = sh.Head
		}
		payload, err := json.Marshal(sub)
		if err != nil {
			return err
		}
		// What the commission will check, checked here first: a version the
		// server would refuse must not be sealed.
		if _, _, err := election.ParseSubmission(payload, sc.def); err != nil {
			return err
		}
		env, err := seal.Sign(election.SubmissionPayloadType, payload, signer)
		if err != nil {
			return err
		}
		v := &Version{Key: key, Version: sh.Version, Digest: seal.Digest(env), Supersedes: sub.Supersedes,
			Envelope: env, SealedAt: at, Sequence: sub.Sequence}
		if err := tx.AppendVersion(v); err != nil {
			return err
		}
		if err := tx.Enqueue(v.Digest, at); err != nil {
			return err
		}
		p.Sequence = sub.Sequence
		if err := tx.PutProvisioning(p); err != nil {
			return err
		}
		if err := sh.move(OpSeal, StateSealed); err != nil {
			return err
		}
		sh.Head, sh.Reason = v.Digest, ""
		sealed = v
		return s.putSheet(tx, sh, at, audit.Event{Action: "form.seal", Actor: signer.ID(),
			Details: map[string]any{"version": v.Version, "digest": v.Digest, "supersedes": v.Supersedes,
				"sequence": v.Sequence, "confirmed": len(confirmed)}})
	})
	if err != nil {
		return nil, err
	}
	return sealed, nil
}

// confirmedErrors keeps the confirmations of the errors that fire, in the
// order of the findings.
func confirmedErrors(findings []election.Finding, confirmed []election.Confirmation) []election.Confirmation {
	var out []election.Confirmation
	for _, f := range election.Errors(findings) {
		for _, c := range confirmed {
			if c.Rule == f.Code {
				out = append(out, c)
				break
			}
		}
	}
	return out
}

// Correct starts a new version of a sealed form, to supersede the head:
// the first entry begins with the head's numbers for the named
// commissioner to change, and a blind second entry follows as before. The
// sealed versions stay as they are.
func (s *Service) Correct(ctx context.Context, key FormKey, by string) error {
	name, err := provision.PersonName(by)
	if err != nil {
		return err
	}
	return s.onSheet(ctx, key, func(tx Tx, sc *scope, l *election.Layout, sh *Sheet) error {
		if err := check(sh.State, OpCorrect); err != nil {
			return err
		}
		if sh.Version >= election.MaxVersion {
			return fmt.Errorf("%s has reached the last version number %d", key, election.MaxVersion)
		}
		head, err := tx.Version(sh.Head)
		if err != nil {
			return err
		}
		sub, err := payloadOf(head.Envelope)
		if err != nil {
			return err
		}
		if err := sh.move(OpCorrect, StateFirstEntry); err != nil {
			return err
		}
		sh.Version++
		sh.First = Draft{By: name, Values: map[election.Field]int{election.FieldMembers: sub.Form.Members}}
		for f, v := range sub.Form.Counts {
			sh.First.Values[f] = v
		}
		sh.Second = Draft{Values: map[election.Field]int{}}
		sh.Resolved, sh.Confirmed = nil, nil
		sh.Remarks, sh.Objections, sh.Photo = sub.Form.Remarks, sub.Form.Objections, sub.Form.PhotoSHA256
		for f, v := range sh.First.Values {
			if err := tx.PutValue(key, sh.Version, First, f, v, true); err != nil {
				return err
			}
		}
		return s.putSheet(tx, sh, s.clock(), audit.Event{Action: "form.correct", Actor: name,
			Details: map[string]any{"version": sh.Version, "supersedes": sh.Head}})
	})
}

// payloadOf reads the submission inside one of the station's own sealed
// envelopes.
func payloadOf(env []byte) (*election.Submission, error) {
	e, err := seal.Parse(env, election.MaxSubmissionSize*2)
	if err != nil {
		return nil, err
	}
	var sub election.Submission
	if err := json.Unmarshal(e.Payload, &sub); err != nil {
		return nil, fmt.Errorf("sealed version: %w", err)
	}
	return &sub, nil
}
