package resultspage_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tally/app/commission"
	"tally/app/election"
	"tally/app/election/electiontest"
	"tally/app/publish"
	"tally/app/seal"
	"tally/server"
	"tally/server/resultspage"
	"tally/storage/commissionlite"
)

// The page is tested in Debian's headless Chromium, driven over the
// DevTools protocol, against tallyd's own handler serving snapshots this
// test makes. Every figure asserted is read from the snapshot's own files
// and formatted here by the rules of each language, so a page that shows
// other numbers, or formats them otherwise, fails.

// chromium is the browser's path; the test fails without one.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("no chromium on PATH: run `make deps` (scripts/install-deps.sh gui-test installs Debian's chromium)")
	return ""
}

// numberRules are a language's rules for numbers, as CLDR has them.
type numberRules struct {
	group, decimal string
	minGroup       int    // the least digits before the first group separator
	percent        string // with %s for the number
}

var rules = map[string]numberRules{
	"sq":      {group: "\u00a0", decimal: ",", minGroup: 2, percent: "%s%%"},
	"sr-Latn": {group: ".", decimal: ",", minGroup: 1, percent: "%s%%"},
	"sr-Cyrl": {group: ".", decimal: ",", minGroup: 1, percent: "%s%%"},
	"en":      {group: ",", decimal: ".", minGroup: 1, percent: "%s%%"},
	"tr":      {group: ".", decimal: ",", minGroup: 1, percent: "%%%s"},
}

func (r numberRules) int(n int) string {
	s := strconv.Itoa(n)
	if len(s) < 3+r.minGroup {
		return s
	}
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteString(r.group)
		}
		b.WriteRune(c)
	}
	return b.String()
}

// pct formats basis points as the page does: two decimals.
func (r numberRules) pct(bp int) string {
	return fmt.Sprintf(r.percent, r.int(bp/100)+r.decimal+fmt.Sprintf("%02d", bp%100))
}

var (
	sqMonths  = strings.Fields("janar shkurt mars prill maj qershor korrik gusht shtator tetor nëntor dhjetor")
	cyrMonths = strings.Fields("јануар фебруар март април мај јун јул август септембар октобар новембар децембар")
)

// day is the election's date, as a language writes it.
func day(t *testing.T, def *election.Definition, months []string, layout string) string {
	t.Helper()
	d, err := time.Parse(time.DateOnly, def.Election.Date)
	require.NoError(t, err)
	return fmt.Sprintf(layout, d.Day(), months[d.Month()-1], d.Year())
}

// ---- the snapshots ----

func load(tb testing.TB, o electiontest.Options) *election.Definition {
	tb.Helper()
	_, signed, err := electiontest.Election(o)
	require.NoError(tb, err)
	def, err := election.OpenSigned(signed, election.Trust{})
	require.NoError(tb, err)
	return def
}

func stationKey(code string) *seal.PrivateKey {
	seed := sha256.Sum256([]byte("station key " + code))
	k, err := seal.PrivateKeyFromSeed(seed[:])
	if err != nil {
		panic(err)
	}
	return k
}

var receivedAt = time.Date(2026, 12, 20, 19, 30, 0, 0, time.UTC)

// sealForm seals version of a station's form, with the demo generator's
// numbers for seed, as the station does, and reads it back as the server
// stores it.
func sealForm(tb testing.TB, def *election.Definition, st *election.Station, ref election.FormRef, version int, supersedes string, seed uint64, review publish.Review) publish.Accepted {
	tb.Helper()
	l, err := def.Layout(ref.Contest, ref.Form)
	require.NoError(tb, err)
	f := election.DemoForm(def, l, st, seed)
	photo := sha256.Sum256([]byte(fmt.Sprintf("photo %s %s %s %d", st.Code, ref.Contest, ref.Form, seed)))
	f.PhotoSHA256 = hex.EncodeToString(photo[:])
	sub := election.Submission{Format: election.SubmissionFormat, Form: *f, Version: version, Supersedes: supersedes,
		SealedAt: receivedAt.Add(-time.Minute), Sequence: uint64(version)}
	payload, err := json.Marshal(sub)
	require.NoError(tb, err)
	raw, err := seal.Sign(election.SubmissionPayloadType, payload, stationKey(st.Code))
	require.NoError(tb, err)
	a, err := publish.ParseAccepted(def, raw, receivedAt.Add(time.Duration(version)*time.Minute), review)
	require.NoError(tb, err)
	return a
}

// source is what the commission accepted, as the test changes it.
type source struct {
	mu    sync.Mutex
	forms []publish.Accepted
}

func (s *source) read(context.Context) ([]publish.Accepted, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.forms), nil
}

func (s *source) add(a ...publish.Accepted) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.forms = append(s.forms, a...)
}

// request is one request tallyd answered.
type request struct {
	path, ifNoneMatch string
	status            int
}

type requestLog struct {
	mu      sync.Mutex
	reqs    []request
	changed chan struct{} // closed at the next request
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

func (l *requestLog) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		h.ServeHTTP(sw, r)
		l.mu.Lock()
		l.reqs = append(l.reqs, request{path: r.URL.Path, ifNoneMatch: r.Header.Get("If-None-Match"), status: sw.status})
		close(l.changed)
		l.changed = make(chan struct{})
		l.mu.Unlock()
	})
}

// waitFor waits until tallyd has answered a request that matches.
func (l *requestLog) waitFor(t *testing.T, what string, match func(request) bool) {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		l.mu.Lock()
		found := slices.ContainsFunc(l.reqs, match)
		changed := l.changed
		l.mu.Unlock()
		if found {
			return
		}
		select {
		case <-changed:
		case <-deadline:
			t.Fatalf("no request %s; the requests: %+v", what, l.all())
		}
	}
}

func (l *requestLog) all() []request {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.reqs)
}

// publishedAt is when the first snapshot is made: 21:00:05 in Kosovo.
var publishedAt = time.Date(2026, 12, 20, 20, 0, 5, 0, time.UTC)

// site is tallyd serving an election's snapshots and the page.
type site struct {
	def  *election.Definition
	src  *source
	pub  *publish.Publisher
	made atomic.Int64 // snapshots made: each is 10 s after the one before
	url  string
	log  *requestLog
}

func newSite(t *testing.T, def *election.Definition, forms []publish.Accepted) *site {
	t.Helper()
	ctx := context.Background()
	s := &site{def: def, src: &source{forms: forms}, log: &requestLog{changed: make(chan struct{})}}
	var err error
	s.pub, err = publish.NewPublisher(ctx, publish.Options{Definition: def,
		Key: electiontest.Key(electiontest.PublicationSeed), Source: s.src.read, MinInterval: time.Nanosecond,
		Now: func() time.Time { return publishedAt.Add(time.Duration(s.made.Load()) * 10 * time.Second) }})
	require.NoError(t, err)
	store, err := commissionlite.Open(ctx, filepath.Join(t.TempDir(), "tallyd.db"))
	require.NoError(t, err)
	t.Cleanup(func() { _ = store.Close() })
	svc := commission.New(store, commission.Options{ReceiptKey: electiontest.Key(electiontest.ReceiptSeed)})
	t.Cleanup(svc.Close)
	srv, err := server.New(server.Config{Service: svc, Publisher: s.pub, Page: resultspage.FS})
	require.NoError(t, err)
	ts := httptest.NewServer(s.log.wrap(srv.Handler()))
	t.Cleanup(ts.Close)
	s.url = ts.URL
	return s
}

// publish makes the next snapshot of what the source holds.
func (s *site) publish(t *testing.T) *publish.Published {
	t.Helper()
	s.pub.Changed()
	p, err := s.pub.Publish(context.Background())
	require.NoError(t, err)
	require.NotNil(t, p, "nothing new to publish")
	s.made.Add(1)
	return p
}

func (s *site) file(t *testing.T, n uint64, path string, v any) {
	t.Helper()
	p, err := s.pub.ByNumber(context.Background(), n)
	require.NoError(t, err)
	f, ok := p.File(path)
	require.True(t, ok, path)
	require.NoError(t, json.Unmarshal(f.Body, v))
}

func (s *site) summary(t *testing.T, n uint64) publish.Summary {
	var sum publish.Summary
	s.file(t, n, publish.SummaryPath(n), &sum)
	var names publish.Names
	s.file(t, n, publish.NamesPath(n), &names)
	require.NoError(t, sum.WithNames(&names))
	return sum
}

func (s *site) municipality(t *testing.T, n uint64, code string) publish.MunicipalityView {
	var v publish.MunicipalityView
	s.file(t, n, publish.MunicipalityPath(n, code), &v)
	return v
}

func pollingStations(def *election.Definition, municipality string) []*election.Station {
	var out []*election.Station
	for i := range def.Stations {
		st := &def.Stations[i]
		if st.Municipality == municipality && st.Kind == election.Polling {
			out = append(out, st)
		}
	}
	return out
}

// ---- the browser ----

type browser struct {
	t      *testing.T
	ctx    context.Context
	mu     sync.Mutex
	urls   []string // every URL the page requested
	errors []string // exceptions and console errors
}

func newBrowser(t *testing.T) *browser {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium(t)),
		chromedp.NoSandbox, // CI runs as root
		chromedp.DisableGPU,
		chromedp.WindowSize(1280, 1000),
		chromedp.Flag("lang", "en-US"),
	)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	actx, acancel := chromedp.NewExecAllocator(ctx, opts...)
	t.Cleanup(acancel)
	b := &browser{t: t}
	var bcancel context.CancelFunc
	b.ctx, bcancel = chromedp.NewContext(actx, chromedp.WithListener(b.listen))
	t.Cleanup(bcancel)
	require.NoError(t, chromedp.Do(b.ctx), "start chromium")
	return b
}

func (b *browser) listen(ev any) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch ev := ev.(type) {
	case *network.EventRequestWillBeSent:
		b.urls = append(b.urls, ev.Request.URL)
	case *runtime.EventExceptionThrown:
		msg := ev.ExceptionDetails.Text
		if ev.ExceptionDetails.Exception != nil {
			msg += " " + ev.ExceptionDetails.Exception.Description
		}
		b.errors = append(b.errors, msg)
	case *runtime.EventConsoleAPICalled:
		if ev.Type == runtime.ConsoleAPICalledTypeError {
			var parts []string
			for _, a := range ev.Args {
				parts = append(parts, string(a.Value)+a.Description)
			}
			b.errors = append(b.errors, "console.error: "+strings.Join(parts, " "))
		}
	}
}

// reset leaves the page open before and forgets what it did.
func (b *browser) reset(t *testing.T) {
	b.t = t
	b.do(chromedp.Navigate("about:blank"))
	b.mu.Lock()
	defer b.mu.Unlock()
	b.urls, b.errors = nil, nil
}

func (b *browser) requested() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.urls)
}

func (b *browser) do(actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	require.NoError(b.t, chromedp.Do(b.ctx, actions...))
}

// waitFor waits until the expression is true in the page: the page's
// own work, not time, is what the test waits on.
func (b *browser) waitFor(what, expr string) {
	b.t.Helper()
	_, err := chromedp.Run(b.ctx, chromedp.Poll[bool](expr,
		chromedp.WithPollingInterval(25*time.Millisecond), chromedp.WithPollingTimeout(20*time.Second)))
	if err != nil {
		p := b.read()
		b.t.Fatalf("waiting for %s (%s): %v\nthe page: %+v\nerrors: %v", what, expr, err, p, b.errors)
	}
}

// screenshot saves the page as DIR/results-NAME.png when
// TALLY_SCREENSHOTS=DIR: the whole page, or the window's worth from the
// element with the id from on.
func (b *browser) screenshot(name, from string) {
	b.t.Helper()
	dir := os.Getenv("TALLY_SCREENSHOTS")
	if dir == "" {
		return
	}
	shot := chromedp.FullScreenshot(100)
	if from != "" {
		b.do(chromedp.Evaluate[chromedp.Void](`document.getElementById(` + strconv.Quote(from) + `).scrollIntoView({block: 'start'})`))
		shot = chromedp.CaptureScreenshot()
	}
	png, err := chromedp.Run(b.ctx, shot)
	require.NoError(b.t, err)
	require.NoError(b.t, os.MkdirAll(dir, 0o755))
	require.NoError(b.t, os.WriteFile(filepath.Join(dir, "results-"+name+".png"), png, 0o644))
}

// page is what the page shows, as text.
type page struct {
	Lang     string       `json:"lang"`
	Title    string       `json:"title"`
	H1       string       `json:"h1"`
	Info     string       `json:"info"`
	Heading  string       `json:"heading"`
	Area     string       `json:"area"`
	Hash     string       `json:"hash"`
	Status   string       `json:"status"`
	Problem  string       `json:"problem"`
	Main     string       `json:"main"`
	Active   string       `json:"active"`
	Figures  [][]string   `json:"figures"` // per figure: label, value, detail
	Tables   []table      `json:"tables"`
	Links    []link       `json:"links"`
	Contests []string     `json:"contests"`
	Groups   []string     `json:"groups"`
	Contest  string       `json:"contest"`
	Picker   bool         `json:"picker"`
	Forms    [][][]string `json:"forms"` // per counted form: label, value
}

type table struct {
	Caption string     `json:"caption"`
	Head    []string   `json:"head"`
	Rows    [][]string `json:"rows"`
}

type link struct {
	Text string `json:"text"`
	Href string `json:"href"`
}

const readPage = `(() => {
  const text = (el) => el ? el.textContent.trim() : '';
  const main = document.getElementById('content');
  const heading = document.getElementById('view-heading');
  return {
    lang: document.documentElement.lang,
    title: document.title,
    h1: text(document.querySelector('h1')),
    info: text(document.getElementById('election-info')),
    heading: text(heading),
    area: heading && heading.nextElementSibling ? text(heading.nextElementSibling) : '',
    hash: location.hash,
    status: text(document.getElementById('status')),
    problem: text(document.getElementById('problem')),
    main: text(main),
    active: document.activeElement ? document.activeElement.id : '',
    figures: Array.from(main.querySelectorAll('dl.figures > div')).map((d) => Array.from(d.children).map(text)),
    tables: Array.from(main.querySelectorAll('table')).map((t) => ({
      caption: text(t.caption),
      head: Array.from(t.querySelectorAll('thead th')).map(text),
      rows: Array.from(t.querySelectorAll('tbody tr')).map((r) => Array.from(r.cells).map(text)),
    })),
    links: Array.from(document.querySelectorAll('#data-links a')).map((a) => ({ text: text(a), href: a.href })),
    contests: Array.from(document.querySelectorAll('#contest option')).map((o) => o.value),
    groups: Array.from(document.querySelectorAll('#contest optgroup')).map((g) => g.label),
    contest: document.getElementById('contest').value,
    picker: !document.getElementById('picker').hidden,
    forms: Array.from(main.querySelectorAll('dl.facts')).map((d) =>
      Array.from(d.children).map((x) => Array.from(x.children).map(text))),
  };
})()`

func (b *browser) read() page {
	b.t.Helper()
	p, err := chromedp.Run(b.ctx, chromedp.Evaluate[page](readPage))
	require.NoError(b.t, err)
	return p
}

func (b *browser) checkClean(s *site) {
	b.t.Helper()
	b.mu.Lock()
	errs := slices.Clone(b.errors)
	b.mu.Unlock()
	assert.Empty(b.t, errs, "the page threw or logged errors")
	for _, u := range b.requested() {
		if u == "about:blank" {
			continue
		}
		assert.True(b.t, strings.HasPrefix(u, s.url+"/"), "the page requested %s, which is not tallyd's", u)
	}
	for _, r := range s.log.all() {
		assert.False(b.t, strings.HasSuffix(r.path, "/snapshot.json"), "the page loaded %s: it must only link to it", r.path)
		if r.path != "/v1/results/latest.json" || r.status != http.StatusNotFound { // before the first snapshot
			assert.Less(b.t, r.status, 400, "%s answered %d", r.path, r.status)
		}
	}
}

// ---- the tests ----

func figure(p page, label string) []string {
	for _, f := range p.Figures {
		if len(f) > 0 && f[0] == label {
			return f
		}
	}
	return nil
}

func tableWithCaption(t *testing.T, p page, caption string) table {
	t.Helper()
	for _, tb := range p.Tables {
		if tb.Caption == caption {
			return tb
		}
	}
	t.Fatalf("no table %q; the tables: %+v", caption, p.Tables)
	return table{}
}

// entityRows are an entity table's rows as the page must show them: by
// votes, most first, ties in ballot order.
func entityRows(r numberRules, entities []publish.SummaryEntity, tally publish.Tally) [][]string {
	idx := make([]int, len(entities))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int { return tally.Votes[b] - tally.Votes[a] })
	var rows [][]string
	for _, i := range idx {
		rows = append(rows, []string{strconv.Itoa(entities[i].Number), entities[i].Name,
			r.int(tally.Votes[i]), r.pct(tally.SharesBP[i])})
	}
	return rows
}

func TestPage(t *testing.T) {
	b := newBrowser(t)
	t.Run("Assembly", func(t *testing.T) { testAssembly(t, b) })
	t.Run("Municipal", func(t *testing.T) { testMunicipal(t, b) })
}

// testAssembly: the national results in Albanian; the language menu; a
// municipality, a station; a new snapshot while a municipality is open.
func testAssembly(t *testing.T, b *browser) {
	b.reset(t)
	def := load(t, electiontest.Options{Municipalities: 3})
	drill := def.Municipalities[1].Code
	stations := pollingStations(def, drill)
	require.GreaterOrEqual(t, len(stations), 3)
	corrected, pending := stations[0], stations[len(stations)-1]

	// Every form, version 1; the first municipality's approved; the first
	// station of the second corrected in a version 2, approved; its last
	// station's results form not in yet.
	var forms, later []publish.Accepted
	for i := range def.Stations {
		st := &def.Stations[i]
		for _, ref := range st.Forms {
			review := publish.Received
			if st.Municipality == def.Municipalities[0].Code {
				review = publish.Approved
			}
			a := sealForm(t, def, st, ref, 1, "", 1, review)
			switch st.Code {
			case corrected.Code:
				forms = append(forms, sealForm(t, def, st, ref, 2, a.Digest, 2, publish.Approved))
			case pending.Code:
				later = append(later, a)
			default:
				forms = append(forms, a)
			}
		}
	}
	s := newSite(t, def, forms)
	s.publish(t)
	sum := s.summary(t, 1)
	require.Len(t, sum.Contests, 1)
	asm := sum.Contests[0]
	nat := asm.National
	require.Positive(t, nat.Valid)
	require.Less(t, nat.Reported, nat.Stations, "the pending station is not counted")

	// The national results, in Albanian, the default.
	sq := rules["sq"]
	b.do(chromedp.Navigate(s.url + "/results/?refresh=1"))
	b.waitFor("the national results", `document.querySelector('table.entities') !== null`)
	p := b.read()
	assert.Equal(t, "sq", p.Lang)
	assert.Equal(t, def.Election.Name["sq"], p.H1)
	assert.Equal(t, "Rezultatet preliminare: "+def.Election.Name["sq"], p.Title)
	assert.Equal(t, asm.Name["sq"], p.Heading)
	assert.Equal(t, "Zgjedhjet për Kuvend · Dita e zgjedhjeve: "+day(t, def, sqMonths, "%d %s %d"), p.Info)
	assert.Contains(t, p.Status, "Publikimi nr. 1 · publikuar më 20 dhj 2026, 21:00:05 · kontrolli i fundit në ")
	assert.False(t, p.Picker, "one contest: no contest picker")
	assert.Equal(t, []string{"Vendvotimet që kanë raportuar", sq.int(nat.Reported) + " nga " + sq.int(nat.Stations)},
		figure(p, "Vendvotimet që kanë raportuar"))
	assert.Equal(t, []string{"Pjesëmarrja", sq.pct(nat.TurnoutBP),
		sq.int(nat.Voted) + " nga " + sq.int(nat.RegisteredReported) + " votues në listat e vendvotimeve që kanë raportuar"},
		figure(p, "Pjesëmarrja"))
	assert.Equal(t, []string{"Fletëvotime të vlefshme", sq.int(nat.Valid)}, figure(p, "Fletëvotime të vlefshme"))
	assert.Equal(t, []string{"Fletëvotime të pavlefshme", sq.int(nat.Invalid)}, figure(p, "Fletëvotime të pavlefshme"))
	entities := tableWithCaption(t, p, "Votat: Të gjitha komunat")
	assert.Equal(t, []string{"Nr.", "Subjekti politik", "Votat", "Përqindja"}, entities.Head)
	assert.Equal(t, entityRows(sq, asm.Entities, nat), entities.Rows)
	require.Len(t, p.Tables, 2)
	munis := p.Tables[1]
	require.Len(t, munis.Rows, len(def.Municipalities))
	for i, m := range asm.Municipalities {
		assert.Equal(t, []string{def.Municipalities[i].Name["sq"], sq.int(m.Reported) + " nga " + sq.int(m.Stations),
			sq.pct(m.TurnoutBP), sq.int(m.Valid)}, munis.Rows[i][:4])
	}
	base := s.url + "/v1/results/1/"
	require.Len(t, p.Links, 3)
	assert.Equal(t, []string{base + "ASM/stations.csv", base + "ASM/municipalities.csv", base + "snapshot.json"},
		[]string{p.Links[0].Href, p.Links[1].Href, p.Links[2].Href})
	b.screenshot("national", "")

	// The language menu: Serbian in Cyrillic.
	cyr := rules["sr-Cyrl"]
	b.do(chromedp.Click(chromedp.CSS(`#languages a[data-lang="sr-Cyrl"]`)))
	b.waitFor("Serbian in Cyrillic", `document.documentElement.lang === 'sr-Cyrl'`)
	p = b.read()
	assert.Equal(t, def.Election.Name["sr-Cyrl"], p.H1)
	assert.Equal(t, asm.Name["sr-Cyrl"], p.Heading)
	assert.Contains(t, p.Hash, "lang=sr-Cyrl")
	assert.Equal(t, "Избори за Скупштину · Дан избора: "+day(t, def, cyrMonths, "%d. %s %d."), p.Info)
	assert.Contains(t, p.Status, "Објава бр. 1 · објављено 20. 12. 2026. 21:00:05 · последња провера у ")
	assert.Equal(t, []string{"Излазност", cyr.pct(nat.TurnoutBP),
		cyr.int(nat.Voted) + " од " + cyr.int(nat.RegisteredReported) + " бирача у списковима бирачких места која су известила"},
		figure(p, "Излазност"))
	assert.Equal(t, []string{"Важећи листићи", cyr.int(nat.Valid)}, figure(p, "Важећи листићи"))
	entities = tableWithCaption(t, p, "Гласови: Све општине")
	assert.Equal(t, entityRows(cyr, asm.Entities, nat), entities.Rows)
	assert.Equal(t, def.Municipalities[1].Name["sr-Cyrl"], p.Tables[1].Rows[1][0])

	// A municipality: its centres and stations, each with its counted form.
	view := s.municipality(t, 1, drill)
	mname := def.Municipalities[1].Name["sr-Cyrl"]
	b.do(chromedp.Click(chromedp.CSS(`table.municipalities a[href*="m=` + drill + `"]`)))
	b.waitFor("the municipality", `(document.getElementById('view-heading') || {}).textContent === `+strconv.Quote(mname))
	p = b.read()
	assert.Equal(t, "view-heading", p.Active, "the focus moves to the municipality's heading")
	mt := view.Contests[0].Municipality
	assert.Equal(t, []string{"Важећи листићи", cyr.int(mt.Valid)}, figure(p, "Важећи листићи"))
	assert.Equal(t, entityRows(cyr, view.Contests[0].Entities, mt), tableWithCaption(t, p, "Гласови: "+mname).Rows)
	rows := map[string][]string{}
	for _, tb := range p.Tables {
		if slices.Equal(tb.Head, []string{"Бирачко место", "Бирача у списку", "Гласало", "Излазност", "Неважећи листићи",
			"Важећи листићи", "Верзија", "Преглед", "Сажетак", "Фотографија"}) {
			for _, r := range tb.Rows {
				rows[strings.Fields(r[0])[0]] = r
			}
		}
	}
	require.Len(t, rows, len(stations), "a row for every polling station")
	tallies := map[string]publish.Tally{}
	for _, x := range view.Contests[0].Stations {
		tallies[x.Code] = x
	}
	form := func(v publish.MunicipalityView, code string) publish.MunicipalityFormInfo {
		for _, f := range v.Forms {
			if f.Station == code && f.Form == election.ResultsForm {
				return f
			}
		}
		t.Fatalf("no counted results form of %s", code)
		return publish.MunicipalityFormInfo{}
	}
	stationRow := func(r numberRules, v publish.MunicipalityView, st *election.Station, review string) []string {
		x, f := tallies[st.Code], form(v, st.Code)
		return []string{st.Code, r.int(x.Registered), r.int(x.Voted), r.pct(x.TurnoutBP), r.int(x.Invalid),
			r.int(x.Valid), strconv.Itoa(f.Version), review, f.Digest[:12] + "…", f.PhotoSHA256[:12] + "…"}
	}
	assert.Equal(t, stationRow(cyr, view, corrected, "одобрено"), rows[corrected.Code])
	assert.Equal(t, "2", rows[corrected.Code][6], "the corrected station's version 2 is counted")
	assert.Equal(t, stationRow(cyr, view, stations[1], "примљено"), rows[stations[1].Code])
	assert.Equal(t, []string{pending.Code, cyr.int(tallies[pending.Code].Registered), "још није известило"},
		rows[pending.Code])
	// The counting centres' candidate results forms.
	var counted [][]string
	for _, f := range view.Forms {
		if f.Form == election.CandidatesForm {
			st, _ := def.Station(f.Station)
			counted = append(counted, []string{st.Code + " " + st.Name, "Образац резултата кандидата",
				strconv.Itoa(f.Version), "примљено", f.Digest[:12] + "…", f.PhotoSHA256[:12] + "…"})
		}
	}
	require.NotEmpty(t, counted)
	var countingRows [][]string
	for _, tb := range p.Tables {
		if len(tb.Head) > 0 && tb.Head[0] == "Центар за бројање" {
			countingRows = tb.Rows
		}
	}
	assert.Equal(t, counted, countingRows)
	b.screenshot("municipality-sr-Cyrl", "centres-heading")

	// A station: every count of its form, and the form's full digests.
	b.do(chromedp.Click(chromedp.CSS(`a[href*="s=` + corrected.Code + `"]`)))
	b.waitFor("the station", `(document.getElementById('view-heading') || {}).textContent === `+strconv.Quote(corrected.Code+" "+corrected.Name))
	p = b.read()
	x, f := tallies[corrected.Code], form(view, corrected.Code)
	counts := tableWithCaption(t, p, "Бројеви из обрасца")
	require.Len(t, counts.Rows, 8)
	for i, n := range []int{x.RegisteredReported, x.Voted, x.BallotsReceived, x.BallotsUnused, x.BallotsSpoiled,
		x.BallotsInBox, x.Invalid, x.Valid} {
		assert.Equal(t, string(rune('A'+i)), counts.Rows[i][0])
		assert.Equal(t, cyr.int(n), counts.Rows[i][2], counts.Rows[i][1])
	}
	require.Len(t, p.Forms, 1)
	assert.Equal(t, [][]string{{"Верзија", "2"}, {"Преглед", "супервизор одобрио"}},
		p.Forms[0][:2])
	assert.Equal(t, []string{"Сажетак (SHA-256 потписане коверте)", f.Digest}, p.Forms[0][3])
	assert.Equal(t, []string{"Фотографија потписаног папирног обрасца (SHA-256)", f.PhotoSHA256}, p.Forms[0][4])

	// Back to the municipality; a new snapshot comes while it is open:
	// the page finds it by itself and reloads the summary and the
	// municipality, and only then.
	b.do(chromedp.NavigateBack())
	b.waitFor("the municipality again", `(document.getElementById('view-heading') || {}).textContent === `+strconv.Quote(mname))
	revalidated := func(r request) bool {
		return r.path == "/v1/results/latest.json" && r.ifNoneMatch != "" && r.status == http.StatusNotModified
	}
	s.log.waitFor(t, "that revalidates latest.json", revalidated)
	before := s.log.all()
	s.src.add(later...)
	s.publish(t)
	b.waitFor("snapshot 2", `document.getElementById('status').textContent.includes('Објава бр. 2')`)
	b.waitFor("the pending station's figures", `!document.querySelector('tr.pending')`)
	p = b.read()
	view2 := s.municipality(t, 2, drill)
	for _, x := range view2.Contests[0].Stations {
		tallies[x.Code] = x
	}
	assert.Equal(t, []string{"Важећи листићи", cyr.int(view2.Contests[0].Municipality.Valid)}, figure(p, "Важећи листићи"))
	assert.Greater(t, view2.Contests[0].Municipality.Valid, mt.Valid)
	found := false
	for _, tb := range p.Tables {
		for _, r := range tb.Rows {
			if r[0] == pending.Code {
				found = true
				assert.Equal(t, stationRow(cyr, view2, pending, "примљено"), r)
			}
		}
	}
	assert.True(t, found, "the pending station's row")

	// The views were fetched once per snapshot, however often latest.json
	// was checked.
	summaries, names := map[string]int{}, map[string]int{}
	for _, r := range s.log.all() {
		if strings.HasSuffix(r.path, "/summary.json") {
			summaries[r.path]++
		}
		if strings.HasSuffix(r.path, "/names.json") {
			names[r.path]++
		}
	}
	assert.Equal(t, map[string]int{"/v1/results/1/summary.json": 1, "/v1/results/2/summary.json": 1}, summaries)
	assert.Equal(t, map[string]int{"/v1/results/1/names.json": 1}, names, "the names, once")
	var after []string
	for _, r := range s.log.all()[len(before):] {
		after = append(after, r.path)
	}
	assert.Contains(t, after, "/v1/results/2/municipalities/"+drill+".json")
	b.checkClean(s)

	// ?lang= chooses the language when the address has none, and a link
	// keeps what is open: English, a station of another municipality.
	en := rules["en"]
	other := pollingStations(def, def.Municipalities[2].Code)[0]
	b.do(chromedp.Navigate(s.url + "/results/?lang=en&refresh=1#m=" + other.Municipality + "&s=" + other.Code))
	b.waitFor("the station in English", `(document.getElementById('view-heading') || {}).textContent === `+strconv.Quote(other.Code+" "+other.Name))
	p = b.read()
	assert.Equal(t, "en", p.Lang)
	v3 := s.municipality(t, 2, other.Municipality)
	var ot publish.Tally
	for _, x := range v3.Contests[0].Stations {
		if x.Code == other.Code {
			ot = x
		}
	}
	assert.Equal(t, []string{"Turnout", en.pct(ot.TurnoutBP), en.int(ot.Voted) + " of " + en.int(ot.RegisteredReported) +
		" voters on the lists of the stations reported"}, figure(p, "Turnout"))
	assert.Equal(t, entityRows(en, v3.Contests[0].Entities, ot),
		tableWithCaption(t, p, "Votes: "+other.Code+" "+other.Name).Rows)
	assert.Equal(t, [][]string{{"Version", "1"}, {"Review", "received, not yet reviewed"}}, p.Forms[0][:2])
	b.screenshot("station-en", "")
	b.checkClean(s)
}

// testMunicipal: no results yet, then the first snapshot; the contest
// picker of a municipal election, by keyboard; Turkish; a phone's screen.
func testMunicipal(t *testing.T, b *browser) {
	b.reset(t)
	def := load(t, electiontest.Options{Kind: election.Municipal, Municipalities: 2})
	var forms []publish.Accepted
	for i := range def.Stations {
		st := &def.Stations[i]
		for _, ref := range st.Forms {
			forms = append(forms, sealForm(t, def, st, ref, 1, "", 1, publish.Received))
		}
	}
	s := newSite(t, def, forms)

	b.do(chromedp.Navigate(s.url + "/results/?refresh=1#lang=tr"))
	b.waitFor("the word that nothing is published", `document.getElementById('content').textContent.includes('Henüz sonuç yayımlanmadı')`)
	s.publish(t)
	b.waitFor("the first snapshot", `document.querySelector('table.entities') !== null`)
	sum := s.summary(t, 1)
	require.Len(t, sum.Contests, 2*len(def.Municipalities))
	tr := rules["tr"]
	p := b.read()
	assert.Equal(t, "tr", p.Lang)
	assert.True(t, p.Picker)
	// By kind, then municipality: the mayors, then the assemblies.
	var want []string
	for _, kind := range []election.ContestKind{election.ContestMayor, election.ContestMunicipalAssembly} {
		for _, c := range sum.Contests {
			if c.Kind == kind {
				want = append(want, c.Contest)
			}
		}
	}
	assert.Equal(t, want, p.Contests)
	assert.Equal(t, []string{"Belediye başkanı", "Belediye meclisi"}, p.Groups)
	first := sum.Contests[0]
	assert.Equal(t, first.Contest, p.Contest)
	assert.Equal(t, first.Name["tr"], p.Heading)
	assert.Equal(t, entityRows(tr, first.Entities, first.National), tableWithCaption(t, p, "Oylar: "+def.Municipalities[0].Name["tr"]).Rows)
	assert.Equal(t, "Aday", tableWithCaption(t, p, "Oylar: "+def.Municipalities[0].Name["tr"]).Head[1])

	// The keyboard: the next contest in the picker is the second
	// municipality's mayor.
	second := sum.Contests[2]
	require.Equal(t, want[1], second.Contest)
	b.do(chromedp.Focus(chromedp.ID("contest")), chromedp.KeyEvent(kb.ArrowDown))
	b.waitFor("the second mayoral contest", `(document.getElementById('view-heading') || {}).textContent === `+strconv.Quote(second.Name["tr"]))
	p = b.read()
	assert.Equal(t, []string{"Geçerli oy pusulaları", tr.int(second.National.Valid)}, figure(p, "Geçerli oy pusulaları"))
	assert.Equal(t, []string{"Katılım", tr.pct(second.National.TurnoutBP),
		"Sonuç bildiren sandıkların listelerindeki " + tr.int(second.National.RegisteredReported) + " seçmenden " +
			tr.int(second.National.Voted) + " kişi oy kullandı"}, figure(p, "Katılım"))
	// Every municipality's mayoral contest, the second marked.
	munis := p.Tables[1]
	require.Len(t, munis.Rows, len(def.Municipalities))
	for i, c := range []publish.SummaryContest{sum.Contests[0], sum.Contests[2]} {
		assert.Empty(t, c.Municipalities, "a municipality's contest: its national figures are its own")
		m := c.National
		assert.Equal(t, []string{def.Municipalities[i].Name["tr"], tr.int(m.Reported) + " / " + tr.int(m.Stations),
			tr.pct(m.TurnoutBP), tr.int(m.Valid)}, munis.Rows[i][:4])
	}
	require.NotEmpty(t, p.Links)
	assert.Equal(t, s.url+"/v1/results/1/"+second.Contest+"/stations.csv", p.Links[0].Href)

	// A phone's screen.
	b.do(chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile))
	b.do(chromedp.Navigate(s.url + "/results/?lang=sq&refresh=1#c=" + first.Contest))
	b.waitFor("the first contest in Albanian", `(document.getElementById('view-heading') || {}).textContent === `+strconv.Quote(first.Name["sq"]))
	width, err := chromedp.Run(b.ctx, chromedp.Evaluate[int](`document.documentElement.scrollWidth`))
	require.NoError(t, err)
	assert.LessOrEqual(t, width, 390, "nothing but the tables' own scroll areas is wider than the phone")
	b.screenshot("phone", "")
	b.do(chromedp.EmulateReset())
	b.checkClean(s)
}
