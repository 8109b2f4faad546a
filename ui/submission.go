package ui

import (
	"image"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"

	"tally/app/election"
	"tally/app/review"
	"tally/app/station"
)

// showSubmission opens a fetched submission: verified here again, against
// the commission's signed list of station keys, before anything of it is
// shown.
func (s *Supervisor) showSubmission(digest string) {
	// "loading" until the store answers: the title names the screen once
	// its fields take keys.
	s.show("loading", func() fyne.CanvasObject { return s.submissionScreen(digest) })
}

func (s *Supervisor) submissionScreen(digest string) fyne.CanvasObject {
	body := container.NewStack(widget.NewLabel(s.w.T("ui.loading", nil)))
	screen := s.screen
	load := func() {
		var sub *review.Submission
		s.ops.do(func() (err error) {
			sub, err = s.svc.OpenSubmission(s.ctx, digest)
			return err
		}, func(err error) {
			if s.screen != screen {
				return
			}
			name := "submission"
			if err != nil {
				// Nothing of an envelope that does not verify is shown:
				// only why, and the key it names.
				name = "refused"
				body.Objects = []fyne.CanvasObject{s.refusedView(digest, err)}
			} else {
				body.Objects = []fyne.CanvasObject{s.submissionView(sub)}
			}
			body.Refresh()
			if s.focus != nil {
				s.win.Canvas().Focus(s.focus)
				s.focus = nil
			}
			s.named(name)
		})
	}
	// The sync's news redraws the screen, but not under the hands of a
	// supervisor typing a reason or the PIN.
	s.refresh = func() {
		if e, ok := s.win.Canvas().Focused().(*fieldEntry); ok && e.Text != "" {
			return
		}
		load()
	}
	load()
	return body
}

// refusedView says that a submission did not verify here, and why.
func (s *Supervisor) refusedView(digest string, err error) fyne.CanvasObject {
	back := s.back()
	s.focus = back
	return container.NewVScroll(container.NewPadded(container.NewVBox(
		alertBox(bold(s.w.T("ui.sup.refused.title", nil)), largeText(s.problem(err)),
			wrapped(s.w.T("ui.sup.refused.intro", nil), widget.MediumImportance)),
		widget.NewLabel(s.w.T("ui.sup.digest", map[string]any{"Digest": digest})),
		container.NewHBox(back))))
}

// submissionView is a verified submission: the numbers beside the photo,
// then what the rules find, the chair's confirmations and remarks, the
// receipt, the history and the decision.
func (s *Supervisor) submissionView(sub *review.Submission) fyne.CanvasObject {
	w := s.w
	f := sub.Submission
	heading := bold(w.T("ui.sup.submission", map[string]any{"Code": sub.Station.Code, "Name": sub.Station.Name,
		"Form": s.formName(f.Form.Contest, f.Form.Kind), "Version": f.Version}))
	heading.Wrapping = fyne.TextWrapWord
	verified := wrapped(w.T("ui.sup.verified", map[string]any{"Fingerprint": sub.Fingerprint,
		"Time": w.DateTime(f.SealedAt.Local())}), widget.SuccessImportance)

	// The numbers, in the paper form's order.
	numbers := container.NewVBox(bold(w.T("ui.sup.numbers", nil)),
		container.New(columns{56, 360, 100}, widget.NewLabel(""), widget.NewLabel(w.T("field.members", nil)),
			number(f.Form.Members)))
	for _, spec := range sub.Layout.Fields {
		name := widget.NewLabel(w.fieldName(sub.Layout, spec.ID))
		name.Truncation = fyne.TextTruncateEllipsis
		numbers.Add(container.New(columns{56, 360, 100},
			widget.NewLabelWithStyle(fieldCode(spec.ID), fyne.TextAlignLeading, fyne.TextStyle{Monospace: true}),
			name, number(f.Form.Counts[spec.ID])))
	}
	numbers.Add(widget.NewLabel(w.T("ui.sup.typed-by", map[string]any{"First": f.Form.EnteredBy, "Second": f.Form.ReenteredBy})))

	// The photo of the paper form, beside them.
	photo := container.NewVBox(bold(w.T("field.photo", nil)))
	preview := container.NewStack(widget.NewLabel(w.T("ui.loading", nil)))
	switch {
	case sub.PhotoSHA256 == "":
		preview.Objects = []fyne.CanvasObject{widget.NewLabel(w.T("ui.sup.photo-none", nil))}
	case !sub.HavePhoto:
		preview.Objects = []fyne.CanvasObject{wrapped(w.T("ui.sup.photo-not-fetched", nil), widget.WarningImportance)}
	default:
		s.loadPhoto(sub.PhotoSHA256, preview)
	}
	photo.Add(preview)

	side := container.NewVBox(photo, widget.NewSeparator())
	side.Add(bold(w.T("ui.sup.findings", nil)))
	if len(sub.Findings) == 0 {
		side.Add(wrapped(w.T("ui.sup.findings-none", nil), widget.SuccessImportance))
	}
	for _, fd := range sub.Findings {
		imp := widget.WarningImportance
		if fd.Severity == election.SeverityError {
			imp = widget.DangerImportance
		}
		side.Add(wrapped(fd.Code+" · "+w.T("severity."+string(fd.Severity), nil)+": "+w.finding(fd), imp))
		for _, c := range f.Confirmed {
			if c.Rule == fd.Code {
				side.Add(wrapped(w.T("ui.sup.explained", map[string]any{"Explanation": c.Explanation}), widget.MediumImportance))
			}
		}
	}
	side.Add(widget.NewSeparator())
	side.Add(bold(w.T("field.remarks", nil)))
	side.Add(wrapped(orDash(f.Form.Remarks), widget.MediumImportance))
	side.Add(bold(w.T("field.objections", nil)))
	side.Add(wrapped(orDash(f.Form.Objections), widget.MediumImportance))
	if r := sub.Receipt; r != nil {
		side.Add(widget.NewSeparator())
		side.Add(widget.NewLabel(w.T("ui.sup.receipt", map[string]any{"Number": w.Int(int(r.Number)),
			"Time": w.DateTime(r.ReceivedAt.Local())})))
	}

	// The numbers on the left; the photo, the validation, the history and
	// the decision on the right, each side scrolled on its own, so that
	// the decision is at hand on a long form.
	side.Add(widget.NewSeparator())
	side.Add(s.historyView(sub))
	side.Add(widget.NewSeparator())
	side.Add(s.decisionsView(sub))
	back := s.back()
	if n := len(sub.Decisions); sub.Head && n > 0 && sub.Decisions[n-1].Refused != nil {
		// The commission refused the latest decision: a new one is signed below.
		side.Add(alertBox(wrapped(w.T("ui.sup.decide-again", map[string]any{"Reason": sub.Decisions[n-1].Refused.Reason}),
			widget.DangerImportance)))
	}
	if sub.Head {
		side.Add(s.decideView(sub))
	} else {
		side.Add(wrapped(w.T("ui.sup.superseded", map[string]any{"Version": sub.HeadVersion}), widget.WarningImportance))
		s.focus = back
	}
	side.Add(container.NewHBox(back))
	split := container.NewHSplit(container.NewVScroll(container.NewPadded(numbers)), container.NewVScroll(container.NewPadded(side)))
	split.SetOffset(0.42)
	top := container.NewPadded(container.NewVBox(heading, verified))
	return container.NewBorder(top, nil, nil, nil, split)
}

func number(n int) *widget.Label {
	return widget.NewLabelWithStyle(count(n), fyne.TextAlignTrailing, fyne.TextStyle{Monospace: true})
}

func orDash(text string) string {
	if strings.TrimSpace(text) == "" {
		return "–"
	}
	return text
}

// loadPhoto shows the photo's preview, decoded and scaled off the UI
// goroutine; a PDF is named, not drawn.
func (s *Supervisor) loadPhoto(sha string, preview *fyne.Container) {
	var (
		small *image.RGBA
		isPDF bool
		size  int
	)
	screen := s.screen
	s.ops.do(func() error {
		data, err := s.svc.Photo(s.ctx, sha)
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
		if s.screen != screen {
			return
		}
		switch {
		case err != nil:
			preview.Objects = []fyne.CanvasObject{wrapped(s.w.T("ui.sup.photo-unreadable", map[string]any{"Detail": err.Error()}), widget.WarningImportance)}
		case isPDF:
			preview.Objects = []fyne.CanvasObject{widget.NewLabel(s.w.T("ui.seal.photo-pdf", map[string]any{"Size": s.w.Int(size>>10) + " KiB"}))}
		default:
			img := canvas.NewImageFromImage(small)
			img.FillMode = canvas.ImageFillContain
			img.SetMinSize(fyne.NewSize(previewWidth/2, previewHeight/2))
			preview.Objects = []fyne.CanvasObject{img}
		}
		preview.Refresh()
	})
}

// historyView lists every fetched version of the form with what changed
// from the version it supersedes.
func (s *Supervisor) historyView(sub *review.Submission) fyne.CanvasObject {
	w := s.w
	box := container.NewVBox(bold(w.T("ui.sup.history", nil)))
	for _, h := range sub.History {
		line := w.T("ui.sup.history-version", map[string]any{"Version": h.Version, "Digest": short(h.Digest)})
		if !h.SealedAt.IsZero() {
			line += " · " + w.DateTime(h.SealedAt.Local())
		}
		if h.Digest == sub.Digest {
			line += " · " + w.T("ui.sup.history-this", nil)
		}
		box.Add(widget.NewLabel(line))
		switch {
		case h.Error != "":
			box.Add(wrapped(w.T("ui.sup.history-unverified", map[string]any{"Detail": h.Error}), widget.DangerImportance))
		case h.Supersedes == "":
		case !h.Previous:
			box.Add(wrapped(w.T("ui.sup.history-previous-missing", nil), widget.WarningImportance))
		case len(h.Changes) == 0:
			box.Add(widget.NewLabel(w.T("ui.sup.history-no-changes", nil)))
		default:
			for _, c := range h.Changes {
				name := widget.NewLabel(s.changeName(sub, c.Field))
				name.Truncation = fyne.TextTruncateEllipsis
				box.Add(container.New(columns{16, 280, 170, 24, 170}, widget.NewLabel(""), name,
					changeValue(c.Before), widget.NewLabel("→"), changeValue(c.After)))
			}
		}
	}
	return box
}

func changeValue(text string) *widget.Label {
	l := widget.NewLabelWithStyle(orDash(text), fyne.TextAlignLeading, fyne.TextStyle{Monospace: true})
	l.Truncation = fyne.TextTruncateEllipsis
	return l
}

// changeName names a field of the differences between two versions.
func (s *Supervisor) changeName(sub *review.Submission, f election.Field) string {
	if rule, ok := strings.CutPrefix(string(f), "confirmed:"); ok {
		return s.w.T("ui.sup.confirmed-rule", map[string]any{"Rule": rule})
	}
	switch f {
	case election.FieldPhoto, election.FieldEnteredBy, election.FieldReentered:
		return s.w.T("field."+string(f), nil)
	}
	if f == election.FieldMembers || f == election.FieldRemarks || f == election.FieldObjections {
		return s.w.fieldName(sub.Layout, f)
	}
	return string(f) + " · " + s.w.fieldName(sub.Layout, f)
}

// decisionsView lists the decisions made here on this version, and
// whether the commission has each.
func (s *Supervisor) decisionsView(sub *review.Submission) fyne.CanvasObject {
	w := s.w
	box := container.NewVBox(bold(w.T("ui.sup.decisions", nil)))
	if len(sub.Decisions) == 0 {
		box.Add(widget.NewLabel(w.T("ui.sup.decisions-none", nil)))
	}
	for _, d := range sub.Decisions {
		text := w.T("ui.sup.verdict."+string(d.Verdict), nil) + " · " + w.DateTime(d.DecidedAt.Local())
		if d.Reason != "" {
			text += " · " + d.Reason
		}
		var status *widget.Label
		switch {
		case d.Delivered:
			status = wrapped(w.T("ui.sup.decision-delivered", map[string]any{"Time": w.DateTime(d.ReceivedAt.Local())}), widget.SuccessImportance)
		case d.Refused != nil:
			status = wrapped(w.T("ui.sup.decision-refused", map[string]any{"Reason": d.Refused.Reason}), widget.DangerImportance)
		default:
			status = wrapped(w.T("ui.sup.decision-queued", nil), widget.WarningImportance)
		}
		box.Add(bold(text))
		box.Add(status)
	}
	return box
}
