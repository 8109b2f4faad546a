package ui

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/widget"

	"tally/app/station"
)

// openForm opens a form where it was left, on the screen its state needs.
func (s *Station) openForm(key station.FormKey) {
	s.leaveScreen()
	s.reload(key, nil)
}

// reload reads the form again after work on it (queued before, so done
// before the read), and shows it; focus names the field to put the cursor
// in, if the screen has it.
func (s *Station) reload(key station.FormKey, after func(v *station.FormView)) {
	var v *station.FormView
	screen := s.screen
	s.ops.do(func() (err error) {
		v, err = s.svc.Open(s.ctx, key)
		return err
	}, func(err error) {
		if s.screen != screen {
			return // the user went elsewhere meanwhile
		}
		if err != nil {
			s.fail(err)
			return
		}
		s.showForm(v)
		if after != nil {
			after(v)
		}
	})
}

// showForm shows the screen for the form's state. Rebuilding it (in
// another language) reads the form again, so that what was typed since
// is there.
func (s *Station) showForm(v *station.FormView) {
	var build func(v *station.FormView) fyne.CanvasObject
	switch v.State {
	case station.StateEmpty, station.StateSecondPending:
		build = s.beginScreen
	case station.StateFirstEntry, station.StateSecondEntry:
		build = s.entryScreen
	case station.StateDifferences:
		build = s.differencesScreen
	case station.StateAgreed:
		build = s.sealScreen
	default:
		build = s.submittedScreen
	}
	first := true
	s.show(screenOf(v), func() fyne.CanvasObject {
		if first {
			first = false
			return build(v)
		}
		s.reload(v.Key, nil)
		return widget.NewLabel(s.w.T("ui.loading", nil))
	})
}

// screenOf names the screen a form's state needs, for the window's title.
func screenOf(v *station.FormView) string {
	switch v.State {
	case station.StateEmpty:
		return "begin-first"
	case station.StateSecondPending:
		return "begin-second"
	case station.StateFirstEntry:
		return "entry-first"
	case station.StateSecondEntry:
		return "entry-second"
	case station.StateDifferences:
		return "differences"
	case station.StateAgreed:
		return "seal"
	}
	return "sealed"
}

// formHeading is the first line of every form screen.
func (s *Station) formHeading(v *station.FormView) *widget.Label {
	t := s.w.formTitle(s.def, v.Key)
	if v.Version > 0 {
		t += " · " + s.w.T("ui.version", map[string]any{"Version": v.Version})
	}
	t += " · " + s.w.state(v.State)
	l := widget.NewLabelWithStyle(t, fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	l.Wrapping = fyne.TextWrapWord
	return l
}

// homeButton goes back to the station's home screen.
func (s *Station) homeButton() *keyButton {
	return newKeyButton(s.w.T("ui.home", nil), func() {
		s.leaveScreen()
		s.showHome()
	})
}

// wrapped is a label whose text wraps.
func wrapped(text string, imp widget.Importance) *widget.Label {
	l := widget.NewLabel(text)
	l.Wrapping = fyne.TextWrapWord
	l.Importance = imp
	return l
}

// nameRow is a labelled entry for a person's name.
func nameRow(label fyne.CanvasObject, name *fieldEntry) fyne.CanvasObject {
	return container.New(columns{260, 320}, label, name, layout.NewSpacer())
}
