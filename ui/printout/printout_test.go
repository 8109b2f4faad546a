package printout_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tally/app/election"
	"tally/app/election/electiontest"
	"tally/app/seal"
	"tally/app/station"
	"tally/i18n"
	"tally/storage/stationdb"
	"tally/ui/printout"
)

const (
	testPIN = "4719-2853"
	chair   = "Arta Krasniqi"
	member  = "Besnik Gashi"
	// remarks carry the letters of every catalog language.
	remarks = "Numërimi përfundoi në orën 23:10 (ç, ë).\nПримедба: ђ, ћ, џ, љ, њ.\nNot: ğ, ş, ı, İ."
	// explanation is the chair's word on the error of version 2.
	explanation = "Tri fletëvotime u kthyen nga komuna pas mbylljes."
)

// signed is the demo assembly election trimmed to its first municipality.
var signed = sync.OnceValues(func() ([]byte, error) {
	_, raw, err := electiontest.Election(electiontest.Options{Municipalities: 1})
	return raw, err
})

// clock moves on a second each time it is read, from a fixed evening.
type clock struct{ ns atomic.Int64 }

func newClock() *clock {
	c := &clock{}
	c.ns.Store(time.Date(2026, 10, 4, 19, 0, 0, 0, time.UTC).UnixNano())
	return c
}

func (c *clock) Now() time.Time { return time.Unix(0, c.ns.Add(int64(time.Second))).UTC() }

// fixture is a provisioned station on a real store.
type fixture struct {
	t     *testing.T
	ctx   context.Context
	db    *stationdb.DB
	svc   *station.Service
	clock *clock
	def   *election.Definition
	st    *election.Station
	key   *seal.PrivateKey
}

// newFixture provisions the first station of the kind.
func newFixture(t *testing.T, kind election.StationKind) *fixture {
	t.Helper()
	raw, err := signed()
	require.NoError(t, err)
	ctx := context.Background()
	db, err := stationdb.Open(ctx, filepath.Join(t.TempDir(), "station.db"))
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	c := newClock()
	f := &fixture{t: t, ctx: ctx, db: db, clock: c,
		svc: station.New(db, station.Options{Now: c.Now, KDF: seal.KDFParams{Time: 1, MemoryKiB: 64, Threads: 1}})}
	def, _, err := station.OpenDefinition(raw)
	require.NoError(t, err)
	code := ""
	for _, s := range def.Stations {
		if s.Kind == kind {
			code = s.Code
			break
		}
	}
	require.NotEmpty(t, code)
	_, err = f.svc.Provision(ctx, station.ProvisionRequest{Definition: raw, Fingerprint: electiontest.Fingerprint(),
		Station: code, PIN: []byte(testPIN), By: chair})
	require.NoError(t, err)
	f.def, f.st, err = f.svc.Scope(ctx)
	require.NoError(t, err)
	f.key, err = f.svc.Unlock(ctx, []byte(testPIN))
	require.NoError(t, err)
	return f
}

func (f *fixture) formKey(form election.FormKind) station.FormKey {
	for _, r := range f.st.Forms {
		if r.Form == form {
			return station.FormKey{Contest: r.Contest, Form: r.Form}
		}
	}
	f.t.Fatalf("station %s fills no %s form", f.st.Code, form)
	return station.FormKey{}
}

func (f *fixture) layout(key station.FormKey) *election.Layout {
	l, err := f.def.Layout(key.Contest, key.Form)
	require.NoError(f.t, err)
	return l
}

// values are the demo numbers of a form, on which no rule fires.
func (f *fixture) values(key station.FormKey, seed uint64) map[election.Field]int {
	form := election.DemoForm(f.def, f.layout(key), f.st, seed)
	v := map[election.Field]int{election.FieldMembers: form.Members}
	for k, n := range form.Counts {
		v[k] = n
	}
	return v
}

// seal types both entries of a form with the values (after starting a
// correction when the form is sealed), confirms the errors given, and
// seals it.
func (f *fixture) seal(key station.FormKey, values map[election.Field]int, confirm map[string]string) *station.Version {
	f.t.Helper()
	v, err := f.svc.Open(f.ctx, key)
	require.NoError(f.t, err)
	if v.State == station.StateSealed {
		require.NoError(f.t, f.svc.Correct(f.ctx, key, chair))
	}
	typed := station.Typed{Values: map[election.Field]string{}}
	for k, n := range values {
		typed.Values[k] = strconv.Itoa(n)
	}
	first := typed
	text := remarks
	first.Remarks = &text
	first.Photo = append([]byte{0xFF, 0xD8, 0xFF, 0xE0}, []byte("paper form "+key.String())...)
	require.NoError(f.t, f.svc.Enter(f.ctx, key, station.First, chair, first))
	require.NoError(f.t, f.svc.Enter(f.ctx, key, station.Second, member, typed))
	for rule, why := range confirm {
		require.NoError(f.t, f.svc.Confirm(f.ctx, key, rule, why, chair))
	}
	sealed, err := f.svc.Seal(f.ctx, key, f.key)
	require.NoError(f.t, err)
	return sealed
}

// receive records the commission's receipt of a version.
func (f *fixture) receive(v *station.Version, number uint64) *station.StoredReceipt {
	f.t.Helper()
	payload, err := json.Marshal(election.Receipt{Format: election.ReceiptFormat, Election: f.def.Election.ID,
		Station: f.st.Code, Contest: v.Key.Contest, Form: v.Key.Form, Version: v.Version,
		Submission: v.Digest, Number: number, ReceivedAt: time.Date(2026, 10, 4, 19, 42, 7, 0, time.UTC)})
	require.NoError(f.t, err)
	env, err := seal.Sign(election.ReceiptPayloadType, payload, electiontest.Key(electiontest.ReceiptSeed))
	require.NoError(f.t, err)
	rc, err := f.svc.RecordReceipt(f.ctx, env)
	require.NoError(f.t, err)
	return rc
}

// render loads a version and renders it in a language.
func (f *fixture) render(key station.FormKey, version int, lang string) []byte {
	f.t.Helper()
	sh, err := printout.Load(f.ctx, f.svc, f.db, key, version)
	require.NoError(f.t, err)
	l, err := i18n.New(lang)
	require.NoError(f.t, err)
	var buf bytes.Buffer
	require.NoError(f.t, printout.Render(&buf, sh, l))
	return buf.Bytes()
}

// pdfText is the text of a PDF as pdftotext lays it out.
func pdfText(t *testing.T, pdf []byte) string {
	t.Helper()
	bin, err := exec.LookPath("pdftotext")
	require.NoError(t, err, "pdftotext (poppler-utils) is missing: run scripts/install-deps.sh gui-test")
	file := filepath.Join(t.TempDir(), "form.pdf")
	require.NoError(t, os.WriteFile(file, pdf, 0o600))
	out, err := exec.Command(bin, "-layout", "-enc", "UTF-8", file, "-").Output()
	require.NoError(t, err)
	return string(out)
}

// flat is text with every run of white space as one space, to find a
// sentence that the printout wrapped.
func flat(s string) string { return strings.Join(strings.Fields(s), " ") }

// rows indexes the lines of the text by their first word: the rows of
// the table by their code.
func rows(text string) map[string][]string {
	out := map[string][]string{}
	for _, line := range strings.Split(text, "\n") {
		if words := strings.Fields(line); len(words) > 0 {
			out[words[0]] = append(out[words[0]], line)
		}
	}
	return out
}

// assertRow checks that a line of the text holds the code, then the
// name, then the number, as one row of the table.
func assertRow(t *testing.T, rows map[string][]string, code, name, value string) {
	t.Helper()
	// pdftotext may drop a narrow space inside a code such as "Σ I".
	first := strings.ReplaceAll(code, " ", "")
	re := regexp.MustCompile(`^\s*` + strings.ReplaceAll(regexp.QuoteMeta(code), " ", `\s*`) + `\s+` +
		regexp.QuoteMeta(name) + `\s+` + regexp.QuoteMeta(value) + `\s*$`)
	for _, line := range append(rows[first], rows[strings.Fields(code)[0]]...) {
		if re.MatchString(line) {
			return
		}
	}
	t.Errorf("no row %s | %s | %s among %q", code, name, value, rows[first])
}

// fieldNames are the names of the form's fields in a language.
func fieldNames(l *i18n.Localizer, layout *election.Layout) map[election.Field]string {
	out := map[election.Field]string{}
	for _, spec := range layout.Fields {
		switch {
		case spec.Entity == 0:
			out[spec.ID] = l.T("field."+string(spec.ID), nil)
		default:
			e, _ := layout.Contest.Entity(spec.Entity)
			if spec.Candidate == 0 {
				out[spec.ID] = l.T("field.I", map[string]any{"Entity": e.Name})
				continue
			}
			for _, c := range e.Candidates {
				if c.Number == spec.Candidate {
					out[spec.ID] = l.T("field.K", map[string]any{"Candidate": c.Name, "Entity": e.Name})
				}
			}
		}
	}
	return out
}

// twoVersions seals version 1 of the station's results form and gets its
// receipt, then seals version 2, whose C does not balance, with the
// chair's explanation, and gets its receipt.
func twoVersions(t *testing.T) (*fixture, station.FormKey, [2]*station.Version, [2]*station.StoredReceipt, map[election.Field]int) {
	f := newFixture(t, election.Polling)
	key := f.formKey(election.ResultsForm)
	values := f.values(key, 7)
	v1 := f.seal(key, values, nil)
	r1 := f.receive(v1, 41)
	values[election.FieldC] += 3
	v2 := f.seal(key, values, map[string]string{"E.C-BAL": explanation})
	r2 := f.receive(v2, 1187)
	return f, key, [2]*station.Version{v1, v2}, [2]*station.StoredReceipt{r1, r2}, values
}

func TestRenderShowsTheSealedForm(t *testing.T) {
	t.Parallel()
	f, key, versions, receipts, values := twoVersions(t)
	layout := f.layout(key)
	fp := seal.Fingerprint(f.key.ID())
	c, _ := f.def.Contest(key.Contest)
	for _, lang := range []string{"en", "sr-Cyrl"} {
		t.Run(lang, func(t *testing.T) {
			l, err := i18n.New(lang)
			require.NoError(t, err)
			pdf := f.render(key, 0, lang)
			require.True(t, bytes.HasPrefix(pdf, []byte("%PDF-")))
			text := pdfText(t, pdf)
			flatText := flat(text)
			table := rows(text)

			// The title: form, election, contest, station.
			assert.Contains(t, text, l.T("form.results", nil))
			assert.Contains(t, flatText, f.def.Election.Name[lang])
			assert.Contains(t, flatText, c.Name[lang])
			assert.Contains(t, text, f.st.Code)
			assert.Contains(t, flatText, f.st.Name)
			vc, _ := f.def.VotingCentre(f.st.Centre)
			assert.Contains(t, flatText, vc.Name)
			m, _ := f.def.Municipality(f.st.Municipality)
			assert.Contains(t, flatText, m.Name[lang])
			assert.Contains(t, flatText, chair)
			assert.Contains(t, flatText, member)

			// Every field, by its code, name and number, and the members.
			names := fieldNames(l, layout)
			for _, spec := range layout.Fields {
				assertRow(t, table, string(spec.ID), names[spec.ID], l.Int(values[spec.ID]))
			}
			assert.Regexp(t, `(?m)^\s*`+regexp.QuoteMeta(l.T("field.members", nil))+`\s+`+
				strconv.Itoa(values[election.FieldMembers])+`\s*$`, text)

			// The totals.
			sum := 0
			for _, spec := range layout.Fields {
				if spec.Entity > 0 {
					sum += values[spec.ID]
				}
			}
			assertRow(t, table, "Σ I", l.T("print.total-entities", nil), l.Int(sum))

			// The confirmed error with the chair's explanation; the remarks
			// in every script.
			assert.Contains(t, text, "E.C-BAL")
			assert.Contains(t, flatText, explanation)
			for _, line := range strings.Split(remarks, "\n") {
				assert.Contains(t, text, line)
			}

			// The hashes and the receipt.
			sub := decode(t, versions[1])
			assert.Contains(t, text, versions[1].Digest)
			assert.Contains(t, text, versions[0].Digest, "the digest version 2 supersedes")
			assert.Contains(t, text, sub.Form.PhotoSHA256)
			assert.Contains(t, text, fp)
			assert.Contains(t, text, receipts[1].Digest)
			assert.Contains(t, text, "1187")
			assert.Contains(t, text, seal.Fingerprint(electiontest.Key(electiontest.ReceiptSeed).ID()))
			assert.Contains(t, text, l.DateTime(receipts[1].ReceivedAt))
			assert.NotContains(t, flatText, flat(l.T("print.not-received", nil)))
			assert.NotContains(t, text, "[print.", "a key missing from the catalog")
		})
	}
}

// decode reads the payload of a sealed version.
func decode(t *testing.T, v *station.Version) *election.Submission {
	t.Helper()
	env, err := seal.Parse(v.Envelope, 1<<22)
	require.NoError(t, err)
	var sub election.Submission
	require.NoError(t, json.Unmarshal(env.Payload, &sub))
	return &sub
}

func TestRenderOlderVersion(t *testing.T) {
	t.Parallel()
	f, key, versions, receipts, _ := twoVersions(t)
	text := pdfText(t, f.render(key, 1, "en"))
	assert.Contains(t, text, versions[0].Digest)
	assert.NotContains(t, text, versions[1].Digest)
	assert.Contains(t, text, receipts[0].Digest)
	assert.NotContains(t, text, "E.C-BAL", "version 1 balances")
	l, _ := i18n.New("en")
	assert.Contains(t, flat(text), l.T("print.no-findings", nil))
}

func TestRenderIsDeterministic(t *testing.T) {
	t.Parallel()
	f, key, _, _, _ := twoVersions(t)
	for _, lang := range []string{"sq", "sr-Cyrl"} {
		a := f.render(key, 0, lang)
		b := f.render(key, 0, lang)
		c := f.render(key, 0, lang)
		assert.True(t, bytes.Equal(a, b) && bytes.Equal(b, c), "%s: the same version prints the same bytes", lang)
	}
	// The PDF's dates are the sealing's.
	v, err := f.svc.Open(f.ctx, key)
	require.NoError(t, err)
	sealed := v.Versions[len(v.Versions)-1].SealedAt.UTC().Format("20060102150405")
	assert.Contains(t, string(f.render(key, 0, "en")), "/CreationDate (D:"+sealed+")")
}

func TestRenderWithoutReceipt(t *testing.T) {
	t.Parallel()
	f := newFixture(t, election.Polling)
	key := f.formKey(election.ResultsForm)
	v := f.seal(key, f.values(key, 3), nil)
	for _, lang := range []string{"en", "sq", "tr"} {
		l, err := i18n.New(lang)
		require.NoError(t, err)
		text := pdfText(t, f.render(key, 0, lang))
		assert.Contains(t, text, v.Digest)
		assert.Contains(t, flat(text), flat(l.T("print.not-received", nil)), lang)
		assert.NotContains(t, text, l.T("print.receipt-number", nil), lang)
	}
	// Once the receipt is there, it says so no more.
	rc := f.receive(v, 7)
	l, _ := i18n.New("en")
	text := pdfText(t, f.render(key, 0, "en"))
	assert.Contains(t, text, rc.Digest)
	assert.NotContains(t, flat(text), flat(l.T("print.not-received", nil)))
}

func TestRenderEveryLanguage(t *testing.T) {
	t.Parallel()
	f := newFixture(t, election.Polling)
	key := f.formKey(election.ResultsForm)
	v := f.seal(key, f.values(key, 5), nil)
	// Letters that only a font with them prints right.
	letters := map[string][]string{
		"sq": {"ë", "ç"}, "sr-Latn": {"š", "č", "ć"}, "sr-Cyrl": {"ђ", "ћ", "џ", "љ", "њ"},
		"en": {}, "tr": {"ğ", "ş", "ı", "İ"},
	}
	for _, lang := range i18n.Languages() {
		l, err := i18n.New(lang.Tag)
		require.NoError(t, err)
		text := pdfText(t, f.render(key, 0, lang.Tag))
		assert.Contains(t, text, l.T("form.results", nil), lang.Tag)
		assert.Contains(t, text, l.T("print.hashes", nil), lang.Tag)
		assert.Contains(t, text, f.st.Code, lang.Tag)
		assert.Contains(t, text, v.Digest, lang.Tag)
		for _, r := range letters[lang.Tag] {
			assert.Contains(t, text, r, lang.Tag)
		}
		assert.NotContains(t, text, "[print.", lang.Tag)
	}
}

func TestRenderCandidatesForm(t *testing.T) {
	t.Parallel()
	f := newFixture(t, election.Counting)
	key := f.formKey(election.CandidatesForm)
	values := f.values(key, 11)
	v := f.seal(key, values, nil)
	l, err := i18n.New("en")
	require.NoError(t, err)
	text := pdfText(t, f.render(key, 0, "en"))
	assert.Contains(t, text, l.T("form.candidates", nil))
	assert.Contains(t, text, l.T("print.counting-centre", nil))
	names := fieldNames(l, f.layout(key))
	table := rows(text)
	for _, spec := range f.layout(key).Fields {
		assertRow(t, table, string(spec.ID), names[spec.ID], l.Int(values[spec.ID]))
	}
	// The table runs over many pages, each under the table's header and
	// with the page counted in its footer.
	pages := strings.Count(text, "\f")
	require.Greater(t, pages, 5)
	assert.Contains(t, text, "Page 1 of "+strconv.Itoa(pages))
	assert.Contains(t, text, "Page "+strconv.Itoa(pages)+" of "+strconv.Itoa(pages))
	assert.GreaterOrEqual(t, strings.Count(text, l.T("print.field", nil)), pages-2)
	assert.Contains(t, text, v.Digest)
}

func TestLoadRefuses(t *testing.T) {
	t.Parallel()
	f := newFixture(t, election.Polling)
	key := f.formKey(election.ResultsForm)
	_, err := printout.Load(f.ctx, f.svc, f.db, key, 0)
	assert.ErrorIs(t, err, printout.ErrNotSealed)
	assert.ErrorContains(t, err, "is not sealed yet")

	f.seal(key, f.values(key, 1), nil)
	_, err = printout.Load(f.ctx, f.svc, f.db, key, 2)
	assert.ErrorIs(t, err, printout.ErrNotSealed)
	assert.ErrorContains(t, err, "version 2 is not sealed: its only sealed version is 1")

	_, err = printout.Load(f.ctx, f.svc, f.db, station.FormKey{Contest: "NOPE", Form: election.ResultsForm}, 0)
	assert.ErrorContains(t, err, "does not fill")
}

func TestRenderRefusesAnIncompleteSheet(t *testing.T) {
	t.Parallel()
	l, err := i18n.New("en")
	require.NoError(t, err)
	var buf bytes.Buffer
	err = printout.Render(&buf, &printout.Sheet{}, l)
	assert.Error(t, err)
	assert.Zero(t, buf.Len(), "nothing is written")
	assert.Error(t, printout.Render(&buf, nil, l))
	assert.False(t, errors.Is(err, printout.ErrNotSealed))
}
