package ui

import (
	"image/color"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"tally/app/station"
)

// showHome shows the station's forms with their states, the outbox and
// the last receipt.
func (s *Station) showHome() {
	s.show("home", s.home)
}

func (s *Station) home() fyne.CanvasObject {
	body := container.NewVBox(widget.NewLabel(s.w.T("ui.loading", nil)))
	load := func() {
		var st *station.Status
		screen := s.screen
		s.ops.do(func() (err error) {
			st, err = s.svc.Status(s.ctx)
			return err
		}, func(err error) {
			if s.screen != screen {
				return
			}
			if err != nil {
				body.Objects = []fyne.CanvasObject{widget.NewLabel(s.w.problem(err))}
				body.Refresh()
				return
			}
			s.fillHome(body, st)
		})
	}
	load()
	s.refresh = load
	return container.NewVScroll(container.NewPadded(body))
}

func (s *Station) fillHome(body *fyne.Container, st *station.Status) {
	var rows []fyne.CanvasObject
	var first fyne.Focusable
	// A form the supervisor returned comes first, with the reason, large:
	// it is what the station has to do next.
	for _, f := range st.Forms {
		if f.State != station.StateReturned {
			continue
		}
		key := f.Key
		reason := f.Reason
		if reason == "" {
			reason = "–"
		}
		correct := newKeyButton(s.w.T("ui.home.returned-open", nil), func() { s.openForm(key) })
		correct.Importance = widget.DangerImportance
		if first == nil {
			first = correct
		}
		rows = append(rows, alertBox(
			bold(s.w.T("ui.home.returned", map[string]any{"Form": s.w.formTitle(s.def, key), "Version": f.Version})),
			largeText(reason),
			container.NewHBox(correct)))
	}
	if st.Provisioned.EnrolledAt == nil && s.opts.Setup != nil && s.opts.Setup.Enroll != nil {
		enroll := newKeyButton(s.w.T("ui.home.enroll", nil), s.showEnroll)
		rows = append(rows, container.NewVBox(
			wrapped(s.w.T("ui.home.not-enrolled", nil), widget.WarningImportance), container.NewHBox(enroll)),
			widget.NewSeparator())
	}
	rows = append(rows, widget.NewLabelWithStyle(s.w.T("ui.home.forms", nil), fyne.TextAlignLeading, fyne.TextStyle{Bold: true}))
	for _, f := range st.Forms {
		key := f.Key
		open := newKeyButton(s.w.T("ui.home.open", nil), func() { s.openForm(key) })
		open.Importance = widget.HighImportance
		if first == nil {
			first = open
		}
		state := s.w.state(f.State)
		if f.Version > 0 && f.State != station.StateEmpty {
			state += " · " + s.w.T("ui.version", map[string]any{"Version": f.Version})
		}
		switch {
		case f.Received:
			state += " · " + s.w.T("ui.home.received", nil)
		case f.Sealed > 0 && f.State == station.StateSealed:
			state += " · " + s.w.T("ui.home.waiting-receipt", nil)
		}
		title := widget.NewLabelWithStyle(s.w.formTitle(s.def, key), fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
		title.Truncation = fyne.TextTruncateEllipsis
		stateLabel := widget.NewLabel(state)
		stateLabel.Importance = stateImportance(f.State)
		if f.State == station.StateSealed && !f.Received {
			stateLabel.Importance = widget.WarningImportance // not at the commission yet
		}
		row := container.New(columns{460, 420, 140}, title, stateLabel, open, layout.NewSpacer())
		rows = append(rows, row)
	}
	rows = append(rows, widget.NewSeparator(),
		widget.NewLabelWithStyle(s.w.T("ui.home.outbox", nil), fyne.TextAlignLeading, fyne.TextStyle{Bold: true}))
	if len(st.Outbox) == 0 {
		rows = append(rows, widget.NewLabel(s.w.T("ui.home.outbox-empty", nil)))
	}
	for _, it := range st.Outbox {
		rows = append(rows, widget.NewLabel(s.w.T("ui.home.outbox-item", map[string]any{
			"Form": s.w.formTitle(s.def, it.Key), "Version": it.Version, "Time": s.w.DateTime(it.QueuedAt.Local()),
		})))
	}
	rows = append(rows, widget.NewSeparator(),
		widget.NewLabelWithStyle(s.w.T("ui.home.last-receipt", nil), fyne.TextAlignLeading, fyne.TextStyle{Bold: true}))
	if r := st.LastReceipt; r != nil {
		rows = append(rows, widget.NewLabel(s.receiptText(r)))
	} else {
		rows = append(rows, widget.NewLabel(s.w.T("ui.home.no-receipt", nil)))
	}
	body.Objects = rows
	body.Refresh()
	if s.opts.OnReady != nil {
		ready := s.opts.OnReady
		s.opts.OnReady = nil
		ready()
	}
	if first != nil && s.win.Canvas().Focused() == nil {
		s.win.Canvas().Focus(first)
	}
}

// receiptText is a receipt as the commissioner reads it out on the phone.
func (s *Station) receiptText(r *station.StoredReceipt) string {
	return s.w.T("ui.receipt.text", map[string]any{"Time": s.w.DateTime(r.ReceivedAt.Local()),
		"Number": s.w.Int(int(r.Number)), "Digest": short(r.Digest)})
}

// alertBox frames what needs attention first, in the error colour.
func alertBox(objects ...fyne.CanvasObject) fyne.CanvasObject {
	border := canvas.NewRectangle(color.Transparent)
	border.StrokeColor = theme.Color(theme.ColorNameError)
	border.StrokeWidth = 2
	border.CornerRadius = 4
	return container.NewStack(border, container.NewPadded(container.NewVBox(objects...)))
}

// largeText is a text read from across the table, wrapped.
func largeText(text string) fyne.CanvasObject {
	t := widget.NewRichText(&widget.TextSegment{Text: text, Style: widget.RichTextStyle{
		ColorName: theme.ColorNameError, SizeName: theme.SizeNameSubHeadingText, TextStyle: fyne.TextStyle{Bold: true}}})
	t.Wrapping = fyne.TextWrapWord
	return t
}

func stateImportance(st station.State) widget.Importance {
	switch st {
	case station.StateDifferences, station.StateReturned:
		return widget.DangerImportance
	case station.StateSealed, station.StateApproved:
		return widget.SuccessImportance
	case station.StateEmpty:
		return widget.MediumImportance
	}
	return widget.WarningImportance
}
