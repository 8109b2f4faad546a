package ui

import (
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"

	"tally/app/election"
	"tally/app/station"
)

// beginScreen asks who types the next entry: the first, or the blind
// second by another commissioner.
func (s *Station) beginScreen(v *station.FormView) fyne.CanvasObject {
	e := station.First
	intro := s.w.T("ui.begin.first", nil)
	if v.State == station.StateSecondPending {
		e = station.Second
		intro = s.w.T("ui.begin.second", map[string]any{"Name": v.EnteredBy})
	}
	name := newFieldEntry()
	name.SetPlaceHolder(s.w.T("ui.name", nil))
	if e == station.First {
		name.SetText(s.user)
	}
	message := wrapped("", widget.DangerImportance)
	begin := func() {
		by := strings.TrimSpace(name.Text)
		if by == "" {
			message.SetText(s.w.T("ui.begin.name-required", nil))
			return
		}
		s.ops.do(func() error { return s.svc.Begin(s.ctx, v.Key, e, by) }, func(err error) {
			if err != nil {
				message.SetText(s.w.problem(err))
				return
			}
			s.user = by
			s.reload(v.Key, nil)
		})
	}
	name.OnSubmitted = func(string) { begin() }
	start := newKeyButton(s.w.T("ui.begin.start", nil), begin)
	start.Importance = widget.HighImportance
	s.onNext(begin)
	form := nameRow(widget.NewLabel(s.w.T("ui.name", nil)), name)
	box := container.NewVBox(s.formHeading(v), wrapped(intro, widget.MediumImportance), form,
		container.NewHBox(start, s.homeButton()), message)
	s.focus = name
	return container.NewPadded(box)
}

// entryScreen is where one commissioner types the numbers of the paper
// form: one field a line, in the order of the paper; Enter goes to the next
// field; each field is saved as it is left; totals and the rules' findings
// follow the typing.
func (s *Station) entryScreen(v *station.FormView) fyne.CanvasObject {
	e := &entry{s: s, v: v, rows: map[election.Field]*fieldRow{}, saved: map[election.Field]string{}}
	return e.build()
}

// entry is the data-entry screen of one entry of one form.
type entry struct {
	s      *Station
	v      *station.FormView
	rows   map[election.Field]*fieldRow
	order  []election.Field
	saved  map[election.Field]string // what the store holds, as typed
	totals *fyne.Container
	errs   *fyne.Container
	warns  *fyne.Container
	msg    *widget.Label
	scroll *container.Scroll
}

// fieldRow is one line of the form: code, what it counts, the entry and
// the note beside it.
type fieldRow struct {
	field election.Field
	entry *fieldEntry
	note  *widget.Label
	line  fyne.CanvasObject
	// problem is the store's refusal of the last save, shown until the
	// field changes.
	problem string
}

func (e *entry) build() fyne.CanvasObject {
	s, v := e.s, e.v
	list := container.NewVBox()
	e.scroll = container.NewVScroll(list)
	add := func(f election.Field, multi bool) {
		r := &fieldRow{field: f, entry: newFieldEntry(), note: widget.NewLabel("")}
		r.note.Truncation = fyne.TextTruncateEllipsis
		r.entry.MultiLine = multi
		if multi {
			r.entry.SetMinRowsVisible(2)
			r.entry.Wrapping = fyne.TextWrapWord
		}
		switch f {
		case election.FieldRemarks:
			r.entry.SetText(v.Remarks)
		case election.FieldObjections:
			r.entry.SetText(v.Objections)
		default:
			if n, ok := v.Values[f]; ok {
				r.entry.SetText(count(n))
			}
		}
		e.saved[f] = r.entry.Text
		r.entry.OnChanged = func(string) { r.problem = ""; e.check() }
		r.entry.OnSubmitted = func(string) { s.win.Canvas().FocusNext() }
		r.entry.onLeave = func() { e.save(r) }
		code := widget.NewLabelWithStyle(fieldCode(f), fyne.TextAlignLeading, fyne.TextStyle{Monospace: true})
		name := widget.NewLabel(s.w.fieldName(v.Layout, f))
		name.Truncation = fyne.TextTruncateEllipsis
		r.line = container.New(columns{56, 300, 110}, code, name, r.entry, r.note)
		if multi {
			r.line = container.New(columns{56, 300}, code, name, r.entry)
		}
		r.entry.onFocus = func() { e.reveal(r.line) }
		e.rows[f] = r
		e.order = append(e.order, f)
		list.Add(r.line)
	}
	for _, spec := range v.Layout.Fields {
		add(spec.ID, false)
	}
	add(election.FieldMembers, false)
	if v.Entry == station.First {
		add(election.FieldRemarks, true)
		add(election.FieldObjections, true)
	}

	who := s.w.T("ui.entry.first", map[string]any{"Name": v.By})
	if v.Entry == station.Second {
		who = s.w.T("ui.entry.second", map[string]any{"Name": v.By})
	}
	finish := newKeyButton(s.w.T("ui.entry.finish", nil), e.finish)
	finish.Importance = widget.HighImportance
	s.onNext(e.finish)
	list.Add(container.NewHBox(finish, s.homeButton()))
	e.msg = wrapped("", widget.DangerImportance)

	e.totals = container.NewVBox()
	e.errs = container.NewVBox()
	e.warns = container.NewVBox()
	side := container.NewVBox(
		widget.NewLabelWithStyle(s.w.T("ui.entry.totals", nil), fyne.TextAlignLeading, fyne.TextStyle{Bold: true}), e.totals,
		widget.NewSeparator(),
		widget.NewLabelWithStyle(s.w.T("ui.entry.errors", nil), fyne.TextAlignLeading, fyne.TextStyle{Bold: true}), e.errs,
		widget.NewSeparator(),
		widget.NewLabelWithStyle(s.w.T("ui.entry.warnings", nil), fyne.TextAlignLeading, fyne.TextStyle{Bold: true}), e.warns)
	sideScroll := container.NewVScroll(side)
	sideScroll.SetMinSize(fyne.NewSize(360, 0))

	top := container.NewVBox(s.formHeading(v), wrapped(who, widget.MediumImportance), e.msg)
	e.check()
	if len(e.order) > 0 {
		first := e.rows[e.order[0]].entry
		for _, f := range e.order { // resume at the first empty field
			if e.rows[f].entry.Text == "" {
				first = e.rows[f].entry
				break
			}
		}
		s.focus = first
	}
	s.leave = e.saveAll
	split := container.NewHSplit(e.scroll, container.NewPadded(sideScroll))
	split.SetOffset(0.68)
	return container.NewBorder(container.NewPadded(top), nil, nil, nil, split)
}

// reveal scrolls a line of the form into view.
func (e *entry) reveal(o fyne.CanvasObject) {
	y, h, view := o.Position().Y, o.Size().Height, e.scroll.Size().Height
	off := e.scroll.Offset.Y
	switch {
	case y < off:
		off = y
	case y+h > off+view:
		off = y + h - view
	default:
		return
	}
	e.scroll.ScrollToOffset(fyne.NewPos(0, off))
}

// save hands a changed field to the store, in the order fields were left.
func (e *entry) save(r *fieldRow) {
	text := r.entry.Text
	if e.saved[r.field] == text {
		return
	}
	before := e.saved[r.field]
	e.saved[r.field] = text
	key, which := e.v.Key, e.v.Entry
	e.s.ops.do(func() error { return e.s.svc.SaveField(e.s.ctx, key, which, r.field, text) }, func(err error) {
		if err != nil {
			e.saved[r.field] = before
			r.problem = e.s.w.problem(err)
			e.check()
		}
	})
}

// saveAll saves every field not saved yet.
func (e *entry) saveAll() {
	for _, f := range e.order {
		e.save(e.rows[f])
	}
}

// finish saves what is left and ends the entry.
func (e *entry) finish() {
	e.saveAll()
	key, which := e.v.Key, e.v.Entry
	e.s.ops.do(func() error { return e.s.svc.Finish(e.s.ctx, key, which) }, func(err error) {
		if err != nil {
			e.msg.SetText(e.s.w.problem(err))
			if in, ok := err.(*election.InputError); ok {
				if r := e.rows[in.Field]; r != nil {
					r.problem = e.msg.Text
					e.check()
					e.s.win.Canvas().Focus(r.entry)
				}
			}
			return
		}
		e.s.reload(key, nil)
	})
}

// check reads the typed numbers and shows, beside the fields and in the
// side panel, what the rules find and the totals the paper form adds up.
// It runs on every keystroke and never touches the store.
func (e *entry) check() {
	w, v := e.s.w, e.v
	form := &election.Form{Kind: v.Layout.Form, Counts: map[election.Field]int{}, PhotoSHA256: v.Photo}
	notes := map[election.Field][]string{}
	bad := map[election.Field]bool{}
	membersTyped := false
	for _, f := range e.order {
		r := e.rows[f]
		if f == election.FieldRemarks || f == election.FieldObjections {
			continue
		}
		text := strings.TrimSpace(r.entry.Text)
		if r.problem != "" {
			notes[f] = append(notes[f], r.problem)
			bad[f] = true
		}
		if text == "" {
			continue
		}
		n, err := election.ParseCount(f, text)
		if err != nil {
			if r.problem == "" {
				notes[f] = append(notes[f], w.problem(err))
			}
			bad[f] = true
			continue
		}
		if f == election.FieldMembers {
			form.Members, membersTyped = n, true
		} else {
			form.Counts[f] = n
		}
	}
	var errs, warns []line
	for _, fd := range election.Validate(v.Layout, e.s.me, form) {
		switch {
		case fd.Code == "E.REQUIRED", fd.Code == "W.NO-PHOTO":
			continue // said when the entry is finished, and on the seal screen
		case fd.Code == "W.MEMBERS-LOW" && !membersTyped:
			continue
		}
		text := fd.Code + "  " + w.finding(fd)
		if fd.Severity == election.SeverityError {
			errs = append(errs, line{text, widget.DangerImportance})
		} else {
			warns = append(warns, line{text, widget.WarningImportance})
		}
		for i, f := range fd.Fields {
			if i == 0 {
				notes[f] = append(notes[f], text)
			} else {
				notes[f] = append(notes[f], fd.Code)
			}
			if fd.Severity == election.SeverityError {
				bad[f] = true
			}
		}
	}
	for f, r := range e.rows {
		imp := widget.WarningImportance
		if bad[f] {
			imp = widget.DangerImportance
		}
		setLabel(r.note, strings.Join(notes[f], " · "), imp)
	}
	if len(errs) == 0 {
		errs = append(errs, line{w.T("ui.entry.none", nil), widget.MediumImportance})
	}
	if len(warns) == 0 {
		warns = append(warns, line{w.T("ui.entry.none", nil), widget.MediumImportance})
	}
	setLines(e.errs, errs, true)
	setLines(e.warns, warns, true)
	setLines(e.totals, e.totalLines(form.Counts), false)
}

// line is a text of the side panel in its colour.
type line struct {
	text string
	imp  widget.Importance
}

// setLabel changes a label only when its text or colour changes: each
// keystroke checks the whole form, and a label refreshed is drawn again.
func setLabel(l *widget.Label, text string, imp widget.Importance) {
	if l.Text == text && l.Importance == imp {
		return
	}
	l.Importance = imp
	if l.Text != text {
		l.SetText(text)
		return
	}
	l.Refresh()
}

// setLines shows the lines in the box, keeping its labels: a keystroke
// changes a line or two, and new labels would all be measured and drawn
// anew.
func setLines(box *fyne.Container, lines []line, wrap bool) {
	changed := len(box.Objects) != len(lines)
	for i, ln := range lines {
		if i < len(box.Objects) {
			if l, ok := box.Objects[i].(*widget.Label); ok {
				setLabel(l, ln.text, ln.imp)
				continue
			}
		}
		l := widget.NewLabel(ln.text)
		l.Importance = ln.imp
		if wrap {
			l.Wrapping = fyne.TextWrapWord
		}
		if i < len(box.Objects) {
			box.Objects[i] = l
		} else {
			box.Objects = append(box.Objects, l)
		}
		changed = true
	}
	if len(box.Objects) > len(lines) {
		box.Objects = box.Objects[:len(lines)]
	}
	if changed {
		box.Refresh()
	}
}

// totalLines are the sums the paper form must balance, as they stand.
func (e *entry) totalLines(c map[election.Field]int) []line {
	w := e.s.w
	if e.v.Layout.Form != election.ResultsForm {
		return []line{{w.T("ui.entry.no-totals", nil), widget.MediumImportance}}
	}
	sum := func(fs ...election.Field) (int, bool) {
		t, all := 0, true
		for _, f := range fs {
			n, ok := c[f]
			all = all && ok
			t += n
		}
		return t, all
	}
	var entities []election.Field
	for _, spec := range e.v.Layout.Fields {
		if spec.Entity != 0 && spec.Candidate == 0 {
			entities = append(entities, spec.ID)
		}
	}
	total := func(key string, total int, complete bool, want election.Field) line {
		n, has := c[want]
		mark, imp := "…", widget.MediumImportance
		switch {
		case complete && has && n == total:
			mark, imp = "=", widget.SuccessImportance
		case complete && has:
			mark, imp = "≠", widget.DangerImportance
		}
		other := "–"
		if has {
			other = w.Int(n)
		}
		return line{w.T(key, map[string]any{"Sum": w.Int(total), "Mark": mark, "Value": other}), imp}
	}
	gh, ghAll := sum(election.FieldG, election.FieldH)
	fde, fdeAll := sum(election.FieldF, election.FieldD, election.FieldE)
	votes, votesAll := sum(entities...)
	return []line{
		total("ui.entry.sum-gh", gh, ghAll, election.FieldF),
		total("ui.entry.sum-fde", fde, fdeAll, election.FieldC),
		total("ui.entry.sum-i", votes, votesAll, election.FieldH),
	}
}
