package ui

import (
	"context"
	"errors"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/widget"

	"tally/app/election"
	"tally/app/seal"
	"tally/app/station"
	"tally/i18n"
)

// Outbox is the sync worker as the screens drive it.
type Outbox interface {
	// Wake makes the worker look at the outbox now: a form was sealed.
	Wake()
	// SetKey hands over the station's unlocked key, for the uploads of
	// photos that need a login.
	SetKey(key *seal.PrivateKey)
}

// Options configure the station's screens.
type Options struct {
	// Outbox is woken after each seal; nil when nothing sends.
	Outbox Outbox
	// Store is the station's record, for the printouts; nil until the
	// laptop is provisioned (the wizard gets it from Setup.Provision).
	Store station.Store
	// Setup lets the screens provision a laptop that is not bound to a
	// station yet, and enroll it with the commission. Without it the
	// screen only says how to provision from the command line.
	Setup *Setup
	// Version is the app's version, for the about box.
	Version string
	// OnReady is called once, when the station's forms are first on
	// screen; the app measures its start with it.
	OnReady func()
}

// prefLanguage is the Preferences key of the chosen language.
const prefLanguage = "language"

// Station is the station mode's window: a header with the language, the
// screen of the moment, and the outbox's status always at the bottom.
type Station struct {
	app   fyne.App
	win   fyne.Window
	svc   *station.Service
	store station.Store
	opts  Options
	ops   *queue
	ctx   context.Context

	w   words
	def *election.Definition
	me  *election.Station

	// The screen of the moment: rebuild makes it again (in a new language,
	// or after the store changed), leave saves what it holds.
	rebuild func() fyne.CanvasObject
	refresh func()
	leave   func()
	// focus is where the cursor goes once the screen is shown.
	focus fyne.Focusable
	// screenName names the screen of the moment (ui.screen.*), for the
	// window's title.
	screenName string
	// screen counts the screens shown, so that work queued for one screen
	// does not come back on another.
	screen int

	bar  *statusBar
	sync SyncStatus
	// user is the commissioner last named, offered again where a name is
	// asked for.
	user string
}

// NewStation makes the station's screens in the window. Nothing shows
// before Start. svc is nil on a laptop that has no station record yet:
// the screens then start with the provisioning.
func NewStation(a fyne.App, win fyne.Window, svc *station.Service, opts Options) *Station {
	s := &Station{app: a, win: win, svc: svc, store: opts.Store, opts: opts, ops: newQueue(), ctx: context.Background()}
	s.w = words{s.localizer(a.Preferences().StringWithFallback(prefLanguage, i18n.Default))}
	s.bar = newStatusBar(s)
	win.SetCloseIntercept(s.close)
	return s
}

func (s *Station) localizer(tag string) *i18n.Localizer {
	l, err := i18n.New(tag)
	if err != nil {
		l, _ = i18n.New(i18n.Default)
	}
	return l
}

// Start loads the station and shows its home screen, or says that the
// laptop is not provisioned yet. The definition is verified on the way,
// off the UI goroutine.
func (s *Station) Start() {
	if s.svc == nil {
		s.startSetup()
		return
	}
	s.setContent(widget.NewLabel(s.w.T("ui.loading", nil)))
	var def *election.Definition
	var me *election.Station
	s.ops.do(func() (err error) {
		def, me, err = s.svc.Scope(s.ctx)
		return err
	}, func(err error) {
		switch {
		case errors.Is(err, station.ErrNotProvisioned):
			s.startSetup()
		case err != nil:
			s.show("problem", func() fyne.CanvasObject { return widget.NewLabel(s.w.problem(err)) })
		default:
			s.def, s.me = def, me
			s.showHome()
		}
	})
}

// show makes a screen the window's content; name says which screen it
// is, in the window's title.
func (s *Station) show(name string, build func() fyne.CanvasObject) {
	s.screenName = name
	s.rebuild, s.refresh, s.leave, s.focus = build, nil, nil, nil
	s.screen++
	s.win.Canvas().RemoveShortcut(shortcutNext)
	s.win.Canvas().RemoveShortcut(shortcutPrint)
	s.setContent(build())
}

func (s *Station) setContent(body fyne.CanvasObject) {
	s.win.SetTitle(s.title())
	s.win.SetContent(container.NewBorder(s.header(), s.bar.view(), nil, nil, body))
	s.bindShortcuts()
	if s.focus != nil {
		s.win.Canvas().Focus(s.focus)
		s.focus = nil
	}
}

func (s *Station) title() string {
	t := s.w.T("app.name", nil)
	if s.me != nil {
		t += " — " + s.me.Code + " " + s.me.Name
	}
	if s.screenName != "" {
		t += " — " + s.w.T("ui.screen."+s.screenName, nil)
	}
	return t
}

// leaveScreen saves what the screen of the moment holds, before another
// replaces it.
func (s *Station) leaveScreen() {
	if s.leave != nil {
		s.leave()
	}
}

// setLanguage switches every screen to another language at once, and
// keeps the choice for the next start.
func (s *Station) setLanguage(tag string) {
	if tag == s.w.Tag() {
		return
	}
	s.leaveScreen()
	s.w = words{s.localizer(tag)}
	s.app.Preferences().SetString(prefLanguage, s.w.Tag())
	rebuild := s.rebuild
	if rebuild == nil {
		return
	}
	s.show(s.screenName, rebuild)
}

// SetSyncStatus shows the outbox's state; it may be called from any
// goroutine.
func (s *Station) SetSyncStatus(st SyncStatus) {
	fyne.Do(func() {
		before := s.sync
		s.sync = st
		s.bar.update()
		if (before.Queued != st.Queued || before.Photos != st.Photos) && s.refresh != nil {
			s.refresh()
		}
	})
}

// Close saves what is typed, then closes the window, as its close button
// does.
func (s *Station) Close() { s.close() }

// close saves what is typed before the window goes.
// Interrupt closes the window as its close button would, when the app is
// stopped by a signal; safe from any goroutine. Fyne quits on the same
// signal by itself: what it has torn down by then is not a failure, and
// the field being typed is saved if the window still holds it.
func (s *Station) Interrupt() {
	s.ops.stopping.Store(true)
	defer func() { _ = recover() }()
	fyne.Do(s.close)
}

func (s *Station) close() {
	s.leaveScreen()
	s.ops.do(func() error { return nil }, func(error) { s.win.Close() })
}

// Wait blocks until the work the screens handed to the store is done and
// its outcome shown. Tests call it; the app never needs to.
func (s *Station) Wait() { s.ops.wait() }

// fail shows a problem in a dialog.
func (s *Station) fail(err error) {
	showMessage(s, s.w.T("severity.error", nil), s.w.problem(err))
}

// showMessage shows a short text in a dialog closed with Enter or Escape.
func showMessage(s *Station, title, text string) {
	l := widget.NewLabel(text)
	l.Wrapping = fyne.TextWrapWord
	showContent(s, title, l)
}

func showContent(s *Station, title string, content fyne.CanvasObject) {
	showDialog(s.win, s.w, title, content)
}

// showDialog shows content in a dialog with an OK button.
func showDialog(win fyne.Window, w words, title string, content fyne.CanvasObject) {
	d := dialog.NewCustom(title, w.T("dialog.ok", nil), content, win)
	d.Resize(fyne.NewSize(560, 0))
	d.Show()
}
