package ui

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"

	"tally/app/review"
)

// showConflicts shows the commission's list of conflicts: the envelopes
// it refused because they contradicted what it held.
func (s *Supervisor) showConflicts() {
	s.show("loading", s.conflictsScreen)
}

func (s *Supervisor) conflictsScreen() fyne.CanvasObject {
	body := container.NewVBox(widget.NewLabel(s.w.T("ui.loading", nil)))
	screen := s.screen
	load := func() {
		var list *review.Conflicts
		s.ops.do(func() (err error) {
			list, err = s.svc.Conflicts(s.ctx)
			return err
		}, func(err error) {
			if s.screen != screen {
				return
			}
			back := s.back()
			rows := []fyne.CanvasObject{bold(s.w.T("ui.sup.conflicts.title", nil)),
				wrapped(s.w.T("ui.sup.conflicts.intro", nil), widget.MediumImportance)}
			if err != nil {
				rows = append(rows, wrapped(s.problem(err), widget.DangerImportance))
			} else {
				rows = append(rows, s.conflictRows(list)...)
			}
			s.showRows(body, rows, back, "conflicts")
		})
	}
	s.refresh = load
	load()
	return container.NewVScroll(container.NewPadded(body))
}

// conflictRows are the conflicts, newest first: the station, the form,
// the version and when; whether it still stands; why, in words; the
// refused envelope's digest and the digest of the version the commission
// held; the commission's own words under "details"; and the way to the
// station.
func (s *Supervisor) conflictRows(list *review.Conflicts) []fyne.CanvasObject {
	w := s.w
	var rows []fyne.CanvasObject
	if list.FetchedAt.IsZero() {
		return append(rows, widget.NewLabel(w.T("ui.sup.conflicts.never", nil)))
	}
	rows = append(rows, widget.NewLabel(w.T("ui.sup.fetched", map[string]any{"Time": w.DateTime(list.FetchedAt.Local()),
		"Age": w.age(list.FetchedAt, s.opts.Now())})))
	if len(list.Conflicts) == 0 {
		return append(rows, wrapped(w.T("ui.sup.conflicts.none", nil), widget.SuccessImportance))
	}
	for _, c := range list.Conflicts {
		rows = append(rows, widget.NewSeparator())
		head := bold(w.T("ui.sup.conflict.heading", map[string]any{"Code": c.Station, "Name": c.StationName,
			"Form": s.formName(c.Contest, c.Form), "Version": c.Version, "Time": w.DateTime(c.At.Local())}))
		head.Wrapping = fyne.TextWrapWord
		rows = append(rows, head)
		if c.Standing {
			rows = append(rows, wrapped(w.T("ui.sup.conflict.standing", nil), widget.DangerImportance))
		} else {
			rows = append(rows, wrapped(w.T("ui.sup.conflict.settled", nil), widget.MediumImportance))
		}
		data := map[string]any{"Version": c.Version, "Stored": c.StoredVersion}
		rows = append(rows, wrapped(w.T("ui.sup.conflict.why."+string(c.Kind), data), widget.MediumImportance))
		rows = append(rows, digestLine(w.T("ui.sup.conflict.refused", nil), c.Digest))
		if c.Stored != "" {
			rows = append(rows, digestLine(w.T("ui.sup.conflict.stored", map[string]any{"Version": c.StoredVersion}), c.Stored))
		}
		if c.Supersedes != "" {
			rows = append(rows, digestLine(w.T("ui.sup.conflict.supersedes", nil), c.Supersedes))
		}
		rows = append(rows, detailsBox(w, c.Reason))
		code := c.Station
		rows = append(rows, container.NewHBox(newKeyButton(w.T("ui.sup.conflict.open", nil), func() { s.showStation(code) })))
	}
	return rows
}

// digestLine is a digest in full, in monospace, after what it is.
func digestLine(what, digest string) fyne.CanvasObject {
	d := widget.NewLabelWithStyle(digest, fyne.TextAlignLeading, fyne.TextStyle{Monospace: true})
	d.Truncation = fyne.TextTruncateEllipsis
	return container.New(columns{300}, widget.NewLabel(what), d)
}
