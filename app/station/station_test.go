package station_test

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tally/app/election"
	"tally/app/seal"
	"tally/app/station"
)

var asm = station.FormKey{Contest: "ASM", Form: election.ResultsForm}

func TestProvision(t *testing.T) {
	signed := smallDefinition(t, election.Assembly)
	request := func(e *env) station.ProvisionRequest {
		return station.ProvisionRequest{Definition: signed, Fingerprint: e.c.fingerprint(), Station: stationCode,
			PIN: []byte(testPIN), By: "Arta Krasniqi"}
	}
	t.Run("OK", func(t *testing.T) {
		e := openEnv(t, t.TempDir()+"/s.db")
		p, err := e.svc.Provision(e.ctx, request(e))
		require.NoError(t, err)
		assert.Equal(t, stationCode, p.Station)
		st, err := e.svc.Status(e.ctx)
		require.NoError(t, err)
		assert.Equal(t, p.PublicKey, st.StationKey)
		require.Len(t, st.Forms, 1)
		assert.Equal(t, station.StateEmpty, st.Forms[0].State)
		assert.Equal(t, uint64(1), e.auditCount())
	})
	refused := map[string]func(*station.ProvisionRequest){
		"ErrFingerprint":   func(r *station.ProvisionRequest) { r.Fingerprint = seal.Fingerprint(seededKey(t, 9).ID()) },
		"ErrNoFingerprint": func(r *station.ProvisionRequest) { r.Fingerprint = "" },
		"ErrStation":       func(r *station.ProvisionRequest) { r.Station = "99999Z" },
		"ErrWeakPIN":       func(r *station.ProvisionRequest) { r.PIN = []byte("123456") },
		"ErrShortPIN":      func(r *station.ProvisionRequest) { r.PIN = []byte("4719") },
		"ErrNoName":        func(r *station.ProvisionRequest) { r.By = "  " },
		"ErrTampered": func(r *station.ProvisionRequest) {
			r.Definition = append([]byte(nil), r.Definition...)
			r.Definition[len(r.Definition)/2] ^= 1
		},
	}
	for name, change := range refused {
		t.Run(name, func(t *testing.T) {
			e := openEnv(t, t.TempDir()+"/s.db")
			r := request(e)
			change(&r)
			_, err := e.svc.Provision(e.ctx, r)
			require.Error(t, err)
			_, err = e.svc.Status(e.ctx)
			assert.ErrorIs(t, err, station.ErrNotProvisioned, "a refused provisioning stores nothing")
			assert.Equal(t, uint64(0), e.auditCount())
		})
	}
	t.Run("ErrTwice", func(t *testing.T) {
		e := newEnv(t, election.Assembly)
		_, err := e.svc.Provision(e.ctx, request(e))
		assert.ErrorIs(t, err, station.ErrAlreadyProvisioned)
	})
}

func TestUnlock(t *testing.T) {
	e := newEnv(t, election.Assembly)
	before := e.auditCount()
	// Two typos cost nothing; the third wrong PIN makes the next attempt wait.
	for i := range 3 {
		_, err := e.svc.Unlock(e.ctx, []byte("0000-0000"))
		require.ErrorIs(t, err, seal.ErrWrongPIN, "attempt %d", i+1)
	}
	assert.Equal(t, before+3, e.auditCount(), "each wrong PIN is audited")
	// A new service on the same store: the throttle survives a restart.
	e.svc = station.New(e.db, station.Options{Now: e.clock.Now, KDF: testKDF})
	_, err := e.svc.Unlock(e.ctx, []byte(testPIN))
	var tooSoon *seal.TooSoonError
	require.ErrorAs(t, err, &tooSoon, "the throttle holds even for the right PIN")
	e.clock.Advance(tooSoon.Wait)
	key, err := e.svc.Unlock(e.ctx, []byte(testPIN))
	require.NoError(t, err)
	assert.Equal(t, e.key.ID(), key.ID())
	st, err := e.svc.Status(e.ctx)
	require.NoError(t, err)
	assert.Zero(t, st.Provisioned.Throttle.Failures, "a right PIN clears the failures")
}

func TestLifecycle(t *testing.T) {
	e := newEnv(t, election.Assembly)
	l := e.layout(asm)
	values := cleanValues(l, e.station)

	// First entry, field by field.
	require.NoError(t, e.svc.Begin(e.ctx, asm, station.First, "Arta Krasniqi"))
	for f, v := range values {
		require.NoError(t, e.svc.SaveField(e.ctx, asm, station.First, f, itoa(v)))
	}
	require.NoError(t, e.svc.SaveField(e.ctx, asm, station.First, election.FieldRemarks, " Një vëzhgues\r\nishte i pranishëm. "))
	_, err := e.svc.AttachPhoto(e.ctx, asm, photo("v1"), "Arta Krasniqi")
	require.NoError(t, err)
	require.NoError(t, e.svc.Finish(e.ctx, asm, station.First))

	// The second entry is blind.
	v, err := e.svc.Open(e.ctx, asm)
	require.NoError(t, err)
	assert.Equal(t, station.StateSecondPending, v.State)
	assert.Nil(t, v.Values, "the first entry's numbers are not shown to the second typist")
	err = e.svc.Begin(e.ctx, asm, station.Second, " arta  KRASNIQI ")
	var ie *election.InputError
	require.ErrorAs(t, err, &ie)
	assert.Equal(t, election.InputSamePerson, ie.Key)
	require.NoError(t, e.svc.Begin(e.ctx, asm, station.Second, "Besnik Gashi"))
	v, err = e.svc.Open(e.ctx, asm)
	require.NoError(t, err)
	assert.Empty(t, v.Values)
	assert.Equal(t, station.Second, v.Entry)

	// One typing mistake in the second entry.
	for f, n := range values {
		if f == election.FieldG {
			n++
		}
		require.NoError(t, e.svc.SaveField(e.ctx, asm, station.Second, f, itoa(n)))
	}
	require.NoError(t, e.svc.Finish(e.ctx, asm, station.Second))
	v, err = e.svc.Open(e.ctx, asm)
	require.NoError(t, err)
	assert.Equal(t, station.StateDifferences, v.State)
	assert.Equal(t, []election.Difference{{Field: election.FieldG, First: itoa(values[election.FieldG]),
		Second: itoa(values[election.FieldG] + 1)}}, v.Differences)
	err = e.svc.Resolve(e.ctx, asm, election.FieldH, "1", "Arta Krasniqi")
	require.Error(t, err, "a field on which the entries agree is not resolved")
	require.NoError(t, e.svc.Resolve(e.ctx, asm, election.FieldG, itoa(values[election.FieldG]), "Arta Krasniqi"))
	v, err = e.svc.Open(e.ctx, asm)
	require.NoError(t, err)
	assert.Equal(t, station.StateAgreed, v.State)
	assert.Equal(t, values, v.Values)
	assert.Empty(t, election.Errors(v.Findings))
	assert.Equal(t, "Një vëzhgues\nishte i pranishëm.", v.Remarks)

	// Sealing takes the station's own key.
	_, err = e.svc.Seal(e.ctx, asm, seededKey(t, 7))
	require.ErrorIs(t, err, station.ErrWrongKey)
	v1, err := e.svc.Seal(e.ctx, asm, e.key)
	require.NoError(t, err)
	assert.Equal(t, 1, v1.Version)
	assert.Equal(t, uint64(1), v1.Sequence)
	assertSubmission(t, e, v1, values)

	st, err := e.svc.Status(e.ctx)
	require.NoError(t, err)
	require.Len(t, st.Outbox, 1)
	assert.Equal(t, v1.Digest, st.Outbox[0].Digest)
	assert.False(t, st.Forms[0].Received)

	// The receipt takes it out of the outbox; the same receipt again changes nothing.
	rc, err := e.svc.RecordReceipt(e.ctx, e.receipt(v1, 41))
	require.NoError(t, err)
	assert.Equal(t, uint64(41), rc.Number)
	n := e.auditCount()
	_, err = e.svc.RecordReceipt(e.ctx, e.receipt(v1, 41))
	require.Error(t, err, "another receipt for the same submission is refused")
	st, err = e.svc.Status(e.ctx)
	require.NoError(t, err)
	assert.Empty(t, st.Outbox)
	assert.True(t, st.Forms[0].Received)
	assert.Equal(t, n, e.auditCount())

	// A correction is version 2, superseding version 1.
	require.NoError(t, e.svc.Correct(e.ctx, asm, "Arta Krasniqi"))
	v, err = e.svc.Open(e.ctx, asm)
	require.NoError(t, err)
	assert.Equal(t, station.StateFirstEntry, v.State)
	assert.Equal(t, 2, v.Version)
	assert.Equal(t, values, v.Values, "the correction starts from the head's numbers")
	corrected := clone(values)
	corrected[election.FieldD]--
	corrected[election.FieldC]--
	require.NoError(t, e.svc.SaveField(e.ctx, asm, station.First, election.FieldD, itoa(corrected[election.FieldD])))
	require.NoError(t, e.svc.SaveField(e.ctx, asm, station.First, election.FieldC, itoa(corrected[election.FieldC])))
	require.NoError(t, e.svc.Finish(e.ctx, asm, station.First))
	require.NoError(t, e.svc.Enter(e.ctx, asm, station.Second, "Besnik Gashi", typed(corrected)))
	v2, err := e.svc.Seal(e.ctx, asm, e.key)
	require.NoError(t, err)
	assert.Equal(t, 2, v2.Version)
	assert.Equal(t, v1.Digest, v2.Supersedes)
	assert.Equal(t, uint64(2), v2.Sequence)
	assertSubmission(t, e, v2, corrected)

	// Decisions: one on the old version is kept and changes nothing.
	_, err = e.svc.RecordDecision(e.ctx, e.decision(v1, election.Return, "Shiko rreshtin D."), e.c.supervisors(t))
	require.NoError(t, err)
	v, err = e.svc.Open(e.ctx, asm)
	require.NoError(t, err)
	assert.Equal(t, station.StateSealed, v.State)
	_, err = e.svc.RecordDecision(e.ctx, e.decision(v2, election.Return, "Fotografia nuk lexohet."), e.c.supervisors(t))
	require.NoError(t, err)
	v, err = e.svc.Open(e.ctx, asm)
	require.NoError(t, err)
	assert.Equal(t, station.StateReturned, v.State)
	assert.Equal(t, "Fotografia nuk lexohet.", v.Reason)
	_, err = e.svc.RecordDecision(e.ctx, e.decision(v2, election.Approve, ""), e.c.supervisors(t))
	require.NoError(t, err)
	v, err = e.svc.Open(e.ctx, asm)
	require.NoError(t, err)
	assert.Equal(t, station.StateApproved, v.State)
	var te *station.TransitionError
	require.ErrorAs(t, e.svc.Correct(e.ctx, asm, "Arta Krasniqi"), &te, "an approved form is not corrected by the station alone")

	// Nothing sealed changed along the way.
	assert.Len(t, v.Versions, 2)
	assert.Equal(t, v1.Envelope, v.Versions[0].Envelope)
	assert.Equal(t, v2.Envelope, v.Versions[1].Envelope)
	e.auditCount()
}

// assertSubmission opens a sealed version as the commission will.
func assertSubmission(t *testing.T, e *env, v *station.Version, values map[election.Field]int) {
	t.Helper()
	ring, err := seal.NewKeyring(e.key.Public())
	require.NoError(t, err)
	opened, err := seal.Open(v.Envelope, 1<<22, election.SubmissionPayloadType, ring)
	require.NoError(t, err)
	assert.Equal(t, v.Digest, opened.Digest)
	sub, _, err := election.ParseSubmission(opened.Payload, e.def)
	require.NoError(t, err)
	assert.Equal(t, v.Version, sub.Version)
	assert.Equal(t, v.Supersedes, sub.Supersedes)
	assert.Equal(t, "Arta Krasniqi", sub.Form.EnteredBy)
	assert.Equal(t, "Besnik Gashi", sub.Form.ReenteredBy)
	assert.NotEmpty(t, sub.Form.PhotoSHA256)
	assert.Equal(t, values[election.FieldMembers], sub.Form.Members)
	for f, n := range values {
		if f != election.FieldMembers {
			assert.Equal(t, n, sub.Form.Counts[f], "field %s", f)
		}
	}
}

func TestConfirm(t *testing.T) {
	e := newEnv(t, election.Assembly)
	values := cleanValues(e.layout(asm), e.station)
	values[election.FieldG]++ // F ≠ G + H on the paper form itself
	e.agree(asm, values)

	_, err := e.svc.Seal(e.ctx, asm, e.key)
	require.ErrorContains(t, err, "E.F-GH", "an error blocks sealing until confirmed")
	require.Error(t, e.svc.Confirm(e.ctx, asm, "E.H-SUM", "Kështu është.", "Arta Krasniqi"), "only a firing error is confirmed")
	require.Error(t, e.svc.Confirm(e.ctx, asm, "E.F-GH", "   ", "Arta Krasniqi"), "an explanation is required")
	require.NoError(t, e.svc.Confirm(e.ctx, asm, "E.F-GH", "Formulari në letër ka këtë numër.", "Arta Krasniqi"))
	v, err := e.svc.Seal(e.ctx, asm, e.key)
	require.NoError(t, err)
	sub := payload(t, v)
	assert.Equal(t, []election.Confirmation{{Rule: "E.F-GH", Explanation: "Formulari në letër ka këtë numër."}}, sub.Confirmed)
}

func TestSealNeedsPhoto(t *testing.T) {
	e := newEnv(t, election.Assembly)
	values := cleanValues(e.layout(asm), e.station)
	require.NoError(t, e.svc.Enter(e.ctx, asm, station.First, "Arta Krasniqi", typed(values)))
	require.NoError(t, e.svc.Enter(e.ctx, asm, station.Second, "Besnik Gashi", typed(values)))
	_, err := e.svc.Seal(e.ctx, asm, e.key)
	var ie *election.InputError
	require.ErrorAs(t, err, &ie)
	assert.Equal(t, election.FieldPhoto, ie.Field)
	assert.Equal(t, election.InputPhotoMissing, ie.Key)

	for key, data := range map[string][]byte{
		election.InputPhotoMissing:  nil,
		election.InputPhotoFormat:   []byte("not a picture"),
		election.InputPhotoTooLarge: append(photo("x"), make([]byte, station.MaxPhotoSize)...),
	} {
		_, err := e.svc.AttachPhoto(e.ctx, asm, data, "Arta Krasniqi")
		require.ErrorAs(t, err, &ie)
		assert.Equal(t, key, ie.Key)
	}
	for _, data := range [][]byte{photo("a"), []byte("\x89PNG\r\n\x1a\nrest"), []byte("%PDF-1.7 rest")} {
		sha, err := e.svc.AttachPhoto(e.ctx, asm, data, "Arta Krasniqi")
		require.NoError(t, err)
		assert.Len(t, sha, 64)
	}
	_, err = e.svc.Seal(e.ctx, asm, e.key)
	require.NoError(t, err)
}

func TestEnterWithPhotoAndText(t *testing.T) {
	e := newEnv(t, election.Assembly)
	values := cleanValues(e.layout(asm), e.station)
	first := typed(values)
	remarks := "Votimi përfundoi në orën 19:00."
	first.Remarks, first.Photo = &remarks, photo("entered")
	require.NoError(t, e.svc.Enter(e.ctx, asm, station.First, "Arta Krasniqi", first))
	v, err := e.svc.Open(e.ctx, asm)
	require.NoError(t, err)
	assert.Equal(t, station.StateSecondPending, v.State)
	assert.Equal(t, remarks, v.Remarks)
	assert.Len(t, v.Photo, 64)

	second := typed(values)
	second.Remarks = &remarks
	require.Error(t, e.svc.Enter(e.ctx, asm, station.Second, "Besnik Gashi", second), "the text goes with the first entry")
	require.NoError(t, e.svc.Enter(e.ctx, asm, station.Second, "Besnik Gashi", typed(values)))
	sealed, err := e.svc.Seal(e.ctx, asm, e.key)
	require.NoError(t, err)
	assert.Equal(t, remarks, payload(t, sealed).Form.Remarks)

	// A correction typed from a file without text keeps the remarks.
	require.NoError(t, e.svc.Correct(e.ctx, asm, "Arta Krasniqi"))
	require.NoError(t, e.svc.Enter(e.ctx, asm, station.First, "Arta Krasniqi", typed(values)))
	v, err = e.svc.Open(e.ctx, asm)
	require.NoError(t, err)
	assert.Equal(t, remarks, v.Remarks)
}

func TestBadInputChangesNothing(t *testing.T) {
	e := newEnv(t, election.Assembly)
	require.NoError(t, e.svc.Begin(e.ctx, asm, station.First, "Arta Krasniqi"))
	require.NoError(t, e.svc.SaveField(e.ctx, asm, station.First, election.FieldB, "400"))
	before, err := e.svc.Open(e.ctx, asm)
	require.NoError(t, err)
	n := e.auditCount()
	for _, tc := range []struct {
		field election.Field
		text  string
		key   string
	}{
		{election.FieldB, "-3", election.InputNegative},
		{election.FieldB, "4OO", election.InputNotANumber},
		{election.FieldB, "99999999", election.InputTooLarge},
		{election.FieldMembers, "31", election.InputTooLarge},
		{"I.999", "1", election.InputUnknownField},
		{"K.1.1", "1", election.InputUnknownField},
		{election.FieldRemarks, "a\x00b", election.InputBadText},
	} {
		err := e.svc.SaveField(e.ctx, asm, station.First, tc.field, tc.text)
		var ie *election.InputError
		require.ErrorAs(t, err, &ie, "%s=%q", tc.field, tc.text)
		assert.Equal(t, tc.field, ie.Field)
		assert.Equal(t, tc.key, ie.Key)
	}
	// A whole entry with one bad value, or a bad photo, is refused whole.
	values := cleanValues(e.layout(asm), e.station)
	bad := typed(values)
	bad.Values[election.FieldH] = "12a"
	err = e.svc.Enter(e.ctx, asm, station.First, "Arta Krasniqi", bad)
	require.ErrorContains(t, err, "H")
	bad = typed(values)
	bad.Photo = []byte("GIF89a")
	err = e.svc.Enter(e.ctx, asm, station.First, "Arta Krasniqi", bad)
	require.ErrorAs(t, err, new(*election.InputError))
	// The second entry cannot be saved while the first is in progress.
	var te *station.TransitionError
	require.ErrorAs(t, e.svc.SaveField(e.ctx, asm, station.Second, election.FieldB, "1"), &te)
	assert.Equal(t, station.StateFirstEntry, te.State)
	// Finishing with an empty field names it.
	var ie *election.InputError
	require.ErrorAs(t, e.svc.Finish(e.ctx, asm, station.First), &ie)
	assert.Equal(t, election.FieldA, ie.Field)
	// A form the station does not fill.
	require.Error(t, e.svc.Begin(e.ctx, station.FormKey{Contest: "MAY-01", Form: election.ResultsForm}, station.First, "Arta Krasniqi"))
	require.Error(t, e.svc.Begin(e.ctx, station.FormKey{Contest: "ASM", Form: election.CandidatesForm}, station.First, "Arta Krasniqi"))

	after, err := e.svc.Open(e.ctx, asm)
	require.NoError(t, err)
	assert.Equal(t, before, after)
	assert.Equal(t, n, e.auditCount(), "refused input writes no audit record")

	// Clearing a field removes it; saving the same value again writes nothing.
	require.NoError(t, e.svc.SaveField(e.ctx, asm, station.First, election.FieldB, "400"))
	assert.Equal(t, n, e.auditCount())
	require.NoError(t, e.svc.SaveField(e.ctx, asm, station.First, election.FieldB, " "))
	v, err := e.svc.Open(e.ctx, asm)
	require.NoError(t, err)
	assert.NotContains(t, v.Values, election.FieldB)
}

func TestTransitionsRefused(t *testing.T) {
	// Every operation not in a state's list is refused in that state; walk
	// a form through its states and try each operation's use case.
	e := newEnv(t, election.Assembly)
	values := cleanValues(e.layout(asm), e.station)
	try := func(op station.Op) error {
		switch op {
		case station.OpBeginFirst:
			return e.svc.Begin(e.ctx, asm, station.First, "Drita Berisha")
		case station.OpSaveFirst:
			return e.svc.SaveField(e.ctx, asm, station.First, election.FieldB, "1")
		case station.OpFinishFirst:
			return e.svc.Finish(e.ctx, asm, station.First)
		case station.OpBeginSecond:
			return e.svc.Begin(e.ctx, asm, station.Second, "Drita Berisha")
		case station.OpSaveSecond:
			return e.svc.SaveField(e.ctx, asm, station.Second, election.FieldB, "1")
		case station.OpFinishSecond:
			return e.svc.Finish(e.ctx, asm, station.Second)
		case station.OpResolve:
			return e.svc.Resolve(e.ctx, asm, election.FieldB, "1", "Drita Berisha")
		case station.OpConfirm:
			return e.svc.Confirm(e.ctx, asm, "E.F-GH", "x", "Drita Berisha")
		case station.OpAttachPhoto:
			_, err := e.svc.AttachPhoto(e.ctx, asm, photo("other"), "Drita Berisha")
			return err
		case station.OpSeal:
			_, err := e.svc.Seal(e.ctx, asm, e.key)
			return err
		case station.OpCorrect:
			return e.svc.Correct(e.ctx, asm, "Drita Berisha")
		}
		return nil // approve and return come from a supervisor's decision
	}
	steps := []struct {
		state station.State
		next  func()
	}{
		{station.StateEmpty, func() { require.NoError(t, e.svc.Begin(e.ctx, asm, station.First, "Arta Krasniqi")) }},
		{station.StateFirstEntry, func() {
			require.NoError(t, e.svc.Enter(e.ctx, asm, station.First, "Arta Krasniqi", typed(values)))
		}},
		{station.StateSecondPending, func() { require.NoError(t, e.svc.Begin(e.ctx, asm, station.Second, "Besnik Gashi")) }},
		{station.StateSecondEntry, func() {
			different := clone(values)
			different[election.FieldA]++
			require.NoError(t, e.svc.Enter(e.ctx, asm, station.Second, "Besnik Gashi", typed(different)))
		}},
		{station.StateDifferences, func() {
			require.NoError(t, e.svc.Resolve(e.ctx, asm, election.FieldA, itoa(values[election.FieldA]), "Arta Krasniqi"))
			_, err := e.svc.AttachPhoto(e.ctx, asm, photo("p"), "Arta Krasniqi")
			require.NoError(t, err)
		}},
		{station.StateAgreed, func() {
			_, err := e.svc.Seal(e.ctx, asm, e.key)
			require.NoError(t, err)
		}},
		{station.StateSealed, nil},
	}
	for _, step := range steps {
		allowed := map[station.Op]bool{}
		for _, op := range station.Allowed(step.state) {
			allowed[op] = true
		}
		for _, op := range []station.Op{station.OpBeginFirst, station.OpSaveFirst, station.OpFinishFirst,
			station.OpBeginSecond, station.OpSaveSecond, station.OpFinishSecond, station.OpResolve,
			station.OpConfirm, station.OpAttachPhoto, station.OpSeal, station.OpCorrect} {
			if allowed[op] {
				continue
			}
			n := e.auditCount()
			err := try(op)
			var te *station.TransitionError
			require.True(t, errors.As(err, &te), "%s in %s: got %v", op, step.state, err)
			assert.Equal(t, step.state, te.State)
			assert.Equal(t, n, e.auditCount())
		}
		v, err := e.svc.Open(e.ctx, asm)
		require.NoError(t, err)
		require.Equal(t, step.state, v.State)
		if step.next != nil {
			step.next()
		}
	}
}

func TestMunicipalElection(t *testing.T) {
	// A station of a municipal election fills two forms: mayor and assembly.
	e := newEnv(t, election.Municipal)
	st, err := e.svc.Status(e.ctx)
	require.NoError(t, err)
	require.Len(t, st.Forms, 2)
	for _, f := range st.Forms {
		e.agree(f.Key, cleanValues(e.layout(f.Key), e.station))
		_, err := e.svc.Seal(e.ctx, f.Key, e.key)
		require.NoError(t, err)
	}
	st, err = e.svc.Status(e.ctx)
	require.NoError(t, err)
	assert.Len(t, st.Outbox, 2)
	assert.Equal(t, uint64(2), st.Provisioned.Sequence)
}
