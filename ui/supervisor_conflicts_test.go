package ui

import (
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/widget"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tally/app/election"
	"tally/app/review"
)

// TestSupervisorConflicts: another envelope for a version the commission
// holds is refused there as a conflict; once fetched, the dashboard
// counts the station as in conflict and leads to the commission's list,
// which names the station, the form, the version, when, both digests and
// why; from there, the keyboard opens the station.
func TestSupervisorConflicts(t *testing.T) {
	r := newSupRig(t)
	s := r.tellStory()
	other := r.conflict(r.form(s.b, 2, paperPhoto(s.b.Code, 9), func(f *election.Form) { f.Remarks = "another laptop" }),
		s.kb, 1, "")
	r.fetchConflicts()
	r.start()

	conflictState := r.T("ui.sup.count", map[string]any{"State": r.ui.w.supState(review.Conflict), "Count": "1"})
	r.button(conflictState)
	button := r.button(r.T("ui.sup.conflicts-button", map[string]any{"Count": "1"}))
	assert.Equal(t, widget.DangerImportance, button.Importance, "a conflict wants attention")
	r.tap(conflictState)
	assert.Equal(t, []string{s.b.Code}, r.listed())

	r.tap(r.T("ui.sup.conflicts-button", map[string]any{"Count": "1"}))
	require.True(t, r.onScreen("conflicts"), r.win.Title())
	assert.True(t, r.shows(r.T("ui.sup.conflicts.title", nil)))
	heading := r.T("ui.sup.conflict.heading", map[string]any{"Code": s.b.Code, "Name": s.b.Name,
		"Form": r.ui.formName(s.b.Forms[0].Contest, s.b.Forms[0].Form), "Version": 1, "Time": "X"})
	assert.True(t, r.shows(heading[:len(heading)-1]), "station, form, version")
	assert.True(t, r.shows(r.T("ui.sup.conflict.standing", nil)))
	assert.True(t, r.shows(r.T("ui.sup.conflict.why.same-version", map[string]any{"Version": 1})))
	assert.True(t, r.shows(other), "the refused envelope's digest")
	assert.True(t, r.shows(s.vb), "the digest of the version the commission holds")
	assert.True(t, r.shows(r.T("ui.sup.conflict.stored", map[string]any{"Version": 1})))
	assert.True(t, r.shows("already stored as "+s.vb), "the commission's own words, under the details")

	// "Open the station" has the focus.
	r.key(fyne.KeyReturn)
	require.True(t, r.onScreen("station"), r.win.Title())
	assert.True(t, r.shows(r.T("ui.sup.station", map[string]any{"Code": s.b.Code, "Name": s.b.Name})))
	assert.True(t, r.shows(r.ui.w.supState(review.Conflict)))
}

// TestSupervisorNoConflicts: before the list is fetched, and when it is
// empty, the screen says which.
func TestSupervisorNoConflicts(t *testing.T) {
	r := newSupRig(t)
	r.tellStory()
	r.start()
	r.tap(r.T("ui.sup.conflicts-button", map[string]any{"Count": "0"}))
	require.True(t, r.onScreen("conflicts"), r.win.Title())
	assert.True(t, r.shows(r.T("ui.sup.conflicts.never", nil)))
	r.fetchConflicts()
	r.ui.showConflicts()
	r.ui.Wait()
	assert.True(t, r.shows(r.T("ui.sup.conflicts.none", nil)))
	r.key(fyne.KeyReturn) // back has the focus
	assert.True(t, r.onScreen("dashboard"))
}

// TestSupervisorRefusedDecision: a decision the commission refused is
// not counted as waiting; the dashboard shows it with the commission's
// reason and leads to the submission, where a new decision is signed.
func TestSupervisorRefusedDecision(t *testing.T) {
	r := newSupRig(t)
	s := r.tellStory()
	first, err := r.svc.Decide(r.ctx, s.vb, election.Approve, "", r.commissionRig.key)
	require.NoError(t, err)
	const why = "the decision is for a version the commission no longer holds as the latest"
	require.NoError(t, r.svc.RecordDecisionRefused(r.ctx, first.Digest, why))
	r.start()

	refusedState := r.T("ui.sup.count", map[string]any{"State": r.ui.w.supState(review.Refused), "Count": "1"})
	r.button(refusedState)
	r.button(r.T("ui.sup.count", map[string]any{"State": r.ui.w.supState(review.Waiting), "Count": "0"}))
	assert.True(t, r.shows(r.ui.w.N("ui.sup.refused-decisions", 1, nil)))
	assert.True(t, r.shows(why), "the commission's reason")
	assert.False(t, r.shows(r.ui.w.N("ui.sup.pending", 1, nil)), "not waiting to be sent")
	r.tap(refusedState)
	assert.Equal(t, []string{s.b.Code}, r.listed())

	r.tap(r.T("ui.sup.decide-again-button", nil))
	require.True(t, r.onScreen("submission"), r.win.Title())
	assert.True(t, r.shows(r.T("ui.sup.decide-again", map[string]any{"Reason": why})))
	assert.True(t, r.shows(r.T("ui.sup.decision-refused", map[string]any{"Reason": why})))

	// A new decision: a return with its reason and the PIN.
	const reason = "Fotografia është e një formulari tjetër."
	r.typeText(reason) // the reason has the focus
	r.key(fyne.KeyReturn)
	r.typeText(testPIN)
	r.tap(r.T("ui.sup.return", nil))
	pending, err := r.svc.PendingDecisions(r.ctx)
	require.NoError(t, err)
	require.Len(t, pending, 2, "the refused one stays in the outbox, beside the new one")
	assert.Equal(t, reason, pending[1].Decision.Reason)
	assert.Equal(t, s.vb, pending[1].Decision.Submission)

	r.win.Canvas().(fyne.Shortcutable).TypedShortcut(shortcutHome)
	r.ui.Wait()
	require.True(t, r.onScreen("dashboard"))
	assert.False(t, r.shows(r.ui.w.N("ui.sup.refused-decisions", 1, nil)), "the new decision stands")
	r.button(r.T("ui.sup.count", map[string]any{"State": r.ui.w.supState(review.Waiting), "Count": "1"}))
	r.button(r.T("ui.sup.count", map[string]any{"State": r.ui.w.supState(review.Refused), "Count": "0"}))
	assert.True(t, r.shows(r.ui.w.N("ui.sup.pending", 1, nil)))
}
