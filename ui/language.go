package ui

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/widget"

	"tally/i18n"
)

// header is the line at the top of every screen: where we are, the
// language, help and about.
func (s *Station) header() fyne.CanvasObject {
	where := s.w.T("app.name", nil)
	if s.me != nil {
		where = s.w.T("ui.header.station", map[string]any{"Code": s.me.Code, "Name": s.me.Name})
	}
	if s.def != nil {
		where += " · " + s.w.name(s.def.Election.Name)
	}
	return headerBar(s.w, where, s.setLanguage, s.showHelp, s.showAbout)
}

// headerBar is a header: where, the language's choice, help and about.
func headerBar(w words, where string, setLanguage func(tag string), help, about func()) fyne.CanvasObject {
	title := widget.NewLabelWithStyle(where, fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	title.Truncation = fyne.TextTruncateEllipsis

	langs := i18n.Languages()
	names := make([]string, len(langs))
	current := ""
	for i, l := range langs {
		names[i] = l.Name
		if l.Tag == w.Tag() {
			current = l.Name
		}
	}
	pick := widget.NewSelect(names, nil)
	pick.SetSelected(current)
	pick.OnChanged = func(name string) {
		for _, l := range langs {
			if l.Name == name {
				setLanguage(l.Tag)
			}
		}
	}
	helpButton := widget.NewButton(w.T("ui.help", nil), help)
	aboutButton := widget.NewButton(w.T("ui.about", nil), about)
	right := container.NewHBox(widget.NewLabel(w.T("ui.language", nil)), pick, helpButton, aboutButton)
	return container.NewVBox(container.NewBorder(nil, nil, nil, right, title), widget.NewSeparator())
}

// nextLanguage is the language after tag, for Ctrl+L.
func nextLanguage(tag string) string {
	langs := i18n.Languages()
	for i, l := range langs {
		if l.Tag == tag {
			return langs[(i+1)%len(langs)].Tag
		}
	}
	return tag
}

// shortcuts are the keys that work on every screen.
var (
	shortcutHome     = &desktop.CustomShortcut{KeyName: fyne.KeyH, Modifier: fyne.KeyModifierShortcutDefault}
	shortcutLanguage = &desktop.CustomShortcut{KeyName: fyne.KeyL, Modifier: fyne.KeyModifierShortcutDefault}
	shortcutHelp     = &desktop.CustomShortcut{KeyName: fyne.KeyF1}
	// shortcutNext finishes an entry, or seals on the seal screen.
	shortcutNext = &desktop.CustomShortcut{KeyName: fyne.KeyReturn, Modifier: fyne.KeyModifierShortcutDefault}
	// shortcutPrint writes the printout of a sealed version.
	shortcutPrint = &desktop.CustomShortcut{KeyName: fyne.KeyP, Modifier: fyne.KeyModifierShortcutDefault}
)

// isWindowShortcut tells the window's shortcuts from an entry's own.
func isWindowShortcut(sc fyne.Shortcut) bool {
	for _, w := range []fyne.Shortcut{shortcutNext, shortcutHome, shortcutLanguage, shortcutPrint} {
		if sc.ShortcutName() == w.ShortcutName() {
			return true
		}
	}
	return false
}

func (s *Station) bindShortcuts() {
	c := s.win.Canvas()
	c.AddShortcut(shortcutHome, func(fyne.Shortcut) {
		if s.def != nil {
			s.leaveScreen()
			s.showHome()
		}
	})
	c.AddShortcut(shortcutLanguage, func(fyne.Shortcut) { s.setLanguage(nextLanguage(s.w.Tag())) })
	c.AddShortcut(shortcutHelp, func(fyne.Shortcut) { s.showHelp() })
}

// onNext binds Ctrl+Enter on this screen; a new screen binds its own.
func (s *Station) onNext(fn func()) {
	s.win.Canvas().AddShortcut(shortcutNext, func(fyne.Shortcut) { fn() })
}

func (s *Station) showAbout() {
	lines := []string{s.w.T("app.tagline", nil), s.w.T("ui.about.version", map[string]any{"Version": s.opts.Version})}
	if s.me != nil {
		lines = append(lines, s.w.T("ui.about.station", map[string]any{"Code": s.me.Code, "Name": s.me.Name}))
	}
	if s.def != nil {
		lines = append(lines, s.w.T("ui.about.election", map[string]any{"Election": s.def.Election.ID}))
	}
	box := container.NewVBox()
	for _, l := range lines {
		box.Add(widget.NewLabel(l))
	}
	showContent(s, s.w.T("app.name", nil), box)
}

func (s *Station) showHelp() {
	grid := container.New(layout.NewFormLayout())
	for _, k := range []struct{ keys, what string }{
		{"Enter, Tab, ↓", "ui.help.next-field"},
		{"Shift+Tab, ↑", "ui.help.previous-field"},
		{"Ctrl+Enter", "ui.help.finish"},
		{"Space, Enter", "ui.help.button"},
		{"Ctrl+H", "ui.help.home"},
		{"Ctrl+P", "ui.help.print"},
		{"Ctrl+L", "ui.help.language"},
		{"F1", "ui.help.help"},
	} {
		grid.Add(widget.NewLabelWithStyle(k.keys, fyne.TextAlignTrailing, fyne.TextStyle{Monospace: true}))
		grid.Add(widget.NewLabel(s.w.T(k.what, nil)))
	}
	intro := widget.NewLabel(s.w.T("ui.help.intro", nil))
	intro.Wrapping = fyne.TextWrapWord
	showContent(s, s.w.T("ui.help", nil), container.NewVBox(intro, widget.NewSeparator(), grid))
}
