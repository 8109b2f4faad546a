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

// statusBar is the line at the bottom of every screen.
type statusBar struct {
	s        *Station
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
	b := &statusBar{s: s, dot: canvas.NewCircle(theme.Color(theme.ColorNameDisabled)),
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

// update shows the latest status, in the language of the moment.
func (b *statusBar) update() {
	st, w := b.s.sync, b.s.w
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
	b.queued.SetText(w.N("ui.sync.queued", st.Queued, nil))
	if st.NextTry.IsZero() || st.Queued == 0 && st.Photos == 0 {
		b.next.SetText("")
	} else {
		b.next.SetText(w.T("ui.sync.next-try", map[string]any{"Time": clock(st.NextTry)}))
	}
	switch {
	case st.Photos == 0:
		b.photos.SetText("")
	case st.PhotosKey:
		b.photos.SetText(w.N("ui.sync.photos-need-pin", st.Photos, nil))
	default:
		b.photos.SetText(w.N("ui.sync.photos", st.Photos, nil))
	}
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
	if st.Uploading {
		b.progress.Show()
		b.progress.Start()
	} else {
		b.progress.Stop()
		b.progress.Hide()
	}
}
