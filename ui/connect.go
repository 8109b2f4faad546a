package ui

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"

	"tally/app/seal"
)

// connectRow asks for the supervisor's PIN while the sync waits for it:
// everything a supervisor reads from the commission needs a login with
// the supervisor's key. The key goes to the outbox, which is woken; the
// row hides once the sync no longer waits.
func (s *Supervisor) connectRow() (*fyne.Container, *fieldEntry) {
	pin := newPINEntry()
	msg := widget.NewLabel("")
	busy := false
	connect := func() {
		if busy || pin.Text == "" {
			return
		}
		busy = true
		secret := []byte(pin.Text)
		pin.SetText("")
		msg.Importance = widget.MediumImportance
		msg.SetText(s.w.T("ui.sup.connecting", nil))
		var key *seal.PrivateKey
		s.ops.do(func() (err error) {
			defer clear(secret)
			key, err = s.svc.Unlock(s.ctx, secret)
			return err
		}, func(err error) {
			busy = false
			if err != nil {
				msg.Importance = widget.DangerImportance
				msg.SetText(s.problem(err))
				return
			}
			if s.opts.Outbox != nil {
				s.opts.Outbox.SetKey(key)
				s.opts.Outbox.Wake()
			}
		})
	}
	pin.OnSubmitted = func(string) { connect() }
	button := newKeyButton(s.w.T("ui.sup.connect", nil), connect)
	row := container.NewVBox(wrapped(s.w.T("ui.sup.needs-pin", nil), widget.WarningImportance),
		container.NewBorder(nil, nil, widget.NewLabel(s.w.T("ui.seal.pin", nil)), button, pin), msg)
	if !s.sync.NeedsKey {
		row.Hide()
	}
	return row, pin
}
