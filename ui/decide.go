package ui

import (
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/widget"

	"tally/app/election"
	"tally/app/review"
	"tally/app/seal"
)

// deciding is the decision on the latest version of a form: approve, or
// return with a reason, signed with the supervisor's key.
type deciding struct {
	s       *Supervisor
	sub     *review.Submission
	reason  *fieldEntry
	pin     *fieldEntry
	message *widget.Label
	approve *keyButton
	ret     *keyButton
	busy    bool
}

// decideView is the decision's section of the submission screen. The
// reason comes first, then the PIN; Ctrl+Enter returns the form when a
// reason is typed.
func (s *Supervisor) decideView(sub *review.Submission) fyne.CanvasObject {
	w := s.w
	p := &deciding{s: s, sub: sub, reason: newFieldEntry(), pin: newPINEntry(),
		message: wrapped("", widget.DangerImportance)}
	p.reason.SetPlaceHolder(w.T("ui.sup.reason-hint", nil))
	p.reason.OnSubmitted = func(string) { s.win.Canvas().Focus(p.pin) }
	p.pin.OnSubmitted = func(string) { s.win.Canvas().FocusNext() }
	p.approve = newKeyButton(w.T("ui.sup.approve", nil), p.confirmApprove)
	p.approve.Importance = widget.SuccessImportance
	p.ret = newKeyButton(w.T("ui.sup.return", nil), p.doReturn)
	p.ret.Importance = widget.DangerImportance
	s.onNext(func() {
		if strings.TrimSpace(p.reason.Text) != "" {
			p.doReturn()
		} else {
			p.confirmApprove()
		}
	})
	s.focus = p.reason
	form := container.NewVBox(
		container.New(columns{220, 440}, widget.NewLabel(w.T("ui.sup.reason", nil)), p.reason),
		container.New(columns{220, 240}, widget.NewLabel(w.T("ui.sup.pin", nil)), p.pin),
		container.NewHBox(p.approve, p.ret), p.message)
	return container.NewVBox(widget.NewSeparator(), bold(w.T("ui.sup.decide", nil)),
		wrapped(w.T("ui.sup.decide-intro", nil), widget.MediumImportance), form)
}

// confirmApprove asks once more before the approval is signed.
func (p *deciding) confirmApprove() {
	s, w := p.s, p.s.w
	if !p.checkPIN() {
		return
	}
	text := wrapped(w.T("ui.sup.approve-confirm", map[string]any{"Code": p.sub.Station.Code, "Name": p.sub.Station.Name,
		"Form": s.formName(p.sub.Submission.Form.Contest, p.sub.Submission.Form.Kind), "Version": p.sub.Submission.Version}),
		widget.MediumImportance)
	d := dialog.NewCustomConfirm(w.T("ui.sup.approve", nil), w.T("ui.sup.approve", nil), w.T("dialog.cancel", nil), text,
		func(ok bool) {
			if ok {
				p.decide(election.Approve, "")
			}
		}, s.win)
	d.Resize(fyne.NewSize(560, 0))
	d.Show()
}

// doReturn returns the form, with the reason typed: never without one.
func (p *deciding) doReturn() {
	w := p.s.w
	reason := strings.TrimSpace(p.reason.Text)
	if reason == "" {
		p.message.SetText(w.T("ui.sup.reason-required", nil))
		p.s.win.Canvas().Focus(p.reason)
		return
	}
	if !p.checkPIN() {
		return
	}
	p.decide(election.Return, reason)
}

func (p *deciding) checkPIN() bool {
	if p.pin.Text == "" {
		p.message.SetText(p.s.w.T("ui.seal.pin-required", nil))
		p.s.win.Canvas().Focus(p.pin)
		return false
	}
	return true
}

// decide unlocks the supervisor's key with the PIN and signs the decision
// off the UI goroutine; the key goes to the outbox, which is woken.
func (p *deciding) decide(verdict election.Verdict, reason string) {
	s := p.s
	if p.busy {
		return
	}
	p.busy = true
	p.message.Importance = widget.MediumImportance
	p.message.SetText(s.w.T("ui.sup.signing", nil))
	pin := []byte(p.pin.Text)
	p.pin.SetText("")
	digest := p.sub.Digest
	screen := s.screen
	var key *seal.PrivateKey
	s.ops.do(func() (err error) {
		defer clear(pin)
		if key, err = s.svc.Unlock(s.ctx, pin); err != nil {
			return err
		}
		_, err = s.svc.Decide(s.ctx, digest, verdict, reason, key)
		return err
	}, func(err error) {
		p.busy = false
		if key != nil && s.opts.Outbox != nil {
			s.opts.Outbox.SetKey(key)
		}
		if s.screen != screen {
			return
		}
		if err != nil {
			p.message.Importance = widget.DangerImportance
			p.message.SetText(s.problem(err))
			s.win.Canvas().Focus(p.pin)
			return
		}
		if s.opts.Outbox != nil {
			s.opts.Outbox.Wake()
		}
		s.showSubmission(digest)
	})
}
