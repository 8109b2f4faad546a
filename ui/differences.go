package ui

import (
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"

	"tally/app/station"
)

// differencesScreen shows the fields on which the two entries disagree,
// side by side, each settled by typing it again from the paper form:
// never by picking one of the two.
func (s *Station) differencesScreen(v *station.FormView) fyne.CanvasObject {
	name := newFieldEntry()
	name.SetText(s.user)
	name.OnSubmitted = func(string) { s.win.Canvas().FocusNext() }
	message := wrapped("", widget.DangerImportance)

	head := func(text string) *widget.Label {
		l := widget.NewLabelWithStyle(text, fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
		l.Truncation = fyne.TextTruncateEllipsis
		return l
	}
	widths := columns{56, 300, 170, 170, 130}
	table := container.NewVBox(container.New(widths, head(""), head(s.w.T("ui.differences.field", nil)),
		head(s.w.T("ui.differences.first", nil)), head(s.w.T("ui.differences.second", nil)),
		head(s.w.T("ui.differences.retype", nil)), head("")))
	var first fyne.Focusable
	for _, d := range v.Differences {
		f := d.Field
		retype := newFieldEntry()
		note := widget.NewLabel("")
		note.Importance = widget.DangerImportance
		note.Truncation = fyne.TextTruncateEllipsis
		retype.OnSubmitted = func(text string) {
			by := strings.TrimSpace(name.Text)
			if by == "" {
				message.SetText(s.w.T("ui.begin.name-required", nil))
				s.win.Canvas().Focus(name)
				return
			}
			s.ops.do(func() error { return s.svc.Resolve(s.ctx, v.Key, f, text, by) }, func(err error) {
				if err != nil {
					note.SetText(s.w.problem(err))
					return
				}
				s.user = by
				s.reload(v.Key, nil)
			})
		}
		if first == nil {
			first = retype
		}
		label := widget.NewLabel(s.w.fieldName(v.Layout, f))
		label.Truncation = fyne.TextTruncateEllipsis
		table.Add(container.New(widths,
			widget.NewLabelWithStyle(fieldCode(f), fyne.TextAlignLeading, fyne.TextStyle{Monospace: true}),
			label, shown(s, d.First), shown(s, d.Second), retype, note))
	}
	intro := s.w.N("entry.differences", len(v.Differences), nil) + " " + s.w.T("ui.differences.intro", nil)
	who := nameRow(widget.NewLabel(s.w.T("ui.differences.by", nil)), name)
	box := container.NewVBox(s.formHeading(v), wrapped(intro, widget.WarningImportance), who, widget.NewSeparator(),
		table, message, container.NewHBox(s.homeButton()))
	if name.Text == "" {
		s.focus = name
	} else {
		s.focus = first
	}
	return container.NewVScroll(container.NewPadded(box))
}

// shown is one entry's value of a field, or a dash where it was empty.
func shown(s *Station, text string) *widget.Label {
	if text == "" {
		text = "–"
	}
	return widget.NewLabelWithStyle(text, fyne.TextAlignLeading, fyne.TextStyle{Monospace: true})
}
