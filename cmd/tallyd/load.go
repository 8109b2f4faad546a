package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"tally/app/commission"
	"tally/app/election"
	"tally/app/enrollment"
	"tally/app/seal"
)

// loadElection is a demo election made for a load run: the definition,
// the commission's keys and every station's key, all from one seed, so
// that a run can be repeated exactly.
type loadElection struct {
	def     *election.Definition
	signed  []byte
	keys    map[string]*seal.PrivateKey // definition, receipt, publication
	station map[string]*seal.PrivateKey // by station code
	codes   []commission.IssuedCode
	// stations are those that take part: all of them, or the first few
	// for a short run.
	stations []election.Station
}

// only keeps the first n stations in the run (all of them when n <= 0).
func (le *loadElection) only(n int) {
	if n > 0 && n < len(le.def.Stations) {
		le.stations = le.def.Stations[:n]
		le.codes = le.codes[:n]
	}
}

func seedKey(seed uint64, label string) *seal.PrivateKey {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], seed)
	sum := sha256.Sum256(append(b[:], "tally-load/"+label...))
	k, err := seal.PrivateKeyFromSeed(sum[:])
	if err != nil {
		panic(err) // 32 bytes always make a key
	}
	return k
}

func newLoadElection(kind election.Kind, seed uint64, server string) (*loadElection, error) {
	le := &loadElection{keys: map[string]*seal.PrivateKey{}, station: map[string]*seal.PrivateKey{}}
	for _, name := range commissionKeys {
		le.keys[name] = seedKey(seed, "commission/"+name)
	}
	d, err := election.Demo(election.DemoOptions{Seed: seed, Kind: kind, Keys: election.Keys{
		Definition:  seal.EncodePublicKey(le.keys["definition"].Public()),
		Receipt:     seal.EncodePublicKey(le.keys["receipt"].Public()),
		Publication: seal.EncodePublicKey(le.keys["publication"].Public()),
	}, Servers: []election.Server{{URL: server}}})
	if err != nil {
		return nil, err
	}
	if le.signed, err = election.Sign(d, le.keys["definition"]); err != nil {
		return nil, err
	}
	le.def, le.stations = d, d.Stations
	for _, st := range d.Stations {
		le.station[st.Code] = seedKey(seed, "station/"+st.Code)
		code, err := enrollment.NewCode(bytes.NewReader(sha256Of("code/" + st.Code)))
		if err != nil {
			return nil, err
		}
		le.codes = append(le.codes, commission.IssuedCode{Role: enrollment.RoleStation, Unit: st.Code,
			Municipality: st.Municipality, Name: st.Name, Code: code})
	}
	return le, nil
}

func sha256Of(s string) []byte {
	sum := sha256.Sum256([]byte(s))
	return sum[:]
}

// prepare writes the election into dir (election.json, keys/receipt.key,
// keys/publication.key) and imports it, with the stations' codes, into the
// database.
func (le *loadElection) prepare(ctx context.Context, dir, db string) error {
	if err := os.MkdirAll(filepath.Join(dir, keysDir), 0o700); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, definitionFile), le.signed, 0o600); err != nil {
		return err
	}
	for _, k := range []string{"receipt", "publication"} {
		if err := seal.WritePrivateKeyFile(filepath.Join(dir, keysDir, k+".key"), le.keys[k]); err != nil {
			return err
		}
	}
	return withService(ctx, db, commission.Options{}, func(svc *commission.Service, _ commission.Store) error {
		if _, err := svc.ImportElection(ctx, le.signed, seal.Fingerprint(le.keys["definition"].ID()), "bench"); err != nil {
			return err
		}
		return svc.AcceptCodes(ctx, le.codes, "bench")
	})
}

// envelope is one sealed version, ready to send.
type envelope struct {
	station string
	contest string
	form    election.FormKind
	version int
	digest  string
	raw     []byte
}

// versions seals version v of every form of every station; prev holds
// the digests of version v-1 by station and form.
func (le *loadElection) versions(v int, prev map[string]string) ([]envelope, map[string]string, error) {
	out := make([]envelope, 0, len(le.stations)*2)
	next := map[string]string{}
	sealedAt := time.Date(2026, 10, 4, 19, 30, 0, 0, time.UTC).Add(time.Duration(v) * time.Minute)
	for i := range le.stations {
		st := &le.stations[i]
		for _, ref := range st.Forms {
			l, err := le.def.Layout(ref.Contest, ref.Form)
			if err != nil {
				return nil, nil, err
			}
			form := ref.Contest + "/" + string(ref.Form)
			f := election.DemoForm(le.def, l, st, uint64(v))
			sub := election.Submission{Format: election.SubmissionFormat, Form: *f, Version: v,
				Supersedes: prev[st.Code+"/"+form], SealedAt: sealedAt, Sequence: uint64(v)}
			payload, err := json.Marshal(sub)
			if err != nil {
				return nil, nil, err
			}
			raw, err := seal.Sign(election.SubmissionPayloadType, payload, le.station[st.Code])
			if err != nil {
				return nil, nil, err
			}
			d := seal.Digest(raw)
			next[st.Code+"/"+form] = d
			out = append(out, envelope{station: st.Code, contest: ref.Contest, form: ref.Form, version: v, digest: d, raw: raw})
		}
	}
	return out, next, nil
}

// tallydProcess is a `tallyd serve` (or the bench's floor) running as a
// child process.
type tallydProcess struct {
	cmd  *exec.Cmd
	addr string
	done chan error
}

// startTallyd starts `tallyd serve` and waits for it to say where it
// listens.
func startTallyd(exe, db, keys string, extra ...string) (*tallydProcess, error) {
	return startTallydAt(exe, db, keys, "127.0.0.1:0", extra...)
}

// startTallydAt starts `tallyd serve` on a given address.
func startTallydAt(exe, db, keys, addr string, extra ...string) (*tallydProcess, error) {
	return startChild(exe, append([]string{"serve", "--db", db, "--keys", keys, "--listen", addr, "--log-level", "warn"}, extra...)...)
}

// startChild runs exe with args and waits for it to say where it listens
// ("… listening on ADDR", its first line).
func startChild(exe string, args ...string) (*tallydProcess, error) {
	cmd := exec.Command(exe, args...)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &tallydProcess{cmd: cmd, done: make(chan error, 1)}
	lines := bufio.NewScanner(out)
	if lines.Scan() {
		if _, addr, ok := strings.Cut(lines.Text(), "listening on "); ok {
			p.addr = addr
		}
	}
	go func() {
		_, _ = io.Copy(io.Discard, out)
		p.done <- cmd.Wait()
	}()
	if p.addr == "" {
		_ = cmd.Process.Kill()
		return nil, fmt.Errorf("%s %s did not start: %v", filepath.Base(exe), args[0], <-p.done)
	}
	return p, nil
}

// stop asks the server to shut down gracefully and waits.
func (p *tallydProcess) stop() error {
	if err := p.cmd.Process.Signal(os.Interrupt); err != nil {
		return err
	}
	return <-p.done
}

// loadClient sends to one tallyd over loopback with many connections.
type loadClient struct {
	base  string
	host  string
	http  *http.Client
	idle  chan *rawConn // the bench's own connections, kept alive between requests
	dials atomic.Int64  // connections the bench opened
}

func newLoadClient(addr string, conns int) *loadClient {
	return &loadClient{base: "http://" + addr, host: addr, idle: make(chan *rawConn, conns),
		http: &http.Client{Timeout: 60 * time.Second,
			Transport: &http.Transport{MaxIdleConns: conns, MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns}}}
}

func (c *loadClient) do(method, path string, body []byte) (int, []byte, error) {
	req, err := http.NewRequest(method, c.base+path, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// enrollAll enrolls every station's key, with the given parallelism.
func (c *loadClient) enrollAll(le *loadElection, parallel int) error {
	return parallelDo(len(le.codes), parallel, func(i int) error {
		code := le.codes[i]
		raw, err := enrollment.SignRequest(enrollment.Request{Election: le.def.Election.ID, Role: code.Role,
			Unit: code.Unit, Code: code.Code, At: time.Now()}, le.station[code.Unit])
		if err != nil {
			return err
		}
		status, body, err := c.do("POST", "/v1/enroll", raw)
		if err != nil {
			return err
		}
		if status != http.StatusCreated && status != http.StatusOK {
			return fmt.Errorf("enroll %s: %d %s", code.Unit, status, body)
		}
		return nil
	})
}

// parallelDo runs fn(0..n-1) on parallel goroutines; the first error wins.
func parallelDo(n, parallel int, fn func(i int) error) error {
	return parallelDoWorker(n, parallel, func(_, i int) error { return fn(i) })
}

// parallelDoWorker runs fn(w, 0..n-1) on parallel goroutines, w naming
// the goroutine (0..parallel-1); the first error wins.
func parallelDoWorker(n, parallel int, fn func(w, i int) error) error {
	next := make(chan int)
	var wg sync.WaitGroup
	var once sync.Once
	var first error
	for w := range parallel {
		wg.Go(func() {
			for i := range next {
				if err := fn(w, i); err != nil {
					once.Do(func() { first = err })
				}
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	return first
}
