package ui

import (
	"context"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"

	"tally/app/election"
	"tally/app/review"
	"tally/app/seal"
)

// SupervisorSetup is what the supervisor's provisioning and enrollment
// need beyond the screens: the network and the supervisor's record on
// disk, which the app supplies.
type SupervisorSetup struct {
	// Download fetches the signed election definition from the
	// commission's server at url, checking its TLS key against pins;
	// plain http only to this computer.
	Download func(ctx context.Context, url string, pins []string) ([]byte, error)
	// Provision binds the laptop to a municipality: it makes the
	// supervisor's record when there is none yet, runs
	// review.Service.Provision on it and returns the service. When it
	// fails nothing is left behind.
	Provision func(ctx context.Context, req review.ProvisionRequest) (*review.Service, error)
	// Enroll binds the supervisor's key to the municipality at the
	// commission with the one-time code it printed; nil while enrollment
	// is not possible here.
	Enroll func(ctx context.Context, key *seal.PrivateKey, code string) error
}

// The supervisor's part in the provisioning wizard (setupHost): the same
// steps as a station's, with the municipality in step 3.

// startSetup shows the first step of the provisioning, or, when the app
// cannot provision, how to do it from the command line.
func (s *Supervisor) startSetup() {
	if s.opts.Setup == nil || s.opts.Setup.Provision == nil {
		s.show("not-provisioned", func() fyne.CanvasObject {
			return container.NewCenter(container.NewPadded(wrapped(
				s.w.T("ui.sup.not-provisioned", map[string]any{"Command": "tally supervisor init"}), widget.MediumImportance)))
		})
		return
	}
	(&wizard{h: s}).start()
}

// showEnroll asks for the one-time code and the PIN, for a supervisor
// provisioned without enrolling.
func (s *Supervisor) showEnroll() {
	p := &wizard{h: s}
	s.show("enroll", func() fyne.CanvasObject { return enrollScreen(p, nil) })
}

// supSetupKeys are the wizard's texts that a supervisor reads otherwise
// than a station's chair.
var supSetupKeys = map[string]string{
	"ui.setup.definition.intro": "ui.setup.sup.definition-intro",
	"ui.setup.chair":            "ui.setup.sup.name",
	"ui.setup.chair-step":       "ui.setup.sup.person-step",
	"ui.setup.chair.intro":      "ui.setup.sup.person-intro",
	"ui.setup.provisioning":     "ui.setup.sup.provisioning",
	"ui.setup.provisioned":      "ui.setup.sup.provisioned",
	"ui.setup.station-key":      "ui.setup.sup.key",
	"ui.setup.enroll.intro":     "ui.setup.sup.enroll-intro",
	"ui.setup.enroll-later":     "ui.setup.sup.enroll-later",
	"ui.setup.enroll-failed":    "ui.setup.sup.enroll-failed",
}

func (s *Supervisor) setupKey(key string) string {
	if k, ok := supSetupKeys[key]; ok {
		return k
	}
	return key
}

func (s *Supervisor) lang() words                  { return s.w }
func (s *Supervisor) window() fyne.Window          { return s.win }
func (s *Supervisor) jobs() *queue                 { return s.ops }
func (s *Supervisor) context() context.Context     { return s.ctx }
func (s *Supervisor) redraw()                      { s.show(s.screenName, s.rebuild) }
func (s *Supervisor) keep(leave func())            { s.leave = leave }
func (s *Supervisor) focusOn(f fyne.Focusable)     { s.focus = f }
func (s *Supervisor) problemText(err error) string { return s.problem(err) }
func (s *Supervisor) unitScreen() string           { return "setup-municipality" }
func (s *Supervisor) personScreen() string         { return "setup-supervisor" }
func (s *Supervisor) offeredName() string          { return "" }
func (s *Supervisor) backHome() fyne.CanvasObject  { return s.back() }

// skipEnroll ends the wizard without enrolling: on the dashboard, or on
// the start's own account of why the stored definition does not load.
func (s *Supervisor) skipEnroll() {
	if s.def == nil {
		s.Start()
		return
	}
	s.showDashboard()
}

func (s *Supervisor) failed(err error) {
	showDialog(s.win, s.w, s.w.T("severity.error", nil), wrapped(s.problem(err), widget.DangerImportance))
}

func (s *Supervisor) downloader() func(ctx context.Context, url string, pins []string) ([]byte, error) {
	if s.opts.Setup == nil {
		return nil
	}
	return s.opts.Setup.Download
}

func (s *Supervisor) enroller() func(ctx context.Context, key *seal.PrivateKey, code string) error {
	if s.opts.Setup == nil {
		return nil
	}
	return s.opts.Setup.Enroll
}

// unitStep is the supervisor's step 3: the municipality, from a list with
// a filter above it.
func (s *Supervisor) unitStep(p *wizard) fyne.CanvasObject {
	chosen := widget.NewLabelWithStyle("", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	chosen.Wrapping = fyne.TextWrapWord
	next := newKeyButton(s.w.T("ui.setup.next", nil), nil)
	next.Importance = widget.HighImportance
	showChosen := func() {
		text, ok := s.unitChosen(p)
		chosen.SetText(text)
		if ok {
			next.Enable()
		} else {
			next.Disable()
		}
	}
	municipalities := newPicker(s.w.T("ui.setup.filter", nil), func(code string) {
		p.municipality = code
		showChosen()
		s.win.Canvas().Focus(next)
	})
	municipalities.set(municipalityItems(s.w, p.def), p.municipality)
	showChosen()
	goOn := func() {
		if _, ok := p.def.Municipality(p.municipality); !ok {
			return
		}
		p.ok()
		p.showPerson()
	}
	next.OnTapped = goOn
	s.onNext(goOn)
	back := newKeyButton(s.w.T("ui.setup.back", nil), func() { p.ok(); s.show("setup-fingerprint", p.fingerprintStep) })
	s.focus = municipalities.filter
	if p.municipality != "" {
		s.focus = next
	}
	body := container.NewBorder(nil, chosen, nil, nil, municipalities.view(s.w.T("ui.setup.municipality", nil)))
	return p.frame(3, s.w.T("ui.setup.sup.municipality-step", nil), s.w.T("ui.setup.sup.municipality-intro", nil),
		body, back, next)
}

// unitChosen names the municipality chosen in step 3, with how many
// stations it has.
func (s *Supervisor) unitChosen(p *wizard) (string, bool) {
	m, ok := p.def.Municipality(p.municipality)
	if !ok {
		return s.w.T("ui.setup.sup.municipality-none", nil), false
	}
	n := 0
	for i := range p.def.Stations {
		if p.def.Stations[i].Municipality == m.Code {
			n++
		}
	}
	return s.w.T("ui.setup.sup.municipality-chosen", map[string]any{"Code": m.Code, "Name": s.w.name(m.Name),
		"Stations": s.w.Int(n)}), true
}

func (s *Supervisor) unitHeading() string {
	if s.muni == nil {
		return ""
	}
	return s.w.T("ui.sup.header", map[string]any{"Code": s.muni.Code, "Name": s.w.name(s.muni.Name)})
}

// provisionLaptop makes the supervisor's record and provisions it, then
// unlocks the new key, off the UI goroutine.
func (s *Supervisor) provisionLaptop(p *wizard, by string, pin []byte) (func(), *seal.PrivateKey, error) {
	req := review.ProvisionRequest{Definition: p.signed, Fingerprint: p.typedFingerprint, Municipality: p.municipality,
		PIN: pin, By: by}
	svc, err := s.opts.Setup.Provision(s.ctx, req)
	if err != nil {
		return nil, nil, err
	}
	var (
		def  *election.Definition
		muni *election.Municipality
		key  *seal.PrivateKey
	)
	def, muni, err = svc.Scope(s.ctx)
	if err == nil {
		key, err = svc.Unlock(s.ctx, pin)
	}
	apply := func() {
		s.svc = svc
		if def != nil {
			s.def, s.muni = def, muni
		}
	}
	return apply, key, err
}

func (s *Supervisor) keyReady(key *seal.PrivateKey) {
	if s.opts.Outbox != nil {
		s.opts.Outbox.SetKey(key)
	}
}

func (s *Supervisor) unlockKey(ctx context.Context, pin []byte) (*seal.PrivateKey, error) {
	return s.svc.Unlock(ctx, pin)
}

// enrolled shows the dashboard once the supervisor is enrolled, saying
// so above the list (not in a dialog: the search keeps the keyboard), and
// wakes the sync, which can now log in.
func (s *Supervisor) enrolled() {
	if s.opts.Outbox != nil {
		s.opts.Outbox.Wake()
	}
	s.justEnrolled = true
	s.showDashboard()
}
