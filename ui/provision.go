package ui

import (
	"context"
	"errors"
	"fmt"
	"image/color"
	"io"
	"os"
	"strings"
	"unicode"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/storage"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
	"golang.org/x/text/unicode/norm"

	"tally/app/election"
	"tally/app/seal"
	"tally/app/station"
)

// Setup is what provisioning and enrollment need beyond the screens: the
// network and the station's record on disk, which the app supplies.
type Setup struct {
	// Download fetches the signed election definition from the
	// commission's server at url, checking its TLS key against pins (the
	// printed pin and its backup); plain http only to this computer.
	Download func(ctx context.Context, url string, pins []string) ([]byte, error)
	// Provision binds the laptop to a station: it makes the station's
	// record when there is none yet, runs station.Service.Provision on it
	// and returns the service and its store. When it fails nothing is
	// left behind.
	Provision func(ctx context.Context, req station.ProvisionRequest) (*station.Service, station.Store, error)
	// Enroll binds the station's key to the station at the commission
	// with the one-time code it printed; nil while enrollment is not
	// possible here.
	Enroll func(ctx context.Context, key *seal.PrivateKey, code string) error
}

// startSetup shows the first step of the provisioning, or, when the app
// cannot provision, how to do it from the command line.
func (s *Station) startSetup() {
	if s.opts.Setup == nil || s.opts.Setup.Provision == nil {
		s.show("not-provisioned", s.notProvisioned)
		return
	}
	p := &wizard{s: s}
	s.show("setup-definition", p.definitionStep)
}

// notProvisioned says that this laptop is not bound to a station yet.
func (s *Station) notProvisioned() fyne.CanvasObject {
	box := container.NewVBox(
		bold(s.w.T("ui.not-provisioned", nil)),
		wrapped(s.w.T("ui.not-provisioned.how", nil), widget.MediumImportance))
	return container.NewCenter(container.NewPadded(box))
}

// wizard is the provisioning of a laptop, step by step: the election
// definition, the commission's fingerprint, the station, the chair and
// the PIN, the enrollment. What was typed is kept here, so that a step
// rebuilt in another language shows it again.
type wizard struct {
	s *Station

	address, pin, backupPin, file string
	signed                        []byte
	def                           *election.Definition
	fingerprint                   string // of the definition's key, as the app computes it
	keyID                         string
	typedFingerprint              string
	municipality, centre, station string
	chair, chairPIN, chairRepeat  string
	code                          string
	// key is the station's key, unlocked once provisioned, for the
	// enrollment.
	key *seal.PrivateKey
	// problem is the last refusal, shown on the step until it changes.
	problem, details string
}

// steps is how many steps the wizard has, for "step 2 of 5".
const steps = 5

// frame lays out a step: its number and title, the intro, the body, the
// buttons and the step's message with its technical details.
func (p *wizard) frame(step int, title, intro string, body fyne.CanvasObject, buttons ...fyne.CanvasObject) fyne.CanvasObject {
	s := p.s
	head := widget.NewLabelWithStyle(s.w.T("ui.setup.step", map[string]any{"Step": step, "Steps": steps, "Title": title}),
		fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	top := container.NewVBox(head, wrapped(intro, widget.MediumImportance), widget.NewSeparator())
	bottom := container.NewVBox(widget.NewSeparator(), p.message(), container.NewHBox(buttons...))
	return container.NewPadded(container.NewBorder(top, bottom, nil, nil, body))
}

// message is the step's last refusal and, apart, its technical details.
func (p *wizard) message() fyne.CanvasObject {
	box := container.NewVBox()
	if p.problem != "" {
		box.Add(wrapped(p.problem, widget.DangerImportance))
	}
	if p.details != "" {
		box.Add(detailsBox(p.s, p.details))
	}
	return box
}

// detailsBox shows a technical text under a translated heading.
func detailsBox(s *Station, text string) fyne.CanvasObject {
	d := wrapped(text, widget.LowImportance)
	d.TextStyle = fyne.TextStyle{Monospace: true}
	return container.NewVBox(widget.NewLabel(s.w.T("ui.details", nil)), d)
}

// fail shows a refusal on the step of the moment.
func (p *wizard) fail(problem string, err error) {
	p.problem, p.details = problem, ""
	if err != nil {
		p.details = err.Error()
	}
	p.s.show(p.s.screenName, p.s.rebuild)
}

// ok clears the last refusal before the next step.
func (p *wizard) ok() { p.problem, p.details = "", "" }

// definitionStep gets the election definition: downloaded from the
// commission's server, or imported from a file.
func (p *wizard) definitionStep() fyne.CanvasObject {
	s := p.s
	address := newFieldEntry()
	address.SetPlaceHolder("https://…")
	address.SetText(p.address)
	pin := newFieldEntry()
	pin.SetPlaceHolder("sha256/…")
	pin.SetText(p.pin)
	backup := newFieldEntry()
	backup.SetPlaceHolder("sha256/…")
	backup.SetText(p.backupPin)
	file := newFieldEntry()
	file.SetPlaceHolder(s.w.T("ui.setup.file-path", nil))
	file.SetText(p.file)
	keep := func() { p.address, p.pin, p.backupPin, p.file = address.Text, pin.Text, backup.Text, file.Text }
	s.leave = keep

	download := func() {
		keep()
		p.download()
	}
	next := func(string) { s.win.Canvas().FocusNext() }
	address.OnSubmitted, pin.OnSubmitted = next, next
	backup.OnSubmitted = func(string) { download() }
	file.OnSubmitted = func(string) { keep(); p.importFile() }

	form := container.New(layout.NewFormLayout(),
		widget.NewLabel(s.w.T("ui.setup.address", nil)), address,
		widget.NewLabel(s.w.T("ui.setup.pin", nil)), pin,
		widget.NewLabel(s.w.T("ui.setup.backup-pin", nil)), backup)
	downloadButton := newKeyButton(s.w.T("ui.setup.download", nil), download)
	downloadButton.Importance = widget.HighImportance
	if s.opts.Setup.Download == nil {
		downloadButton.Disable()
	}
	choose := newKeyButton(s.w.T("ui.seal.photo-choose", nil), func() { keep(); p.chooseFile() })
	importButton := newKeyButton(s.w.T("ui.setup.import", nil), func() { keep(); p.importFile() })
	body := container.NewVBox(
		bold(s.w.T("ui.setup.from-server", nil)), form, container.NewHBox(downloadButton),
		widget.NewSeparator(),
		bold(s.w.T("ui.setup.from-file", nil)),
		container.NewBorder(nil, nil, nil, container.NewHBox(choose, importButton), file))
	s.focus = address
	if p.file != "" && p.address == "" {
		s.focus = file
	}
	return p.frame(1, s.w.T("ui.setup.definition", nil), s.w.T("ui.setup.definition.intro", nil),
		container.NewVScroll(body))
}

// download fetches the definition and opens it, off the UI goroutine.
func (p *wizard) download() {
	s := p.s
	url := strings.TrimSpace(p.address)
	if url == "" {
		p.fail(s.w.T("ui.setup.address-required", nil), nil)
		return
	}
	var pins []string
	for _, pin := range []string{p.pin, p.backupPin} {
		if pin = strings.TrimSpace(pin); pin != "" {
			pins = append(pins, pin)
		}
	}
	var signed []byte
	s.ops.do(func() (err error) {
		signed, err = s.opts.Setup.Download(s.ctx, url, pins)
		return err
	}, func(err error) {
		if err != nil {
			p.fail(s.w.T("ui.setup.download-failed", nil), err)
			return
		}
		p.open(signed)
	})
}

// chooseFile opens the file picker on JSON files.
func (p *wizard) chooseFile() {
	s := p.s
	d := dialog.NewFileOpen(func(rc fyne.URIReadCloser, err error) {
		if err != nil {
			p.fail(s.w.T("ui.setup.file-failed", nil), err)
			return
		}
		if rc == nil {
			return // cancelled
		}
		p.file = rc.URI().Path()
		_ = rc.Close()
		p.importFile()
	}, s.win)
	d.SetFilter(storage.NewExtensionFileFilter([]string{".json", ".JSON"}))
	d.Resize(fyne.NewSize(900, 600))
	d.Show()
}

// importFile reads the definition from the file named, off the UI
// goroutine.
func (p *wizard) importFile() {
	s := p.s
	path := strings.TrimSpace(p.file)
	if path == "" {
		p.fail(s.w.T("ui.setup.file-required", nil), nil)
		return
	}
	var signed []byte
	s.ops.do(func() (err error) {
		signed, err = readBounded(path, election.MaxDefinitionSize)
		return err
	}, func(err error) {
		if err != nil {
			p.fail(s.w.T("ui.setup.file-failed", nil), err)
			return
		}
		p.open(signed)
	})
}

// readBounded reads a file of at most max bytes.
func readBounded(path string, max int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > max {
		return nil, fmt.Errorf("%s: larger than %d MiB", path, max>>20)
	}
	return data, nil
}

// open verifies the definition's signature under the key it names, and
// goes on to the fingerprint: whether that key is the commission's is
// what the printed fingerprint decides.
func (p *wizard) open(signed []byte) {
	s := p.s
	var def *election.Definition
	var fingerprint string
	var keyID string
	s.ops.do(func() error {
		var err error
		if def, fingerprint, err = station.OpenDefinition(signed); err != nil {
			return err
		}
		key, err := seal.ParsePublicKey(def.Election.Keys.Definition)
		keyID = key.ID
		return err
	}, func(err error) {
		if err != nil {
			p.fail(s.w.T("ui.setup.definition-invalid", nil), err)
			return
		}
		if p.def == nil || p.def.Election.ID != def.Election.ID {
			p.municipality, p.centre, p.station = "", "", ""
		}
		p.signed, p.def, p.fingerprint, p.keyID = signed, def, fingerprint, keyID
		p.typedFingerprint = ""
		p.ok()
		s.show("setup-fingerprint", p.fingerprintStep)
	})
}

// fingerprintStep shows the fingerprint of the key that signed the
// definition, large, and has the operator type the printed one.
func (p *wizard) fingerprintStep() fyne.CanvasObject {
	s := p.s
	def := p.def
	about := s.w.T("ui.setup.election", map[string]any{"Name": s.w.name(def.Election.Name), "Date": def.Election.Date,
		"Stations": s.w.Int(len(def.Stations))})
	groups := strings.Fields(p.fingerprint)
	half := (len(groups) + 1) / 2
	large := container.NewVBox()
	for _, line := range []string{strings.Join(groups[:half], "  "), strings.Join(groups[half:], "  ")} {
		t := canvas.NewText(line, theme.Color(theme.ColorNameForeground))
		t.TextSize = 30
		t.TextStyle = fyne.TextStyle{Monospace: true}
		t.Alignment = fyne.TextAlignCenter
		large.Add(t)
	}
	frame := canvas.NewRectangle(color.Transparent)
	frame.StrokeColor = theme.Color(theme.ColorNamePrimary)
	frame.StrokeWidth = 2
	frame.CornerRadius = 6
	shown := container.NewStack(frame, container.NewPadded(container.NewPadded(large)))

	typed := newFieldEntry()
	typed.SetPlaceHolder("XXXX XXXX XXXX …")
	typed.SetText(p.typedFingerprint)
	typed.TextStyle = fyne.TextStyle{Monospace: true}
	s.leave = func() { p.typedFingerprint = typed.Text }
	check := func() {
		p.typedFingerprint = typed.Text
		p.checkFingerprint()
	}
	typed.OnSubmitted = func(string) { check() }
	next := newKeyButton(s.w.T("ui.setup.next", nil), check)
	next.Importance = widget.HighImportance
	s.onNext(check)
	back := newKeyButton(s.w.T("ui.setup.back", nil), func() { p.ok(); s.show("setup-definition", p.definitionStep) })
	body := container.NewVBox(bold(about), widget.NewLabel(s.w.T("ui.setup.fingerprint.shown", nil)),
		container.NewCenter(shown), widget.NewSeparator(),
		bold(s.w.T("ui.setup.fingerprint.typed", nil)), typed)
	s.focus = typed
	return p.frame(2, s.w.T("ui.setup.fingerprint", nil), s.w.T("ui.setup.fingerprint.intro", nil),
		container.NewVScroll(body), back, next)
}

// checkFingerprint compares the typed fingerprint with the definition's
// key before anything else is asked; Provision checks it again.
func (p *wizard) checkFingerprint() {
	s := p.s
	if strings.TrimSpace(p.typedFingerprint) == "" {
		p.fail(s.w.T("ui.setup.fingerprint-required", nil), nil)
		return
	}
	if !seal.MatchesFingerprint(p.typedFingerprint, p.keyID) {
		p.fail(s.w.T("ui.setup.fingerprint-mismatch", nil), nil)
		return
	}
	p.ok()
	s.show("setup-station", p.stationStep)
}

// pickItem is one line of a list to choose from.
type pickItem struct{ code, text string }

// picker is a list to choose from with a filter above it: typing filters,
// Enter picks the first line left, ↓ goes into the list (Space picks).
type picker struct {
	filter *fieldEntry
	list   *widget.List
	items  []pickItem
	shown  []int
	chosen string
	onPick func(code string)
}

func newPicker(placeholder string, onPick func(code string)) *picker {
	k := &picker{filter: newFieldEntry(), onPick: onPick}
	k.filter.SetPlaceHolder(placeholder)
	k.list = widget.NewList(func() int { return len(k.shown) },
		func() fyne.CanvasObject {
			l := widget.NewLabel("")
			l.Truncation = fyne.TextTruncateEllipsis
			return l
		},
		func(id widget.ListItemID, o fyne.CanvasObject) {
			it := k.items[k.shown[id]]
			l := o.(*widget.Label)
			l.SetText(it.text)
			l.TextStyle.Bold = it.code == k.chosen
			l.Refresh()
		})
	k.list.OnSelected = func(id widget.ListItemID) {
		if id < 0 || id >= len(k.shown) {
			return
		}
		k.chosen = k.items[k.shown[id]].code
		k.list.Refresh()
		k.onPick(k.chosen)
	}
	k.filter.OnChanged = func(string) { k.apply() }
	k.filter.OnSubmitted = func(string) {
		if len(k.shown) > 0 {
			k.list.UnselectAll()
			k.list.Select(0)
		}
	}
	return k
}

// set replaces the lines, keeping the choice if it is still there.
func (k *picker) set(items []pickItem, chosen string) {
	k.items, k.chosen = items, chosen
	k.apply()
}

// apply filters the lines by what the filter holds: every word must be
// in the line, whatever the case and the accents, so that "decan" finds
// "Deçan" on a keyboard without ç.
func (k *picker) apply() {
	words := strings.Fields(fold(k.filter.Text))
	k.shown = k.shown[:0]
	for i, it := range k.items {
		line := fold(it.text)
		all := true
		for _, w := range words {
			all = all && strings.Contains(line, w)
		}
		if all {
			k.shown = append(k.shown, i)
		}
	}
	k.list.UnselectAll()
	k.list.Refresh()
	k.list.ScrollToTop()
}

// fold is text for comparing: lower case, without accents.
func fold(text string) string {
	var b strings.Builder
	for _, r := range norm.NFD.String(strings.ToLower(text)) {
		switch {
		case unicode.Is(unicode.Mn, r):
			continue
		case r == 'đ':
			r = 'd'
		case r == 'ı':
			r = 'i'
		}
		b.WriteRune(r)
	}
	return b.String()
}

func (k *picker) view(title string) fyne.CanvasObject {
	return container.NewBorder(container.NewVBox(bold(title), k.filter), nil, nil, nil, k.list)
}

// countingCentre stands in the list of voting centres for the
// municipality's counting centre, which is in none.
const countingCentre = "\x00counting"

// stationStep chooses the municipality, the voting centre and the
// station from the definition.
func (p *wizard) stationStep() fyne.CanvasObject {
	s := p.s
	def := p.def
	chosen := widget.NewLabelWithStyle("", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	chosen.Wrapping = fyne.TextWrapWord
	next := newKeyButton(s.w.T("ui.setup.next", nil), nil)
	next.Importance = widget.HighImportance

	var municipalities, centres, stations *picker
	showChosen := func() {
		st, ok := def.Station(p.station)
		if !ok {
			chosen.SetText(s.w.T("ui.setup.station.none", nil))
			next.Disable()
			return
		}
		chosen.SetText(s.w.T("ui.setup.station.chosen", map[string]any{"Code": st.Code, "Name": st.Name,
			"Registered": s.w.Int(st.Registered)}))
		next.Enable()
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
	var items []pickItem
	for _, m := range def.Municipalities {
		items = append(items, pickItem{m.Code, m.Code + "  " + s.w.name(m.Name)})
	}
	municipalities.set(items, p.municipality)
	fillCentres()
	fillStations()
	showChosen()

	goOn := func() {
		if _, ok := def.Station(p.station); !ok {
			return
		}
		p.ok()
		s.show("setup-chair", p.chairStep)
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

// chairStep takes the chair's name and the PIN, twice, after saying what
// a PIN must be.
func (p *wizard) chairStep() fyne.CanvasObject {
	s := p.s
	name := newFieldEntry()
	name.SetText(p.chair)
	if name.Text == "" {
		name.SetText(s.user)
	}
	pin := newPINEntry()
	pin.SetText(p.chairPIN)
	repeat := newPINEntry()
	repeat.SetText(p.chairRepeat)
	keep := func() { p.chair, p.chairPIN, p.chairRepeat = name.Text, pin.Text, repeat.Text }
	s.leave = keep
	provision := func() {
		keep()
		p.provision()
	}
	next := func(string) { s.win.Canvas().FocusNext() }
	name.OnSubmitted, pin.OnSubmitted = next, next
	repeat.OnSubmitted = func(string) { provision() }
	button := newKeyButton(s.w.T("ui.setup.provision", nil), provision)
	button.Importance = widget.HighImportance
	s.onNext(provision)
	back := newKeyButton(s.w.T("ui.setup.back", nil), func() { keep(); p.ok(); s.show("setup-station", p.stationStep) })

	st, _ := p.def.Station(p.station)
	form := container.New(layout.NewFormLayout(),
		widget.NewLabel(s.w.T("ui.setup.chair", nil)), name,
		widget.NewLabel(s.w.T("ui.seal.pin", nil)), pin,
		widget.NewLabel(s.w.T("ui.setup.pin-repeat", nil)), repeat)
	rule := wrapped(s.w.T("ui.setup.pin-rule", map[string]any{"Min": seal.MinPINLength}), widget.WarningImportance)
	body := container.NewVBox(bold(s.w.T("ui.setup.station.chosen", map[string]any{"Code": st.Code, "Name": st.Name,
		"Registered": s.w.Int(st.Registered)})), rule, form)
	s.focus = name
	if name.Text != "" {
		s.focus = pin
	}
	return p.frame(4, s.w.T("ui.setup.chair-step", nil), s.w.T("ui.setup.chair.intro", nil),
		container.NewVScroll(body), back, button)
}

// provision checks the chair's PIN, then provisions the laptop and
// unlocks the new key for the enrollment, off the UI goroutine.
func (p *wizard) provision() {
	s := p.s
	chair := strings.TrimSpace(p.chair)
	switch err := seal.CheckPINStrength(p.chairPIN); {
	case chair == "":
		p.fail(s.w.T("ui.begin.name-required", nil), nil)
		return
	case err != nil:
		p.chairPIN, p.chairRepeat = "", ""
		p.fail(s.w.problem(err), nil)
		return
	case p.chairPIN != p.chairRepeat:
		p.chairPIN, p.chairRepeat = "", ""
		p.fail(s.w.T("ui.setup.pin-differs", nil), nil)
		return
	}
	secret := []byte(p.chairPIN)
	p.chairPIN, p.chairRepeat = "", ""
	req := station.ProvisionRequest{Definition: p.signed, Fingerprint: p.typedFingerprint, Station: p.station,
		PIN: secret, By: chair}
	var (
		svc   *station.Service
		store station.Store
		key   *seal.PrivateKey
		def   *election.Definition
		me    *election.Station
	)
	s.setContent(container.NewCenter(widget.NewLabel(s.w.T("ui.setup.provisioning", nil))))
	s.ops.do(func() error {
		defer clear(secret)
		var err error
		if svc, store, err = s.opts.Setup.Provision(s.ctx, req); err != nil {
			return err
		}
		if def, me, err = svc.Scope(s.ctx); err != nil {
			return err
		}
		key, err = svc.Unlock(s.ctx, secret)
		return err
	}, func(err error) {
		if svc != nil {
			// Provisioned, even if the key did not open: the station exists.
			s.svc, s.def, s.me = svc, def, me
			if store != nil {
				s.store = store
			}
		}
		switch {
		case err != nil && svc == nil:
			p.fail(s.w.problem(err), nil)
			return
		case err != nil:
			s.fail(err)
			s.showHome()
			return
		}
		s.user = chair
		p.key = key
		if s.opts.Outbox != nil {
			s.opts.Outbox.SetKey(key)
		}
		p.ok()
		s.show("setup-enroll", p.enrollStep)
	})
}

// enrollStep is the last step: the one-time code, or later.
func (p *wizard) enrollStep() fyne.CanvasObject {
	return p.s.enrollScreen(p, p.key)
}

// enrollScreen binds the station's key at the commission with the
// printed one-time code. In the wizard the key is open already; from
// home the chair's PIN opens it.
func (s *Station) enrollScreen(p *wizard, key *seal.PrivateKey) fyne.CanvasObject {
	if p == nil {
		p = &wizard{s: s}
	}
	code := newFieldEntry()
	code.SetPlaceHolder("XXXXX-XXXXX-XXXXX")
	code.TextStyle = fyne.TextStyle{Monospace: true}
	code.SetText(p.code)
	s.leave = func() { p.code = code.Text }
	var pin *fieldEntry
	enroll := func() {
		p.code = code.Text
		p.enroll(code.Text, pin, key)
	}
	later := newKeyButton(s.w.T("ui.setup.enroll-later", nil), func() { p.ok(); s.showHome() })
	button := newKeyButton(s.w.T("ui.setup.enroll", nil), enroll)
	button.Importance = widget.HighImportance
	form := container.New(layout.NewFormLayout(), widget.NewLabel(s.w.T("ui.setup.code", nil)), code)
	if key == nil {
		pin = newPINEntry()
		pin.OnSubmitted = func(string) { enroll() }
		code.OnSubmitted = func(string) { s.win.Canvas().FocusNext() }
		form.Add(widget.NewLabel(s.w.T("ui.seal.pin", nil)))
		form.Add(pin)
	} else {
		code.OnSubmitted = func(string) { enroll() }
	}
	s.onNext(enroll)
	box := container.NewVBox()
	if s.me != nil {
		box.Add(bold(s.w.T("ui.header.station", map[string]any{"Code": s.me.Code, "Name": s.me.Name})))
	}
	if key != nil {
		box.Add(wrapped(s.w.T("ui.setup.provisioned", nil), widget.SuccessImportance))
		box.Add(widget.NewLabelWithStyle(s.w.T("ui.setup.station-key", map[string]any{"Fingerprint": seal.Fingerprint(key.ID())}),
			fyne.TextAlignLeading, fyne.TextStyle{Monospace: true}))
	}
	box.Add(form)
	if s.opts.Setup == nil || s.opts.Setup.Enroll == nil {
		button.Disable()
	}
	s.focus = code
	intro := s.w.T("ui.setup.enroll.intro", nil)
	if p.key == nil && key == nil {
		// From home: not a step of the wizard.
		top := container.NewVBox(bold(s.w.T("ui.setup.enroll-title", nil)), wrapped(intro, widget.MediumImportance),
			widget.NewSeparator())
		bottom := container.NewVBox(widget.NewSeparator(), p.message(), container.NewHBox(button, s.homeButton()))
		return container.NewPadded(container.NewBorder(top, bottom, nil, nil, container.NewVScroll(box)))
	}
	return p.frame(5, s.w.T("ui.setup.enroll-title", nil), intro, container.NewVScroll(box), later, button)
}

// enroll sends the enrollment, off the UI goroutine; pin is nil when the
// key is open already.
func (p *wizard) enroll(code string, pin *fieldEntry, key *seal.PrivateKey) {
	s := p.s
	code = strings.TrimSpace(code)
	if code == "" {
		p.fail(s.w.T("ui.setup.code-required", nil), nil)
		return
	}
	var secret []byte
	if key == nil {
		if pin == nil || pin.Text == "" {
			p.fail(s.w.T("ui.seal.pin-required", nil), nil)
			return
		}
		secret = []byte(pin.Text)
		pin.SetText("")
	}
	s.ops.do(func() error {
		defer clear(secret)
		if key == nil {
			k, err := s.svc.Unlock(s.ctx, secret)
			if err != nil {
				return err
			}
			key = k
			if s.opts.Outbox != nil {
				s.opts.Outbox.SetKey(k)
			}
		}
		return s.opts.Setup.Enroll(s.ctx, key, code)
	}, func(err error) {
		var soon *seal.TooSoonError
		switch {
		case errors.Is(err, seal.ErrWrongPIN) || errors.As(err, &soon):
			p.fail(s.w.problem(err), nil)
			return
		case err != nil:
			p.fail(s.w.T("ui.setup.enroll-failed", nil), err)
			return
		}
		p.ok()
		p.code = ""
		if s.opts.Outbox != nil {
			s.opts.Outbox.Wake()
		}
		s.showHome()
		showMessage(s, s.w.T("ui.setup.enroll-title", nil), s.w.T("ui.setup.enrolled", nil))
	})
}
