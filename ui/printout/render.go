// Package printout renders a sealed version of a station's form as a
// printable PDF: the numbers, who entered them, the findings the chair
// confirmed with their explanations, the hashes that tie the paper to
// what was signed, and the commission's receipt. The commissioners sign
// the printout and keep it with the paper form.
//
// The package is pure Go (no widgets, no cgo); the screens and the
// `tally station print` command both use it. The text comes from the
// catalogs (keys "print.…", and the form's own "field.…" and "form.…"),
// in a TrueType font with Latin, Cyrillic and Turkish letters, embedded.
// The same sheet in the same language always gives the same bytes.
package printout

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/go-pdf/fpdf"
	"golang.org/x/image/font/gofont/gobold"
	"golang.org/x/image/font/gofont/goregular"

	"tally/app/election"
	"tally/i18n"
)

// Page geometry, in millimetres (A4 portrait).
const (
	marginLeft   = 15.0
	marginTop    = 14.0
	marginRight  = 15.0
	marginBottom = 18.0
	bodyWidth    = 210.0 - marginLeft - marginRight

	lineHeight = 4.6 // one line of body text
	rowHeight  = 5.6 // one row of the table

	codeWidth  = 20.0
	valueWidth = 32.0
	labelWidth = 58.0 // labels of the heading and the box

	fontFamily = "go"
)

// Shades of grey, as RGB levels.
const (
	greyText   = 90
	greyRule   = 150
	greyHeader = 225
	greyStripe = 244
)

// Render writes the printout of the sheet as a PDF, in the localizer's
// language. It writes nothing when the sheet is incomplete.
func Render(w io.Writer, s *Sheet, l *i18n.Localizer) error {
	if err := s.check(); err != nil {
		return err
	}
	if l == nil {
		return errors.New("printout: no localizer")
	}
	// The total number of pages goes into every footer: a first pass
	// counts them when there is more than one.
	pdf, err := render(s, l, 0)
	if err != nil {
		return err
	}
	if n := pdf.PageNo(); n > 1 {
		if pdf, err = render(s, l, n); err != nil {
			return err
		}
	}
	var buf bytes.Buffer
	if err := pdf.Output(&buf); err != nil {
		return fmt.Errorf("printout: %w", err)
	}
	_, err = w.Write(buf.Bytes())
	return err
}

// check refuses a sheet that lacks what every printout shows.
func (s *Sheet) check() error {
	switch {
	case s == nil:
		return errors.New("printout: no sheet")
	case s.Definition == nil || s.Station == nil || s.Layout == nil || s.Layout.Contest == nil:
		return errors.New("printout: the sheet has no definition, station or layout")
	case s.Submission == nil:
		return errors.New("printout: the sheet has no sealed submission")
	case s.Version.Digest == "":
		return errors.New("printout: the sheet has no envelope digest")
	}
	return nil
}

// doc is one rendering under way.
type doc struct {
	pdf   *fpdf.Fpdf
	s     *Sheet
	l     *i18n.Localizer
	loc   *time.Location
	pages int // the total, once known; 0 in the first pass
}

func render(s *Sheet, l *i18n.Localizer, pages int) (*fpdf.Fpdf, error) {
	pdf := fpdf.NewCustom(&fpdf.InitType{OrientationStr: "P", UnitStr: "mm", SizeStr: "A4"})
	pdf.AddUTF8FontFromBytes(fontFamily, "", goregular.TTF)
	pdf.AddUTF8FontFromBytes(fontFamily, "B", gobold.TTF)
	pdf.SetMargins(marginLeft, marginTop, marginRight)
	pdf.SetAutoPageBreak(true, marginBottom)
	pdf.SetCellMargin(1.5)
	pdf.SetCatalogSort(true)
	pdf.SetCompression(true)
	// The document's dates are the sealing's, so that printing the same
	// version again gives the same file.
	sealed := s.sealedAt().UTC()
	pdf.SetCreationDate(sealed)
	pdf.SetModificationDate(sealed)
	pdf.SetLang(l.Tag())
	pdf.SetTitle(s.title(l), true)
	pdf.SetSubject(l.T("form."+string(s.Layout.Form), nil), true)
	pdf.SetCreator(l.T("app.name", nil), true)
	pdf.SetProducer(l.T("app.name", nil), true)

	d := &doc{pdf: pdf, s: s, l: l, loc: s.Location, pages: pages}
	if d.loc == nil {
		d.loc = time.UTC
	}
	pdf.SetFooterFunc(d.footer)
	pdf.AddPage()
	d.heading()
	d.counts()
	d.totals()
	d.findings()
	d.texts()
	d.seal()
	d.signatures()
	if err := pdf.Error(); err != nil {
		return nil, fmt.Errorf("printout: %w", err)
	}
	return pdf, nil
}

// sealedAt is when the version was sealed.
func (s *Sheet) sealedAt() time.Time {
	if !s.Version.SealedAt.IsZero() {
		return s.Version.SealedAt
	}
	return s.Submission.SealedAt
}

// versionNumber is the number of the sealed version.
func (s *Sheet) versionNumber() int {
	if s.Version.Version != 0 {
		return s.Version.Version
	}
	return s.Submission.Version
}

// title names the printout in a line: station, contest, form, version.
func (s *Sheet) title(l *i18n.Localizer) string {
	return fmt.Sprintf("%s · %s/%s · %s %d", s.Station.Code, s.Layout.Contest.Code, s.Layout.Form,
		l.T("print.version", nil), s.versionNumber())
}

// name picks a name in the language of the printout, else in Albanian,
// else the first there is.
func name(n election.Names, tag string) string {
	if v := n[tag]; v != "" {
		return v
	}
	if v := n[i18n.Default]; v != "" {
		return v
	}
	keys := make([]string, 0, len(n))
	for k := range n {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if n[k] != "" {
			return n[k]
		}
	}
	return ""
}

func (d *doc) font(style string, size float64) { d.pdf.SetFont(fontFamily, style, size) }

func (d *doc) grey(level int) { d.pdf.SetTextColor(level, level, level) }

func (d *doc) black() { d.pdf.SetTextColor(0, 0, 0) }

// time formats a moment in the printout's zone, with the zone named.
func (d *doc) time(t time.Time) string {
	t = t.In(d.loc)
	return d.l.DateTime(t) + " " + t.Format("MST")
}

// ensure starts a new page unless h millimetres fit on this one.
func (d *doc) ensure(h float64) bool {
	_, pageHeight := d.pdf.GetPageSize()
	if d.pdf.GetY()+h > pageHeight-marginBottom {
		d.pdf.AddPage()
		return true
	}
	return false
}

// section starts a titled part of the printout, on a new page when the
// title and the first h millimetres would not fit.
func (d *doc) section(title string, h float64) {
	d.pdf.Ln(3)
	d.ensure(8 + h)
	d.font("B", 11)
	d.black()
	d.pdf.CellFormat(bodyWidth, 6.5, title, "", 1, "L", false, 0, "")
	d.pdf.SetDrawColor(greyRule, greyRule, greyRule)
	d.pdf.SetLineWidth(0.3)
	y := d.pdf.GetY()
	d.pdf.Line(marginLeft, y, marginLeft+bodyWidth, y)
	d.pdf.Ln(1.5)
}

// pair prints a line of the heading: a label and its value, which wraps
// when it is long.
func (d *doc) pair(label, value string) {
	valueW := bodyWidth - labelWidth
	d.font("", 9.5)
	lines := d.pdf.SplitText(value, valueW-3)
	if len(lines) == 0 {
		lines = []string{""}
	}
	d.ensure(float64(len(lines)) * lineHeight)
	y := d.pdf.GetY()
	d.pdf.SetXY(marginLeft, y)
	d.font("", 8.5)
	d.grey(greyText)
	d.pdf.CellFormat(labelWidth, lineHeight, label, "", 0, "L", false, 0, "")
	d.font("", 9.5)
	d.black()
	for i, line := range lines {
		d.pdf.SetXY(marginLeft+labelWidth, y+float64(i)*lineHeight)
		d.pdf.CellFormat(valueW, lineHeight, line, "", 0, "L", false, 0, "")
	}
	d.pdf.SetXY(marginLeft, y+float64(len(lines))*lineHeight+0.6)
}

// heading prints what the printout is of: the form, the election, the
// contest, the station and the version.
func (d *doc) heading() {
	s, l, tag := d.s, d.l, d.l.Tag()
	d.font("B", 16)
	d.black()
	d.pdf.MultiCell(bodyWidth, 7.5, l.T("form."+string(s.Layout.Form), nil), "", "L", false)
	d.font("", 11)
	d.pdf.MultiCell(bodyWidth, 5.5, name(s.Definition.Election.Name, tag), "", "L", false)
	d.pdf.Ln(2.5)

	c := s.Layout.Contest
	d.pair(l.T("print.election", nil), s.Definition.Election.ID)
	d.pair(l.T("print.contest", nil), name(c.Name, tag)+" ("+c.Code+")")
	st := s.Station
	stationLabel := l.T("print.station", nil)
	if st.Kind == election.Counting {
		stationLabel = l.T("print.counting-centre", nil)
	}
	d.pair(stationLabel, st.Code+" – "+st.Name)
	if vc, ok := s.Definition.VotingCentre(st.Centre); ok && st.Centre != "" {
		d.pair(l.T("print.centre", nil), vc.Name+" ("+vc.Code+")")
	}
	if m, ok := s.Definition.Municipality(st.Municipality); ok {
		d.pair(l.T("print.municipality", nil), name(m.Name, tag)+" ("+m.Code+")")
	}
	d.pair(l.T("print.version", nil), l.Int(d.s.versionNumber()))
	d.pair(l.T("print.sealed-at", nil), d.time(s.sealedAt()))
	d.pair(l.T("print.sequence", nil), fmt.Sprint(s.Submission.Sequence))
	f := s.Submission.Form
	if f.EnteredBy != "" {
		d.pair(l.T("field.entered_by", nil), f.EnteredBy)
	}
	if f.ReenteredBy != "" {
		d.pair(l.T("field.reentered_by", nil), f.ReenteredBy)
	}
}

// fieldName says what a field of the form counts.
func fieldName(l *i18n.Localizer, layout *election.Layout, spec election.FieldSpec) string {
	if spec.Entity == 0 {
		return l.T("field."+string(spec.ID), nil)
	}
	e, ok := layout.Contest.Entity(spec.Entity)
	if !ok {
		return string(spec.ID)
	}
	if spec.Candidate == 0 {
		return l.T("field.I", map[string]any{"Entity": e.Name})
	}
	for _, c := range e.Candidates {
		if c.Number == spec.Candidate {
			return l.T("field.K", map[string]any{"Candidate": c.Name, "Entity": e.Name})
		}
	}
	return string(spec.ID)
}

// tableHeader prints the header row of the table of numbers.
func (d *doc) tableHeader() {
	d.font("B", 8.5)
	d.black()
	d.pdf.SetFillColor(greyHeader, greyHeader, greyHeader)
	d.pdf.SetDrawColor(greyRule, greyRule, greyRule)
	d.pdf.SetLineWidth(0.2)
	d.pdf.CellFormat(codeWidth, rowHeight, d.l.T("print.code", nil), "1", 0, "L", true, 0, "")
	d.pdf.CellFormat(bodyWidth-codeWidth-valueWidth, rowHeight, d.l.T("print.field", nil), "1", 0, "L", true, 0, "")
	d.pdf.CellFormat(valueWidth, rowHeight, d.l.T("print.value", nil), "1", 1, "R", true, 0, "")
}

// row prints one row of the table: the code, the field's name (wrapped
// when long) and the number. A row that does not fit goes to the next
// page, under the header again when header is set.
func (d *doc) row(i int, code, label, value string, header bool) {
	labelW := bodyWidth - codeWidth - valueWidth
	d.font("", 9)
	lines := d.pdf.SplitText(label, labelW-3)
	if len(lines) == 0 {
		lines = []string{""}
	}
	lh := rowHeight
	if len(lines) > 1 {
		lh = lineHeight
	}
	h := float64(len(lines)) * lh
	if d.ensure(h) && header {
		d.tableHeader()
	}
	stripe := i%2 == 1
	d.pdf.SetFillColor(greyStripe, greyStripe, greyStripe)
	x, y := marginLeft, d.pdf.GetY()
	if stripe {
		d.pdf.Rect(x, y, bodyWidth, h, "F")
	}
	d.pdf.SetDrawColor(greyRule, greyRule, greyRule)
	d.pdf.SetLineWidth(0.2)
	d.pdf.Rect(x, y, codeWidth, h, "D")
	d.pdf.Rect(x+codeWidth, y, labelW, h, "D")
	d.pdf.Rect(x+codeWidth+labelW, y, valueWidth, h, "D")

	d.font("B", 9)
	d.black()
	d.pdf.SetXY(x, y)
	d.pdf.CellFormat(codeWidth, lh, code, "", 0, "L", false, 0, "")
	d.font("", 9)
	for j, line := range lines {
		d.pdf.SetXY(x+codeWidth, y+float64(j)*lh)
		d.pdf.CellFormat(labelW, lh, line, "", 0, "L", false, 0, "")
	}
	d.font("B", 10)
	d.pdf.SetXY(x+codeWidth+labelW, y)
	d.pdf.CellFormat(valueWidth, lh, value, "", 0, "R", false, 0, "")
	d.pdf.SetXY(marginLeft, y+h)
}

// counts prints every field of the form with its number, in the order of
// the paper form, then the members present.
func (d *doc) counts() {
	s, l := d.s, d.l
	d.section(l.T("print.counts", nil), 2*rowHeight)
	d.tableHeader()
	counts := s.Submission.Form.Counts
	i := 0
	for _, spec := range s.Layout.Fields {
		value := "—"
		if n, ok := counts[spec.ID]; ok {
			value = l.Int(n)
		}
		d.row(i, string(spec.ID), fieldName(l, s.Layout, spec), value, true)
		i++
	}
	d.row(i, "", l.T("field.members", nil), l.Int(s.Submission.Form.Members), true)
}

// totals prints the sums of the votes and, on the results form, the
// turnout.
func (d *doc) totals() {
	s, l := d.s, d.l
	counts := s.Submission.Form.Counts
	var entities, preferences int
	hasCandidates := false
	for _, spec := range s.Layout.Fields {
		switch {
		case spec.Entity > 0 && spec.Candidate == 0:
			entities += counts[spec.ID]
		case spec.Candidate > 0:
			preferences += counts[spec.ID]
			hasCandidates = true
		}
	}
	d.section(l.T("print.totals", nil), 2*rowHeight)
	i := 0
	d.row(i, "Σ I", l.T("print.total-entities", nil), l.Int(entities), false)
	i++
	if hasCandidates {
		d.row(i, "Σ K", l.T("print.total-preferences", nil), l.Int(preferences), false)
		i++
	}
	if s.Layout.Form == election.ResultsForm {
		a, okA := counts[election.FieldA]
		b, okB := counts[election.FieldB]
		if okA && okB && a > 0 {
			d.row(i, "B / A", l.T("print.turnout", nil), l.Percent(float64(b)/float64(a)), false)
		}
	}
}

// findingText is a finding's message in the printout's language.
func findingText(l *i18n.Localizer, f election.Finding) string {
	return l.T(f.MessageKey(), f.MessageArgs(l))
}

// findings prints the rules that fire on the numbers: each error with the
// chair's explanation, then the warnings.
func (d *doc) findings() {
	s, l := d.s, d.l
	d.section(l.T("print.findings", nil), 2*lineHeight)
	if len(s.Findings) == 0 {
		d.font("", 9.5)
		d.black()
		d.pdf.MultiCell(bodyWidth, lineHeight, l.T("print.no-findings", nil), "", "L", false)
		return
	}
	explanations := map[string]string{}
	for _, c := range s.Submission.Confirmed {
		explanations[c.Rule] = c.Explanation
	}
	const tagWidth = 24.0
	const codeW = 30.0
	for _, f := range s.Findings {
		d.ensure(2 * lineHeight)
		y := d.pdf.GetY()
		d.font("B", 9)
		if f.Severity == election.SeverityError {
			d.pdf.SetTextColor(150, 0, 0)
		} else {
			d.grey(greyText)
		}
		d.pdf.CellFormat(tagWidth, lineHeight, l.T("severity."+string(f.Severity), nil), "", 0, "L", false, 0, "")
		d.black()
		d.pdf.CellFormat(codeW, lineHeight, f.Code, "", 0, "L", false, 0, "")
		d.font("", 9)
		d.pdf.SetXY(marginLeft+tagWidth+codeW, y)
		d.pdf.MultiCell(bodyWidth-tagWidth-codeW, lineHeight, findingText(l, f), "", "L", false)
		if text, ok := explanations[f.Code]; ok && f.Severity == election.SeverityError {
			d.pdf.SetX(marginLeft + tagWidth + codeW)
			d.font("B", 8.5)
			d.pdf.MultiCell(bodyWidth-tagWidth-codeW, lineHeight, l.T("print.explanation", nil), "", "L", false)
			d.font("", 9)
			for _, line := range strings.Split(text, "\n") {
				d.pdf.SetX(marginLeft + tagWidth + codeW)
				d.pdf.MultiCell(bodyWidth-tagWidth-codeW, lineHeight, line, "", "L", false)
			}
		}
		d.pdf.Ln(1.2)
	}
}

// texts prints the remarks and objections, when the form has them.
func (d *doc) texts() {
	f := d.s.Submission.Form
	for _, t := range []struct{ key, text string }{
		{"field.remarks", f.Remarks}, {"field.objections", f.Objections},
	} {
		if strings.TrimSpace(t.text) == "" {
			continue
		}
		d.section(d.l.T(t.key, nil), 2*lineHeight)
		d.font("", 9.5)
		d.black()
		for _, line := range strings.Split(t.text, "\n") {
			d.pdf.MultiCell(bodyWidth, lineHeight, line, "", "L", false)
		}
	}
}

// boxRow is one line of the seal's box.
type boxRow struct{ label, value string }

// seal prints the box that ties the paper to what was signed: the
// envelope's digest, the photo's hash, the station's key, and the
// commission's receipt or the word that it has not arrived.
func (d *doc) seal() {
	s, l := d.s, d.l
	rows := []boxRow{{l.T("print.envelope", nil), s.Version.Digest}}
	if s.Version.Supersedes != "" {
		rows = append(rows, boxRow{l.T("print.supersedes", nil), s.Version.Supersedes})
	}
	photo := s.Submission.Form.PhotoSHA256
	if photo == "" {
		photo = "—"
	}
	rows = append(rows, boxRow{l.T("print.photo", nil), photo}, boxRow{l.T("print.station-key", nil), s.StationKey})

	var receipt []boxRow
	if r := s.Receipt; r != nil {
		receipt = []boxRow{
			{l.T("print.receipt-number", nil), fmt.Sprint(r.Number)},
			{l.T("print.received-at", nil), d.time(r.ReceivedAt)},
			{l.T("print.receipt-digest", nil), r.Digest},
			{l.T("print.receipt-key", nil), r.SignedBy},
		}
	}

	const pad = 3.0
	inner := bodyWidth - 2*pad
	// Each row takes one line, two when the label is long.
	height := func(rs []boxRow) float64 {
		d.font("", 8.5)
		h := 0.0
		for _, r := range rs {
			h += float64(max(1, len(d.pdf.SplitText(r.label, labelWidth-2)))) * lineHeight
		}
		return h
	}
	boxH := 2*pad + 7 + height(rows) + 4 + 7
	if receipt != nil {
		boxH += height(receipt)
	} else {
		d.font("", 9.5)
		boxH += float64(len(d.pdf.SplitText(l.T("print.not-received", nil), inner-2))) * 5
	}
	d.pdf.Ln(4)
	d.ensure(boxH)
	top := d.pdf.GetY()
	d.pdf.SetDrawColor(0, 0, 0)
	d.pdf.SetLineWidth(0.5)
	d.pdf.Rect(marginLeft, top, bodyWidth, boxH, "D")

	x := marginLeft + pad
	d.pdf.SetXY(x, top+pad)
	d.font("B", 10.5)
	d.black()
	d.pdf.CellFormat(inner, 7, l.T("print.hashes", nil), "", 1, "L", false, 0, "")
	for _, r := range rows {
		d.boxPair(x, inner, r)
	}
	d.pdf.SetY(d.pdf.GetY() + 2)
	d.pdf.SetDrawColor(greyRule, greyRule, greyRule)
	d.pdf.SetLineWidth(0.2)
	d.pdf.Line(x, d.pdf.GetY(), x+inner, d.pdf.GetY())
	d.pdf.SetXY(x, d.pdf.GetY()+2)
	d.font("B", 10.5)
	d.pdf.CellFormat(inner, 7, l.T("print.receipt", nil), "", 1, "L", false, 0, "")
	if receipt != nil {
		for _, r := range receipt {
			d.boxPair(x, inner, r)
		}
	} else {
		d.pdf.SetX(x)
		d.font("B", 9.5)
		d.pdf.SetTextColor(150, 0, 0)
		d.pdf.MultiCell(inner, 5, l.T("print.not-received", nil), "", "L", false)
		d.black()
	}
	d.pdf.SetXY(marginLeft, top+boxH)
}

// boxPair prints one row of the box: its label, wrapped when long, and
// its value on one line.
func (d *doc) boxPair(x, width float64, r boxRow) {
	d.font("", 8.5)
	lines := d.pdf.SplitText(r.label, labelWidth-2)
	if len(lines) == 0 {
		lines = []string{""}
	}
	y := d.pdf.GetY()
	d.grey(greyText)
	for i, line := range lines {
		d.pdf.SetXY(x, y+float64(i)*lineHeight)
		d.pdf.CellFormat(labelWidth, lineHeight, line, "", 0, "L", false, 0, "")
	}
	d.black()
	d.font("B", 9)
	d.pdf.SetXY(x+labelWidth, y)
	d.pdf.CellFormat(width-labelWidth, lineHeight, r.value, "", 0, "L", false, 0, "")
	d.pdf.SetXY(x, y+float64(len(lines))*lineHeight)
}

// signatures prints a line to sign for each member present (three at
// least), and the note on what the printout is.
func (d *doc) signatures() {
	l := d.l
	n := min(max(d.s.Submission.Form.Members, election.MinMembers), election.MaxMembers)
	const signH = 9.0
	d.section(l.T("print.signatures", nil), 2*signH)
	nameW := bodyWidth * 0.55
	d.font("", 8.5)
	d.grey(greyText)
	d.pdf.CellFormat(8, lineHeight, "", "", 0, "L", false, 0, "")
	d.pdf.CellFormat(nameW-8, lineHeight, l.T("print.name", nil), "", 0, "L", false, 0, "")
	d.pdf.CellFormat(bodyWidth-nameW, lineHeight, l.T("print.signature", nil), "", 1, "L", false, 0, "")
	d.pdf.SetDrawColor(greyRule, greyRule, greyRule)
	d.pdf.SetLineWidth(0.2)
	for i := 1; i <= n; i++ {
		d.ensure(signH)
		y := d.pdf.GetY() + signH
		d.font("", 9)
		d.black()
		d.pdf.SetXY(marginLeft, y-lineHeight)
		d.pdf.CellFormat(8, lineHeight, fmt.Sprintf("%d.", i), "", 0, "L", false, 0, "")
		d.pdf.Line(marginLeft+8, y, marginLeft+nameW-6, y)
		d.pdf.Line(marginLeft+nameW, y, marginLeft+bodyWidth, y)
		d.pdf.SetXY(marginLeft, y+0.5)
	}
	d.pdf.Ln(4)
	d.font("", 8.5)
	d.grey(greyText)
	d.pdf.MultiCell(bodyWidth, lineHeight, l.T("print.note", nil), "", "L", false)
	d.black()
}

// footer names the printout and the page at the foot of every page.
func (d *doc) footer() {
	_, pageHeight := d.pdf.GetPageSize()
	y := pageHeight - marginBottom + 6
	d.pdf.SetDrawColor(greyRule, greyRule, greyRule)
	d.pdf.SetLineWidth(0.2)
	d.pdf.Line(marginLeft, y, marginLeft+bodyWidth, y)
	d.font("", 8)
	d.grey(greyText)
	d.pdf.SetXY(marginLeft, y+1)
	d.pdf.CellFormat(bodyWidth*0.7, 4.5, d.s.title(d.l), "", 0, "L", false, 0, "")
	pages := d.pages
	if pages == 0 {
		pages = d.pdf.PageNo()
	}
	d.pdf.CellFormat(bodyWidth*0.3, 4.5, d.l.T("print.page", map[string]any{
		"Page": d.l.Int(d.pdf.PageNo()), "Pages": d.l.Int(pages)}), "", 0, "R", false, 0, "")
	d.black()
}
