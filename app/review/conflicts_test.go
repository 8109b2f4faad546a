package review_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tally/app/commission"
	"tally/app/election"
	"tally/app/review"
)

// conflictList is the server's answer to GET
// /v1/municipalities/{code}/conflicts.
func (e *env) conflictList() *review.ConflictList {
	e.t.Helper()
	l, err := review.ParseConflicts(e.get("/v1/municipalities/" + e.muni + "/conflicts"))
	require.NoError(e.t, err)
	return l
}

// conflict sends an envelope that the commission refuses as a conflict.
func (e *env) conflict(raw []byte) {
	e.t.Helper()
	_, err := e.comm.Submit(e.ctx, raw)
	require.Error(e.t, err)
	require.Equal(e.t, commission.EConflict, commission.KindOf(err), "%v", err)
}

// TestConflicts: the commission's list of conflicts is stored as fetched
// and shown with the version each contradicts; the form stands in
// conflict on the dashboard until a new version comes.
func TestConflicts(t *testing.T) {
	e := newEnv(t)
	sts := e.stations()
	a, b := sts[0], sts[1]
	ka, kb := e.enroll(a), e.enroll(b)
	va := e.submit(e.seal(e.form(a, nil), ka, 1, ""))
	vb := e.submit(e.seal(e.form(b, nil), kb, 1, ""))
	e.refresh()

	// a: another envelope for version 1. b: a version 3 after version 1.
	e.clock.Advance(time.Minute)
	otherA := e.seal(e.form(a, func(f *election.Form) { f.Remarks = "another laptop" }), ka, 1, "")
	e.conflict(otherA)
	notNext := e.seal(e.form(b, func(f *election.Form) { f.Members++ }), kb, 3, vb)
	e.conflict(notNext)

	// Before the first fetch: nothing, and the dashboard says never.
	c, err := e.svc.Conflicts(e.ctx)
	require.NoError(t, err)
	assert.Empty(t, c.Conflicts)
	assert.True(t, c.FetchedAt.IsZero())

	require.NoError(t, e.svc.RecordOverview(e.ctx, e.overview()))
	require.NoError(t, e.svc.RecordConflicts(e.ctx, e.conflictList()))
	m, err := e.svc.Missing(e.ctx)
	require.NoError(t, err)
	assert.Equal(t, []string{a.Code, b.Code}, m.Stations, "the records that tell which version each contradicts")

	// Without the records, the stored version is not known here.
	c, err = e.svc.Conflicts(e.ctx)
	require.NoError(t, err)
	require.Len(t, c.Conflicts, 2)
	assert.Equal(t, review.ConflictUnknown, c.Conflicts[0].Kind)

	require.NoError(t, e.svc.RecordStation(e.ctx, e.stationRecord(a.Code)))
	require.NoError(t, e.svc.RecordStation(e.ctx, e.stationRecord(b.Code)))
	m, err = e.svc.Missing(e.ctx)
	require.NoError(t, err)
	assert.Empty(t, m.Stations)

	c, err = e.svc.Conflicts(e.ctx)
	require.NoError(t, err)
	require.Len(t, c.Conflicts, 2)
	newest, oldest := c.Conflicts[0], c.Conflicts[1]
	assert.Equal(t, b.Code, newest.Station, "newest first")
	assert.Equal(t, b.Name, newest.StationName)
	assert.Equal(t, review.ConflictNotNext, newest.Kind)
	assert.Equal(t, vb, newest.Stored)
	assert.Equal(t, 1, newest.StoredVersion)
	assert.Equal(t, 3, newest.Version)
	assert.Equal(t, vb, newest.Supersedes)
	assert.NotEmpty(t, newest.Reason)
	assert.True(t, newest.Standing)
	assert.Equal(t, a.Code, oldest.Station)
	assert.Equal(t, review.ConflictSameVersion, oldest.Kind)
	assert.Equal(t, va, oldest.Stored)
	assert.Equal(t, sha(otherA), oldest.Digest)

	d, err := e.svc.Dashboard(e.ctx, review.Filter{})
	require.NoError(t, err)
	assert.Equal(t, 2, d.Conflicts)
	assert.Equal(t, 2, d.Counts[review.Conflict])
	assert.Equal(t, review.Conflict, rowOf(t, d, a.Code).State)
	d, err = e.svc.Dashboard(e.ctx, review.Filter{State: review.Conflict})
	require.NoError(t, err)
	assert.Equal(t, []string{a.Code, b.Code}, codes(d))

	// b's real version 2 arrives: b's conflict no longer stands, and is
	// still listed.
	e.clock.Advance(time.Minute)
	e.submit(e.seal(e.form(b, func(f *election.Form) { f.Members++ }), kb, 2, vb))
	e.refresh()
	require.NoError(t, e.svc.RecordConflicts(e.ctx, e.conflictList()))
	require.NoError(t, e.svc.RecordStation(e.ctx, e.stationRecord(b.Code)))
	c, err = e.svc.Conflicts(e.ctx)
	require.NoError(t, err)
	require.Len(t, c.Conflicts, 2)
	assert.False(t, c.Conflicts[0].Standing)
	assert.Equal(t, review.ConflictNotNext, c.Conflicts[0].Kind, "version 2 came after the conflict")
	assert.Equal(t, vb, c.Conflicts[0].Stored)
	assert.True(t, c.Conflicts[1].Standing)
	d, err = e.svc.Dashboard(e.ctx, review.Filter{})
	require.NoError(t, err)
	assert.Equal(t, review.Received, rowOf(t, d, b.Code).State)
	assert.Equal(t, 1, d.Counts[review.Conflict])
	assert.Equal(t, 2, d.Conflicts)

	_, _, err = e.svc.VerifyAudit(e.ctx)
	require.NoError(t, err)
}

func TestRecordConflictsRefusals(t *testing.T) {
	e := newEnv(t)
	sts := e.stations()
	a := sts[0]
	ka := e.enroll(a)
	e.submit(e.seal(e.form(a, nil), ka, 1, ""))
	e.conflict(e.seal(e.form(a, func(f *election.Form) { f.Remarks = "x" }), ka, 1, ""))
	other := e.def.Municipalities[1].Code
	var elsewhere string
	for _, st := range e.def.Stations {
		if st.Municipality == other {
			elsewhere = st.Code
			break
		}
	}
	for name, edit := range map[string]func(l *review.ConflictList){
		"ErrMunicipality":    func(l *review.ConflictList) { l.Municipality = other },
		"ErrOtherStation":    func(l *review.ConflictList) { l.Conflicts[0].Station = elsewhere },
		"ErrUnknownStation":  func(l *review.ConflictList) { l.Conflicts[0].Station = "XXXX" },
		"ErrForm":            func(l *review.ConflictList) { l.Conflicts[0].Contest = "nope" },
		"ErrVersion":         func(l *review.ConflictList) { l.Conflicts[0].Version = 0 },
		"ErrDigest":          func(l *review.ConflictList) { l.Conflicts[0].Digest = "ABC" },
		"ErrSupersedes":      func(l *review.ConflictList) { l.Conflicts[0].Supersedes = "zz" },
		"ErrKey":             func(l *review.ConflictList) { l.Conflicts[0].KeyID = "" },
		"ErrNoTime":          func(l *review.ConflictList) { l.Conflicts[0].At = time.Time{} },
		"ErrTwice":           func(l *review.ConflictList) { l.Conflicts = append(l.Conflicts, l.Conflicts[0]) },
		"ErrNoList":          nil,
		"ErrStrictUnknownKV": nil,
	} {
		t.Run(name, func(t *testing.T) {
			before := e.counts()
			switch name {
			case "ErrNoList":
				require.ErrorIs(t, e.svc.RecordConflicts(e.ctx, nil), review.ErrInvalidView)
			case "ErrStrictUnknownKV":
				_, err := review.ParseConflicts([]byte(`{"municipality":"` + e.muni + `","conflicts":[],"extra":1}`))
				require.Error(t, err)
				_, err = review.ParseConflicts([]byte(`{"municipality":"` + e.muni + `","conflicts":[]} {}`))
				require.Error(t, err)
			default:
				l := e.conflictList()
				require.Len(t, l.Conflicts, 1)
				edit(l)
				err := e.svc.RecordConflicts(e.ctx, l)
				require.ErrorIs(t, err, review.ErrInvalidView)
			}
			assert.Equal(t, before, e.counts(), "a refused list changes nothing")
			c, err := e.svc.Conflicts(e.ctx)
			require.NoError(t, err)
			assert.Empty(t, c.Conflicts)
		})
	}
	t.Run("OK", func(t *testing.T) {
		before := e.counts()
		require.NoError(t, e.svc.RecordConflicts(e.ctx, e.conflictList()))
		require.NoError(t, e.svc.RecordConflicts(e.ctx, e.conflictList()))
		assert.Equal(t, before.audit+1, e.counts().audit, "the same list again is not audited again")
	})
}

// TestRefusedDecisionOnDashboard: a decision the commission refused is
// not counted as waiting; it stands on the dashboard with the reason
// while it is the latest decision on its form, and a new decision ends
// that.
func TestRefusedDecisionOnDashboard(t *testing.T) {
	e := newEnv(t)
	a := e.stations()[0]
	ka := e.enroll(a)
	va := e.submit(e.seal(e.form(a, nil), ka, 1, ""))
	e.refresh()
	first, err := e.svc.Decide(e.ctx, va, election.Approve, "", e.key)
	require.NoError(t, err)
	d, err := e.svc.Dashboard(e.ctx, review.Filter{})
	require.NoError(t, err)
	assert.Equal(t, review.Waiting, rowOf(t, d, a.Code).State)
	assert.Equal(t, 1, d.Pending)
	assert.Empty(t, d.Refused)

	require.NoError(t, e.svc.RecordDecisionRefused(e.ctx, first.Digest, "key 7F3A… is revoked"))
	d, err = e.svc.Dashboard(e.ctx, review.Filter{})
	require.NoError(t, err)
	row := rowOf(t, d, a.Code)
	assert.Equal(t, review.Refused, row.State)
	assert.Equal(t, "key 7F3A… is revoked", row.Forms[0].Refusal)
	assert.Zero(t, d.Pending, "a refused decision does not wait to be sent")
	assert.Equal(t, 1, d.Counts[review.Refused])
	require.Len(t, d.Refused, 1)
	assert.Equal(t, first.Digest, d.Refused[0].Decision.Digest)
	assert.Equal(t, "key 7F3A… is revoked", d.Refused[0].Refusal.Reason)
	assert.Equal(t, 1, d.Refused[0].Version)
	assert.Equal(t, va, d.Refused[0].Head)

	s, err := e.svc.OpenSubmission(e.ctx, va)
	require.NoError(t, err)
	require.Len(t, s.Decisions, 1)
	require.NotNil(t, s.Decisions[0].Refused)
	assert.Equal(t, "key 7F3A… is revoked", s.Decisions[0].Refused.Reason)
	assert.True(t, s.Head, "a new decision may be signed")
	standing, err := e.svc.StandingRefusals(e.ctx)
	require.NoError(t, err)
	assert.Contains(t, standing, first.Digest)

	second, err := e.svc.Decide(e.ctx, va, election.Return, "Rreshti C.", e.key)
	require.NoError(t, err)
	d, err = e.svc.Dashboard(e.ctx, review.Filter{})
	require.NoError(t, err)
	assert.Equal(t, review.Waiting, rowOf(t, d, a.Code).State)
	assert.Equal(t, 1, d.Pending)
	assert.Empty(t, d.Refused, "the new decision stands")
	standing, err = e.svc.StandingRefusals(e.ctx)
	require.NoError(t, err)
	assert.Empty(t, standing)
	refused, err := e.svc.RefusedDecisions(e.ctx)
	require.NoError(t, err)
	assert.Contains(t, refused, first.Digest, "still refused, and never sent again")
	pending, err := e.svc.PendingDecisions(e.ctx)
	require.NoError(t, err)
	assert.Len(t, pending, 2, "the refused one stays in the outbox, never to leave it without a delivery")
	stored, err := e.comm.Decide(e.ctx, second.Envelope)
	require.NoError(t, err)
	require.NoError(t, e.svc.RecordDecisionSent(e.ctx, second.Digest, review.DecisionAnswer{Digest: stored.Digest,
		ReceivedAt: stored.ReceivedAt}))
	d, err = e.svc.Dashboard(e.ctx, review.Filter{})
	require.NoError(t, err)
	assert.Equal(t, review.Returned, rowOf(t, d, a.Code).State)
}
