package ui

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tally/app/election"
	"tally/app/review"
	"tally/app/seal"
)

// supRig is the supervisor's window on a real review store, filled with
// what a commission really stored and signed, driven through the test
// driver.
type supRig struct {
	*commissionRig
	t      *testing.T
	clock  *testClock
	app    fyne.App
	win    fyne.Window
	ui     *Supervisor
	outbox *outbox
}

func newSupRig(t *testing.T) *supRig {
	t.Helper()
	clock := newTestClock(time.Date(2026, 10, 4, 20, 0, 0, 0, time.UTC))
	dir := t.TempDir()
	e := newCommissionRig(t, dir, dir+"/supervisor.db", clock.Now, seal.KDFParams{Time: 1, MemoryKiB: 64, Threads: 1})
	return &supRig{commissionRig: e, t: t, clock: clock, app: test.NewTempApp(t), outbox: &outbox{}}
}

// start opens the supervisor's window, as the app does.
func (r *supRig) start() {
	r.win = test.NewTempWindow(r.t, widget.NewLabel(""))
	r.win.Resize(fyne.NewSize(1280, 1000))
	r.ui = NewSupervisor(r.app, r.win, r.svc, SupervisorOptions{Outbox: r.outbox, Version: "test", Now: r.clock.Now})
	r.ui.ops.handOver()
	r.ui.Start()
	r.ui.Wait()
}

// T is a message in the screens' language of the moment.
func (r *supRig) T(key string, data map[string]any) string { return r.ui.w.T(key, data) }

// shows reports whether a text on screen contains text.
func (r *supRig) shows(text string) bool {
	return (&rig{t: r.t, win: r.win}).shows(text)
}

func (r *supRig) focused() fyne.Focusable {
	r.t.Helper()
	f := r.win.Canvas().Focused()
	require.NotNil(r.t, f, "nothing has the focus")
	return f
}

// key presses a key on the focused widget and waits for what it started.
func (r *supRig) key(name fyne.KeyName) {
	r.t.Helper()
	r.focused().TypedKey(&fyne.KeyEvent{Name: name})
	r.ui.Wait()
}

// typeText types into the focused widget and waits for what it started.
func (r *supRig) typeText(text string) {
	r.t.Helper()
	test.Type(r.focused(), text)
	r.ui.Wait()
}

// button finds a button by its text, on the screen or in a dialog.
func (r *supRig) button(text string) *widget.Button {
	r.t.Helper()
	var found *widget.Button
	objects := append([]fyne.CanvasObject{r.win.Content()}, r.win.Canvas().Overlays().List()...)
	for _, o := range objects {
		walk(o, func(o fyne.CanvasObject) {
			switch b := o.(type) {
			case *keyButton:
				if b.Text == text && found == nil {
					found = &b.Button
				}
			case *widget.Button:
				if b.Text == text && found == nil {
					found = b
				}
			}
		})
	}
	require.NotNil(r.t, found, "no button %q", text)
	return found
}

// tap taps a button by its text and waits for what it started.
func (r *supRig) tap(text string) {
	r.t.Helper()
	b := r.button(text)
	require.False(r.t, b.Disabled(), "button %q is disabled", text)
	b.OnTapped()
	r.ui.Wait()
}

// listed are the codes of the stations in the dashboard's list.
func (r *supRig) listed() []string {
	r.t.Helper()
	var list *stationList
	walk(r.win.Content(), func(o fyne.CanvasObject) {
		if l, ok := o.(*stationList); ok {
			list = l
		}
	})
	require.NotNil(r.t, list, "no list of stations on screen")
	var out []string
	for id := 0; id < list.Length(); id++ {
		line := list.CreateItem()
		list.UpdateItem(id, line)
		out = append(out, line.(*fyne.Container).Objects[0].(*widget.Label).Text)
	}
	return out
}

// title is the window's title: it names the screen.
func (r *supRig) onScreen(name string) bool {
	return strings.HasSuffix(r.win.Title(), r.T("ui.sup.screen."+name, nil))
}

// story is what the commission holds: station a sent a version 1 and a
// corrected version 2, with the photo fetched; b sent one version; c sent
// one and its key was revoked after the supervisor fetched it.
type story struct {
	a, b, c, d     *election.Station
	ka, kb, kc     *seal.PrivateKey
	f1, f2         *election.Form
	v1, v2, vb, vc string
	conf           election.Confirmation
}

func (r *supRig) tellStory() *story {
	r.t.Helper()
	sts := r.stations()
	require.GreaterOrEqual(r.t, len(sts), 4)
	s := &story{a: sts[0], b: sts[1], c: sts[2], d: sts[3]}
	s.ka, s.kb, s.kc = r.enroll(s.a), r.enroll(s.b), r.enroll(s.c)
	photo := paperPhoto(s.a.Code, 2)
	s.f1 = r.form(s.a, 1, paperPhoto(s.a.Code, 1), func(f *election.Form) { f.Remarks = "Numërimi pa probleme." })
	s.v1 = r.seal(s.f1, s.ka, 1, "")
	// Version 2 moves two votes between the first two entities and holds
	// an error the paper form itself has, which the chair confirmed.
	s.f2 = r.form(s.a, 1, photo, func(f *election.Form) {
		f.Counts[election.EntityField(1)] += 2
		f.Counts[election.EntityField(2)] -= 2
		f.Counts[election.FieldG]++
		f.Remarks = "Korrigjuar pas rinumërimit."
	})
	s.conf = election.Confirmation{Rule: "E.F-GH", Explanation: "Formulari në letër e ka kështu."}
	s.v2 = r.seal(s.f2, s.ka, 2, s.v1, s.conf)
	s.vb = r.seal(r.form(s.b, 1, paperPhoto(s.b.Code, 1), nil), s.kb, 1, "")
	s.vc = r.seal(r.form(s.c, 1, paperPhoto(s.c.Code, 1), nil), s.kc, 1, "")
	r.refresh()
	require.NoError(r.t, r.svc.RecordPhoto(r.ctx, s.f2.PhotoSHA256, photo))
	r.revoke(s.kc)
	return s
}

func TestSupervisorDashboard(t *testing.T) {
	r := newSupRig(t)
	s := r.tellStory()
	r.clock.Advance(3 * time.Minute)
	r.start()
	require.True(t, r.onScreen("dashboard"), r.win.Title())

	all := r.allStations()
	received := r.T("ui.sup.count", map[string]any{"State": r.ui.w.supState(review.Received), "Count": "3"})
	notStarted := r.T("ui.sup.count", map[string]any{"State": r.ui.w.supState(review.NotStarted), "Count": strconv.Itoa(all - 3)})
	r.button(r.T("ui.sup.count.all", map[string]any{"Count": strconv.Itoa(all)}))
	r.button(received)
	r.button(notStarted)
	assert.Len(t, r.listed(), all, "every station of the municipality, from the definition")
	assert.True(t, r.shows(r.ui.w.N("ui.sup.age.minutes", 3, nil)), "fetched 3 min ago")

	// The turnout plot: a bar per station, b's and a's from verified
	// versions; c's key is revoked, so c has none.
	var plot *turnoutPlot
	walk(r.win.Content(), func(o fyne.CanvasObject) {
		if c, ok := o.(*fyne.Container); ok {
			if p, ok := c.Layout.(*turnoutPlot); ok {
				plot = p
			}
		}
	})
	require.NotNil(t, plot, "the turnout plot")
	assert.Len(t, plot.shares, all)
	assert.Equal(t, 2, plot.drawn)
	voted := s.f2.Counts[election.FieldB] + r.form(s.b, 1, nil, nil).Counts[election.FieldB]
	assert.InDelta(t, float64(voted)/float64(s.a.Registered+s.b.Registered), plot.average, 1e-9)

	// The filter: the received ones only; the counts stay.
	r.tap(received)
	assert.Equal(t, []string{s.a.Code, s.b.Code, s.c.Code}, r.listed())
	r.button(notStarted)
	assert.Equal(t, widget.HighImportance, r.button(received).Importance)

	// The search, within the filter, from the keyboard: the field has the focus.
	r.typeText(s.b.Code)
	assert.Equal(t, []string{s.b.Code}, r.listed())
	r.tap(r.T("ui.sup.count.all", map[string]any{"Count": strconv.Itoa(all)}))
	assert.Equal(t, []string{s.b.Code}, r.listed(), "the search stays")
	r.typeText("zzz")
	assert.Empty(t, r.listed())
	assert.True(t, r.shows(r.T("ui.sup.no-stations", nil)))

	// Offline: what was fetched stays, with its age.
	r.ui.SetSyncStatus(SupervisorSyncStatus{Known: true, Online: false, LastError: "dial tcp: connection refused"})
	r.ui.Wait()
	assert.True(t, r.shows(r.T("ui.sup.offline", nil)))
	assert.True(t, r.shows(r.ui.w.N("ui.sup.age.minutes", 3, nil)))
	assert.True(t, r.shows("connection refused"))
}

func TestSupervisorOpensSubmission(t *testing.T) {
	r := newSupRig(t)
	s := r.tellStory()
	r.start()

	// From the search field: the code and Enter open the station; Enter
	// on its form's button opens the submission.
	r.typeText(s.a.Code)
	r.key(fyne.KeyReturn)
	require.True(t, r.onScreen("station"), r.win.Title())
	r.key(fyne.KeyReturn)
	require.True(t, r.onScreen("submission"), r.win.Title())

	assert.True(t, r.shows(seal.Fingerprint(s.ka.ID())), "verified against the station's listed key")
	assert.True(t, r.shows(r.T("ui.sup.numbers", nil)))
	var numbers []string
	walk(r.win.Content(), func(o fyne.CanvasObject) {
		if c, ok := o.(*fyne.Container); ok && len(c.Objects) == 3 {
			if code, ok := c.Objects[0].(*widget.Label); ok && code.Text == string(election.FieldB) {
				numbers = append(numbers, c.Objects[2].(*widget.Label).Text)
			}
		}
	})
	assert.Equal(t, []string{strconv.Itoa(s.f2.Counts[election.FieldB])}, numbers, "B as version 2 signed it")
	assert.True(t, r.shows("E.F-GH"), "the rule's finding")
	assert.True(t, r.shows(s.conf.Explanation), "the chair's explanation")
	assert.True(t, r.shows("Korrigjuar pas rinumërimit."), "the remarks")

	// The history: both versions, and what changed from 1 to 2.
	assert.True(t, r.shows(r.T("ui.sup.history-version", map[string]any{"Version": 1, "Digest": short(s.v1)})))
	assert.True(t, r.shows(r.T("ui.sup.history-version", map[string]any{"Version": 2, "Digest": short(s.v2)})))
	var changed []string
	walk(r.win.Content(), func(o fyne.CanvasObject) {
		if c, ok := o.(*fyne.Container); ok && len(c.Objects) == 5 {
			if arrow, ok := c.Objects[3].(*widget.Label); ok && arrow.Text == "→" {
				changed = append(changed, c.Objects[2].(*widget.Label).Text+"→"+c.Objects[4].(*widget.Label).Text)
			}
		}
	})
	e1 := election.EntityField(1)
	assert.Contains(t, changed, strconv.Itoa(s.f1.Counts[e1])+"→"+strconv.Itoa(s.f2.Counts[e1]))
	assert.Contains(t, changed, "Numërimi pa probleme.→Korrigjuar pas rinumërimit.")
	assert.Len(t, changed, 6, "the counts, the remarks, the photo, the confirmation")

	// The photo is shown as an image.
	var images int
	walk(r.win.Content(), func(o fyne.CanvasObject) {
		if _, ok := o.(*canvas.Image); ok {
			images++
		}
	})
	assert.Positive(t, images, "the photo's preview")
}

func TestSupervisorRefusesUnverified(t *testing.T) {
	r := newSupRig(t)
	s := r.tellStory()
	r.start()
	r.ui.showSubmission(s.vc)
	r.ui.Wait()
	require.True(t, r.onScreen("refused"), r.win.Title())
	assert.True(t, r.shows(r.T("ui.sup.refused.title", nil)))
	assert.True(t, r.shows(seal.Fingerprint(s.kc.ID())), "the refusal names the key")
	revoked := r.T("ui.sup.key.revoked", map[string]any{"Station": s.c.Code, "Fingerprint": seal.Fingerprint(s.kc.ID()), "Time": "X"})
	assert.True(t, r.shows(revoked[:strings.Index(revoked, "X")]), "and says it was revoked")
	assert.False(t, r.shows(r.T("ui.sup.numbers", nil)), "never the numbers of an envelope that did not verify")
	assert.Nil(t, findDecide(r), "nor a decision")
	r.key(fyne.KeyReturn) // the back button has the focus
	assert.True(t, r.onScreen("dashboard"))
}

func findDecide(r *supRig) *fieldEntry {
	var pin *fieldEntry
	walk(r.win.Content(), func(o fyne.CanvasObject) {
		if e, ok := o.(*fieldEntry); ok && e.Password {
			pin = e
		}
	})
	return pin
}

func TestSupervisorDecides(t *testing.T) {
	r := newSupRig(t)
	s := r.tellStory()
	r.start()
	pending := func() []review.PendingDecision {
		p, err := r.svc.PendingDecisions(r.ctx)
		require.NoError(t, err)
		return p
	}

	r.ui.showSubmission(s.v2)
	r.ui.Wait()
	require.True(t, r.onScreen("submission"))
	returnLabel := r.T("ui.sup.return", nil)

	// No return without a reason.
	r.tap(returnLabel)
	assert.True(t, r.shows(r.T("ui.sup.reason-required", nil)))
	assert.Empty(t, pending())

	// The reason has the focus; Enter goes to the PIN. A wrong PIN is refused.
	_, ok := r.focused().(*fieldEntry)
	require.True(t, ok)
	r.typeText("Fotografia nuk lexohet; dërgoni një tjetër.")
	r.key(fyne.KeyReturn)
	require.True(t, r.focused().(*fieldEntry).Password, "the PIN next")
	r.typeText("9999-1111")
	r.tap(returnLabel)
	assert.True(t, r.shows(r.T("ui.seal.wrong-pin", nil)))
	assert.Empty(t, pending())
	assert.Zero(t, r.outbox.woken.Load())

	// With the PIN: signed, queued, and the outbox woken with the key.
	r.typeText(testPIN)
	r.tap(returnLabel)
	p := pending()
	require.Len(t, p, 1)
	d := p[0].Decision
	assert.Equal(t, election.Return, d.Verdict)
	assert.Equal(t, "Fotografia nuk lexohet; dërgoni një tjetër.", d.Reason)
	assert.Equal(t, s.v2, d.Submission)
	ring, err := seal.NewKeyring(r.commissionRig.key.Public())
	require.NoError(t, err)
	opened, err := seal.Open(d.Envelope, 1<<16, election.DecisionPayloadType, ring)
	require.NoError(t, err, "the decision verifies under the supervisor's key")
	dec, err := election.ParseDecision(opened.Payload)
	require.NoError(t, err)
	assert.Equal(t, s.a.Code, dec.Station)
	_, err = r.comm.Decide(r.ctx, d.Envelope)
	require.NoError(t, err, "the commission takes it as it is")
	assert.Equal(t, int32(1), r.outbox.woken.Load())
	require.NotNil(t, r.outbox.key.Load())
	assert.Equal(t, r.commissionRig.key.ID(), r.outbox.key.Load().ID())
	require.True(t, r.onScreen("submission"))
	assert.True(t, r.shows(r.T("ui.sup.decision-queued", nil)), "the decision shows as queued")

	// Approve b, with a confirmation.
	r.ui.showSubmission(s.vb)
	r.ui.Wait()
	r.win.Canvas().Focus(findDecide(r))
	r.typeText(testPIN)
	r.tap(r.T("ui.sup.approve", nil))
	assert.Len(t, pending(), 1, "nothing before the confirmation")
	var confirm *widget.Button
	for _, o := range r.win.Canvas().Overlays().List() {
		walk(o, func(o fyne.CanvasObject) {
			if b, ok := o.(*widget.Button); ok && b.Text == r.T("ui.sup.approve", nil) {
				confirm = b
			}
		})
	}
	require.NotNil(t, confirm, "the confirmation")
	confirm.OnTapped()
	r.ui.Wait()
	p = pending()
	require.Len(t, p, 2)
	assert.Equal(t, election.Approve, p[1].Decision.Verdict)
	assert.Equal(t, s.vb, p[1].Decision.Submission)

	// The dashboard: both decided, waiting to be sent.
	r.win.Canvas().(fyne.Shortcutable).TypedShortcut(shortcutHome)
	r.ui.Wait()
	require.True(t, r.onScreen("dashboard"))
	r.button(r.T("ui.sup.count", map[string]any{"State": r.ui.w.supState(review.Waiting), "Count": "2"}))
	assert.True(t, r.shows(r.ui.w.N("ui.sup.pending", 2, nil)))
}

// TestSupervisorConnects: while the sync waits for the supervisor's key,
// the dashboard asks for the PIN; a wrong one is refused, the right one
// goes to the outbox, which is woken, and the row hides once the sync no
// longer waits.
func TestSupervisorConnects(t *testing.T) {
	r := newSupRig(t)
	r.tellStory()
	r.start()
	needsPIN := r.T("ui.sup.needs-pin", nil)
	assert.False(t, r.shows(needsPIN), "no sync status yet: nothing asked")

	r.ui.SetSyncStatus(SupervisorSyncStatus{Known: true, NeedsKey: true})
	r.ui.Wait()
	require.True(t, r.shows(needsPIN))
	var pin *fieldEntry
	walk(r.win.Content(), func(o fyne.CanvasObject) {
		if e, ok := o.(*fieldEntry); ok && e.Password && e.Visible() {
			pin = e
		}
	})
	require.NotNil(t, pin, "the PIN's field")
	r.win.Canvas().Focus(pin)
	r.typeText("0000-0000")
	r.key(fyne.KeyReturn)
	assert.Nil(t, r.outbox.key.Load(), "a wrong PIN unlocks nothing")
	assert.Zero(t, r.outbox.woken.Load())

	r.win.Canvas().Focus(pin)
	r.typeText(testPIN)
	r.key(fyne.KeyReturn)
	require.NotNil(t, r.outbox.key.Load())
	assert.Equal(t, r.commissionRig.key.ID(), r.outbox.key.Load().ID())
	assert.Equal(t, int32(1), r.outbox.woken.Load())

	r.ui.SetSyncStatus(SupervisorSyncStatus{Known: true, Online: true, FetchedAt: r.clock.Now()})
	r.ui.Wait()
	assert.False(t, r.shows(needsPIN), "the row hides once the sync has the key")
}
