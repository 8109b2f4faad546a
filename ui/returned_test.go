package ui

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/widget"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tally/app/election"
	"tally/app/seal"
	"tally/app/station"
)

// balanced is what a paper form without errors says.
func (r *rig) balanced(l *election.Layout) map[election.Field]int {
	v := r.paperForm(l)
	v[election.FieldC]-- // paperForm has one ballot received too many
	return v
}

// sealed types a form twice through the service, not the screens, and
// seals it: the screens under test start from a sealed version.
func (r *rig) sealed(key station.FormKey, paper map[election.Field]int) *station.Version {
	r.t.Helper()
	ctx := context.Background()
	typed := station.Typed{Values: map[election.Field]string{}}
	for f, n := range paper {
		typed.Values[f] = strconv.Itoa(n)
	}
	photo, err := os.ReadFile(pngFile(r.t))
	require.NoError(r.t, err)
	typed.Photo = photo
	require.NoError(r.t, r.svc.Enter(ctx, key, station.First, "Arta Krasniqi", typed))
	typed.Photo = nil
	require.NoError(r.t, r.svc.Enter(ctx, key, station.Second, "Besa Gashi", typed))
	signer, err := r.svc.Unlock(ctx, []byte(testPIN))
	require.NoError(r.t, err)
	v, err := r.svc.Seal(ctx, key, signer)
	require.NoError(r.t, err)
	return v
}

// returned has a supervisor of the station's municipality return the
// version with a reason, signed, and the station record the decision
// under the supervisor's key.
func (r *rig) returned(v *station.Version, reason string) {
	r.t.Helper()
	supervisor, err := seal.GenerateKey(rand.Reader)
	require.NoError(r.t, err)
	payload, err := json.Marshal(election.Decision{Format: election.DecisionFormat, Election: r.def.Election.ID,
		Station: r.me.Code, Contest: v.Key.Contest, Form: v.Key.Form, Submission: v.Digest, Verdict: election.Return,
		Reason: reason, DecidedAt: time.Now().UTC().Truncate(time.Second)})
	require.NoError(r.t, err)
	raw, err := seal.Sign(election.DecisionPayloadType, payload, supervisor)
	require.NoError(r.t, err)
	ring, err := seal.NewKeyring(supervisor.Public())
	require.NoError(r.t, err)
	_, err = r.svc.RecordDecision(context.Background(), raw, ring)
	require.NoError(r.t, err)
}

// entryOf is the entry of a field on the data-entry screen.
func (r *rig) entryOf(code string) *fieldEntry {
	r.t.Helper()
	var found *fieldEntry
	walk(r.win.Content(), func(o fyne.CanvasObject) {
		c, ok := o.(*fyne.Container)
		if !ok || len(c.Objects) < 3 {
			return
		}
		if l, ok := c.Objects[0].(*widget.Label); ok && l.Text == code {
			if e, ok := c.Objects[2].(*fieldEntry); ok {
				found = e
			}
		}
	})
	require.NotNil(r.t, found, "no field %s on screen", code)
	return found
}

// button finds a button on screen by its text.
func (r *rig) button(text string) *keyButton {
	r.t.Helper()
	var found *keyButton
	walk(r.win.Content(), func(o fyne.CanvasObject) {
		if b, ok := o.(*keyButton); ok && b.Text == text {
			found = b
		}
	})
	require.NotNil(r.t, found, "no button %q on screen", text)
	return found
}

// TestCorrection: the supervisor returns version 1 with a reason; home
// shows it first; the correction is driven through the widgets, typed
// and re-typed, and sealed as version 2, which supersedes version 1.
func TestCorrection(t *testing.T) {
	r := newRig(t)
	key := r.status().Forms[0].Key
	layout, err := r.def.Layout(key.Contest, key.Form)
	require.NoError(t, err)
	paper := r.balanced(layout)
	v1 := r.sealed(key, paper)
	const reason = "I.1 and I.2 are swapped against the paper form; retype them."
	r.returned(v1, reason)
	require.Equal(t, station.StateReturned, r.view(key).State)

	// Home, as the app opens it: the reason first, in large type.
	r.start()
	assert.True(t, r.shows(reason))
	assert.True(t, r.shows(r.ui.w.T("ui.home.returned", map[string]any{"Form": r.ui.w.formTitle(r.def, key), "Version": 1})))
	// The return's button has the focus.
	require.Equal(t, r.ui.w.T("ui.home.returned-open", nil), r.focused().(*keyButton).Text)
	r.key(fyne.KeyReturn)

	// The sealed screen: the reason again, and the correction.
	assert.True(t, r.shows(r.ui.w.T("ui.returned.reason", map[string]any{"Reason": reason})))
	r.typeEnter("Arta Krasniqi")
	v := r.view(key)
	require.Equal(t, station.StateFirstEntry, v.State)
	require.Equal(t, 2, v.Version)

	// Version 2's first entry starts from the sealed numbers; one vote
	// moves from the first entity to the second.
	var entities []election.Field
	for _, spec := range layout.Fields {
		if spec.Entity != 0 && spec.Candidate == 0 {
			entities = append(entities, spec.ID)
		}
	}
	require.GreaterOrEqual(t, len(entities), 2)
	fixed := map[election.Field]int{}
	for f, n := range paper {
		fixed[f] = n
	}
	fixed[entities[0]]--
	fixed[entities[1]]++
	assert.Equal(t, strconv.Itoa(paper[entities[0]]), r.entryOf(string(entities[0])).Text)
	for _, f := range entities[:2] {
		e := r.entryOf(string(f))
		r.win.Canvas().Focus(e)
		e.SetText("")
		r.typeEnter(strconv.Itoa(fixed[f]))
	}
	r.shortcut(shortcutNext) // Ctrl+Enter finishes the entry
	require.Equal(t, station.StateSecondPending, r.view(key).State)

	// The blind second entry, by someone else, field by field.
	r.typeEnter("Besa Gashi")
	require.Equal(t, station.StateSecondEntry, r.view(key).State)
	for _, spec := range layout.Fields {
		r.typeEnter(strconv.Itoa(fixed[spec.ID]))
	}
	r.typeEnter(strconv.Itoa(fixed[election.FieldMembers]))
	r.key(fyne.KeyReturn) // "finish"
	v = r.view(key)
	require.Equal(t, station.StateAgreed, v.State, "differences: %v", v.Differences)
	assert.NotEmpty(t, v.Photo, "the photo comes with the correction")

	// Sealed with the PIN as before.
	r.typeEnter(testPIN)
	v = r.view(key)
	require.Equal(t, station.StateSealed, v.State)
	require.Len(t, v.Versions, 2)
	assert.Equal(t, 2, v.Versions[1].Version)
	assert.Equal(t, v1.Digest, v.Versions[1].Supersedes)
	assert.Equal(t, v1.Digest, v.Versions[0].Digest, "version 1 stays as it was")
	assert.Equal(t, fixed[entities[0]], v.Values[entities[0]])
	assert.Equal(t, fixed[entities[1]], v.Values[entities[1]])
	st := r.status()
	require.Len(t, st.Outbox, 2)
	assert.Equal(t, 2, st.Outbox[1].Version)
	assert.True(t, r.shows(r.ui.w.T("ui.receipt.waiting", nil)))

	// Home: no return any more, the form waits for its receipt, in the
	// warning colour.
	r.key(fyne.KeyReturn) // the home button has the focus
	assert.False(t, r.shows(reason))
	waiting := r.labelWith(r.ui.w.T("ui.home.waiting-receipt", nil))
	require.NotNil(t, waiting)
	assert.Equal(t, widget.WarningImportance, waiting.Importance)
}

// shortcut presses a keyboard shortcut as the desktop driver hands it
// over: to the focused widget when it takes shortcuts, else to the window.
func (r *rig) shortcut(sc fyne.Shortcut) {
	r.t.Helper()
	if f, ok := r.win.Canvas().Focused().(fyne.Shortcutable); ok {
		f.TypedShortcut(sc)
	} else {
		r.win.Canvas().(fyne.Shortcutable).TypedShortcut(sc)
	}
	r.ui.Wait()
}

// labelWith is the label on screen whose text contains text.
func (r *rig) labelWith(text string) *widget.Label {
	var found *widget.Label
	walk(r.win.Content(), func(o fyne.CanvasObject) {
		if l, ok := o.(*widget.Label); ok && found == nil && bytes.Contains([]byte(l.Text), []byte(text)) {
			found = l
		}
	})
	return found
}

// TestPrint writes the printout of the sealed version from the sealed
// screen, by the shortcut, to the file named in Documents, in the
// language of the moment; and never over a file that is there.
func TestPrint(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("USERPROFILE", home)
	docs := filepath.Join(home, "Documents")
	require.NoError(t, os.Mkdir(docs, 0o700))
	r := newRig(t)
	key := r.status().Forms[0].Key
	layout, err := r.def.Layout(key.Contest, key.Form)
	require.NoError(t, err)
	r.sealed(key, r.balanced(layout))
	r.start()
	r.key(fyne.KeyReturn) // open the form: the sealed screen

	want := filepath.Join(docs, "tally-"+r.me.Code+"-"+key.Contest+"-"+string(key.Form)+"-v1.pdf")
	path := r.entryWith(want)
	require.NotNil(t, path, "the file's name is offered in Documents")
	r.shortcut(shortcutPrint)
	written := r.ui.w.T("ui.print.written", map[string]any{"File": want})
	require.True(t, r.shows(written), "labels: %v", r.labels())
	pdf, err := os.ReadFile(want)
	require.NoError(t, err)
	assert.True(t, bytes.HasPrefix(pdf, []byte("%PDF")))

	// Again to the same file: refused, the file as it was.
	r.shortcut(shortcutPrint)
	assert.True(t, r.shows(r.ui.w.T("ui.print.exists", map[string]any{"File": want})))
	again, err := os.ReadFile(want)
	require.NoError(t, err)
	assert.Equal(t, pdf, again)

	// In English, to another name typed in the field, with the button.
	pick := r.languageSelect()
	pick.SetSelected("English")
	r.ui.Wait()
	r.ui.Wait()
	other := filepath.Join(docs, "station-form")
	path = r.entryWith(filepath.Join(docs, "tally-"+r.me.Code))
	require.NotNil(t, path)
	assert.Equal(t, want[:len(want)-4]+"-2.pdf", path.Text, "the name offered is one that is free")
	path.SetText(other)
	r.button(r.ui.w.T("ui.print.button", nil)).OnTapped()
	r.ui.Wait()
	english, err := os.ReadFile(other + ".pdf")
	require.NoError(t, err)
	assert.True(t, bytes.HasPrefix(english, []byte("%PDF")))
	assert.NotEqual(t, pdf, english, "the printout follows the language")
}

// entryWith is the entry on screen whose text begins with prefix.
func (r *rig) entryWith(prefix string) *fieldEntry {
	var found *fieldEntry
	walkEntries(r, func(e *fieldEntry) {
		if len(e.Text) >= len(prefix) && e.Text[:len(prefix)] == prefix {
			found = e
		}
	})
	return found
}

func (r *rig) languageSelect() *widget.Select {
	r.t.Helper()
	var pick *widget.Select
	walk(r.win.Content(), func(o fyne.CanvasObject) {
		if s, ok := o.(*widget.Select); ok {
			pick = s
		}
	})
	require.NotNil(r.t, pick)
	return pick
}
