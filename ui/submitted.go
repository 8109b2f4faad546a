package ui

import (
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"

	"tally/app/station"
)

// submittedScreen is a sealed form: the receipt once the commission sent
// it, else that it waits in the outbox; a supervisor's return with its
// reason, and the correction as a new version.
func (s *Station) submittedScreen(v *station.FormView) fyne.CanvasObject {
	box := container.NewVBox(s.formHeading(v))
	switch {
	case v.Receipt != nil:
		box.Add(wrapped(s.w.T("ui.receipt.received", nil), widget.SuccessImportance))
		box.Add(bold(s.receiptText(v.Receipt)))
	case v.State == station.StateSealed:
		box.Add(wrapped(s.w.T("ui.receipt.waiting", nil), widget.WarningImportance))
	}
	if n := len(v.Versions); n > 0 {
		last := v.Versions[n-1]
		box.Add(widget.NewLabel(s.w.T("ui.receipt.sealed", map[string]any{"Version": last.Version,
			"Time": s.w.DateTime(last.SealedAt.Local()), "Digest": short(last.Digest)})))
	}
	switch v.State {
	case station.StateApproved:
		box.Add(wrapped(s.w.T("ui.returned.approved", nil), widget.SuccessImportance))
	case station.StateReturned:
		box.Add(wrapped(s.w.T("ui.returned.reason", map[string]any{"Reason": v.Reason}), widget.DangerImportance))
		box.Add(s.correction(v))
	}
	if len(v.Versions) > 0 {
		box.Add(s.printSection(v))
	}
	home := s.homeButton()
	box.Add(container.NewHBox(home))
	if s.focus == nil {
		s.focus = home
	}
	// The receipt may arrive while the screen is up.
	if v.State == station.StateSealed && v.Receipt == nil {
		s.refresh = func() { s.reload(v.Key, nil) }
	}
	return container.NewVScroll(container.NewPadded(box))
}

// correction starts a new version of a returned form, from the sealed
// numbers, typed and re-typed as before.
func (s *Station) correction(v *station.FormView) fyne.CanvasObject {
	name := newFieldEntry()
	name.SetText(s.user)
	message := wrapped("", widget.DangerImportance)
	correct := func() {
		by := strings.TrimSpace(name.Text)
		if by == "" {
			message.SetText(s.w.T("ui.begin.name-required", nil))
			return
		}
		s.ops.do(func() error { return s.svc.Correct(s.ctx, v.Key, by) }, func(err error) {
			if err != nil {
				message.SetText(s.w.problem(err))
				return
			}
			s.user = by
			s.reload(v.Key, nil)
		})
	}
	name.OnSubmitted = func(string) { correct() }
	button := newKeyButton(s.w.T("ui.returned.correct", map[string]any{"Version": v.Version + 1}), correct)
	button.Importance = widget.HighImportance
	s.focus = name
	return container.NewVBox(wrapped(s.w.T("ui.returned.intro", nil), widget.MediumImportance),
		nameRow(widget.NewLabel(s.w.T("ui.name", nil)), name), button, message)
}
