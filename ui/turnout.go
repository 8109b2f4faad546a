package ui

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"tally/app/review"
)

// turnoutPlot is the turnout of each station as a bar, in the
// definition's order, with the municipality's average as a line across.
// Only turnouts from versions that verified here are drawn; a station
// without one has no bar. The same numbers are in the list below it, for
// the keyboard.
type turnoutPlot struct {
	shares  []float64 // -1: no verified turnout
	average float64   // voted over registered, over the stations drawn
	drawn   int
}

// plotHeight is the height of the bars' area.
const plotHeight = 120

func newTurnoutPlot(w words, rows []review.StationRow) fyne.CanvasObject {
	p := &turnoutPlot{}
	var voted, registered int
	for _, r := range rows {
		if r.Turnout == nil {
			p.shares = append(p.shares, -1)
			continue
		}
		p.shares = append(p.shares, r.Turnout.Share)
		voted += r.Turnout.Voted
		registered += r.Turnout.Registered
		p.drawn++
	}
	if p.drawn == 0 {
		return widget.NewLabel(w.T("ui.sup.turnout-none", nil))
	}
	if registered > 0 {
		p.average = float64(voted) / float64(registered)
	}
	var objects []fyne.CanvasObject
	frame := canvas.NewRectangle(theme.Color(theme.ColorNameInputBackground))
	objects = append(objects, frame)
	for _, share := range p.shares {
		bar := canvas.NewRectangle(theme.Color(theme.ColorNamePrimary))
		if share < 0 {
			bar.FillColor = theme.Color(theme.ColorNameDisabled)
		}
		objects = append(objects, bar)
	}
	line := canvas.NewRectangle(theme.Color(theme.ColorNameError))
	objects = append(objects, line)
	area := container.New(p, objects...)
	legend := widget.NewLabel(w.T("ui.sup.turnout-legend", map[string]any{
		"Average": w.Percent(p.average), "Drawn": w.Int(p.drawn), "Total": w.Int(len(rows))}))
	legend.Importance = widget.LowImportance
	return container.NewVBox(area, legend)
}

// MinSize keeps the bars' area plotHeight high.
func (p *turnoutPlot) MinSize([]fyne.CanvasObject) fyne.Size { return fyne.NewSize(200, plotHeight) }

// Layout places the frame, one bar per station and the average's line:
// 100 % is the top of the area.
func (p *turnoutPlot) Layout(objects []fyne.CanvasObject, size fyne.Size) {
	if len(objects) < 2 {
		return
	}
	objects[0].Move(fyne.NewPos(0, 0))
	objects[0].Resize(size)
	n := len(p.shares)
	step := size.Width / float32(max(n, 1))
	gap := min(step/4, 2)
	for i, share := range p.shares {
		bar := objects[1+i]
		h := float32(2) // a station without a verified turnout: a mark on the axis
		if share >= 0 {
			h = max(1, float32(min(share, 1))*size.Height)
		}
		bar.Move(fyne.NewPos(float32(i)*step+gap/2, size.Height-h))
		bar.Resize(fyne.NewSize(max(1, step-gap), h))
	}
	line := objects[len(objects)-1]
	y := size.Height - float32(min(p.average, 1))*size.Height
	line.Move(fyne.NewPos(0, y-1))
	line.Resize(fyne.NewSize(size.Width, 2))
}
