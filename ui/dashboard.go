package ui

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/widget"

	"tally/app/election"
	"tally/app/review"
)

// showDashboard shows every station of the municipality with its state.
// The title names it once it shows what it read from the store.
func (s *Supervisor) showDashboard() {
	s.show("loading", s.dashboard)
}

// dashboardView is the dashboard's widgets, filled from the store.
type dashboardView struct {
	s       *Supervisor
	counts  *fyne.Container // a filter button per state, with its count
	age     *widget.Label
	offline *widget.Label
	plot    *fyne.Container
	list    *stationList
	empty   *widget.Label
	search  *fieldEntry
	connect *fyne.Container // the PIN, while the sync waits for it
	pin     *fieldEntry
	// notices are what wants the supervisor's attention before the
	// list: a laptop not enrolled, decisions the commission refused.
	notices   *fyne.Container
	enrolled  bool // the enrollment has just succeeded
	conflicts *keyButton
	rows      []review.StationRow
	// asked numbers the loads, so that a slow answer to an old search
	// does not replace a newer one.
	asked, shown int
}

func (s *Supervisor) dashboard() fyne.CanvasObject {
	v := &dashboardView{s: s, counts: container.NewGridWithColumns(4), age: widget.NewLabel(""),
		offline: wrapped("", widget.WarningImportance), plot: container.NewStack(), empty: widget.NewLabel(""),
		notices: container.NewVBox(), enrolled: s.justEnrolled}
	s.justEnrolled = false
	v.conflicts = newKeyButton(s.w.T("ui.sup.conflicts-button", map[string]any{"Count": s.w.Int(0)}), s.showConflicts)
	v.offline.Hide()
	v.empty.Hide()
	v.search = newFieldEntry()
	v.search.SetPlaceHolder(s.w.T("ui.sup.search-hint", nil))
	v.search.SetText(s.filter.Search)
	v.search.OnChanged = func(text string) {
		s.filter.Search = text
		v.load()
	}
	// Enter opens the first station the search leaves: a code typed and
	// Enter is the way to a station without the mouse.
	v.search.OnSubmitted = func(string) {
		if len(v.rows) > 0 {
			s.showStation(v.rows[0].Code)
		}
	}
	v.connect, v.pin = s.connectRow()
	v.list = newStationList(s, func() []review.StationRow { return v.rows })
	s.focus = v.search
	s.refresh = v.load
	v.load()

	searchRow := container.NewBorder(nil, nil, widget.NewLabel(s.w.T("ui.sup.search", nil)), nil, v.search)
	plotBox := container.NewVBox(bold(s.w.T("ui.sup.turnout", nil)), v.plot)
	// The PIN's row, while the sync waits for it, comes right after the
	// search: Tab from the search goes there first.
	top := container.NewVBox(v.counts, searchRow, v.connect, container.NewHBox(v.age, layout.NewSpacer(), v.conflicts),
		v.offline, v.notices, plotBox, widget.NewSeparator(), stationHead(s.w), v.empty)
	return container.NewBorder(container.NewPadded(top), nil, nil, nil, v.list)
}

// load asks the store for the dashboard as filtered, and the whole
// municipality for the counts and the plot.
func (v *dashboardView) load() {
	s := v.s
	if s.sync.NeedsKey {
		v.connect.Show()
	} else if v.connect.Visible() {
		v.connect.Hide()
		if s.win.Canvas().Focused() == v.pin {
			s.win.Canvas().Focus(v.search) // the PIN did its work: back to the search
		}
	}
	screen := s.screen
	v.asked++
	n := v.asked
	filter := s.filter
	var list, all *review.Dashboard
	var prov *review.Provisioning
	s.ops.do(func() (err error) {
		if list, err = s.svc.Dashboard(s.ctx, filter); err != nil {
			return err
		}
		if all, err = s.svc.Dashboard(s.ctx, review.Filter{}); err != nil {
			return err
		}
		prov, err = s.svc.Provisioning(s.ctx)
		return err
	}, func(err error) {
		if s.screen != screen || n < v.shown {
			return
		}
		v.shown = n
		defer s.named("dashboard")
		if err != nil {
			v.age.SetText(s.problem(err))
			v.age.Importance = widget.DangerImportance
			v.age.Refresh()
			return
		}
		v.fill(list, all)
		v.notify(all, prov)
	})
}

// notify shows what wants attention before the list: that the laptop is
// not enrolled yet, and the decisions the commission refused, each with
// its reason and the way to a new decision.
func (v *dashboardView) notify(d *review.Dashboard, prov *review.Provisioning) {
	s, w := v.s, v.s.w
	var objects []fyne.CanvasObject
	if v.enrolled && prov.EnrolledAt != nil {
		objects = append(objects, wrapped(w.T("ui.setup.sup.enrolled", nil), widget.SuccessImportance))
	}
	if prov.EnrolledAt == nil {
		box := []fyne.CanvasObject{wrapped(w.T("ui.sup.not-enrolled", nil), widget.WarningImportance)}
		if s.opts.Setup != nil && s.opts.Setup.Enroll != nil {
			enroll := newKeyButton(w.T("ui.home.enroll", nil), s.showEnroll)
			enroll.Importance = widget.HighImportance
			box = append(box, container.NewHBox(enroll))
		} else {
			box = append(box, wrapped(w.T("ui.sup.not-enrolled.how", map[string]any{"Command": "tally supervisor enroll"}),
				widget.MediumImportance))
		}
		objects = append(objects, container.NewVBox(box...))
	}
	if len(d.Refused) > 0 {
		box := []fyne.CanvasObject{bold(w.N("ui.sup.refused-decisions", len(d.Refused), nil))}
		for _, r := range d.Refused {
			name := ""
			if st, ok := s.def.Station(r.Decision.Station); ok {
				name = st.Name
			}
			line := w.T("ui.sup.refused-decision", map[string]any{"Code": r.Decision.Station, "Name": name,
				"Form": s.formName(r.Decision.Contest, r.Decision.Form), "Version": r.Version,
				"Verdict": w.T("ui.sup.verdict."+string(r.Decision.Verdict), nil), "Reason": r.Refusal.Reason})
			row := []fyne.CanvasObject{wrapped(line, widget.DangerImportance)}
			if r.Head != "" {
				head := r.Head
				row = append(row, container.NewHBox(newKeyButton(w.T("ui.sup.decide-again-button", nil),
					func() { s.showSubmission(head) })))
			}
			box = append(box, row...)
		}
		objects = append(objects, alertBox(box...))
	}
	v.notices.Objects = objects
	v.notices.Refresh()
}

func (v *dashboardView) fill(d, all *review.Dashboard) {
	s, w := v.s, v.s.w
	v.rows = d.Stations
	v.list.Refresh()
	if len(v.rows) == 0 {
		v.empty.SetText(w.T("ui.sup.no-stations", nil))
		v.empty.Show()
	} else {
		v.empty.Hide()
	}
	// The counts are filter buttons: all, then each state.
	var buttons []fyne.CanvasObject
	add := func(state review.State, text string) {
		b := newKeyButton(text, func() {
			s.filter.State = state
			v.load()
		})
		if s.filter.State == state {
			b.Importance = widget.HighImportance
		}
		buttons = append(buttons, b)
	}
	add("", w.T("ui.sup.count.all", map[string]any{"Count": w.Int(d.Total)}))
	for _, st := range review.States {
		add(st, w.T("ui.sup.count", map[string]any{"State": w.supState(st), "Count": w.Int(d.Counts[st])}))
	}
	v.counts.Objects = buttons
	v.counts.Refresh()
	v.conflicts.SetText(w.T("ui.sup.conflicts-button", map[string]any{"Count": w.Int(d.Conflicts)}))
	if d.Conflicts > 0 {
		v.conflicts.Importance = widget.DangerImportance
	} else {
		v.conflicts.Importance = widget.MediumImportance
	}
	v.conflicts.Refresh()

	now := s.opts.Now()
	switch {
	case d.FetchedAt.IsZero():
		v.age.SetText(w.T("ui.sup.never-fetched", nil))
	default:
		v.age.SetText(w.T("ui.sup.fetched", map[string]any{"Time": w.DateTime(d.FetchedAt.Local()), "Age": w.age(d.FetchedAt, now)}))
	}
	v.age.Importance = widget.MediumImportance
	if d.Pending > 0 {
		v.age.SetText(v.age.Text + " · " + w.N("ui.sup.pending", d.Pending, nil))
	}
	v.age.Refresh()
	if s.sync.Known && !s.sync.Online && !s.sync.NotEnrolled {
		v.offline.SetText(w.T("ui.sup.offline", nil))
		v.offline.Show()
	} else {
		v.offline.Hide()
	}
	v.plot.Objects = []fyne.CanvasObject{newTurnoutPlot(w, all.Stations)}
	v.plot.Refresh()
}

// stationColumns are the widths of the stations' list.
var stationColumns = columns{90, 380, 260, 110}

func stationHead(w words) fyne.CanvasObject {
	return container.New(stationColumns, bold(w.T("ui.sup.col.code", nil)), bold(w.T("ui.sup.col.name", nil)),
		bold(w.T("ui.sup.col.state", nil)), bold(w.T("ui.sup.col.turnout", nil)), bold(w.T("ui.sup.col.fetched", nil)))
}

// stationList is the dashboard's list of stations: ↓ and ↑ move, Space
// or Enter opens the station.
type stationList struct {
	widget.List
}

func newStationList(s *Supervisor, rows func() []review.StationRow) *stationList {
	l := &stationList{}
	l.Length = func() int { return len(rows()) }
	l.CreateItem = func() fyne.CanvasObject {
		name := widget.NewLabel("")
		name.Truncation = fyne.TextTruncateEllipsis
		return container.New(stationColumns, widget.NewLabelWithStyle("", fyne.TextAlignLeading, fyne.TextStyle{Monospace: true}),
			name, widget.NewLabel(""), widget.NewLabelWithStyle("", fyne.TextAlignTrailing, fyne.TextStyle{}), widget.NewLabel(""))
	}
	l.UpdateItem = func(id widget.ListItemID, o fyne.CanvasObject) {
		list := rows()
		if id >= len(list) {
			return
		}
		r, w := list[id], s.w
		cells := o.(*fyne.Container).Objects
		cells[0].(*widget.Label).SetText(r.Code)
		cells[1].(*widget.Label).SetText(r.Name)
		state := cells[2].(*widget.Label)
		state.Importance = supStateImportance(r.State)
		state.SetText(w.supState(r.State))
		turnout := "–"
		if r.Turnout != nil {
			turnout = w.Percent(r.Turnout.Share)
		}
		cells[3].(*widget.Label).SetText(turnout)
		fetched := ""
		if !r.FetchedAt.IsZero() {
			fetched = w.age(r.FetchedAt, s.opts.Now())
		}
		cells[4].(*widget.Label).SetText(fetched)
	}
	l.OnSelected = func(id widget.ListItemID) {
		if list := rows(); id < len(list) {
			s.showStation(list[id].Code)
		}
	}
	l.ExtendBaseWidget(l)
	return l
}

// TypedKey opens the station on Enter as on Space.
func (l *stationList) TypedKey(ev *fyne.KeyEvent) {
	if ev.Name == fyne.KeyReturn || ev.Name == fyne.KeyEnter {
		ev = &fyne.KeyEvent{Name: fyne.KeySpace}
	}
	l.List.TypedKey(ev)
}

// showStation shows a station's forms, each with its state, opened from
// there.
func (s *Supervisor) showStation(code string) {
	s.show("loading", func() fyne.CanvasObject { return s.stationScreen(code) })
}

func (s *Supervisor) stationScreen(code string) fyne.CanvasObject {
	body := container.NewVBox(widget.NewLabel(s.w.T("ui.loading", nil)))
	screen := s.screen
	load := func() {
		var d *review.Dashboard
		s.ops.do(func() (err error) {
			d, err = s.svc.Dashboard(s.ctx, review.Filter{Search: code})
			return err
		}, func(err error) {
			if s.screen != screen {
				return
			}
			back := s.back()
			var rows []fyne.CanvasObject
			var row *review.StationRow
			if err == nil {
				for i := range d.Stations {
					if d.Stations[i].Code == code {
						row = &d.Stations[i]
					}
				}
			}
			switch {
			case err != nil:
				rows = append(rows, wrapped(s.problem(err), widget.DangerImportance))
			case row == nil:
				rows = append(rows, wrapped(s.w.T("ui.sup.no-stations", nil), widget.DangerImportance))
			default:
				rows = s.stationRows(row)
			}
			s.showRows(body, rows, back, "station")
		})
	}
	s.refresh = load
	load()
	return container.NewVScroll(container.NewPadded(body))
}

func (s *Supervisor) stationRows(r *review.StationRow) []fyne.CanvasObject {
	w := s.w
	title := bold(w.T("ui.sup.station", map[string]any{"Code": r.Code, "Name": r.Name}))
	state := wrapped(w.supState(r.State), supStateImportance(r.State))
	rows := []fyne.CanvasObject{title, state,
		widget.NewLabel(w.T("ui.sup.registered", map[string]any{"Count": w.Int(r.Registered)}))}
	if r.Turnout != nil {
		rows = append(rows, widget.NewLabel(w.T("ui.sup.turnout-of", map[string]any{"Share": w.Percent(r.Turnout.Share),
			"Voted": w.Int(r.Turnout.Voted), "Registered": w.Int(r.Turnout.Registered), "Version": r.Turnout.Version})))
	}
	if !r.FetchedAt.IsZero() {
		rows = append(rows, widget.NewLabel(w.T("ui.sup.fetched", map[string]any{"Time": w.DateTime(r.FetchedAt.Local()),
			"Age": w.age(r.FetchedAt, s.opts.Now())})))
	}
	rows = append(rows, widget.NewSeparator(), bold(w.T("ui.sup.forms", nil)))
	for _, f := range r.Forms {
		label := widget.NewLabel(s.formName(f.Contest, f.Form))
		label.Truncation = fyne.TextTruncateEllipsis
		st := w.supState(f.State)
		if f.Version > 0 {
			st += " · " + w.T("ui.version", map[string]any{"Version": f.Version})
		}
		if f.Refusal != "" {
			st += " · " + f.Refusal
		}
		stLabel := widget.NewLabel(st)
		stLabel.Truncation = fyne.TextTruncateEllipsis
		stLabel.Importance = supStateImportance(f.State)
		var action fyne.CanvasObject
		switch {
		case f.Digest != "" && f.Fetched:
			digest := f.Digest
			open := newKeyButton(w.T("ui.sup.open", nil), func() { s.showSubmission(digest) })
			open.Importance = widget.HighImportance
			action = open
		case f.Digest != "":
			action = widget.NewLabel(w.T("ui.sup.not-fetched-yet", nil))
		default:
			action = widget.NewLabel("")
		}
		rows = append(rows, container.New(columns{420, 320, 160}, label, stLabel, action, layout.NewSpacer()))
	}
	return rows
}

// formName names a form of a contest.
func (s *Supervisor) formName(contest string, kind election.FormKind) string {
	name := contest
	if c, ok := s.def.Contest(contest); ok {
		name = s.w.name(c.Name)
	}
	return s.w.T("form."+string(kind), nil) + " — " + name
}

// showRows puts rows and then the way back into a screen's body, focuses
// its first button (the way back when it has none) and names the screen.
func (s *Supervisor) showRows(body *fyne.Container, rows []fyne.CanvasObject, back *keyButton, name string) {
	rows = append(rows, widget.NewSeparator(), container.NewHBox(back))
	body.Objects = rows
	body.Refresh()
	if f := firstButton(rows); f != nil {
		s.win.Canvas().Focus(f)
	} else {
		s.win.Canvas().Focus(back)
	}
	s.named(name)
}

// firstButton is the first button among rows, for the focus.
func firstButton(rows []fyne.CanvasObject) fyne.Focusable {
	var found fyne.Focusable
	for _, r := range rows {
		walkObjects(r, func(o fyne.CanvasObject) {
			if b, ok := o.(*keyButton); ok && found == nil {
				found = b
			}
		})
	}
	return found
}

// walkObjects visits an object and the objects of its containers.
func walkObjects(o fyne.CanvasObject, fn func(fyne.CanvasObject)) {
	fn(o)
	if c, ok := o.(*fyne.Container); ok {
		for _, x := range c.Objects {
			walkObjects(x, fn)
		}
	}
}
