package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"tally/app/election"
	"tally/app/publish"
	"tally/app/seal"
	"tally/cmd/internal/cli"
)

// benchReport is what `tallyd bench` measured.
type benchReport struct {
	DB            string      `json:"db"`
	Kind          string      `json:"kind"`
	Stations      int         `json:"stations"`
	Clients       int         `json:"clients"`
	EnrollSeconds float64     `json:"enroll_seconds"`
	Burst         phaseFigure `json:"burst"`
	Sustained     phaseFigure `json:"sustained"`
	// ServerCPUPerSubmissionUS is the server process's CPU time (user and
	// system) per submission in the sustained phase: the load generator
	// shares the machine, so this says what tallyd alone costs.
	ServerCPUPerSubmissionUS float64 `json:"server_cpu_per_submission_us"`
	ServerCapacity           float64 `json:"server_capacity_per_second"`
	// LoadCPUPerSubmissionUS is the load generator's own CPU time per
	// submission in the sustained phase, taken from tallyd's share.
	LoadCPUPerSubmissionUS float64 `json:"load_cpu_per_submission_us"`
	// VerifyPerCore is the mean of one core's bare Ed25519 verify rate
	// just before and just after the sustained phase.
	VerifyPerCore       float64 `json:"ed25519_verify_per_second_per_core"`
	VerifyPerCoreBefore float64 `json:"ed25519_verify_per_second_per_core_before"`
	VerifyPerCoreAfter  float64 `json:"ed25519_verify_per_second_per_core_after"`
	Cores               int     `json:"cores"`
	RatioToVerify       float64 `json:"sustained_to_machine_verify_rate"`
	ReceiptsVerified    int     `json:"receipts_verified"`
	// SustainedSnapshots is how many results snapshots tallyd published
	// during the sustained phase (its CPU figure includes making them).
	SustainedSnapshots uint64 `json:"sustained_snapshots,omitempty"`

	// Reads are the public results read while more rounds are ingested
	// (SustainedWithReads); PublicationMS is how long after each of those
	// rounds' last receipt a reader found it in the latest snapshot.
	Reads *readFigure `json:"reads,omitempty"`
	// ReadsAlone are the same readers for a few seconds before, with
	// nothing ingested: what reading costs without the burst beside it.
	ReadsAlone         *readFigure  `json:"reads_alone,omitempty"`
	SustainedWithReads *phaseFigure `json:"sustained_with_reads,omitempty"`
	PublicationMS      []float64    `json:"publication_ms,omitempty"`
	// Then a trickle of forms one by one: how long after each receipt a
	// reader found it in the latest snapshot.
	TrickleForms int     `json:"trickle_forms,omitempty"`
	TrickleP50ms float64 `json:"trickle_p50_ms,omitempty"`
	TrickleMaxms float64 `json:"trickle_max_ms,omitempty"`

	// Floor is the sustained phase's envelopes sent again, by the same
	// load generator, to the floor (floor.go): a server that verifies,
	// parses and signs each one and stores nothing. SustainedToFloor is
	// tallyd's sustained rate over the floor's.
	Floor                   *phaseFigure `json:"floor,omitempty"`
	FloorCPUPerSubmissionUS float64      `json:"floor_cpu_per_submission_us,omitempty"`
	FloorRatioToVerify      float64      `json:"floor_to_machine_verify_rate,omitempty"`
	// FloorVerifyPerCore is one core's bare verify rate taken on both
	// sides of the floor's rounds, the yardstick of FloorRatioToVerify.
	FloorVerifyPerCore float64 `json:"floor_ed25519_verify_per_second_per_core,omitempty"`
	SustainedToFloor   float64 `json:"sustained_to_floor,omitempty"`
	// ReadsFloor are the readers reading the same national summary from
	// the floor, alone, as they read it from tallyd (ReadsAlone).
	ReadsFloor *readFigure `json:"reads_floor,omitempty"`
}

type phaseFigure struct {
	Submissions int     `json:"submissions"`
	Seconds     float64 `json:"seconds"`
	PerSecond   float64 `json:"per_second"`
	P50ms       float64 `json:"p50_ms"`
	P99ms       float64 `json:"p99_ms"`

	// The submission acknowledged last, and when.
	lastAcked time.Time
	last      envelope
}

// bench runs the election-night burst against a real `tallyd serve`
// process: every station of the demo election enrolls, then sends every
// form at once (the burst), then corrections version after version (the
// sustained load). It prints the throughput and latencies and the ratio to
// this machine's bare Ed25519 verification rate.
func bench(args []string, stdout io.Writer) error {
	fs := cli.Flags("bench")
	db := fs.String("db", "", "a SQLite file to create, or a postgres:// URL of an empty database (default: a new SQLite file in a temporary directory)")
	kind := fs.String("kind", string(election.Municipal), "assembly (one form a station) or municipal (two)")
	seed := fs.Uint64("seed", 2026, "the demo election's seed")
	clients := fs.Int("clients", 250, "concurrent clients")
	rounds := fs.Int("rounds", 5, "versions sent after the burst, each superseding the last, for the sustained figure")
	asJSON := fs.Bool("json", false, "print JSON")
	profile := fs.String("server-cpuprofile", "", "have tallyd write a CPU profile to this file")
	readers := fs.Int("readers", 100, "clients reading the national results while more rounds are ingested (0: none)")
	readRounds := fs.Int("read-rounds", 3, "rounds ingested while the readers read")
	publishEvery := fs.Duration("publish-interval", 2*time.Second, "tallyd serve's --publish-interval")
	publishBusy := fs.Float64("publish-max-busy", publish.DefaultMaxBusy, "tallyd serve's --publish-max-busy")
	floor := fs.Bool("floor", true, "then send the sustained rounds again to the floor, a server that verifies, parses and signs but stores nothing (tallyd bench floor)")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "tallyd-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	if *db == "" {
		*db = dir + "/tallyd.db"
	}
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	le, err := newLoadElection(election.Kind(*kind), *seed, "http://127.0.0.1:8480")
	if err != nil {
		return err
	}
	ctx := context.Background()
	if err := le.prepare(ctx, dir, *db); err != nil {
		return err
	}
	extra := []string{"--rate-per-address", "1e9", "--burst-per-address", "1000000000",
		"--rate-per-key", "1e6", "--burst-per-key", "1000000", "--rate-public", "1e9", "--burst-public", "1000000000"}
	extra = append(extra, "--publish-interval", publishEvery.String(), "--publish-max-busy", strconv.FormatFloat(*publishBusy, 'g', -1, 64))
	if *profile != "" {
		extra = append(extra, "--cpuprofile", *profile)
	}
	p, err := startTallyd(exe, *db, dir+"/"+keysDir, extra...)
	if err != nil {
		return err
	}
	defer p.stop()
	c := newLoadClient(p.addr, *clients)
	rep := benchReport{DB: redact(*db), Kind: *kind, Stations: len(le.stations), Clients: *clients, Cores: runtime.NumCPU()}

	start := time.Now()
	if err := c.enrollAll(le, *clients); err != nil {
		return err
	}
	rep.EnrollSeconds = time.Since(start).Seconds()

	ring, err := seal.NewKeyring(le.keys["receipt"].Public())
	if err != nil {
		return err
	}
	v1, prev, err := le.versions(1, nil)
	if err != nil {
		return err
	}
	receipts := make([][]byte, 0, len(v1)*(1+*rounds))
	var burstReceipts [][]byte
	if rep.Burst, burstReceipts, err = c.fire(v1, *clients); err != nil {
		return err
	}
	receipts = append(receipts, burstReceipts...)

	// The sustained load: versions 2, 3, … of every form; each round is
	// signed before it is sent.
	var total phaseFigure
	var lat []time.Duration
	// The machine's verify rate is taken on both sides of the phase: a
	// shared machine's speed drifts, and the ratio is the figure that
	// is meant to hold still.
	verifyBefore := ed25519VerifyRate(time.Second)
	cpu0 := processCPU(p.cmd.Process.Pid)
	snapshot0, err := c.latestSnapshot()
	if err != nil {
		return err
	}
	var loadCPU time.Duration
	var sustained [][]envelope // the rounds, for the floor
	for v := 2; v <= 1+*rounds; v++ {
		var envs []envelope
		if envs, prev, err = le.versions(v, prev); err != nil {
			return err
		}
		if *floor {
			sustained = append(sustained, envs)
		}
		own0 := processCPU(os.Getpid())
		f, rs, err := c.fireTimed(envs, *clients, &lat)
		loadCPU += processCPU(os.Getpid()) - own0
		if err != nil {
			return err
		}
		receipts = append(receipts, rs...)
		total.add(f)
	}
	total.finish(lat)
	rep.Sustained = total
	if cpu := processCPU(p.cmd.Process.Pid) - cpu0; cpu > 0 && total.Submissions > 0 {
		snapshot1, err := c.latestSnapshot()
		if err != nil {
			return err
		}
		rep.SustainedSnapshots = snapshot1.Number - snapshot0.Number
		rep.ServerCPUPerSubmissionUS = float64(cpu.Microseconds()) / float64(total.Submissions)
		rep.ServerCapacity = float64(rep.Cores) * 1e6 / rep.ServerCPUPerSubmissionUS
	}
	if total.Submissions > 0 {
		rep.LoadCPUPerSubmissionUS = float64(loadCPU.Microseconds()) / float64(total.Submissions)
	}
	rep.VerifyPerCoreBefore, rep.VerifyPerCoreAfter = verifyBefore, ed25519VerifyRate(time.Second)
	rep.VerifyPerCore = (rep.VerifyPerCoreBefore + rep.VerifyPerCoreAfter) / 2
	if rep.VerifyPerCore > 0 {
		rep.RatioToVerify = rep.Sustained.PerSecond / (rep.VerifyPerCore * float64(rep.Cores))
	}

	floorResults, floorNumber := "", uint64(0)
	if *readers > 0 && *readRounds > 0 {
		if err := c.readWhileIngesting(ctx, le, &rep, &receipts, &prev, 2+*rounds, *readRounds, *readers, *clients); err != nil {
			return err
		}
		if *floor {
			floorResults = dir + "/floor-results"
			if floorNumber, err = c.saveSummary(floorResults); err != nil {
				return err
			}
		}
	}

	// Every receipt must verify under the commission's receipt key.
	for _, r := range receipts {
		if _, err := openReceipt(r, ring); err != nil {
			return err
		}
		rep.ReceiptsVerified++
	}
	c.closeIdle()
	if err := p.stop(); err != nil {
		return fmt.Errorf("tallyd did not shut down cleanly: %w", err)
	}
	if len(sustained) > 0 {
		fl := floorRun{kind: *kind, seed: *seed, clients: *clients, rounds: sustained, results: floorResults, number: floorNumber, readers: *readers}
		if err := fl.run(exe, ring, &rep); err != nil {
			return fmt.Errorf("the floor: %w", err)
		}
	}

	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	fmt.Fprintf(stdout, "database           %s\n", rep.DB)
	fmt.Fprintf(stdout, "election           %s, %d stations, %d clients over loopback, %d cores\n", rep.Kind, rep.Stations, rep.Clients, rep.Cores)
	fmt.Fprintf(stdout, "enrollment         %d keys in %.2f s\n", len(le.codes), rep.EnrollSeconds)
	printPhase(stdout, "burst", rep.Burst)
	printPhase(stdout, "sustained", rep.Sustained)
	if rep.ServerCPUPerSubmissionUS > 0 {
		fmt.Fprintf(stdout, "tallyd alone       %.0f µs of CPU per submission: %.0f/s on %d cores without the load generator\n",
			rep.ServerCPUPerSubmissionUS, rep.ServerCapacity, rep.Cores)
	}
	if rep.LoadCPUPerSubmissionUS > 0 {
		fmt.Fprintf(stdout, "load generator     %.0f µs of CPU per submission, on the same cores\n", rep.LoadCPUPerSubmissionUS)
	}
	if rep.SustainedSnapshots > 0 {
		fmt.Fprintf(stdout, "results            %d snapshots published meanwhile, counted in tallyd's CPU\n", rep.SustainedSnapshots)
	}
	fmt.Fprintf(stdout, "ed25519 verify     %.0f/s per core (%.0f before the sustained phase, %.0f after), %.0f/s on the machine\n",
		rep.VerifyPerCore, rep.VerifyPerCoreBefore, rep.VerifyPerCoreAfter, rep.VerifyPerCore*float64(rep.Cores))
	fmt.Fprintf(stdout, "ratio              %.2f × the machine's bare verify rate\n", rep.RatioToVerify)
	if rep.ReadsAlone != nil {
		printRead(stdout, "results read alone", *rep.ReadsAlone)
	}
	if rep.Reads != nil {
		printRead(stdout, "results read", *rep.Reads)
		printPhase(stdout, "ingest meanwhile", *rep.SustainedWithReads)
		fmt.Fprintf(stdout, "receipt → results  %s ms after each round's last receipt\n", joinMS(rep.PublicationMS))
		fmt.Fprintf(stdout, "                   %d forms one by one, %s apart: p50 %.0f ms, at most %.0f ms\n",
			rep.TrickleForms, trickleEvery, rep.TrickleP50ms, rep.TrickleMaxms)
	}
	fmt.Fprintf(stdout, "receipts           %d verified\n", rep.ReceiptsVerified)
	if rep.Floor != nil {
		printPhase(stdout, "floor", *rep.Floor)
		fmt.Fprintf(stdout, "                   verify, parse and sign only, nothing stored: %.0f µs of CPU per submission, %.2f × the machine's bare verify rate (%.0f/s a core meanwhile); tallyd sustained %.2f × the floor\n",
			rep.FloorCPUPerSubmissionUS, rep.FloorRatioToVerify, rep.FloorVerifyPerCore, rep.SustainedToFloor)
	}
	if rep.ReadsFloor != nil {
		printRead(stdout, "floor, read alone", *rep.ReadsFloor)
	}
	return nil
}

// floorRun is what the bench sends to the floor: the sustained rounds,
// then, when results is the directory saveSummary wrote, reads of the
// national summary (of snapshot number) by as many readers as read
// tallyd's.
type floorRun struct {
	kind    string
	seed    uint64
	clients int
	rounds  [][]envelope
	results string
	number  uint64
	readers int
}

// run sends the sustained rounds again to the floor, as they were sent to
// tallyd, and measures it. Every answer must be a receipt of the
// commission's receipt key that names its envelope.
func (fl floorRun) run(exe string, ring *seal.Keyring, rep *benchReport) error {
	args := []string{"bench", "floor", "--kind", fl.kind, "--seed", strconv.FormatUint(fl.seed, 10), "--listen", "127.0.0.1:0"}
	if fl.results != "" {
		args = append(args, "--results", fl.results)
	}
	p, err := startChild(exe, args...)
	if err != nil {
		return err
	}
	clients := fl.clients
	stopped := false
	defer func() {
		if !stopped {
			_ = p.stop()
		}
	}()
	c := newLoadClient(p.addr, clients)
	defer c.closeIdle()
	var total phaseFigure
	var lat []time.Duration
	verifyBefore := ed25519VerifyRate(time.Second)
	cpu0 := processCPU(p.cmd.Process.Pid)
	for _, envs := range fl.rounds {
		f, receipts, err := c.fireTimed(envs, clients, &lat)
		if err != nil {
			return fmt.Errorf("submitting: %w", err)
		}
		for i, raw := range receipts {
			r, err := openReceipt(raw, ring)
			if err != nil {
				return err
			}
			if r.Submission != envs[i].digest {
				return fmt.Errorf("the receipt for %s names %s", envs[i].digest, r.Submission)
			}
		}
		total.add(f)
	}
	cpu := processCPU(p.cmd.Process.Pid) - cpu0
	verify := (verifyBefore + ed25519VerifyRate(time.Second)) / 2
	c.closeIdle()
	if fl.results != "" && fl.readers > 0 {
		rc := newLoadClient(p.addr, fl.readers)
		rl := startReadLoad(rc, fl.readers, fl.number)
		time.Sleep(readAlone) // a bench's phase, not a test's synchronisation
		reads, err := rl.finish()
		rc.closeIdle()
		if err != nil {
			return fmt.Errorf("reading: %w", err)
		}
		rep.ReadsFloor = &reads
	}
	stopped = true
	if err := p.stop(); err != nil {
		return err
	}
	if total.Seconds <= 0 || total.Submissions == 0 {
		return nil
	}
	total.finish(lat)
	rep.Floor = &total
	if cpu > 0 {
		rep.FloorCPUPerSubmissionUS = float64(cpu.Microseconds()) / float64(total.Submissions)
	}
	rep.FloorVerifyPerCore = verify
	if verify > 0 {
		rep.FloorRatioToVerify = total.PerSecond / (verify * float64(rep.Cores))
	}
	rep.SustainedToFloor = rep.Sustained.PerSecond / total.PerSecond
	return nil
}

// add counts one round of a phase.
func (f *phaseFigure) add(round phaseFigure) {
	f.Submissions += round.Submissions
	f.Seconds += round.Seconds
}

// finish works out the phase's rate, and its latencies from every
// submission's.
func (f *phaseFigure) finish(lat []time.Duration) {
	if f.Seconds > 0 {
		f.PerSecond = float64(f.Submissions) / f.Seconds
	}
	f.P50ms, f.P99ms = percentileMS(lat, 0.50), percentileMS(lat, 0.99)
}

// openReceipt checks that a receipt verifies under the commission's
// receipt key and reads it.
func openReceipt(raw []byte, ring *seal.Keyring) (*election.Receipt, error) {
	opened, err := seal.Open(raw, 1<<16, election.ReceiptPayloadType, ring)
	if err != nil {
		return nil, fmt.Errorf("a receipt does not verify: %w", err)
	}
	return election.ParseReceipt(opened.Payload)
}

func printPhase(w io.Writer, name string, f phaseFigure) {
	fmt.Fprintf(w, "%-18s %d submissions in %.3f s: %.0f/s, p50 %.1f ms, p99 %.1f ms\n",
		name, f.Submissions, f.Seconds, f.PerSecond, f.P50ms, f.P99ms)
}

// fire sends every envelope with the given parallelism and measures it;
// every one must be answered 201 with a receipt.
func (c *loadClient) fire(envs []envelope, parallel int) (phaseFigure, [][]byte, error) {
	var lat []time.Duration
	f, rs, err := c.fireTimed(envs, parallel, &lat)
	if err == nil {
		f.finish(lat)
	}
	return f, rs, err
}

func (c *loadClient) fireTimed(envs []envelope, parallel int, lat *[]time.Duration) (phaseFigure, [][]byte, error) {
	took := make([]time.Duration, len(envs))
	var ackMu sync.Mutex
	var lastAcked time.Time
	lastIndex := -1
	receipts := make([][]byte, len(envs))
	reqs := make([][]byte, len(envs))
	for i := range envs {
		reqs[i] = c.rawRequest("/v1/submissions/"+envs[i].digest, envs[i].raw)
	}
	// Each client keeps one connection for the whole phase, as a station's
	// keep-alive would.
	conns := make([]*rawConn, parallel)
	defer func() {
		for _, rc := range conns {
			if rc != nil {
				c.putConn(rc)
			}
		}
	}()
	start := time.Now()
	err := parallelDoWorker(len(envs), parallel, func(w, i int) error {
		t0 := time.Now()
		rc := conns[w]
		if rc == nil {
			var err error
			if rc, err = c.takeConn(); err != nil {
				return err
			}
		}
		status, body, keep, err := rc.send(reqs[i])
		if err != nil && rc.used && closedIdle(err) {
			// The server closed the kept connection before it read the
			// request (its idle timeout): send it on a new one.
			_ = rc.nc.Close()
			if rc, err = c.takeConn(); err != nil {
				return err
			}
			status, body, keep, err = rc.send(reqs[i])
		}
		took[i] = time.Since(t0)
		if err != nil || !keep {
			_ = rc.nc.Close()
			rc = nil
		}
		conns[w] = rc
		if err != nil {
			return fmt.Errorf("submission of %s: %w", envs[i].station, err)
		}
		if status != http.StatusCreated {
			return fmt.Errorf("submission of %s: %d %s", envs[i].station, status, body)
		}
		receipts[i] = body
		now := time.Now()
		ackMu.Lock()
		if now.After(lastAcked) {
			lastAcked, lastIndex = now, i
		}
		ackMu.Unlock()
		return nil
	})
	elapsed := time.Since(start)
	*lat = append(*lat, took...)
	f := phaseFigure{Submissions: len(envs), Seconds: elapsed.Seconds(), PerSecond: float64(len(envs)) / elapsed.Seconds(),
		lastAcked: lastAcked}
	if lastIndex >= 0 {
		f.last = envs[lastIndex]
	}
	return f, receipts, err
}

func percentileMS(d []time.Duration, p float64) float64 {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	return float64(s[min(len(s)-1, int(float64(len(s))*p))].Microseconds()) / 1000
}

// ed25519VerifyRate is how many Ed25519 signatures one core verifies a
// second, bare: the yardstick of the ingest figure.
func ed25519VerifyRate(d time.Duration) float64 {
	pub, priv, _ := ed25519.GenerateKey(nil)
	msg := make([]byte, 1200) // about a results submission's PAE
	sig := ed25519.Sign(priv, msg)
	var mu sync.Mutex
	n := 0
	start := time.Now()
	for time.Since(start) < d {
		for range 100 {
			if !ed25519.Verify(pub, msg, sig) {
				panic("ed25519: a good signature does not verify")
			}
		}
		mu.Lock()
		n += 100
		mu.Unlock()
	}
	return float64(n) / time.Since(start).Seconds()
}

// processCPU is the user and system CPU time a process has used so far,
// from /proc (Linux); 0 where it cannot be read.
func processCPU(pid int) time.Duration {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// The fields after the command name, which is in parentheses.
	i := bytes.LastIndexByte(raw, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(raw[i+1:]))
	if len(f) < 13 {
		return 0
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0
	}
	const ticksPerSecond = 100 // USER_HZ on Linux
	return time.Duration(utime+stime) * time.Second / ticksPerSecond
}
