package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"tally/app/publish"
)

// readFigure is what the readers of the public results measured.
type readFigure struct {
	Readers   int     `json:"readers"`
	Requests  int     `json:"requests"`
	Seconds   float64 `json:"seconds"`
	PerSecond float64 `json:"per_second"`
	P50ms     float64 `json:"p50_ms"`
	P99ms     float64 `json:"p99_ms"`
	Bytes     int64   `json:"bytes"` // answered, gzipped as sent
	Refused   int     `json:"refused"`
}

// readLoad is many clients reading the national results (N/summary.json,
// gzip, as a browser takes it) as fast as they are answered, each on its
// own kept connection. Every 100th request of a reader reads latest.json
// instead and moves it to the newest snapshot, as a page's refresh does.
type readLoad struct {
	c       *loadClient
	readers int

	latest atomic.Uint64 // the newest snapshot number seen
	stop   chan struct{}
	wg     sync.WaitGroup

	mu      sync.Mutex
	lat     []time.Duration
	bytes   int64
	refused int
	err     error
	start   time.Time
	elapsed time.Duration
}

func (c *loadClient) getRequest(path string) []byte {
	return []byte("GET " + path + " HTTP/1.1\r\nHost: " + c.host + "\r\nAccept-Encoding: gzip\r\n\r\n")
}

// latestSnapshot reads latest.json; 0 before the first snapshot.
func (c *loadClient) latestSnapshot() (*publish.Latest, error) {
	status, body, err := c.do("GET", "/v1/results/latest.json", nil)
	switch {
	case err != nil:
		return nil, err
	case status == http.StatusNotFound:
		return &publish.Latest{}, nil
	case status != http.StatusOK:
		return nil, fmt.Errorf("latest.json: %d %s", status, body)
	}
	var l publish.Latest
	if err := json.Unmarshal(body, &l); err != nil {
		return nil, fmt.Errorf("latest.json: %w", err)
	}
	return &l, nil
}

// waitForSnapshot polls latest.json until a snapshot exists, for up to d.
func (c *loadClient) waitForSnapshot(d time.Duration) (uint64, error) {
	deadline := time.Now().Add(d)
	for {
		l, err := c.latestSnapshot()
		if err != nil {
			return 0, err
		}
		if l.Number > 0 {
			return l.Number, nil
		}
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("no results snapshot within %s", d)
		}
		time.Sleep(50 * time.Millisecond) // a bench polling a server, not a test's synchronisation
	}
}

func startReadLoad(c *loadClient, readers int, first uint64) *readLoad {
	rl := &readLoad{c: c, readers: readers, stop: make(chan struct{}), start: time.Now()}
	rl.latest.Store(first)
	latestReq := c.getRequest("/v1/results/latest.json")
	for range readers {
		rl.wg.Go(func() {
			var lat []time.Duration
			var n int64
			refused := 0
			defer func() {
				rl.mu.Lock()
				rl.lat = append(rl.lat, lat...)
				rl.bytes += n
				rl.refused += refused
				rl.mu.Unlock()
			}()
			rc, err := c.takeConn()
			if err != nil {
				rl.fail(err)
				return
			}
			defer func() { _ = rc.nc.Close() }()
			number := uint64(0)
			var req, buf []byte
			for i := 0; ; i++ {
				select {
				case <-rl.stop:
					return
				default:
				}
				if v := rl.latest.Load(); v != number {
					number = v
					req = c.getRequest("/v1/results/" + publish.SummaryPath(number))
				}
				send := req
				if i%100 == 99 {
					send = latestReq
				}
				t0 := time.Now()
				status, body, keep, err := rc.read(send, buf)
				if err != nil {
					rl.fail(err)
					return
				}
				buf = body[:0]
				lat = append(lat, time.Since(t0))
				n += int64(len(body))
				if status != http.StatusOK {
					refused++
				}
				if i%100 == 99 && status == http.StatusOK {
					var l publish.Latest
					if json.Unmarshal(gunzipOrPlain(body), &l) == nil && l.Number > rl.latest.Load() {
						rl.latest.Store(l.Number)
					}
				}
				if !keep {
					rl.fail(fmt.Errorf("the server closed a reader's connection (status %d)", status))
					return
				}
			}
		})
	}
	return rl
}

func (rl *readLoad) fail(err error) {
	rl.mu.Lock()
	defer rl.mu.Unlock()
	if rl.err == nil {
		rl.err = err
	}
}

// finish stops the readers and sums up.
func (rl *readLoad) finish() (readFigure, error) {
	close(rl.stop)
	rl.wg.Wait()
	elapsed := time.Since(rl.start)
	rl.mu.Lock()
	defer rl.mu.Unlock()
	f := readFigure{Readers: rl.readers, Requests: len(rl.lat), Seconds: elapsed.Seconds(), Bytes: rl.bytes, Refused: rl.refused,
		P50ms: percentileMS(rl.lat, 0.50), P99ms: percentileMS(rl.lat, 0.99)}
	if elapsed > 0 {
		f.PerSecond = float64(f.Requests) / elapsed.Seconds()
	}
	if f.Refused > 0 && rl.err == nil {
		rl.err = fmt.Errorf("%d reads were not answered 200", f.Refused)
	}
	return f, rl.err
}

// publicationLatency is how long after the commission acknowledged a
// submission a reader found its numbers in the latest snapshot: it polls
// latest.json every 20 ms and reads the municipality's file of each new
// snapshot until one counts that version of the form, or a later one that
// replaced it meanwhile.
func (c *loadClient) publicationLatency(ctx context.Context, acked time.Time, municipality string, e envelope, within time.Duration) (time.Duration, error) {
	if acked.IsZero() {
		return 0, fmt.Errorf("no submission was acknowledged")
	}
	deadline := time.Now().Add(within)
	seen := uint64(0)
	for {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		l, err := c.latestSnapshot()
		if err != nil {
			return 0, err
		}
		if l.Number > seen {
			seen = l.Number
			status, body, err := c.do("GET", "/v1/results/"+publish.MunicipalityPath(l.Number, municipality), nil)
			if err != nil {
				return 0, err
			}
			if status != http.StatusOK {
				return 0, fmt.Errorf("municipality %s of snapshot %d: %d", municipality, l.Number, status)
			}
			var v publish.MunicipalityView
			if err := json.Unmarshal(body, &v); err != nil {
				return 0, err
			}
			for _, f := range v.Forms {
				if f.Station == e.station && f.Contest == e.contest && f.Form == e.form && f.Version >= e.version {
					return time.Since(acked), nil
				}
			}
		}
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("submission %s not in a snapshot %s after its receipt (the latest is %d)", e.digest, within, seen)
		}
		time.Sleep(20 * time.Millisecond) // a bench polling a server, not a test's synchronisation
	}
}

// gunzipOrPlain is a body that may be gzipped, plain.
func gunzipOrPlain(b []byte) []byte {
	if len(b) < 2 || b[0] != 0x1f || b[1] != 0x8b {
		return b
	}
	r, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return b
	}
	out, err := io.ReadAll(r)
	if err != nil {
		return b
	}
	return out
}

func printRead(w interface{ Write([]byte) (int, error) }, name string, f readFigure) {
	fmt.Fprintf(w, "%-18s %d readers: %d requests in %.3f s: %.0f/s, p50 %.2f ms, p99 %.2f ms, %s MB sent\n",
		name, f.Readers, f.Requests, f.Seconds, f.PerSecond, f.P50ms, f.P99ms, strconv.FormatFloat(float64(f.Bytes)/1e6, 'f', 1, 64))
}

// readAlone is how long the readers read before the rounds begin.
const readAlone = 3 * time.Second

// readWhileIngesting sends rounds from..from+n-1 while readers read the
// national results, then records both figures and, for each round, how
// long its last receipt took to reach the latest snapshot.
func (c *loadClient) readWhileIngesting(ctx context.Context, le *loadElection, rep *benchReport, receipts *[][]byte,
	prev *map[string]string, from, n, readers, clients int) error {
	first, err := c.waitForSnapshot(60 * time.Second)
	if err != nil {
		return err
	}
	rc := newLoadClient(c.host, readers)
	defer rc.closeIdle()
	alone := startReadLoad(rc, readers, first)
	time.Sleep(readAlone) // a bench's phase, not a test's synchronisation
	readsAlone, err := alone.finish()
	if err != nil {
		return err
	}
	rep.ReadsAlone = &readsAlone
	rl := startReadLoad(rc, readers, alone.latest.Load())
	var total phaseFigure
	var lat []time.Duration
	// Each round's publication is awaited beside the next round, so that
	// the readers' figure is of reads during ingest alone.
	var waits sync.WaitGroup
	latencies := make([]time.Duration, n)
	waitErrs := make([]error, n)
	var ingestErr error
	for r := range n {
		envs, next, err := le.versions(from+r, *prev)
		if err != nil {
			ingestErr = err
			break
		}
		*prev = next
		f, rs, err := c.fireTimed(envs, clients, &lat)
		if err != nil {
			ingestErr = err
			break
		}
		*receipts = append(*receipts, rs...)
		total.add(f)
		st, ok := le.def.Station(f.last.station)
		if !ok {
			ingestErr = fmt.Errorf("station %s is not in the election", f.last.station)
			break
		}
		waits.Go(func() {
			latencies[r], waitErrs[r] = c.publicationLatency(ctx, f.lastAcked, st.Municipality, f.last, time.Minute)
		})
	}
	// Then a trickle, as most of election night is: one form every
	// trickleEvery, each awaited on its own.
	var trickle []time.Duration
	if ingestErr == nil {
		trickle, ingestErr = c.trickle(ctx, le, *prev, from+n)
	}
	reads, readErr := rl.finish()
	waits.Wait()
	if ingestErr != nil {
		return ingestErr
	}
	if readErr != nil {
		return readErr
	}
	for r := range n {
		if waitErrs[r] != nil {
			return waitErrs[r]
		}
		rep.PublicationMS = append(rep.PublicationMS, float64(latencies[r].Microseconds())/1000)
	}
	total.finish(lat)
	rep.Reads, rep.SustainedWithReads = &reads, &total
	rep.TrickleP50ms, rep.TrickleMaxms = percentileMS(trickle, 0.5), percentileMS(trickle, 1)
	rep.TrickleForms = len(trickle)
	return nil
}

func joinMS(ms []float64) string {
	out := ""
	for i, v := range ms {
		if i > 0 {
			out += ", "
		}
		out += strconv.FormatFloat(v, 'f', 0, 64)
	}
	return out
}

// trickleForms and trickleEvery shape the trickle: forms sent one by one,
// the pace of a night whose forms arrive over hours.
const (
	trickleForms = 20
	trickleEvery = 250 * time.Millisecond
)

// trickle sends version v of the first trickleForms forms one at a time,
// trickleEvery apart, and measures for each how long after its receipt a
// reader found it in the latest snapshot.
func (c *loadClient) trickle(ctx context.Context, le *loadElection, prev map[string]string, v int) ([]time.Duration, error) {
	envs, _, err := le.versions(v, prev)
	if err != nil {
		return nil, err
	}
	envs = envs[:min(trickleForms, len(envs))]
	out := make([]time.Duration, len(envs))
	errs := make([]error, len(envs))
	var wg sync.WaitGroup
	for i, e := range envs {
		var lat []time.Duration
		f, _, err := c.fireTimed([]envelope{e}, 1, &lat)
		if err != nil {
			return nil, err
		}
		st, ok := le.def.Station(e.station)
		if !ok {
			return nil, fmt.Errorf("station %s is not in the election", e.station)
		}
		wg.Go(func() {
			out[i], errs[i] = c.publicationLatency(ctx, f.lastAcked, st.Municipality, e, time.Minute)
		})
		time.Sleep(trickleEvery) // the pace of the load, not a synchronisation
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// saveSummary writes latest.json and the national summary it names, as
// tallyd sends them to a client that takes gzip, under dir: the results
// the floor serves. It gives the snapshot's number.
func (c *loadClient) saveSummary(dir string) (uint64, error) {
	rc, err := c.takeConn()
	if err != nil {
		return 0, err
	}
	defer func() { _ = rc.nc.Close() }()
	save := func(path string) ([]byte, error) {
		status, body, _, err := rc.read(c.getRequest("/v1/results/"+path), nil)
		if err != nil {
			return nil, err
		}
		if status != http.StatusOK {
			return nil, fmt.Errorf("%s: %d", path, status)
		}
		file := filepath.Join(dir, filepath.FromSlash(path))
		if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
			return nil, err
		}
		return body, os.WriteFile(file, body, 0o600)
	}
	// The number is the saved pointer's: a snapshot published meanwhile
	// is not the one saved.
	body, err := save(publish.LatestPath)
	if err != nil {
		return 0, err
	}
	var l publish.Latest
	if err := json.Unmarshal(gunzipOrPlain(body), &l); err != nil {
		return 0, fmt.Errorf("latest.json: %w", err)
	}
	if l.Number == 0 {
		return 0, errors.New("no results snapshot to read")
	}
	if _, err := save(publish.SummaryPath(l.Number)); err != nil {
		return 0, err
	}
	return l.Number, nil
}
