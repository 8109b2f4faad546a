package review_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tally/app/election"
	"tally/app/review"
)

// TestMissing: what the stored views name and the laptop does not hold
// is listed to be fetched: the records of stations with a version (all
// of them the first time, then those whose forms the overview shows
// otherwise), the envelopes and the photos.
func TestMissing(t *testing.T) {
	e := newEnv(t)
	sts := e.stations()
	a, b := sts[0], sts[1]
	ka := e.enroll(a)
	e.enroll(b)
	da := e.submit(e.seal(e.form(a, nil), ka, 1, ""))

	m, err := e.svc.Missing(e.ctx)
	require.NoError(t, err)
	assert.Equal(t, &review.ToFetch{}, m, "nothing before the first overview")

	_, err = e.svc.RecordKeyList(e.ctx, e.keyList())
	require.NoError(t, err)
	require.NoError(t, e.svc.RecordOverview(e.ctx, e.overview()))
	m, err = e.svc.Missing(e.ctx)
	require.NoError(t, err)
	assert.Equal(t, []string{a.Code}, m.Stations, "only the station with a version")
	assert.Equal(t, []string{da}, m.Envelopes)
	assert.Empty(t, m.Photos, "photos are named by the station's record")

	require.NoError(t, e.svc.RecordStation(e.ctx, e.stationRecord(a.Code)))
	m, err = e.svc.Missing(e.ctx)
	require.NoError(t, err)
	assert.Empty(t, m.Stations, "the record is as fresh as the overview")
	assert.Equal(t, []string{da}, m.Envelopes)
	photo := photoOf(a, 1)
	assert.Equal(t, []string{sha(photo)}, m.Photos)

	_, err = e.svc.RecordSubmission(e.ctx, e.envelope(da))
	require.NoError(t, err)
	require.NoError(t, e.svc.RecordPhoto(e.ctx, sha(photo), photo))
	m, err = e.svc.Missing(e.ctx)
	require.NoError(t, err)
	assert.Equal(t, &review.ToFetch{}, m)

	// The same overview again: the record is not read again.
	require.NoError(t, e.svc.RecordOverview(e.ctx, e.overview()))
	m, err = e.svc.Missing(e.ctx)
	require.NoError(t, err)
	assert.Empty(t, m.Stations)

	// A correction: the overview shows version 2, the record is stale.
	d2 := e.submit(e.seal(e.form(a, func(f *election.Form) { f.Remarks = "corrected" }), ka, 2, da))
	require.NoError(t, e.svc.RecordOverview(e.ctx, e.overview()))
	m, err = e.svc.Missing(e.ctx)
	require.NoError(t, err)
	assert.Equal(t, []string{a.Code}, m.Stations)
	assert.Equal(t, []string{d2}, m.Envelopes)
}

// TestDecisionRefused: the commission's refusal of a decision is kept in
// the audit log with its reason, once; a delivery ends it.
func TestDecisionRefused(t *testing.T) {
	e := newEnv(t)
	a := e.stations()[0]
	ka := e.enroll(a)
	da := e.submit(e.seal(e.form(a, nil), ka, 1, ""))
	e.refresh()
	d, err := e.svc.Decide(e.ctx, da, election.Approve, "", e.key)
	require.NoError(t, err)

	err = e.svc.RecordDecisionRefused(e.ctx, "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", "no")
	require.ErrorIs(t, err, review.ErrNotFound)
	require.Error(t, e.svc.RecordDecisionRefused(e.ctx, d.Digest, " "), "a refusal has a reason")

	before := e.counts()
	require.NoError(t, e.svc.RecordDecisionRefused(e.ctx, d.Digest, "the key is revoked"))
	require.NoError(t, e.svc.RecordDecisionRefused(e.ctx, d.Digest, "the key is revoked"))
	after := e.counts()
	assert.Equal(t, before.audit+1, after.audit, "the same refusal is recorded once")
	assert.Equal(t, before.outbox, after.outbox, "a refused decision stays in the outbox")

	refused, err := e.svc.RefusedDecisions(e.ctx)
	require.NoError(t, err)
	require.Contains(t, refused, d.Digest)
	assert.Equal(t, "the key is revoked", refused[d.Digest].Reason)

	require.NoError(t, e.svc.RecordDecisionSent(e.ctx, d.Digest, review.DecisionAnswer{Digest: d.Digest, ReceivedAt: time.Now()}))
	refused, err = e.svc.RefusedDecisions(e.ctx)
	require.NoError(t, err)
	assert.Empty(t, refused, "a delivered decision is no longer refused")
	require.Error(t, e.svc.RecordDecisionRefused(e.ctx, d.Digest, "late"))
	_, _, err = e.svc.VerifyAudit(e.ctx)
	require.NoError(t, err)
}
