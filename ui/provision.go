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
	"tally/app/provision"
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

// setupHost is the window the provisioning wizard runs in, the station's
// or the supervisor's: its machinery, and what differs between the two —
// what the laptop is bound to (step 3, a station or a municipality), who
// provisions it (step 4), how it is provisioned and enrolled, and where
// the wizard ends.
type setupHost interface {
	lang() words
	window() fyne.Window
	jobs() *queue
	context() context.Context
	show(name string, build func() fyne.CanvasObject)
	setContent(body fyne.CanvasObject)
	// redraw shows the screen of the moment again, in place.
	redraw()
	// keep is what the step holds, kept when it is left or drawn again.
	keep(leave func())
	focusOn(f fyne.Focusable)
	onNext(fn func())
	problemText(err error) string
	// setupKey is the message key to use for one of the wizard's
	// ui.setup.* texts, where the role words it otherwise.
	setupKey(key string) string
	downloader() func(ctx context.Context, url string, pins []string) ([]byte, error)

	// unitScreen and unitStep are step 3; unitChosen names what it
	// chose, for step 4 (false: nothing yet).
	unitScreen() string
	unitStep(p *wizard) fyne.CanvasObject
	unitChosen(p *wizard) (string, bool)
	// personScreen is step 4's name; offeredName the name it offers.
	personScreen() string
	offeredName() string
	// provisionLaptop runs off the UI goroutine: it binds the laptop and
	// unlocks the new key. apply, when not nil, runs on the UI goroutine
	// afterwards, even with an error: the laptop is provisioned then,
	// though its key did not open.
	provisionLaptop(p *wizard, by string, pin []byte) (apply func(), key *seal.PrivateKey, err error)
	// keyReady hands the unlocked key to the sync worker; safe from any
	// goroutine.
	keyReady(key *seal.PrivateKey)
	// unlockKey opens the laptop's key with the PIN; off the UI goroutine.
	unlockKey(ctx context.Context, pin []byte) (*seal.PrivateKey, error)
	// enroller binds the key at the commission; nil when not possible.
	enroller() func(ctx context.Context, key *seal.PrivateKey, code string) error
	// unitHeading names what the laptop is bound to, above the enrollment.
	unitHeading() string
	// failed shows a failure after the laptop was provisioned.
	failed(err error)
	// enrolled and skipEnroll end the wizard: enrolled now, or later.
	enrolled()
	skipEnroll()
	// backHome is the button that leaves the enrollment when it was
	// opened from the screens, not the wizard.
	backHome() fyne.CanvasObject
}

// wizard is the provisioning of a laptop, step by step: the election
// definition, the commission's fingerprint, the station or the
// municipality, the person and the PIN, the enrollment. What was typed is
// kept here, so that a step rebuilt in another language shows it again.
type wizard struct {
	h setupHost

	address, pin, backupPin, file string
	signed                        []byte
	def                           *election.Definition
	fingerprint                   string // of the definition's key, as the app computes it
	keyID                         string
	typedFingerprint              string
	municipality, centre, station string
	person, personPIN, repeat     string
	code                          string
	// key is the laptop's new key, unlocked once provisioned, for the
	// enrollment.
	key *seal.PrivateKey
	// problem is the last refusal, shown on the step until it changes.
	problem, details string
}

// steps is how many steps the wizard has, for "step 2 of 5".
const steps = 5

// t is one of the wizard's texts, as the role words it.
func (p *wizard) t(key string, data map[string]any) string {
	return p.h.lang().T(p.h.setupKey(key), data)
}

// frame lays out a step: its number and title, the intro, the body, the
// buttons and the step's message with its technical details.
func (p *wizard) frame(step int, title, intro string, body fyne.CanvasObject, buttons ...fyne.CanvasObject) fyne.CanvasObject {
	w := p.h.lang()
	head := widget.NewLabelWithStyle(w.T("ui.setup.step", map[string]any{"Step": step, "Steps": steps, "Title": title}),
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
		box.Add(detailsBox(p.h.lang(), p.details))
	}
	return box
}

// detailsBox shows a technical text under a translated heading.
func detailsBox(w words, text string) fyne.CanvasObject {
	d := wrapped(text, widget.LowImportance)
	d.TextStyle = fyne.TextStyle{Monospace: true}
	return container.NewVBox(widget.NewLabel(w.T("ui.details", nil)), d)
}

// fail shows a refusal on the step of the moment.
func (p *wizard) fail(problem string, err error) {
	p.problem, p.details = problem, ""
	if err != nil {
		p.details = err.Error()
	}
	p.h.redraw()
}

// ok clears the last refusal before the next step.
func (p *wizard) ok() { p.problem, p.details = "", "" }

// start shows the first step.
func (p *wizard) start() { p.h.show("setup-definition", p.definitionStep) }

// definitionStep gets the election definition: downloaded from the
// commission's server, or imported from a file.
func (p *wizard) definitionStep() fyne.CanvasObject {
	h, w := p.h, p.h.lang()
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
	file.SetPlaceHolder(w.T("ui.setup.file-path", nil))
	file.SetText(p.file)
	keep := func() { p.address, p.pin, p.backupPin, p.file = address.Text, pin.Text, backup.Text, file.Text }
	h.keep(keep)

	download := func() {
		keep()
		p.download()
	}
	next := func(string) { h.window().Canvas().FocusNext() }
	address.OnSubmitted, pin.OnSubmitted = next, next
	backup.OnSubmitted = func(string) { download() }
	file.OnSubmitted = func(string) { keep(); p.importFile() }

	form := container.New(layout.NewFormLayout(),
		widget.NewLabel(w.T("ui.setup.address", nil)), address,
		widget.NewLabel(w.T("ui.setup.pin", nil)), pin,
		widget.NewLabel(w.T("ui.setup.backup-pin", nil)), backup)
	downloadButton := newKeyButton(w.T("ui.setup.download", nil), download)
	downloadButton.Importance = widget.HighImportance
	if h.downloader() == nil {
		downloadButton.Disable()
	}
	choose := newKeyButton(w.T("ui.seal.photo-choose", nil), func() { keep(); p.chooseFile() })
	importButton := newKeyButton(w.T("ui.setup.import", nil), func() { keep(); p.importFile() })
	body := container.NewVBox(
		bold(w.T("ui.setup.from-server", nil)), form, container.NewHBox(downloadButton),
		widget.NewSeparator(),
		bold(w.T("ui.setup.from-file", nil)),
		container.NewBorder(nil, nil, nil, container.NewHBox(choose, importButton), file))
	h.focusOn(address)
	if p.file != "" && p.address == "" {
		h.focusOn(file)
	}
	return p.frame(1, w.T("ui.setup.definition", nil), p.t("ui.setup.definition.intro", nil),
		container.NewVScroll(body))
}

// download fetches the definition and opens it, off the UI goroutine.
func (p *wizard) download() {
	h, w := p.h, p.h.lang()
	url := strings.TrimSpace(p.address)
	if url == "" {
		p.fail(w.T("ui.setup.address-required", nil), nil)
		return
	}
	var pins []string
	for _, pin := range []string{p.pin, p.backupPin} {
		if pin = strings.TrimSpace(pin); pin != "" {
			pins = append(pins, pin)
		}
	}
	fetch := h.downloader()
	var signed []byte
	h.jobs().do(func() (err error) {
		signed, err = fetch(h.context(), url, pins)
		return err
	}, func(err error) {
		if err != nil {
			p.fail(h.lang().T("ui.setup.download-failed", nil), err)
			return
		}
		p.open(signed)
	})
}

// chooseFile opens the file picker on JSON files.
func (p *wizard) chooseFile() {
	h := p.h
	d := dialog.NewFileOpen(func(rc fyne.URIReadCloser, err error) {
		if err != nil {
			p.fail(h.lang().T("ui.setup.file-failed", nil), err)
			return
		}
		if rc == nil {
			return // cancelled
		}
		p.file = rc.URI().Path()
		_ = rc.Close()
		p.importFile()
	}, h.window())
	d.SetFilter(storage.NewExtensionFileFilter([]string{".json", ".JSON"}))
	d.Resize(fyne.NewSize(900, 600))
	d.Show()
}

// importFile reads the definition from the file named, off the UI
// goroutine.
func (p *wizard) importFile() {
	h := p.h
	path := strings.TrimSpace(p.file)
	if path == "" {
		p.fail(h.lang().T("ui.setup.file-required", nil), nil)
		return
	}
	var signed []byte
	h.jobs().do(func() (err error) {
		signed, err = readBounded(path, election.MaxDefinitionSize)
		return err
	}, func(err error) {
		if err != nil {
			p.fail(h.lang().T("ui.setup.file-failed", nil), err)
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
	h := p.h
	var def *election.Definition
	var fingerprint string
	var keyID string
	h.jobs().do(func() error {
		var err error
		if def, fingerprint, err = provision.OpenDefinition(signed); err != nil {
			return err
		}
		key, err := seal.ParsePublicKey(def.Election.Keys.Definition)
		keyID = key.ID
		return err
	}, func(err error) {
		if err != nil {
			p.fail(h.lang().T("ui.setup.definition-invalid", nil), err)
			return
		}
		if p.def == nil || p.def.Election.ID != def.Election.ID {
			p.municipality, p.centre, p.station = "", "", ""
		}
		p.signed, p.def, p.fingerprint, p.keyID = signed, def, fingerprint, keyID
		p.typedFingerprint = ""
		p.ok()
		h.show("setup-fingerprint", p.fingerprintStep)
	})
}

// fingerprintStep shows the fingerprint of the key that signed the
// definition, large, and has the operator type the printed one.
func (p *wizard) fingerprintStep() fyne.CanvasObject {
	h, w := p.h, p.h.lang()
	def := p.def
	about := w.T("ui.setup.election", map[string]any{"Name": w.name(def.Election.Name), "Date": def.Election.Date,
		"Stations": w.Int(len(def.Stations))})
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
	h.keep(func() { p.typedFingerprint = typed.Text })
	check := func() {
		p.typedFingerprint = typed.Text
		p.checkFingerprint()
	}
	typed.OnSubmitted = func(string) { check() }
	next := newKeyButton(w.T("ui.setup.next", nil), check)
	next.Importance = widget.HighImportance
	h.onNext(check)
	back := newKeyButton(w.T("ui.setup.back", nil), func() { p.ok(); h.show("setup-definition", p.definitionStep) })
	body := container.NewVBox(bold(about), widget.NewLabel(w.T("ui.setup.fingerprint.shown", nil)),
		container.NewCenter(shown), widget.NewSeparator(),
		bold(w.T("ui.setup.fingerprint.typed", nil)), typed)
	h.focusOn(typed)
	return p.frame(2, w.T("ui.setup.fingerprint", nil), w.T("ui.setup.fingerprint.intro", nil),
		container.NewVScroll(body), back, next)
}

// checkFingerprint compares the typed fingerprint with the definition's
// key before anything else is asked; the provisioning checks it again.
func (p *wizard) checkFingerprint() {
	w := p.h.lang()
	if strings.TrimSpace(p.typedFingerprint) == "" {
		p.fail(w.T("ui.setup.fingerprint-required", nil), nil)
		return
	}
	if !seal.MatchesFingerprint(p.typedFingerprint, p.keyID) {
		p.fail(w.T("ui.setup.fingerprint-mismatch", nil), nil)
		return
	}
	p.ok()
	p.showUnit()
}

// showUnit shows step 3: what the laptop is bound to.
func (p *wizard) showUnit() {
	p.h.show(p.h.unitScreen(), func() fyne.CanvasObject { return p.h.unitStep(p) })
}

// showPerson shows step 4: who provisions the laptop, and the PIN.
func (p *wizard) showPerson() { p.h.show(p.h.personScreen(), p.personStep) }

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

// municipalityItems are the definition's municipalities as lines to
// choose from.
func municipalityItems(w words, def *election.Definition) []pickItem {
	var items []pickItem
	for _, m := range def.Municipalities {
		items = append(items, pickItem{m.Code, m.Code + "  " + w.name(m.Name)})
	}
	return items
}

// personStep takes the name of who provisions the laptop and the PIN,
// twice, after saying what a PIN must be.
func (p *wizard) personStep() fyne.CanvasObject {
	h, w := p.h, p.h.lang()
	name := newFieldEntry()
	name.SetText(p.person)
	if name.Text == "" {
		name.SetText(h.offeredName())
	}
	pin := newPINEntry()
	pin.SetText(p.personPIN)
	repeat := newPINEntry()
	repeat.SetText(p.repeat)
	keep := func() { p.person, p.personPIN, p.repeat = name.Text, pin.Text, repeat.Text }
	h.keep(keep)
	provision := func() {
		keep()
		p.provision()
	}
	next := func(string) { h.window().Canvas().FocusNext() }
	name.OnSubmitted, pin.OnSubmitted = next, next
	repeat.OnSubmitted = func(string) { provision() }
	button := newKeyButton(w.T("ui.setup.provision", nil), provision)
	button.Importance = widget.HighImportance
	h.onNext(provision)
	back := newKeyButton(w.T("ui.setup.back", nil), func() { keep(); p.ok(); p.showUnit() })

	form := container.New(layout.NewFormLayout(),
		widget.NewLabel(p.t("ui.setup.chair", nil)), name,
		widget.NewLabel(w.T("ui.seal.pin", nil)), pin,
		widget.NewLabel(w.T("ui.setup.pin-repeat", nil)), repeat)
	rule := wrapped(w.T("ui.setup.pin-rule", map[string]any{"Min": seal.MinPINLength}), widget.WarningImportance)
	chosen, _ := h.unitChosen(p)
	body := container.NewVBox(bold(chosen), rule, form)
	h.focusOn(name)
	if name.Text != "" {
		h.focusOn(pin)
	}
	return p.frame(4, p.t("ui.setup.chair-step", nil), p.t("ui.setup.chair.intro", nil),
		container.NewVScroll(body), back, button)
}

// provision checks the name and the PIN, then provisions the laptop and
// unlocks the new key for the enrollment, off the UI goroutine.
func (p *wizard) provision() {
	h, w := p.h, p.h.lang()
	person := strings.TrimSpace(p.person)
	switch err := seal.CheckPINStrength(p.personPIN); {
	case person == "":
		p.fail(w.T("ui.begin.name-required", nil), nil)
		return
	case err != nil:
		p.personPIN, p.repeat = "", ""
		p.fail(h.problemText(err), nil)
		return
	case p.personPIN != p.repeat:
		p.personPIN, p.repeat = "", ""
		p.fail(w.T("ui.setup.pin-differs", nil), nil)
		return
	}
	secret := []byte(p.personPIN)
	p.personPIN, p.repeat = "", ""
	var (
		apply func()
		key   *seal.PrivateKey
	)
	h.setContent(container.NewCenter(widget.NewLabel(p.t("ui.setup.provisioning", nil))))
	h.jobs().do(func() (err error) {
		defer clear(secret)
		apply, key, err = h.provisionLaptop(p, person, secret)
		return err
	}, func(err error) {
		if apply != nil {
			apply() // provisioned, even if the key did not open
		}
		switch {
		case err != nil && apply == nil:
			p.fail(h.problemText(err), nil)
			return
		case err != nil:
			h.failed(err)
			h.skipEnroll()
			return
		}
		p.key = key
		h.keyReady(key)
		p.ok()
		h.show("setup-enroll", p.enrollStep)
	})
}

// enrollStep is the last step: the one-time code, or later.
func (p *wizard) enrollStep() fyne.CanvasObject {
	return enrollScreen(p, p.key)
}

// enrollScreen binds the laptop's key at the commission with the printed
// one-time code. In the wizard the key is open already; from the screens
// the PIN opens it.
func enrollScreen(p *wizard, key *seal.PrivateKey) fyne.CanvasObject {
	h, w := p.h, p.h.lang()
	code := newFieldEntry()
	code.SetPlaceHolder("XXXXX-XXXXX-XXXXX")
	code.TextStyle = fyne.TextStyle{Monospace: true}
	code.SetText(p.code)
	h.keep(func() { p.code = code.Text })
	var pin *fieldEntry
	enroll := func() {
		p.code = code.Text
		p.enroll(code.Text, pin, key)
	}
	later := newKeyButton(p.t("ui.setup.enroll-later", nil), func() { p.ok(); h.skipEnroll() })
	button := newKeyButton(w.T("ui.setup.enroll", nil), enroll)
	button.Importance = widget.HighImportance
	form := container.New(layout.NewFormLayout(), widget.NewLabel(w.T("ui.setup.code", nil)), code)
	if key == nil {
		pin = newPINEntry()
		pin.OnSubmitted = func(string) { enroll() }
		code.OnSubmitted = func(string) { h.window().Canvas().FocusNext() }
		form.Add(widget.NewLabel(w.T("ui.seal.pin", nil)))
		form.Add(pin)
	} else {
		code.OnSubmitted = func(string) { enroll() }
	}
	h.onNext(enroll)
	box := container.NewVBox()
	if heading := h.unitHeading(); heading != "" {
		box.Add(bold(heading))
	}
	if key != nil {
		box.Add(wrapped(p.t("ui.setup.provisioned", nil), widget.SuccessImportance))
		box.Add(widget.NewLabelWithStyle(p.t("ui.setup.station-key", map[string]any{"Fingerprint": seal.Fingerprint(key.ID())}),
			fyne.TextAlignLeading, fyne.TextStyle{Monospace: true}))
	}
	box.Add(form)
	if h.enroller() == nil {
		button.Disable()
	}
	h.focusOn(code)
	intro := p.t("ui.setup.enroll.intro", nil)
	if p.key == nil && key == nil {
		// From the screens: not a step of the wizard.
		top := container.NewVBox(bold(w.T("ui.setup.enroll-title", nil)), wrapped(intro, widget.MediumImportance),
			widget.NewSeparator())
		bottom := container.NewVBox(widget.NewSeparator(), p.message(), container.NewHBox(button, h.backHome()))
		return container.NewPadded(container.NewBorder(top, bottom, nil, nil, container.NewVScroll(box)))
	}
	return p.frame(5, w.T("ui.setup.enroll-title", nil), intro, container.NewVScroll(box), later, button)
}

// enroll sends the enrollment, off the UI goroutine; pin is nil when the
// key is open already.
func (p *wizard) enroll(code string, pin *fieldEntry, key *seal.PrivateKey) {
	h, w := p.h, p.h.lang()
	code = strings.TrimSpace(code)
	if code == "" {
		p.fail(w.T("ui.setup.code-required", nil), nil)
		return
	}
	var secret []byte
	if key == nil {
		if pin == nil || pin.Text == "" {
			p.fail(w.T("ui.seal.pin-required", nil), nil)
			return
		}
		secret = []byte(pin.Text)
		pin.SetText("")
	}
	send := h.enroller()
	h.jobs().do(func() error {
		defer clear(secret)
		if key == nil {
			k, err := h.unlockKey(h.context(), secret)
			if err != nil {
				return err
			}
			key = k
			h.keyReady(k)
		}
		return send(h.context(), key, code)
	}, func(err error) {
		var soon *seal.TooSoonError
		switch {
		case errors.Is(err, seal.ErrWrongPIN) || errors.As(err, &soon):
			p.fail(h.problemText(err), nil)
			return
		case err != nil:
			p.fail(p.t("ui.setup.enroll-failed", nil), err)
			return
		}
		p.ok()
		p.code = ""
		h.enrolled()
	})
}
