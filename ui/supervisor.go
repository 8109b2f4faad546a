package ui

import (
	"context"
	"errors"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/widget"

	"tally/app/election"
	"tally/app/review"
	"tally/app/seal"
	"tally/i18n"
)

// SupervisorOptions configure the supervisor's screens.
type SupervisorOptions struct {
	// Outbox is the supervisor's sync worker: woken after each decision,
	// and handed the key unlocked for it, with which it logs in and sends.
	// nil when nothing sends.
	Outbox Outbox
	// Version is the app's version, for the about box.
	Version string
	// Now is the clock the age of the data is told by; time.Now when nil.
	Now func() time.Time
	// Setup lets the screens provision a laptop that is not bound to a
	// municipality yet, and enroll it. Without it the screen only says
	// how to provision from the command line.
	Setup *SupervisorSetup
}

// SupervisorSyncStatus is the supervisor's sync as the screens show it;
// the app adapts the sync worker's state to it.
type SupervisorSyncStatus struct {
	Known    bool // false until the worker has reported once
	Online   bool
	NeedsKey bool // the worker waits for the supervisor's PIN to log in
	// NotEnrolled: the worker waits for the enrollment; it tries nothing
	// before.
	NotEnrolled bool
	Syncing     bool // a fetch or a send is on the wire now
	// FetchedAt is when the overview was last fetched (zero: not in this run).
	FetchedAt time.Time
	// Decisions waiting to be sent; Refused are those the commission
	// refused, with its reason.
	Decisions int
	Refused   []RefusedDecision
	NextTry   time.Time // zero when no attempt waits
	LastError string
}

// RefusedDecision is a decision the commission refused, and why.
type RefusedDecision struct {
	Digest string
	Reason string
}

// Supervisor is the municipal supervisor's window: the dashboard of the
// municipality's stations, a station's forms, a submission verified here,
// and the decision on it.
type Supervisor struct {
	app  fyne.App
	win  fyne.Window
	svc  *review.Service
	opts SupervisorOptions
	ops  *queue
	ctx  context.Context

	w    words
	def  *election.Definition
	muni *election.Municipality

	rebuild    func() fyne.CanvasObject
	refresh    func() // reloads the screen of the moment from the store
	leave      func() // keeps what the screen of the moment holds
	focus      fyne.Focusable
	screenName string
	screen     int

	bar  *statusBar
	sync SupervisorSyncStatus
	// filter is the dashboard's, kept while the supervisor opens a station.
	filter review.Filter
	// justEnrolled makes the next dashboard say that the enrollment
	// succeeded.
	justEnrolled bool
}

// NewSupervisor makes the supervisor's screens in the window; nothing
// shows before Start. svc is nil on a laptop that has no supervisor's
// record yet: the screens then start with the provisioning.
func NewSupervisor(a fyne.App, win fyne.Window, svc *review.Service, opts SupervisorOptions) *Supervisor {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Supervisor{app: a, win: win, svc: svc, opts: opts, ops: newQueue(), ctx: context.Background()}
	s.w = words{supLocalizer(a.Preferences().StringWithFallback(prefLanguage, i18n.Default))}
	s.bar = newBar(func() words { return s.w }, s.barState)
	return s
}

func supLocalizer(tag string) *i18n.Localizer {
	l, err := i18n.New(tag)
	if err != nil {
		l, _ = i18n.New(i18n.Default)
	}
	return l
}

// Start loads the supervisor's municipality, verifying the stored
// definition off the UI goroutine, and shows the dashboard; or, on a
// laptop not provisioned yet, the provisioning.
func (s *Supervisor) Start() {
	if s.svc == nil {
		s.startSetup()
		return
	}
	s.setContent(widget.NewLabel(s.w.T("ui.loading", nil)))
	var def *election.Definition
	var muni *election.Municipality
	s.ops.do(func() (err error) {
		def, muni, err = s.svc.Scope(s.ctx)
		return err
	}, func(err error) {
		switch {
		case errors.Is(err, review.ErrNotProvisioned):
			s.startSetup()
		case err != nil:
			s.show("problem", func() fyne.CanvasObject { return wrapped(s.problem(err), widget.DangerImportance) })
		default:
			s.def, s.muni = def, muni
			s.showDashboard()
		}
	})
}

// Wait blocks until the work handed to the store is done and its outcome
// shown. Tests call it; the app never needs to.
func (s *Supervisor) Wait() { s.ops.wait() }

// SetSyncStatus shows the sync worker's state; it may be called from any
// goroutine. What was fetched or sent shows at once on the screen.
func (s *Supervisor) SetSyncStatus(st SupervisorSyncStatus) {
	fyne.Do(func() {
		before := s.sync
		s.sync = st
		s.bar.update()
		if !before.FetchedAt.Equal(st.FetchedAt) || before.Decisions != st.Decisions || before.Known != st.Known ||
			before.Online != st.Online || before.NeedsKey != st.NeedsKey || len(before.Refused) != len(st.Refused) ||
			before.NotEnrolled != st.NotEnrolled ||
			(before.Syncing && !st.Syncing) { // a pass ended: what it fetched is stored
			if s.refresh != nil {
				s.refresh()
			}
		}
	})
}

// barState is the supervisor's sync for the status bar.
func (s *Supervisor) barState() barState {
	st, w := s.sync, s.w
	out := barState{Known: st.Known, Online: st.Online, Busy: st.Syncing, LastError: st.LastError,
		Waiting: w.N("ui.sup.sync.decisions", st.Decisions, nil)}
	if !st.NextTry.IsZero() {
		out.Next = w.T("ui.sync.next-try", map[string]any{"Time": clock(st.NextTry)})
	}
	switch {
	case st.NotEnrolled:
		out.Known = false // nothing was tried
		out.Note = w.T("ui.sup.sync.not-enrolled", nil)
	case st.NeedsKey:
		out.Note = w.T("ui.sup.sync.needs-pin", nil)
	case len(st.Refused) > 0:
		out.Note = w.N("ui.sup.sync.refused", len(st.Refused), nil)
	}
	return out
}

// show makes a screen the window's content; name says which, in the
// window's title (ui.sup.screen.*).
func (s *Supervisor) show(name string, build func() fyne.CanvasObject) {
	s.screenName = name
	s.rebuild, s.refresh, s.leave, s.focus = build, nil, nil, nil
	s.screen++
	s.win.Canvas().RemoveShortcut(shortcutNext)
	s.setContent(build())
}

// named gives the screen of the moment its name in the window's title,
// once a screen that loads from the store is ready for the keyboard.
func (s *Supervisor) named(name string) {
	s.screenName = name
	s.win.SetTitle(s.title())
}

func (s *Supervisor) setContent(body fyne.CanvasObject) {
	s.win.SetTitle(s.title())
	s.win.SetContent(container.NewBorder(s.header(), s.bar.view(), nil, nil, body))
	s.bindShortcuts()
	if s.focus != nil {
		s.win.Canvas().Focus(s.focus)
		s.focus = nil
	}
}

func (s *Supervisor) title() string {
	t := s.w.T("ui.sup.app", nil)
	if s.muni != nil {
		t += " — " + s.w.name(s.muni.Name)
	}
	if s.screenName != "" {
		t += " — " + s.w.T("ui.sup.screen."+s.screenName, nil)
	}
	return t
}

func (s *Supervisor) header() fyne.CanvasObject {
	where := s.w.T("ui.sup.app", nil)
	if s.muni != nil {
		where = s.w.T("ui.sup.header", map[string]any{"Code": s.muni.Code, "Name": s.w.name(s.muni.Name)})
	}
	if s.def != nil {
		where += " · " + s.w.name(s.def.Election.Name)
	}
	return headerBar(s.w, where, s.setLanguage, s.showHelp, s.showAbout)
}

// setLanguage switches the screens to another language at once, and
// keeps the choice for the next start.
func (s *Supervisor) setLanguage(tag string) {
	if tag == s.w.Tag() {
		return
	}
	if s.leave != nil {
		s.leave()
	}
	s.w = words{supLocalizer(tag)}
	s.app.Preferences().SetString(prefLanguage, s.w.Tag())
	if s.rebuild != nil {
		s.show(s.screenName, s.rebuild)
	}
}

func (s *Supervisor) bindShortcuts() {
	c := s.win.Canvas()
	c.AddShortcut(shortcutHome, func(fyne.Shortcut) {
		if s.def != nil {
			s.showDashboard()
		}
	})
	c.AddShortcut(shortcutLanguage, func(fyne.Shortcut) { s.setLanguage(nextLanguage(s.w.Tag())) })
	c.AddShortcut(shortcutHelp, func(fyne.Shortcut) { s.showHelp() })
}

// onNext binds Ctrl+Enter on this screen; a new screen binds its own.
func (s *Supervisor) onNext(fn func()) {
	s.win.Canvas().AddShortcut(shortcutNext, func(fyne.Shortcut) { fn() })
}

func (s *Supervisor) showAbout() {
	box := container.NewVBox(widget.NewLabel(s.w.T("app.tagline", nil)),
		widget.NewLabel(s.w.T("ui.about.version", map[string]any{"Version": s.opts.Version})))
	if s.muni != nil {
		box.Add(widget.NewLabel(s.w.T("ui.sup.header", map[string]any{"Code": s.muni.Code, "Name": s.w.name(s.muni.Name)})))
	}
	if s.def != nil {
		box.Add(widget.NewLabel(s.w.T("ui.about.election", map[string]any{"Election": s.def.Election.ID})))
	}
	showDialog(s.win, s.w, s.w.T("ui.sup.app", nil), box)
}

func (s *Supervisor) showHelp() {
	grid := container.New(layout.NewFormLayout())
	for _, k := range []struct{ keys, what string }{
		{"Tab, Shift+Tab", "ui.sup.help.move"},
		{"Enter", "ui.sup.help.search"},
		{"↓, ↑, Space, Enter", "ui.sup.help.list"},
		{"Ctrl+Enter", "ui.sup.help.decide"},
		{"Ctrl+H", "ui.sup.help.dashboard"},
		{"Ctrl+L", "ui.help.language"},
		{"F1", "ui.help.help"},
	} {
		grid.Add(widget.NewLabelWithStyle(k.keys, fyne.TextAlignTrailing, fyne.TextStyle{Monospace: true}))
		grid.Add(widget.NewLabel(s.w.T(k.what, nil)))
	}
	showDialog(s.win, s.w, s.w.T("ui.help", nil), grid)
}

// back is a button to the dashboard.
func (s *Supervisor) back() *keyButton {
	return newKeyButton(s.w.T("ui.sup.back", nil), s.showDashboard)
}

// problem is an error of the supervisor's use cases for the user, naming
// the key a submission was refused for.
func (s *Supervisor) problem(err error) string {
	w := s.w
	var ke *review.KeyError
	switch {
	case errors.As(err, &ke):
		data := map[string]any{"Station": ke.Station, "Fingerprint": seal.Fingerprint(ke.KeyID), "Unit": ke.Unit}
		if ke.RevokedAt != nil {
			data["Time"] = w.DateTime(ke.RevokedAt.Local())
		}
		return w.T("ui.sup.key."+string(ke.Reason), data)
	case errors.Is(err, review.ErrTampered):
		return w.T("ui.sup.refused.tampered", nil)
	case errors.Is(err, review.ErrNoKeyList):
		return w.T("ui.sup.refused.no-key-list", nil)
	case errors.Is(err, review.ErrNotFound):
		return w.T("ui.sup.not-fetched", nil)
	case errors.Is(err, review.ErrReasonRequired):
		return w.T("ui.sup.reason-required", nil)
	case errors.Is(err, review.ErrNotHead):
		return w.T("ui.sup.not-head", nil)
	case errors.Is(err, review.ErrNotProvisioned):
		return w.T("ui.sup.not-provisioned", map[string]any{"Command": "tally supervisor init"})
	}
	return w.problem(err)
}

// supState names a station's or a form's state for the supervisor.
func (w words) supState(st review.State) string { return w.T("ui.sup.state."+string(st), nil) }

func supStateImportance(st review.State) widget.Importance {
	switch st {
	case review.Conflict, review.Returned, review.Refused:
		return widget.DangerImportance
	case review.Approved:
		return widget.SuccessImportance
	case review.Received:
		return widget.WarningImportance
	case review.Waiting:
		return widget.HighImportance
	}
	return widget.MediumImportance
}

// age says how long ago something was fetched.
func (w words) age(at, now time.Time) string {
	d := now.Sub(at)
	switch {
	case d < time.Minute:
		return w.T("ui.sup.age.now", nil)
	case d < time.Hour:
		return w.N("ui.sup.age.minutes", int(d/time.Minute), nil)
	case d < 48*time.Hour:
		return w.N("ui.sup.age.hours", int(d/time.Hour), nil)
	}
	return w.N("ui.sup.age.days", int(d/(24*time.Hour)), nil)
}

// Interrupt closes the window as its close button would, when the app is
// stopped by a signal; safe from any goroutine. Fyne quits on the same
// signal by itself: what it has torn down by then is not a failure.
func (s *Supervisor) Interrupt() {
	s.ops.stopping.Store(true)
	defer func() { _ = recover() }()
	fyne.Do(s.win.Close)
}
