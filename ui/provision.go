package ui

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"
)

// notProvisioned says that this laptop is not bound to a station yet,
// and offers the provisioning when the app has it.
func (s *Station) notProvisioned() fyne.CanvasObject {
	box := container.NewVBox(
		bold(s.w.T("ui.not-provisioned", nil)),
		wrapped(s.w.T("ui.not-provisioned.how", nil), widget.MediumImportance))
	if s.opts.Provision != nil {
		b := newKeyButton(s.w.T("ui.not-provisioned.start", nil), s.opts.Provision)
		b.Importance = widget.HighImportance
		box.Add(container.NewHBox(b))
		s.focus = b
	}
	return container.NewCenter(container.NewPadded(box))
}
