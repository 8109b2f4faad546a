package commissiontest

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tally/app/audit"
	"tally/app/commission"
	"tally/app/election"
	"tally/app/enrollment"
	"tally/app/seal"
)

// t0 has microseconds, which every stored time must keep.
var t0 = time.Date(2026, 10, 4, 19, 42, 7, 123456000, time.UTC)

// minute is t0 plus n minutes and n microseconds: times that differ in
// every field.
func minute(n int) time.Time {
	return t0.Add(time.Duration(n)*time.Minute + time.Duration(n)*time.Microsecond)
}

// Two municipalities: 01 with stations 0101A and 0101B, 02 with 0201A.
const (
	muniA = "01"
	muniB = "02"
	stA1  = "0101A"
	stA2  = "0101B"
	stB1  = "0201A"
)

var municipalityOf = map[string]string{stA1: muniA, stA2: muniA, stB1: muniB}

func formOf(station, contest string, kind election.FormKind) commission.FormRef {
	return commission.FormRef{Station: station, Contest: contest, Form: kind}
}

// submission makes version n of a form, superseding prev (nil for version
// 1). note makes envelopes for the same version differ. The digest is the
// envelope's, as seal.Digest makes it.
func submission(f commission.FormRef, version int, prev *commission.Submission, note string) *commission.Submission {
	s := &commission.Submission{FormRef: f, Municipality: municipalityOf[f.Station], Version: version,
		KeyID: "key-" + f.Station, SealedAt: minute(version), ReceivedAt: minute(60 + version)}
	if prev != nil {
		s.Supersedes = prev.Digest
	}
	s.Envelope = fmt.Appendf(nil, `{"payloadType":"application/vnd.tally.submission+json","payload":"%s/%s/%s v%d %s","signatures":[{"keyid":%q,"sig":"c2ln"}]}`,
		f.Station, f.Contest, f.Form, version, note, s.KeyID)
	s.Digest = seal.Digest(s.Envelope)
	if version > 1 {
		s.PhotoSHA256 = seal.Digest([]byte("photo of " + s.Digest))
	}
	return s
}

func conflictOf(s *commission.Submission, reason string, at time.Time) *commission.Conflict {
	return &commission.Conflict{Digest: s.Digest, FormRef: s.FormRef, Municipality: s.Municipality,
		Version: s.Version, Supersedes: s.Supersedes, KeyID: s.KeyID, Reason: reason, Envelope: s.Envelope, At: at}
}

func decisionOn(s *commission.Submission, verdict election.Verdict, reason string, at time.Time) *commission.Decision {
	env := fmt.Appendf(nil, `{"payloadType":"application/vnd.tally.decision+json","payload":"%s %s %s"}`,
		s.Digest, verdict, reason)
	return &commission.Decision{Digest: seal.Digest(env), Submission: s.Digest, FormRef: s.FormRef,
		Municipality: s.Municipality, Verdict: verdict, Reason: reason, KeyID: "supervisor-" + s.Municipality,
		DecidedAt: at, ReceivedAt: at.Add(time.Second), Envelope: env}
}

func stationKey(id, station string, at time.Time) *commission.Key {
	return &commission.Key{ID: id, Public: "ed25519:" + id, Role: enrollment.RoleStation, Unit: station, EnrolledAt: at}
}

func codeFor(role enrollment.Role, unit, secret string, at time.Time) *commission.Code {
	return &commission.Code{Hash: enrollment.Hash("2026-local", role, unit, secret), Role: role, Unit: unit, IssuedAt: at}
}

func event(action, subject string, n int) audit.Event {
	return audit.Event{Action: action, Subject: subject, Actor: "Arta Krasniqi",
		Details: map[string]any{"n": n, "note": "Ç ë Ђ"}}
}

func update(t *testing.T, st commission.Store, fn func(commission.Tx) error) {
	t.Helper()
	require.NoError(t, st.Update(t.Context(), fn))
}

func view(t *testing.T, st commission.Store, fn func(commission.Reader) error) {
	t.Helper()
	require.NoError(t, st.View(t.Context(), fn))
}

// read returns what fn reads in a View, failing the test on an error.
func read[T any](t *testing.T, st commission.Store, fn func(commission.Reader) (T, error)) T {
	t.Helper()
	var v T
	view(t, st, func(r commission.Reader) error {
		var err error
		v, err = fn(r)
		return err
	})
	return v
}

// readErr is the error fn's read ends with, in a View.
func readErr(t *testing.T, st commission.Store, fn func(commission.Reader) error) error {
	t.Helper()
	var inner error
	err := st.View(t.Context(), func(r commission.Reader) error {
		inner = fn(r)
		return nil
	})
	require.NoError(t, err)
	return inner
}

// write returns what fn returns in an Update, failing the test on an error.
func write[T any](t *testing.T, st commission.Store, fn func(commission.Tx) (T, error)) T {
	t.Helper()
	var v T
	update(t, st, func(tx commission.Tx) error {
		var err error
		v, err = fn(tx)
		return err
	})
	return v
}

// insert stores submissions that are new, each in the same Update.
func insert(t *testing.T, st commission.Store, subs ...*commission.Submission) {
	t.Helper()
	update(t, st, func(tx commission.Tx) error {
		for _, s := range subs {
			ok, err := tx.InsertSubmission(s)
			if err != nil {
				return err
			}
			if !ok {
				return fmt.Errorf("submission %s v%d was not stored", formSubject(s.FormRef), s.Version)
			}
		}
		return nil
	})
}

func formSubject(f commission.FormRef) string {
	return f.Station + "/" + f.Contest + "/" + string(f.Form)
}

func assertNotFound(t *testing.T, err error, what string) {
	t.Helper()
	assert.ErrorIs(t, err, commission.ErrNotFound, what)
	assert.Equal(t, commission.ENotFound, commission.KindOf(err), "%s: %v", what, err)
}

func assertConflict(t *testing.T, err error, what string) {
	t.Helper()
	require.Error(t, err, what)
	assert.Equal(t, commission.EConflict, commission.KindOf(err), "%s: %v", what, err)
}

// verifyChain reads the whole audit chain and verifies it.
func verifyChain(t *testing.T, st commission.Store) []audit.Record {
	t.Helper()
	var (
		v       audit.Verifier
		records []audit.Record
	)
	view(t, st, func(r commission.Reader) error {
		return r.AuditRecords(func(rec audit.Record) error {
			records = append(records, rec)
			return v.Add(rec)
		})
	})
	assert.Equal(t, uint64(len(records)), v.Count())
	return records
}
