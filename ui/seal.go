package ui

import (
	"bytes"
	"fmt"
	"image"
	_ "image/jpeg" // the photo's preview
	_ "image/png"
	"os"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/storage"
	"fyne.io/fyne/v2/widget"
	xdraw "golang.org/x/image/draw"

	"tally/app/election"
	"tally/app/station"
)

// sealScreen is the agreed form before it is sealed: its numbers, the
// errors the chair confirms with an explanation, the photo of the signed
// paper form, and the chair's PIN.
func (s *Station) sealScreen(v *station.FormView) fyne.CanvasObject {
	p := &sealing{s: s, v: v}
	return p.build()
}

// sealing is the seal screen of one form.
type sealing struct {
	s       *Station
	v       *station.FormView
	name    *fieldEntry
	message *widget.Label
	preview *fyne.Container
}

func (p *sealing) build() fyne.CanvasObject {
	s, v := p.s, p.v
	p.message = wrapped("", widget.DangerImportance)
	p.name = newFieldEntry()
	p.name.SetText(s.user)
	p.name.OnSubmitted = func(string) { s.win.Canvas().FocusNext() }

	// The agreed numbers, to read against the paper once more.
	numbers := container.NewVBox()
	fields := make([]election.Field, 0, len(v.Layout.Fields)+1)
	for _, spec := range v.Layout.Fields {
		fields = append(fields, spec.ID)
	}
	fields = append(fields, election.FieldMembers)
	for _, f := range fields {
		name := widget.NewLabel(s.w.fieldName(v.Layout, f))
		name.Truncation = fyne.TextTruncateEllipsis
		value := "–"
		if n, ok := v.Values[f]; ok {
			value = s.w.Int(n)
		}
		numbers.Add(container.New(columns{56, 300, 110},
			widget.NewLabelWithStyle(fieldCode(f), fyne.TextAlignLeading, fyne.TextStyle{Monospace: true}),
			name, widget.NewLabelWithStyle(value, fyne.TextAlignTrailing, fyne.TextStyle{Monospace: true}), layout.NewSpacer()))
	}
	who := s.w.T("ui.seal.entered", map[string]any{"First": v.EnteredBy, "Second": v.ReenteredBy})

	side := container.NewVBox(container.New(columns{200, 260}, widget.NewLabel(s.w.T("ui.name", nil)), p.name, layout.NewSpacer()))
	side.Add(bold(s.w.T("ui.entry.errors", nil)))
	var firstInput fyne.Focusable
	unconfirmed := 0
	for _, fd := range election.Errors(v.Findings) {
		side.Add(wrapped(fd.Code+"  "+s.w.finding(fd), widget.DangerImportance))
		if c := confirmation(v, fd.Code); c != nil {
			side.Add(wrapped(s.w.T("ui.seal.confirmed", map[string]any{"Explanation": c.Explanation}), widget.SuccessImportance))
			continue
		}
		unconfirmed++
		code := fd.Code
		why := newFieldEntry()
		why.SetPlaceHolder(s.w.T("ui.seal.explanation", nil))
		confirm := func() { p.confirm(code, why.Text) }
		why.OnSubmitted = func(string) { confirm() }
		if firstInput == nil {
			firstInput = why
		}
		side.Add(container.NewBorder(nil, nil, nil, newKeyButton(s.w.T("ui.seal.confirm", nil), confirm), why))
	}
	if len(election.Errors(v.Findings)) == 0 {
		side.Add(widget.NewLabel(s.w.T("ui.entry.none", nil)))
	}
	side.Add(bold(s.w.T("ui.entry.warnings", nil)))
	warned := false
	for _, fd := range v.Findings {
		if fd.Severity == election.SeverityWarning {
			side.Add(wrapped(fd.Code+"  "+s.w.finding(fd), widget.WarningImportance))
			warned = true
		}
	}
	if !warned {
		side.Add(widget.NewLabel(s.w.T("ui.entry.none", nil)))
	}

	// The photo or scan of the signed paper form.
	side.Add(widget.NewSeparator())
	side.Add(bold(s.w.T("field.photo", nil)))
	p.preview = container.NewStack()
	if v.Photo == "" {
		side.Add(wrapped(s.w.T("input.photo-missing", nil), widget.WarningImportance))
	} else {
		side.Add(widget.NewLabel(s.w.T("ui.seal.photo-attached", map[string]any{"Digest": short(v.Photo)})))
		p.loadPreview()
	}
	path := newFieldEntry()
	path.SetPlaceHolder(s.w.T("ui.seal.photo-path", nil))
	path.OnSubmitted = func(text string) { p.attachFile(strings.TrimSpace(text)) }
	browse := newKeyButton(s.w.T("ui.seal.photo-choose", nil), p.choosePhoto)
	side.Add(container.NewBorder(nil, nil, nil, browse, path))
	if v.Photo == "" && firstInput == nil {
		firstInput = path
	}

	// The chair's PIN.
	side.Add(widget.NewSeparator())
	side.Add(bold(s.w.T("ui.seal.pin", nil)))
	pin := newPINEntry()
	seal := func() { p.seal(pin, unconfirmed) }
	pin.OnSubmitted = func(string) { seal() }
	sealButton := newKeyButton(s.w.T("ui.seal.seal", nil), seal)
	sealButton.Importance = widget.HighImportance
	side.Add(container.NewBorder(nil, nil, nil, sealButton, pin))
	side.Add(p.message)
	side.Add(container.NewHBox(s.homeButton()))
	side.Add(p.preview) // last, so that the PIN is in view without scrolling
	s.onNext(seal)
	if firstInput == nil {
		firstInput = pin
	}
	if p.name.Text == "" {
		firstInput = p.name
	}
	s.focus = firstInput

	left := container.NewVScroll(container.NewPadded(numbers))
	right := container.NewVScroll(container.NewPadded(side))
	split := container.NewHSplit(left, right)
	split.SetOffset(0.45)
	top := container.NewPadded(container.NewVBox(s.formHeading(v), widget.NewLabel(who)))
	return container.NewBorder(top, nil, nil, nil, split)
}

func bold(text string) *widget.Label {
	return widget.NewLabelWithStyle(text, fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
}

func confirmation(v *station.FormView, rule string) *election.Confirmation {
	for i := range v.Confirmed {
		if v.Confirmed[i].Rule == rule {
			return &v.Confirmed[i]
		}
	}
	return nil
}

// by is the name typed at the top of the screen, or "" after saying that
// one is needed.
func (p *sealing) by() string {
	by := strings.TrimSpace(p.name.Text)
	if by == "" {
		p.message.SetText(p.s.w.T("ui.begin.name-required", nil))
		p.s.win.Canvas().Focus(p.name)
	}
	return by
}

func (p *sealing) confirm(rule, explanation string) {
	by := p.by()
	if by == "" {
		return
	}
	s, key := p.s, p.v.Key
	s.ops.do(func() error { return s.svc.Confirm(s.ctx, key, rule, explanation, by) }, func(err error) {
		if err != nil {
			p.message.SetText(s.w.problem(err))
			return
		}
		s.user = by
		s.reload(key, nil)
	})
}

// choosePhoto opens the file picker on JPEG, PNG and PDF files.
func (p *sealing) choosePhoto() {
	d := dialog.NewFileOpen(func(rc fyne.URIReadCloser, err error) {
		if err != nil {
			p.message.SetText(p.s.w.problem(err))
			return
		}
		if rc == nil {
			return // cancelled
		}
		p.attachFile(rc.URI().Path())
		_ = rc.Close()
	}, p.s.win)
	d.SetFilter(storage.NewExtensionFileFilter([]string{".jpg", ".jpeg", ".png", ".pdf", ".JPG", ".JPEG", ".PNG", ".PDF"}))
	d.Resize(fyne.NewSize(900, 600))
	d.Show()
}

// attachFile reads the photo and binds it to the form, off the UI goroutine.
func (p *sealing) attachFile(path string) {
	if path == "" {
		return
	}
	by := p.by()
	if by == "" {
		return
	}
	s, key := p.s, p.v.Key
	s.ops.do(func() error {
		info, err := os.Stat(path)
		if err != nil {
			return err
		}
		if info.Size() > station.MaxPhotoSize {
			return &election.InputError{Field: election.FieldPhoto, Key: election.InputPhotoTooLarge,
				Args: map[string]any{"Max": station.MaxPhotoSize >> 20}}
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		_, err = s.svc.AttachPhoto(s.ctx, key, data, by)
		return err
	}, func(err error) {
		if err != nil {
			p.message.SetText(s.w.problem(err))
			return
		}
		s.user = by
		s.reload(key, nil)
	})
}

// loadPreview shows the attached photo, or says that it is a PDF. The
// photo is decoded and scaled down to the preview's size off the UI
// goroutine: a phone's photo decoded whole is 50 MB of pixels, and the
// window would keep them (and a texture as large) while the screen is up.
func (p *sealing) loadPreview() {
	s, sha := p.s, p.v.Photo
	var (
		small *image.RGBA
		isPDF bool
		size  int
	)
	s.ops.do(func() error {
		data, err := s.svc.PhotoData(s.ctx, sha)
		if err != nil {
			return err
		}
		size = len(data)
		if station.PhotoExtension(data) == "pdf" {
			isPDF = true
			return nil
		}
		small, err = previewImage(data)
		return err
	}, func(err error) {
		switch {
		case err != nil:
			p.preview.Objects = []fyne.CanvasObject{widget.NewLabel(s.w.problem(err))}
		case isPDF:
			p.preview.Objects = []fyne.CanvasObject{widget.NewLabel(s.w.T("ui.seal.photo-pdf", map[string]any{"Size": s.w.Int(size>>10) + " KiB"}))}
		default:
			img := canvas.NewImageFromImage(small)
			img.FillMode = canvas.ImageFillContain
			img.SetMinSize(fyne.NewSize(previewWidth/2, previewHeight/2))
			p.preview.Objects = []fyne.CanvasObject{img}
		}
		p.preview.Refresh()
	})
}

// The preview's size in pixels: twice its size on screen, for a scaled
// or high-density display.
const (
	previewWidth  = 720
	previewHeight = 540
	// maxPreviewPixels refuses to decode an image larger than any camera
	// makes, which would take gigabytes.
	maxPreviewPixels = 80 << 20
)

// previewImage decodes a JPEG or PNG and scales it down to fit the
// preview, keeping its proportions.
func previewImage(data []byte) (*image.RGBA, error) {
	cfg, _, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || cfg.Width*cfg.Height > maxPreviewPixels {
		return nil, fmt.Errorf("the image is %d × %d pixels: too large to preview", cfg.Width, cfg.Height)
	}
	src, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	b := src.Bounds()
	scale := min(1, float64(previewWidth)/float64(b.Dx()), float64(previewHeight)/float64(b.Dy()))
	w, h := max(1, int(float64(b.Dx())*scale)), max(1, int(float64(b.Dy())*scale))
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	xdraw.ApproxBiLinear.Scale(dst, dst.Bounds(), src, b, xdraw.Src, nil)
	return dst, nil
}

// seal unlocks the station's key with the PIN and seals the form; the key
// derivation and the signing run off the UI goroutine.
func (p *sealing) seal(pin *fieldEntry, unconfirmed int) {
	s, key := p.s, p.v.Key
	switch {
	case unconfirmed > 0:
		p.message.SetText(s.w.N("ui.seal.unconfirmed", unconfirmed, nil))
		return
	case p.v.Photo == "":
		p.message.SetText(s.w.T("input.photo-missing", nil))
		return
	case pin.Text == "":
		p.message.SetText(s.w.T("ui.seal.pin-required", nil))
		s.win.Canvas().Focus(pin)
		return
	}
	secret := []byte(pin.Text)
	pin.SetText("")
	p.message.SetText(s.w.T("ui.seal.sealing", nil))
	p.message.Importance = widget.MediumImportance
	s.ops.do(func() error {
		defer clear(secret)
		signer, err := s.svc.Unlock(s.ctx, secret)
		if err != nil {
			return err
		}
		if _, err := s.svc.Seal(s.ctx, key, signer); err != nil {
			return err
		}
		if s.opts.Outbox != nil {
			s.opts.Outbox.SetKey(signer)
			s.opts.Outbox.Wake()
		}
		return nil
	}, func(err error) {
		if err != nil {
			p.message.Importance = widget.DangerImportance
			p.message.SetText(s.w.problem(err))
			s.win.Canvas().Focus(pin)
			return
		}
		s.reload(key, nil)
	})
}
