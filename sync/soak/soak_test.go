package soak_test

import (
	"context"
	"crypto/x509"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tally/app/election"
	"tally/sync/client"
	"tally/sync/faults"
	"tally/sync/faults/harness"
	"tally/sync/worker"
)

// soakConfig is the size and the faults of a soak run. The default run
// (`make test`) has 200 stations; TALLY_SOAK=full runs every polling
// station of the demo election, 2,498; TALLY_SOAK_STATIONS=n runs n, and
// TALLY_SOAK_SEED another seed.
type soakConfig struct {
	// whole runs on the whole demo election (else on its first
	// municipalities); stations is how many of its polling stations take
	// part (0: all).
	whole    bool
	stations int
	// window is how long faults are injected; drain bounds how long the
	// stations may take to empty their outboxes after it.
	window, drain time.Duration
	// faultRate is the share of requests that get a fault during the
	// window; outages is how many times the whole server goes away in it
	// in each way (refused connections, a SIGKILL, a wrong certificate).
	faultRate float64
	outages   int
	outage    time.Duration // how long one lasts
	seed      uint64
	timeout   time.Duration // the client's, per request
	backoff   worker.Backoff
}

func configure(t *testing.T) soakConfig {
	c := soakConfig{stations: 200, window: 4 * time.Second, drain: 2 * time.Minute, faultRate: 0.3, outages: 1,
		outage: 300 * time.Millisecond, seed: 2026, timeout: 3 * time.Second,
		backoff: worker.Backoff{Base: 50 * time.Millisecond, Max: time.Second, Offline: 200 * time.Millisecond}}
	if raceEnabled {
		c.window = 12 * time.Second
	}
	if os.Getenv("TALLY_SOAK") == "full" {
		// Every polling station, with the app's own pace of retries: a
		// shorter one would have 2,498 stations retry faster than one
		// machine running them and the server can answer.
		c.whole, c.stations, c.window, c.drain, c.outages, c.timeout = true, 0, 20*time.Second, 5*time.Minute, 3, 10*time.Second
		c.backoff = worker.Backoff{Base: 500 * time.Millisecond, Max: 10 * time.Second, Offline: time.Second}
	}
	if v := os.Getenv("TALLY_SOAK_STATIONS"); v != "" {
		n, err := strconv.Atoi(v)
		require.NoError(t, err, "TALLY_SOAK_STATIONS")
		c.stations = n
	}
	if v := os.Getenv("TALLY_SOAK_SEED"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		require.NoError(t, err, "TALLY_SOAK_SEED")
		c.seed = n
	}
	return c
}

// soakStation is one simulated polling station: a real station on its
// own SQLite file, with its own client (its own connections), as on its
// own laptop.
type soakStation struct {
	st       *harness.Station
	client   *client.Client
	versions int
	err      error     // what its drain ended with
	done     time.Time // when its drain ended
	state    worker.State
}

// TestSoak: many stations, each with one or two forms sealed (some
// corrected), send at once through one proxy that, for a bounded time,
// gives a share of the requests a random fault from the whole list and
// takes the whole server away now and then (connections refused, tallyd
// killed with SIGKILL and restarted, a certificate the definition does
// not pin). Then the faults stop, every station drains, and: nothing is
// lost (every sealed version stored at the commission), nothing doubled
// (one stored envelope per digest, and per form and version), every
// station's outbox is empty and every receipt it holds verifies and
// matches the commission's store, every photo is up.
func TestSoak(t *testing.T) {
	cfg := configure(t)
	if cfg.whole {
		// Each station verified the whole definition and keeps it (2 MB
		// parsed), as on its own laptop: thousands of them live here.
		defer debug.SetMemoryLimit(debug.SetMemoryLimit(10 << 30))
	}
	ctx := context.Background()
	began := time.Now()
	dir := t.TempDir()

	good, err := faults.NewCertificate("commission")
	require.NoError(t, err)
	backup, err := faults.NewCertificate("commission, backup")
	require.NoError(t, err)
	wrong, err := faults.NewCertificate("impostor")
	require.NoError(t, err)
	proxy, err := faults.NewTLSProxy("", good)
	require.NoError(t, err)
	defer proxy.Close()
	servers := []election.Server{{URL: proxy.URL(), Pins: []string{good.Pin, backup.Pin}}}

	el := soakElection(t, cfg, servers)
	td, err := harness.Import(tallydBin, dir, el)
	require.NoError(t, err)
	require.NoError(t, td.Start())
	defer func() {
		_ = td.Kill()
		if t.Failed() {
			t.Logf("tallyd's log (end):\n%s", tail(td.Log(), 4000))
		}
	}()
	proxy.SetUpstream(td.URL())

	polling := el.PollingStations()
	if cfg.stations > 0 && cfg.stations < len(polling) {
		polling = polling[:cfg.stations]
	}
	stations := setUp(t, cfg, el, td, polling, dir, faults.Pool(good, backup, wrong))
	sealed := 0
	for _, s := range stations {
		sealed += s.versions
	}
	setupTook := time.Since(began)
	runtime.GC()
	var mem runtime.MemStats
	runtime.ReadMemStats(&mem)
	t.Logf("set up %d stations with %d sealed versions in %s; %d MiB live in this process",
		len(stations), sealed, setupTook.Round(time.Millisecond), mem.HeapAlloc>>20)

	// The faults, for a bounded time.
	chaos := newChaos(cfg.seed, cfg.faultRate)
	proxy.SetChooser(chaos.choose)
	outages := planOutages(cfg)
	soakStart := time.Now()
	windowOver := make(chan outageCounts, 1)
	go func() { windowOver <- runOutages(t, cfg, soakStart, outages, proxy, td, good, wrong) }()

	// Every station at once, each draining its outbox until it is empty,
	// within the open-file budget.
	runCtx, cancel := context.WithTimeout(ctx, cfg.window+cfg.drain)
	defer cancel()
	slots := make(chan struct{}, max(1, (openFiles()-2000)/8))
	var wg sync.WaitGroup
	var left atomic.Int64
	left.Store(int64(len(stations)))
	for i, s := range stations {
		wg.Go(func() {
			slots <- struct{}{}
			defer func() { <-slots }()
			w := worker.New(s.st.Svc, s.client, worker.Options{Backoff: cfg.backoff,
				Rand: rand.New(rand.NewPCG(cfg.seed, uint64(i)))})
			w.SetKey(s.st.Key)
			s.err = w.Drain(runCtx)
			s.done = time.Now()
			left.Add(-1)
			s.state = w.State()
			s.client.Close()
			if err := s.st.File.Close(); err != nil && s.err == nil {
				s.err = err
			}
		})
	}
	counts := <-windowOver
	proxy.SetChooser(nil)
	windowEnd := time.Now()
	if late := windowEnd.Sub(soakStart) - cfg.window; late > time.Second {
		t.Logf("the window ended %s late: the outages took longer than planned (%s)",
			late.Round(time.Millisecond), counts.lasted())
	}
	busyAtWindowEnd := left.Load()
	wg.Wait()
	drainEnd := time.Now()

	var stopped []string
	for _, s := range stations {
		if s.err != nil {
			stopped = append(stopped, fmt.Sprintf("%s: %v (queued %d, photos %d, last error %q)", s.st.Code, s.err,
				s.state.Queued, s.state.Photos, s.state.LastError))
		}
	}
	assert.Empty(t, firstFew(stopped), "%d stations did not drain", len(stopped))

	// The end, as the commission stored it.
	require.NoError(t, td.Stop())
	stored, err := harness.ReadCommission(ctx, td.DB)
	require.NoError(t, err)
	var problems []string
	lost, photos, receipts := 0, 0, 0
	for _, s := range stations {
		rec, err := s.st.Record(ctx)
		require.NoError(t, err)
		problems = append(problems, rec.Against(stored, s.st, true)...)
		receipts += len(rec.Receipts)
		for _, v := range rec.Versions {
			if _, ok := stored.ByDigest[v.Digest]; !ok {
				lost++
			}
		}
		photos += len(rec.Photos)
		require.NoError(t, s.st.File.Close())
	}
	duplicates := stored.Duplicates()
	assert.Zero(t, lost, "sealed versions not stored at the commission")
	assert.Empty(t, duplicates, "stored twice")
	assert.Len(t, stored.Submissions, sealed, "stored at the commission, in all")
	assert.Zero(t, stored.Conflicts, "conflicts recorded")
	assert.Len(t, stored.Attachments, photos, "photos at the commission")
	assert.Empty(t, firstFew(problems), "%d discrepancies between the stations and the commission", len(problems))

	// The figures.
	evs := proxy.Events()
	_, refusedTLS, brokenTLS := proxy.Handshakes()
	kinds, total := faultFigures(evs)
	routes := routeFigures(evs, windowEnd)
	lastDone := windowEnd
	for _, s := range stations {
		if s.done.After(lastDone) {
			lastDone = s.done
		}
	}
	t.Logf("soak: %d stations, %d sealed versions, %d photos; %d requests through the proxy in %s",
		len(stations), sealed, photos, len(evs), lastDone.Sub(soakStart).Round(time.Millisecond))
	t.Logf("faults in the %s window: %d on requests (%s); %d times no connection, %d SIGKILLs of tallyd and restarts, "+
		"%d times a certificate the definition does not pin (%d handshakes refused by the stations; %d broken off), "+
		"each planned for %s, the longest of each as it came out: %s",
		cfg.window, total, kinds, counts.down, counts.kills, counts.wrongCert, refusedTLS, brokenTLS, cfg.outage, counts.lasted())
	t.Logf("requests (during the window / after it; of which unanswered): %s", routes)
	t.Logf("after the window: %d stations still sending; the last outbox empty %s later (the stations' files closed %s after that)",
		busyAtWindowEnd, lastDone.Sub(windowEnd).Round(time.Millisecond), drainEnd.Sub(lastDone).Round(time.Millisecond))
	t.Logf("result: %d lost, %d duplicated, %d stored, %d receipts verified against the commission's store, %d discrepancies; "+
		"set-up %s, whole test %s",
		lost, len(duplicates), len(stored.Submissions), receipts, len(problems), setupTook.Round(time.Millisecond),
		time.Since(began).Round(time.Millisecond))
}

// soakElection is the demo municipal election: whole, or the first
// municipalities that hold enough polling stations for the run.
func soakElection(t *testing.T, cfg soakConfig, servers []election.Server) *harness.Election {
	for n := 1; ; n++ {
		if cfg.whole || cfg.stations == 0 {
			n = 0 // all of them
		}
		el, err := harness.NewElection(harness.ElectionOptions{Seed: cfg.seed, Servers: servers, Municipalities: n})
		require.NoError(t, err)
		if n == 0 || len(el.PollingStations()) >= cfg.stations || n >= len(el.Def.Municipalities)+1 {
			return el
		}
	}
}

// setUp provisions, enrolls and fills the stations, in parallel: each
// seals one or two forms, and corrects some of them once. Each station's
// file is closed when it is ready.
func setUp(t *testing.T, cfg soakConfig, el *harness.Election, td *harness.Tallyd, polling []*election.Station, dir string,
	roots *x509.CertPool) []*soakStation {
	t.Helper()
	ctx := context.Background()
	enroller, err := client.New(client.Config{Servers: []election.Server{{URL: td.URL()}}, ElectionID: el.Def.Election.ID,
		ReceiptKey: el.ReceiptKey()})
	require.NoError(t, err)
	defer enroller.Close()
	stations := make([]*soakStation, len(polling))
	next := make(chan int)
	errs := make(chan error, len(polling))
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) * 4 {
		wg.Go(func() {
			for i := range next {
				s, err := setUpOne(ctx, cfg, el, enroller, polling[i].Code, i, dir, roots)
				if err != nil {
					errs <- err
					continue
				}
				stations[i] = s
			}
		})
	}
	for i := range polling {
		next <- i
	}
	close(next)
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	return stations
}

func setUpOne(ctx context.Context, cfg soakConfig, el *harness.Election, enroller *client.Client, code string, i int,
	dir string, roots *x509.CertPool) (*soakStation, error) {
	st, err := harness.NewStation(ctx, filepath.Join(dir, "station-"+code+".db"), el, code)
	if err != nil {
		return nil, err
	}
	// Enrolled straight at tallyd, before the faults; a request that meets
	// a kept-alive connection just as the server closes it gets no answer
	// (and a POST is not sent again by Go's transport): try again, as the
	// chair would.
	for try := 1; ; try++ {
		err := st.Enroll(ctx, enroller, el.Codes[code])
		if err == nil {
			break
		}
		if client.IsRefused(err) || try == 3 {
			return nil, err
		}
	}
	rng := rand.New(rand.NewPCG(cfg.seed, uint64(i)))
	forms := st.Forms()
	if rng.IntN(2) == 0 {
		forms = forms[rng.IntN(len(forms)):][:1]
	}
	s := &soakStation{st: st}
	for _, f := range forms {
		rounds := 1
		if rng.IntN(4) == 0 {
			rounds = 2
		}
		for round := 1; round <= rounds; round++ {
			if _, err := st.Seal(ctx, f, round); err != nil {
				return nil, err
			}
			s.versions++
		}
	}
	s.client, err = client.New(client.Config{Servers: st.Def.Election.Servers, ElectionID: st.Def.Election.ID,
		ReceiptKey: st.Def.Election.Keys.Receipt, Timeout: cfg.timeout, RootCAs: roots})
	if err != nil {
		return nil, err
	}
	return s, st.File.Close()
}

// chaos picks a random fault for a share of the requests.
type chaos struct {
	mu    sync.Mutex
	rng   *rand.Rand
	rate  float64
	kinds []faults.Fault
}

func newChaos(seed uint64, rate float64) *chaos {
	return &chaos{rng: rand.New(rand.NewPCG(seed, 0xfa17)), rate: rate, kinds: []faults.Fault{
		{Kind: faults.Status, Status: http.StatusInternalServerError},
		{Kind: faults.Status, Status: http.StatusBadGateway},
		{Kind: faults.Status, Status: http.StatusBadGateway, Forward: true},
		{Kind: faults.Status, Status: http.StatusServiceUnavailable, RetryAfter: "1"},
		{Kind: faults.Status, Status: http.StatusTooManyRequests, RetryAfter: "1"},
		{Kind: faults.ResetRequest, After: 100},
		{Kind: faults.ResetResponse, After: 40},
		{Kind: faults.Stall},
		{Kind: faults.CaptivePortal},
		{Kind: faults.BadReceipt, Signer: harness.SeedKey(99, "stranger")},
		{Kind: faults.BadReceipt},
	}}
}

func (c *chaos) choose(*http.Request) faults.Fault {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.rng.Float64() >= c.rate {
		return faults.Fault{Kind: faults.None}
	}
	return c.kinds[c.rng.IntN(len(c.kinds))]
}

// An outage takes the whole server away for cfg.outage.
type outage struct {
	at   time.Duration // from the window's start
	kind string        // "down", "kill", "wrong-cert"
}

// planOutages spreads cfg.outages outages of each kind over the window,
// one to a slot, in a seeded random order and at random times in their
// slots.
func planOutages(cfg soakConfig) []outage {
	rng := rand.New(rand.NewPCG(cfg.seed, 0x07a9e))
	var kinds []string
	for range cfg.outages {
		kinds = append(kinds, "down", "kill", "wrong-cert")
	}
	rng.Shuffle(len(kinds), func(i, j int) { kinds[i], kinds[j] = kinds[j], kinds[i] })
	slot := cfg.window / time.Duration(len(kinds))
	out := make([]outage, len(kinds))
	for i, k := range kinds {
		out[i] = outage{at: time.Duration(i)*slot + time.Duration(rng.Int64N(int64(slot-cfg.outage))), kind: k}
	}
	return out
}

type outageCounts struct {
	down, kills, wrongCert int
	// longest is how long the longest outage of each kind lasted, as it
	// came out (a restart of tallyd takes its time).
	longest map[string]time.Duration
}

func (n outageCounts) lasted() string {
	var out []string
	for _, kind := range []string{"down", "kill", "wrong-cert"} {
		out = append(out, fmt.Sprintf("%s %s", kind, n.longest[kind].Round(time.Millisecond)))
	}
	return strings.Join(out, ", ")
}

// runOutages carries the outages out, on the window's clock, and returns
// once the window is over and the server is whole again.
func runOutages(t *testing.T, cfg soakConfig, start time.Time, plan []outage, proxy *faults.Proxy, td *harness.Tallyd,
	good, wrong *faults.Certificate) outageCounts {
	n := outageCounts{longest: map[string]time.Duration{}}
	timer := time.NewTimer(0)
	defer timer.Stop()
	until := func(at time.Duration) {
		timer.Reset(time.Until(start.Add(at)))
		<-timer.C
	}
	<-timer.C
	for _, o := range plan {
		until(o.at)
		began := time.Now()
		switch o.kind {
		case "down":
			proxy.Down()
			until(o.at + cfg.outage)
			assert.NoError(t, proxy.Up())
			n.down++
		case "kill":
			assert.NoError(t, td.Kill())
			until(o.at + cfg.outage)
			assert.NoError(t, td.Start())
			n.kills++
		case "wrong-cert":
			proxy.SetCertificate(wrong)
			until(o.at + cfg.outage)
			proxy.SetCertificate(good)
			n.wrongCert++
		}
		n.longest[o.kind] = max(n.longest[o.kind], time.Since(began))
	}
	until(cfg.window)
	return n
}

// faultFigures counts the faults the proxy applied, by kind and status.
func faultFigures(evs []faults.Event) (string, int) {
	n := map[string]int{}
	total := 0
	for _, ev := range evs {
		if ev.Fault == faults.None {
			continue
		}
		name := string(ev.Fault)
		if ev.Fault == faults.Status {
			name = strconv.Itoa(ev.FaultStatus)
			if ev.Upstream != 0 {
				name += " after stored"
			}
		}
		n[name]++
		total++
	}
	var out []string
	for k, v := range n {
		out = append(out, fmt.Sprintf("%s %d", k, v))
	}
	sort.Strings(out)
	return strings.Join(out, ", "), total
}

// routeFigures counts the requests by route, during the window and after
// it, and those that got no whole answer.
func routeFigures(evs []faults.Event, windowEnd time.Time) string {
	type count struct{ during, after, unanswered int }
	n := map[string]*count{}
	var names []string
	for _, ev := range evs {
		route := ev.Method + " " + ev.Path
		if i := strings.Index(ev.Path[1:], "/"); i >= 0 {
			if j := strings.Index(ev.Path[i+2:], "/"); j >= 0 {
				route = ev.Method + " " + ev.Path[:i+2+j]
			}
		}
		c := n[route]
		if c == nil {
			c = &count{}
			n[route] = c
			names = append(names, route)
		}
		if ev.At.Before(windowEnd) {
			c.during++
		} else {
			c.after++
		}
		if ev.Status == 0 {
			c.unanswered++
		}
	}
	sort.Strings(names)
	var out []string
	for _, name := range names {
		c := n[name]
		out = append(out, fmt.Sprintf("%s %d/%d (%d)", name, c.during, c.after, c.unanswered))
	}
	return strings.Join(out, ", ")
}

func firstFew(list []string) []string {
	return list[:min(len(list), 20)]
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[len(s)-n:]
}
