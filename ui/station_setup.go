package ui

import (
	"context"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"

	"tally/app/election"
	"tally/app/seal"
	"tally/app/station"
)

// The station's part in the provisioning wizard (setupHost).

// startSetup shows the first step of the provisioning, or, when the app
// cannot provision, how to do it from the command line.
func (s *Station) startSetup() {
	if s.opts.Setup == nil || s.opts.Setup.Provision == nil {
		s.show("not-provisioned", s.notProvisioned)
		return
	}
	(&wizard{h: s}).start()
}

// notProvisioned says that this laptop is not bound to a station yet.
func (s *Station) notProvisioned() fyne.CanvasObject {
	box := container.NewVBox(
		bold(s.w.T("ui.not-provisioned", nil)),
		wrapped(s.w.T("ui.not-provisioned.how", nil), widget.MediumImportance))
	return container.NewCenter(container.NewPadded(box))
}

// showEnroll asks for the one-time code and the PIN, for a station that
// was provisioned without enrolling.
func (s *Station) showEnroll() {
	s.leaveScreen()
	p := &wizard{h: s}
	s.show("enroll", func() fyne.CanvasObject { return enrollScreen(p, nil) })
}

func (s *Station) lang() words                  { return s.w }
func (s *Station) window() fyne.Window          { return s.win }
func (s *Station) jobs() *queue                 { return s.ops }
func (s *Station) context() context.Context     { return s.ctx }
func (s *Station) redraw()                      { s.show(s.screenName, s.rebuild) }
func (s *Station) keep(leave func())            { s.leave = leave }
func (s *Station) focusOn(f fyne.Focusable)     { s.focus = f }
func (s *Station) problemText(err error) string { return s.w.problem(err) }
func (s *Station) setupKey(key string) string   { return key }
func (s *Station) unitScreen() string           { return "setup-station" }
func (s *Station) personScreen() string         { return "setup-chair" }
func (s *Station) offeredName() string          { return s.user }
func (s *Station) failed(err error)             { s.fail(err) }
func (s *Station) skipEnroll()                  { s.showHome() }
func (s *Station) backHome() fyne.CanvasObject  { return s.homeButton() }

func (s *Station) downloader() func(ctx context.Context, url string, pins []string) ([]byte, error) {
	if s.opts.Setup == nil {
		return nil
	}
	return s.opts.Setup.Download
}

func (s *Station) enroller() func(ctx context.Context, key *seal.PrivateKey, code string) error {
	if s.opts.Setup == nil {
		return nil
	}
	return s.opts.Setup.Enroll
}

// unitChosen names the station chosen in step 3.
func (s *Station) unitChosen(p *wizard) (string, bool) {
	st, ok := p.def.Station(p.station)
	if !ok {
		return s.w.T("ui.setup.station.none", nil), false
	}
	return s.w.T("ui.setup.station.chosen", map[string]any{"Code": st.Code, "Name": st.Name,
		"Registered": s.w.Int(st.Registered)}), true
}

func (s *Station) unitHeading() string {
	if s.me == nil {
		return ""
	}
	return s.w.T("ui.header.station", map[string]any{"Code": s.me.Code, "Name": s.me.Name})
}

// provisionLaptop makes the station's record and provisions it, then
// unlocks the new key, off the UI goroutine.
func (s *Station) provisionLaptop(p *wizard, by string, pin []byte) (func(), *seal.PrivateKey, error) {
	req := station.ProvisionRequest{Definition: p.signed, Fingerprint: p.typedFingerprint, Station: p.station,
		PIN: pin, By: by}
	svc, store, err := s.opts.Setup.Provision(s.ctx, req)
	if err != nil {
		return nil, nil, err
	}
	def, me, err := svc.Scope(s.ctx)
	var key *seal.PrivateKey
	if err == nil {
		key, err = svc.Unlock(s.ctx, pin)
	}
	apply := func() {
		s.svc, s.def, s.me = svc, def, me
		if store != nil {
			s.store = store
		}
		s.user = by
	}
	return apply, key, err
}

func (s *Station) keyReady(key *seal.PrivateKey) {
	if s.opts.Outbox != nil {
		s.opts.Outbox.SetKey(key)
	}
}

func (s *Station) unlockKey(ctx context.Context, pin []byte) (*seal.PrivateKey, error) {
	return s.svc.Unlock(ctx, pin)
}

// enrolled goes home once the station is enrolled, and wakes the outbox.
func (s *Station) enrolled() {
	if s.opts.Outbox != nil {
		s.opts.Outbox.Wake()
	}
	s.showHome()
	showMessage(s, s.w.T("ui.setup.enroll-title", nil), s.w.T("ui.setup.enrolled", nil))
}

// countingCentre stands in the list of voting centres for the
// municipality's counting centre, which is in none.
const countingCentre = "\x00counting"

// unitStep is the station's step 3: the municipality, the voting centre
// and the station, from the definition.
func (s *Station) unitStep(p *wizard) fyne.CanvasObject {
	def := p.def
	chosen := widget.NewLabelWithStyle("", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	chosen.Wrapping = fyne.TextWrapWord
	next := newKeyButton(s.w.T("ui.setup.next", nil), nil)
	next.Importance = widget.HighImportance

	var municipalities, centres, stations *picker
	showChosen := func() {
		text, ok := s.unitChosen(p)
		chosen.SetText(text)
		if ok {
			next.Enable()
		} else {
			next.Disable()
		}
	}
	fillStations := func() {
		var items []pickItem
		for _, st := range def.Stations {
			if st.Municipality != p.municipality || p.centre == "" {
				continue
			}
			if p.centre == countingCentre && st.Kind == election.Counting || st.Kind == election.Polling && st.Centre == p.centre {
				items = append(items, pickItem{st.Code, st.Code + "  " + st.Name})
			}
		}
		stations.set(items, p.station)
	}
	fillCentres := func() {
		var items []pickItem
		counting := false
		for _, st := range def.Stations {
			counting = counting || st.Municipality == p.municipality && st.Kind == election.Counting
		}
		if counting {
			items = append(items, pickItem{countingCentre, s.w.T("ui.setup.counting-centre", nil)})
		}
		for _, c := range def.VotingCentres {
			if c.Municipality == p.municipality {
				items = append(items, pickItem{c.Code, c.Code + "  " + c.Name})
			}
		}
		centres.set(items, p.centre)
	}
	municipalities = newPicker(s.w.T("ui.setup.filter", nil), func(code string) {
		if code != p.municipality {
			p.municipality, p.centre, p.station = code, "", ""
			centres.filter.SetText("")
			stations.filter.SetText("")
		}
		fillCentres()
		fillStations()
		showChosen()
		s.win.Canvas().Focus(centres.filter)
	})
	centres = newPicker(s.w.T("ui.setup.filter", nil), func(code string) {
		if code != p.centre {
			p.centre, p.station = code, ""
			stations.filter.SetText("")
		}
		fillStations()
		showChosen()
		s.win.Canvas().Focus(stations.filter)
	})
	stations = newPicker(s.w.T("ui.setup.filter", nil), func(code string) {
		p.station = code
		showChosen()
		s.win.Canvas().Focus(next)
	})
	municipalities.set(municipalityItems(s.w, def), p.municipality)
	fillCentres()
	fillStations()
	showChosen()

	goOn := func() {
		if _, ok := def.Station(p.station); !ok {
			return
		}
		p.ok()
		p.showPerson()
	}
	next.OnTapped = goOn
	s.onNext(goOn)
	back := newKeyButton(s.w.T("ui.setup.back", nil), func() { p.ok(); s.show("setup-fingerprint", p.fingerprintStep) })
	lists := container.NewGridWithColumns(3,
		municipalities.view(s.w.T("ui.setup.municipality", nil)),
		centres.view(s.w.T("ui.setup.centre", nil)),
		stations.view(s.w.T("ui.setup.station", nil)))
	s.focus = municipalities.filter
	switch {
	case p.station != "":
		s.focus = next
	case p.centre != "" || p.municipality != "" && len(centres.items) > 0:
		s.focus = centres.filter
	}
	body := container.NewBorder(nil, chosen, nil, nil, lists)
	return p.frame(3, s.w.T("ui.setup.station", nil), s.w.T("ui.setup.station.intro", nil), body, back, next)
}
