package ui

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/widget"
)

// fieldEntry is a one-line entry for one field of the form. Enter and the
// arrow keys move between fields, and leaving the field saves it.
type fieldEntry struct {
	widget.Entry
	onLeave func()
	onFocus func()
}

func newFieldEntry() *fieldEntry {
	e := &fieldEntry{}
	e.ExtendBaseWidget(e)
	return e
}

// FocusGained lets the screen scroll the field into view.
func (e *fieldEntry) FocusGained() {
	e.Entry.FocusGained()
	if e.onFocus != nil {
		e.onFocus()
	}
}

// FocusLost saves the field: Tab, Enter and a click elsewhere all leave it.
func (e *fieldEntry) FocusLost() {
	e.Entry.FocusLost()
	if e.onLeave != nil {
		e.onLeave()
	}
}

// TypedKey moves to the next or previous field on the arrow keys, as on
// a spreadsheet; the rest is the entry's.
func (e *fieldEntry) TypedKey(ev *fyne.KeyEvent) {
	if !e.MultiLine {
		if c := e.canvas(); c != nil {
			switch ev.Name {
			case fyne.KeyDown:
				c.FocusNext()
				return
			case fyne.KeyUp:
				c.FocusPrevious()
				return
			}
		}
	}
	e.Entry.TypedKey(ev)
}

// TypedShortcut hands the window's own shortcuts (Ctrl+Enter, Ctrl+H, …)
// on to the window: the driver gives every shortcut to the entry that has
// the focus, and an entry keeps what it does not know.
func (e *fieldEntry) TypedShortcut(sc fyne.Shortcut) {
	if isWindowShortcut(sc) {
		if c, ok := e.canvas().(fyne.Shortcutable); ok {
			c.TypedShortcut(sc)
			return
		}
	}
	e.Entry.TypedShortcut(sc)
}

// canvas is the canvas the entry is on. The driver learns an object's
// canvas only when it first lays the object out, so an entry focused on a
// screen just shown, before its first frame, is found as the focused
// object of its window: a key typed at once is not lost.
func (e *fieldEntry) canvas() fyne.Canvas {
	d := fyne.CurrentApp().Driver()
	if c := d.CanvasForObject(e); c != nil {
		return c
	}
	for _, w := range d.AllWindows() {
		if f, ok := w.Canvas().Focused().(*fieldEntry); ok && f == e {
			return w.Canvas()
		}
	}
	return nil
}

// newPINEntry is an entry for a PIN: what is typed is hidden.
func newPINEntry() *fieldEntry {
	e := &fieldEntry{}
	e.Password = true
	e.Wrapping = fyne.TextWrap(fyne.TextTruncateClip)
	e.ExtendBaseWidget(e)
	return e
}

// keyButton is a button that Enter presses too, not only Space, so that a
// form is typed and finished without the mouse.
type keyButton struct {
	widget.Button
}

func newKeyButton(label string, tapped func()) *keyButton {
	b := &keyButton{}
	b.Text = label
	b.OnTapped = tapped
	b.ExtendBaseWidget(b)
	return b
}

func (b *keyButton) TypedKey(ev *fyne.KeyEvent) {
	if ev.Name == fyne.KeyReturn || ev.Name == fyne.KeyEnter {
		if !b.Disabled() && b.OnTapped != nil {
			b.OnTapped()
		}
		return
	}
	b.Button.TypedKey(ev)
}

// columns lays out a row of the form in columns of fixed widths; the
// last column takes what is left.
type columns []float32

func (c columns) MinSize(objects []fyne.CanvasObject) fyne.Size {
	var w, h float32
	for i, o := range objects {
		min := o.MinSize()
		if i < len(c) {
			w += c[i]
		} else {
			w += min.Width
		}
		h = max(h, min.Height)
	}
	return fyne.NewSize(w+float32(len(objects)-1)*pad, h)
}

func (c columns) Layout(objects []fyne.CanvasObject, size fyne.Size) {
	x := float32(0)
	for i, o := range objects {
		w := size.Width - x
		if i < len(c) && i < len(objects)-1 {
			w = c[i]
		}
		h := o.MinSize().Height
		o.Move(fyne.NewPos(x, (size.Height-h)/2))
		o.Resize(fyne.NewSize(w, h))
		x += w + pad
	}
}

// pad is the space between columns.
const pad = 8
