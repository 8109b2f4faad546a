package commission

import (
	"context"
	"errors"
	"time"

	"tally/app/audit"
	"tally/app/election"
	"tally/app/enrollment"
)

// maxDecisionEnvelope bounds a decision's envelope.
const maxDecisionEnvelope = election.MaxAnswerSize*2 + 4096

// Decide stores a supervisor's signed decision on a submission of a
// station of the supervisor's municipality. The same decision again
// changes nothing.
func (s *Service) Decide(ctx context.Context, raw []byte) (*Decision, error) {
	def, err := s.Definition(ctx)
	if err != nil {
		return nil, err
	}
	key, opened, err := s.openSigned(ctx, raw, maxDecisionEnvelope, election.DecisionPayloadType, "decision", EInvalid, false)
	if err != nil {
		return nil, err
	}
	if key.Role != enrollment.RoleSupervisor || key.Revoked() {
		return nil, Errorf(EForbidden, "key %s is not a supervisor's key in force", key.ID)
	}
	d, err := election.ParseDecision(opened.Payload)
	if err != nil {
		return nil, Errorf(EInvalid, "%v", err)
	}
	if d.Election != def.Election.ID {
		return nil, Errorf(EInvalid, "the decision is for election %q, not %q", d.Election, def.Election.ID)
	}
	st, ok := def.Station(d.Station)
	if !ok {
		return nil, Errorf(ENotFound, "station %q is not in election %s", d.Station, def.Election.ID)
	}
	if st.Municipality != key.Unit {
		return nil, Errorf(EForbidden, "the supervisor of municipality %s cannot decide on station %s of municipality %s",
			key.Unit, st.Code, st.Municipality)
	}
	at := s.clock()
	dec := &Decision{Digest: opened.Digest, Submission: d.Submission,
		FormRef:      FormRef{Station: d.Station, Contest: d.Contest, Form: d.Form},
		Municipality: st.Municipality, Verdict: d.Verdict, Reason: d.Reason, KeyID: key.ID,
		DecidedAt: d.DecidedAt.UTC().Truncate(time.Microsecond), ReceivedAt: at, Envelope: raw}
	err = s.store.Update(ctx, func(tx Tx) error {
		k, err := tx.Key(key.ID)
		if err != nil {
			return err
		}
		if k.Revoked() {
			return Errorf(EForbidden, "key %s was revoked on %s", k.ID, k.RevokedAt.Format(time.RFC3339))
		}
		sub, err := tx.Submission(d.Submission)
		if errors.Is(err, ErrNotFound) {
			return Errorf(ENotFound, "submission %s is not stored", d.Submission)
		} else if err != nil {
			return err
		}
		if sub.FormRef != dec.FormRef {
			return Errorf(EInvalid, "the decision names %s, the submission is %s", formSubject(dec.FormRef), formSubject(sub.FormRef))
		}
		fresh, err := tx.InsertDecision(dec)
		if err != nil {
			return err
		}
		if !fresh {
			old, err := tx.Decision(dec.Digest)
			if err != nil {
				return err
			}
			dec = old
			return nil
		}
		return tx.Audit(at, audit.Event{Action: "decision.store", Subject: formSubject(dec.FormRef), Actor: key.ID,
			Details: map[string]any{"submission": d.Submission, "verdict": d.Verdict, "reason": d.Reason,
				"decision": dec.Digest}})
	})
	if err != nil {
		return nil, err
	}
	return dec, nil
}
