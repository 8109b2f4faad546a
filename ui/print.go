package ui

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/storage"
	"fyne.io/fyne/v2/widget"

	"tally/app/station"
	"tally/i18n"
	"tally/ui/printout"
)

// errExists refuses to print over a file that is there.
var errExists = errors.New("the file exists")

// printSection is the printout of the form's last sealed version: a PDF
// to print, sign and keep with the paper form, written to a file the user
// names (or chooses in the save dialog), never over one that exists.
func (s *Station) printSection(v *station.FormView) fyne.CanvasObject {
	last := v.Versions[len(v.Versions)-1]
	path := newFieldEntry()
	path.SetText(s.printPath(v.Key, last.Version))
	message := wrapped("", widget.MediumImportance)
	write := func() { s.printTo(v.Key, last.Version, strings.TrimSpace(path.Text), message, path) }
	path.OnSubmitted = func(string) { write() }
	button := newKeyButton(s.w.T("ui.print.button", nil), write)
	button.Importance = widget.HighImportance
	choose := newKeyButton(s.w.T("ui.print.choose", nil), func() { s.printDialog(v.Key, last.Version, path.Text, message) })
	s.win.Canvas().AddShortcut(shortcutPrint, func(fyne.Shortcut) { write() })
	return container.NewVBox(widget.NewSeparator(),
		bold(s.w.T("ui.print.title", map[string]any{"Version": last.Version})),
		wrapped(s.w.T("ui.print.intro", nil), widget.MediumImportance),
		container.NewBorder(nil, nil, widget.NewLabel(s.w.T("ui.print.file", nil)), container.NewHBox(choose, button), path),
		message)
}

// printPath is where a printout goes unless the user says otherwise: the
// Documents folder (else the home folder), under a name that says what it
// is and that no file has yet.
func (s *Station) printPath(key station.FormKey, version int) string {
	dir := documentsDir()
	code := "station"
	if s.me != nil {
		code = s.me.Code
	}
	base := fmt.Sprintf("tally-%s-%s-%s-v%d", code, key.Contest, key.Form, version)
	name := filepath.Join(dir, base+".pdf")
	for i := 2; exists(name) && i < 1000; i++ {
		name = filepath.Join(dir, fmt.Sprintf("%s-%d.pdf", base, i))
	}
	return name
}

// documentsDir is the user's Documents folder, else the home folder, else
// the working directory.
func documentsDir() string {
	home, err := os.UserHomeDir()
	if err != nil {
		return "."
	}
	for _, name := range []string{"Documents", "Dokumente", "Documenti"} {
		dir := filepath.Join(home, name)
		if info, err := os.Stat(dir); err == nil && info.IsDir() {
			return dir
		}
	}
	return home
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return !errors.Is(err, fs.ErrNotExist)
}

// render loads the version from the station's record, verifies it and
// renders it as a PDF in the language l.
func (s *Station) render(key station.FormKey, version int, l *i18n.Localizer) ([]byte, error) {
	if s.store == nil {
		return nil, errors.New("the station's record is not open for printing")
	}
	sheet, err := printout.Load(s.ctx, s.svc, s.store, key, version)
	if err != nil {
		return nil, err
	}
	sheet.Location = time.Local
	var pdf bytes.Buffer
	if err := printout.Render(&pdf, sheet, l); err != nil {
		return nil, err
	}
	return pdf.Bytes(), nil
}

// printTo writes the printout to path, which must not exist yet, off the
// UI goroutine, in the language of the moment.
func (s *Station) printTo(key station.FormKey, version int, path string, message *widget.Label, field fyne.Focusable) {
	if path == "" {
		message.Importance = widget.DangerImportance
		message.SetText(s.w.T("ui.print.path-required", nil))
		return
	}
	if !strings.EqualFold(filepath.Ext(path), ".pdf") {
		path += ".pdf"
	}
	l := s.w.Localizer
	message.Importance = widget.MediumImportance
	message.SetText(s.w.T("ui.print.writing", nil))
	s.ops.do(func() error {
		if exists(path) {
			return errExists
		}
		data, err := s.render(key, version, l)
		if err != nil {
			return err
		}
		return writeNewFile(path, data)
	}, func(err error) {
		switch {
		case errors.Is(err, errExists) || errors.Is(err, fs.ErrExist):
			message.Importance = widget.DangerImportance
			message.SetText(s.w.T("ui.print.exists", map[string]any{"File": path}))
			s.win.Canvas().Focus(field)
		case err != nil:
			message.Importance = widget.DangerImportance
			message.SetText(s.w.T("ui.print.failed", map[string]any{"Detail": err.Error()}))
		default:
			message.Importance = widget.SuccessImportance
			message.SetText(s.w.T("ui.print.written", map[string]any{"File": path}))
		}
	})
}

// writeNewFile creates the file, which must not exist, with the data, and
// flushes it to the disk; a file that could not be written whole is
// removed again.
func writeNewFile(path string, data []byte) (err error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			_ = os.Remove(path)
		}
	}()
	if _, err = f.Write(data); err != nil {
		return err
	}
	return f.Sync()
}

// printDialog lets the user choose the file in Fyne's save dialog, which
// itself asks before it replaces a file.
func (s *Station) printDialog(key station.FormKey, version int, suggested string, message *widget.Label) {
	l := s.w.Localizer
	d := dialog.NewFileSave(func(w fyne.URIWriteCloser, err error) {
		if err != nil {
			message.Importance = widget.DangerImportance
			message.SetText(s.w.T("ui.print.failed", map[string]any{"Detail": err.Error()}))
			return
		}
		if w == nil {
			return // cancelled
		}
		path := w.URI().Path()
		message.Importance = widget.MediumImportance
		message.SetText(s.w.T("ui.print.writing", nil))
		s.ops.do(func() error {
			data, err := s.render(key, version, l)
			if err != nil {
				_ = w.Close()
				return err
			}
			if _, err := w.Write(data); err != nil {
				_ = w.Close()
				return err
			}
			return w.Close()
		}, func(err error) {
			if err != nil {
				message.Importance = widget.DangerImportance
				message.SetText(s.w.T("ui.print.failed", map[string]any{"Detail": err.Error()}))
				return
			}
			message.Importance = widget.SuccessImportance
			message.SetText(s.w.T("ui.print.written", map[string]any{"File": path}))
		})
	}, s.win)
	dir, name := filepath.Split(suggested)
	if name != "" {
		d.SetFileName(name)
	}
	if dir != "" {
		if u, err := storage.ListerForURI(storage.NewFileURI(filepath.Clean(dir))); err == nil {
			d.SetLocation(u)
		}
	}
	d.SetFilter(storage.NewExtensionFileFilter([]string{".pdf", ".PDF"}))
	d.Resize(fyne.NewSize(900, 600))
	d.Show()
}
