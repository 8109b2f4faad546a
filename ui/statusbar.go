package ui

import (
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// SyncStatus is the outbox as the status bar shows it: whether the
// commission answers, what waits, when the next attempt is.
type SyncStatus struct {
	Known     bool // false until the sync worker has reported once
	Online    bool
	Queued    int       // sealed versions without the commission's receipt
	NextTry   time.Time // zero when no attempt waits
	Photos    int       // photos not uploaded yet
	PhotosKey bool      // the photos wait for the chair's PIN
	Uploading bool      // a submission or a photo is on the wire now
	LastError string
}

// barState is what the status bar shows, its texts already in the
// language of the moment: the station's outbox and the supervisor's sync
// both fill it.
type barState struct {
	Known, Online bool
	Waiting       string // what waits to be sent
	Next          string // the next attempt
	Note          string // what else waits, and on what
	Busy          bool   // something is on the wire now
	LastError     string // the worker's technical text
}

// statusBar is the line at the bottom of every screen.
type statusBar struct {
	words    func() words
	state    func() barState
	dot      *canvas.Circle
	online   *widget.Label
	queued   *widget.Label
	next     *widget.Label
	photos   *widget.Label
	errHead  *widget.Label // the translated heading of the worker's technical text
	lastErr  *widget.Label
	progress *widget.ProgressBarInfinite
}

func newStatusBar(s *Station) *statusBar {
	return newBar(func() words { return s.w }, s.barState)
}

func newBar(w func() words, state func() barState) *statusBar {
	b := &statusBar{words: w, state: state, dot: canvas.NewCircle(theme.Color(theme.ColorNameDisabled)),
		online: widget.NewLabel(""), queued: widget.NewLabel(""), next: widget.NewLabel(""),
		photos: widget.NewLabel(""), lastErr: widget.NewLabel(""), progress: widget.NewProgressBarInfinite(),
		errHead: widget.NewLabel("")}
	b.lastErr.Truncation = fyne.TextTruncateEllipsis
	b.lastErr.Importance = widget.LowImportance
	b.progress.Hide()
	b.progress.Stop()
	return b
}

// view is the bar's widgets; they are made once and shown on every screen.
func (b *statusBar) view() fyne.CanvasObject {
	b.update()
	dot := container.NewGridWrap(fyne.NewSize(14, 14), b.dot)
	left := container.NewHBox(container.NewCenter(dot), b.online, b.queued, b.next, b.photos)
	progress := container.NewGridWrap(fyne.NewSize(160, 20), b.progress)
	return container.NewVBox(widget.NewSeparator(),
		container.NewBorder(nil, nil, left, container.NewCenter(progress),
			container.NewBorder(nil, nil, b.errHead, nil, b.lastErr)))
}

// barState is the station's outbox for the status bar.
func (s *Station) barState() barState {
	st, w := s.sync, s.w
	out := barState{Known: st.Known, Online: st.Online, Busy: st.Uploading, LastError: st.LastError,
		Waiting: w.N("ui.sync.queued", st.Queued, nil)}
	if !st.NextTry.IsZero() && (st.Queued != 0 || st.Photos != 0) {
		out.Next = w.T("ui.sync.next-try", map[string]any{"Time": clock(st.NextTry)})
	}
	switch {
	case st.Photos == 0:
	case st.PhotosKey:
		out.Note = w.N("ui.sync.photos-need-pin", st.Photos, nil)
	default:
		out.Note = w.N("ui.sync.photos", st.Photos, nil)
	}
	return out
}

// update shows the latest status, in the language of the moment.
func (b *statusBar) update() {
	st, w := b.state(), b.words()
	switch {
	case !st.Known:
		b.dot.FillColor = theme.Color(theme.ColorNameDisabled)
		b.online.SetText(w.T("ui.sync.unknown", nil))
	case st.Online:
		b.dot.FillColor = theme.Color(theme.ColorNameSuccess)
		b.online.SetText(w.T("ui.sync.online", nil))
	default:
		b.dot.FillColor = theme.Color(theme.ColorNameError)
		b.online.SetText(w.T("ui.sync.offline", nil))
	}
	b.dot.Refresh()
	b.queued.SetText(st.Waiting)
	b.next.SetText(st.Next)
	b.photos.SetText(st.Note)
	// The worker's text is technical English: it goes under a heading in
	// the language of the moment, as details for whoever helps.
	if st.LastError == "" {
		b.errHead.SetText("")
		b.errHead.Hide()
	} else {
		b.errHead.SetText(w.T("ui.sync.problem", nil))
		b.errHead.Show()
	}
	b.lastErr.SetText(st.LastError)
	if st.Busy {
		b.progress.Show()
		b.progress.Start()
	} else {
		b.progress.Stop()
		b.progress.Hide()
	}
}
