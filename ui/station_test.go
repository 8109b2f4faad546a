package ui

import (
	"bytes"
	"context"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tally/app/election"
	"tally/app/election/electiontest"
	"tally/app/seal"
	"tally/app/station"
	"tally/storage/stationdb"
)

const (
	testPIN     = "4719-2853"
	stationCode = "01001A" // the demo's first polling station
)

// outbox stands in for the sync worker: it counts what the screens ask.
type outbox struct {
	woken atomic.Int32
	key   atomic.Pointer[seal.PrivateKey]
}

func (o *outbox) Wake()                       { o.woken.Add(1) }
func (o *outbox) SetKey(key *seal.PrivateKey) { o.key.Store(key) }

// rig is the station's window on a provisioned station in a temporary
// SQLite store, driven through the test driver.
type rig struct {
	t      *testing.T
	app    fyne.App
	win    fyne.Window
	svc    *station.Service
	db     station.Store
	ui     *Station
	outbox *outbox
	def    *election.Definition
	me     *election.Station
}

func newRig(t *testing.T) *rig {
	t.Helper()
	ctx := context.Background()
	a := test.NewTempApp(t)
	db, err := stationdb.Open(ctx, filepath.Join(t.TempDir(), "station.db"))
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	svc := station.New(db, station.Options{KDF: seal.KDFParams{Time: 1, MemoryKiB: 64, Threads: 1}})
	_, signed, err := electiontest.Election(electiontest.Options{Kind: election.Assembly, Municipalities: 1})
	require.NoError(t, err)
	_, err = svc.Provision(ctx, station.ProvisionRequest{Definition: signed, Fingerprint: electiontest.Fingerprint(),
		Station: stationCode, PIN: []byte(testPIN), By: "Arta Krasniqi"})
	require.NoError(t, err)
	r := &rig{t: t, app: a, svc: svc, db: db, outbox: &outbox{}}
	r.def, r.me, err = svc.Scope(ctx)
	require.NoError(t, err)
	r.start()
	return r
}

// start opens the station's window, as the app does at launch.
func (r *rig) start() {
	r.win = test.NewTempWindow(r.t, widget.NewLabel(""))
	r.win.Resize(fyne.NewSize(1280, 900))
	r.ui = NewStation(r.app, r.win, r.svc, Options{Outbox: r.outbox, Version: "test", Store: r.db})
	r.ui.ops.handOver()
	r.ui.Start()
	r.ui.Wait()
}

// focused is the widget that has the keyboard.
func (r *rig) focused() fyne.Focusable {
	r.t.Helper()
	f := r.win.Canvas().Focused()
	require.NotNil(r.t, f, "nothing has the focus")
	return f
}

// key presses a key on the focused widget and waits for what it started.
func (r *rig) key(name fyne.KeyName) {
	r.t.Helper()
	r.focused().TypedKey(&fyne.KeyEvent{Name: name})
	r.ui.Wait()
}

// typeEnter types into the focused widget and presses Enter.
func (r *rig) typeEnter(text string) {
	r.t.Helper()
	test.Type(r.focused(), text)
	r.key(fyne.KeyReturn)
}

// labels are the texts of every label on screen, dialogs included.
func (r *rig) labels() []string {
	var out []string
	objects := append([]fyne.CanvasObject{r.win.Content()}, r.win.Canvas().Overlays().List()...)
	for _, o := range objects {
		walk(o, func(o fyne.CanvasObject) {
			switch o := o.(type) {
			case *widget.Label:
				if o.Text != "" {
					out = append(out, o.Text)
				}
			case *widget.RichText:
				out = append(out, o.String())
			case *canvas.Text:
				out = append(out, o.Text)
			}
		})
	}
	return out
}

// shows reports whether a label on screen contains the text.
func (r *rig) shows(text string) bool {
	for _, l := range r.labels() {
		if strings.Contains(l, text) {
			return true
		}
	}
	return false
}

// walk visits the objects on screen: containers, scrolls and splits, not
// what is hidden.
func walk(o fyne.CanvasObject, fn func(fyne.CanvasObject)) {
	if o == nil || !o.Visible() { // hidden: not on screen
		return
	}
	fn(o)
	switch o := o.(type) {
	case *fyne.Container:
		for _, c := range o.Objects {
			walk(c, fn)
		}
	case *container.Scroll:
		walk(o.Content, fn)
	case *container.Split:
		walk(o.Leading, fn)
		walk(o.Trailing, fn)
	case *widget.PopUp:
		walk(o.Content, fn)
	case *widget.List:
		// The lines the list shows, made as its renderer makes them.
		for id := 0; o.Length != nil && id < o.Length(); id++ {
			line := o.CreateItem()
			o.UpdateItem(id, line)
			walk(line, fn)
		}
	}
}

// row finds the line of the entry screen for a field.
func (r *rig) noteOf(t *testing.T, code string) string {
	t.Helper()
	var note string
	walk(r.win.Content(), func(o fyne.CanvasObject) {
		c, ok := o.(*fyne.Container)
		if !ok || len(c.Objects) != 4 {
			return
		}
		if l, ok := c.Objects[0].(*widget.Label); ok && l.Text == code {
			if n, ok := c.Objects[3].(*widget.Label); ok {
				note = n.Text
			}
		}
	})
	return note
}

// paperForm is what the paper form says: balanced except that the
// ballots received are one more than the box, unused and spoiled ballots
// add up to, an error the chair confirms.
func (r *rig) paperForm(l *election.Layout) map[election.Field]int {
	a := r.me.Registered
	b := a * 6 / 10
	const spoiled, invalid, unused = 2, 5, 40
	v := map[election.Field]int{election.FieldMembers: 5,
		election.FieldA: a, election.FieldB: b, election.FieldC: b + spoiled + unused + 1,
		election.FieldD: unused, election.FieldE: spoiled, election.FieldF: b, election.FieldG: invalid,
		election.FieldH: b - invalid}
	left := b - invalid
	var entities []election.Field
	for _, f := range l.Fields {
		if f.Entity != 0 && f.Candidate == 0 {
			entities = append(entities, f.ID)
			v[f.ID] = 0
		}
	}
	for i := 0; left > 0; i = (i + 1) % len(entities) {
		n := min(left, 37+i)
		v[entities[i]] += n
		left -= n
	}
	return v
}

func (r *rig) status() *station.Status {
	r.t.Helper()
	st, err := r.svc.Status(context.Background())
	require.NoError(r.t, err)
	return st
}

func (r *rig) view(key station.FormKey) *station.FormView {
	r.t.Helper()
	v, err := r.svc.Open(context.Background(), key)
	require.NoError(r.t, err)
	return v
}

// pngFile writes a small PNG, the scan of the signed paper form.
func pngFile(t *testing.T) string {
	t.Helper()
	var buf bytes.Buffer
	require.NoError(t, png.Encode(&buf, image.NewGray(image.Rect(0, 0, 8, 8))))
	path := filepath.Join(t.TempDir(), "form.png")
	require.NoError(t, os.WriteFile(path, buf.Bytes(), 0o600))
	return path
}

// TestWholeFlow types a results form twice through the widgets, with the
// keyboard only, settles the difference, confirms the error, attaches the
// scan, seals with the PIN and checks what the store holds.
func TestWholeFlow(t *testing.T) {
	r := newRig(t)
	st := r.status()
	require.Len(t, st.Forms, 1)
	key := st.Forms[0].Key
	layout, err := r.def.Layout(key.Contest, key.Form)
	require.NoError(t, err)
	paper := r.paperForm(layout)
	order := []election.Field{}
	for _, spec := range layout.Fields {
		order = append(order, spec.ID)
	}
	order = append(order, election.FieldMembers)

	// Home: the form is not started; its Open button has the focus.
	assert.True(t, r.shows(r.ui.w.T("ui.state.empty", nil)))
	r.key(fyne.KeyReturn)

	// The first entry.
	assert.True(t, r.shows(r.ui.w.T("ui.begin.first", nil)))
	r.typeEnter("Arta Krasniqi")
	require.Equal(t, station.StateFirstEntry, r.view(key).State)
	for _, f := range order {
		r.typeEnter(strconv.Itoa(paper[f]))
		if f == election.FieldF {
			// C, D, E and F are in: the balance of the ballots is off, and
			// the screen says so beside C, with the rule's code.
			assert.Contains(t, r.noteOf(t, "C"), "E.C-BAL")
			assert.True(t, r.shows("≠ C = "+r.ui.w.Int(paper[election.FieldC])))
		}
	}
	// Every field was saved as it was left, before the entry was finished.
	v := r.view(key)
	require.Equal(t, station.StateFirstEntry, v.State)
	for _, f := range order {
		assert.Equal(t, paper[f], v.Values[f], "field %s", f)
	}
	test.Type(r.focused(), "Counted twice.") // remarks
	test.FocusNext(r.win.Canvas())           // Tab to the objections
	test.FocusNext(r.win.Canvas())           // Tab to "finish"
	r.key(fyne.KeyReturn)
	v = r.view(key)
	require.Equal(t, station.StateSecondPending, v.State)
	assert.Equal(t, "Counted twice.", v.Remarks)

	// The second entry, blind, by someone else; B is mistyped.
	assert.True(t, r.shows(r.ui.w.T("ui.begin.second", map[string]any{"Name": "Arta Krasniqi"})))
	r.typeEnter("arta  krasniqi")
	assert.True(t, r.shows(r.ui.w.T(election.InputSamePerson, map[string]any{"Name": "Arta Krasniqi"})))
	walkEntries(r, func(e *fieldEntry) { e.SetText("") })
	r.win.Canvas().Focus(firstEntry(r))
	r.typeEnter("Besa Gashi")
	require.Equal(t, station.StateSecondEntry, r.view(key).State)
	walkEntries(r, func(e *fieldEntry) { assert.Empty(t, e.Text, "the first entry shows through") })
	for _, f := range order {
		n := paper[f]
		if f == election.FieldB {
			n++
		}
		r.typeEnter(strconv.Itoa(n))
	}
	r.key(fyne.KeyReturn) // "finish" has the focus after the last field
	v = r.view(key)
	require.Equal(t, station.StateDifferences, v.State)
	require.Len(t, v.Differences, 1)

	// The difference, side by side, settled by retyping.
	assert.True(t, r.shows(strconv.Itoa(paper[election.FieldB])))
	assert.True(t, r.shows(strconv.Itoa(paper[election.FieldB]+1)))
	r.typeEnter(strconv.Itoa(paper[election.FieldB]))
	v = r.view(key)
	require.Equal(t, station.StateAgreed, v.State)
	assert.Equal(t, paper[election.FieldB], v.Values[election.FieldB])

	// The error, confirmed by the chair with an explanation.
	require.Len(t, election.Errors(v.Findings), 1)
	assert.Equal(t, "E.C-BAL", election.Errors(v.Findings)[0].Code)
	r.typeEnter("The paper form counts one ballot received too many.")
	v = r.view(key)
	require.Len(t, v.Confirmed, 1)
	assert.Equal(t, "E.C-BAL", v.Confirmed[0].Rule)

	// The scan of the signed paper form, by its path.
	r.typeEnter(pngFile(t))
	v = r.view(key)
	require.NotEmpty(t, v.Photo)
	assert.True(t, r.shows(short(v.Photo)))

	// A wrong PIN is refused and seals nothing; the right one seals.
	r.typeEnter("0000-0000")
	assert.True(t, r.shows(r.ui.w.T("ui.seal.wrong-pin", nil)))
	assert.Equal(t, station.StateAgreed, r.view(key).State)
	r.typeEnter(testPIN)

	st = r.status()
	require.Equal(t, station.StateSealed, st.Forms[0].State)
	require.Len(t, st.Outbox, 1)
	assert.Equal(t, 1, st.Outbox[0].Version)
	assert.Equal(t, int32(1), r.outbox.woken.Load())
	assert.NotNil(t, r.outbox.key.Load())
	assert.True(t, r.shows(r.ui.w.T("ui.receipt.waiting", nil)))

	// Home says the same, and the status bar shows the worker's news.
	r.ui.SetSyncStatus(SyncStatus{Known: true, Online: false, Queued: 1})
	r.ui.Wait()           // the screen reads the form again
	r.key(fyne.KeyReturn) // the home button has the focus
	assert.True(t, r.shows(r.ui.w.T("ui.home.waiting-receipt", nil)))
	assert.True(t, r.shows(r.ui.w.T("ui.sync.offline", nil)))
	assert.True(t, r.shows(r.ui.w.N("ui.sync.queued", 1, nil)))
}

func walkEntries(r *rig, fn func(*fieldEntry)) {
	walk(r.win.Content(), func(o fyne.CanvasObject) {
		if e, ok := o.(*fieldEntry); ok {
			fn(e)
		}
	})
}

func firstEntry(r *rig) fyne.Focusable {
	var first fyne.Focusable
	walkEntries(r, func(e *fieldEntry) {
		if first == nil {
			first = e
		}
	})
	return first
}

// TestLanguageSwitch switches the running screens from Albanian to English
// and back to the next start, keeping what was being typed.
func TestLanguageSwitch(t *testing.T) {
	r := newRig(t)
	sq := r.ui.w.T("ui.home.forms", nil)
	assert.Equal(t, "Formularët e vendvotimit", sq)
	require.True(t, r.shows(sq))

	// Begin the first entry and type A without leaving the field.
	r.key(fyne.KeyReturn)
	r.typeEnter("Arta Krasniqi")
	test.Type(r.focused(), strconv.Itoa(r.me.Registered))

	var pick *widget.Select
	walk(r.win.Content(), func(o fyne.CanvasObject) {
		if s, ok := o.(*widget.Select); ok {
			pick = s
		}
	})
	require.NotNil(t, pick)
	pick.SetSelected("English")
	r.ui.Wait()

	assert.True(t, r.shows("Voters on the final voters list"), "the field names are in English")
	assert.False(t, r.shows("Votuesit në listën përfundimtare"), "no Albanian left")
	assert.Equal(t, "en", r.app.Preferences().String(prefLanguage))
	// What was typed was saved on the way and is on the rebuilt screen.
	key := r.status().Forms[0].Key
	assert.Equal(t, r.me.Registered, r.view(key).Values[election.FieldA])
	found := false
	walkEntries(r, func(e *fieldEntry) { found = found || e.Text == strconv.Itoa(r.me.Registered) })
	assert.True(t, found)

	// The next start is in English.
	r.start()
	assert.True(t, r.shows("The station's forms"))
}
