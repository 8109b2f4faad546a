package harness

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
)

// BuildTallyd builds the tallyd command into dir and returns its path:
// once per test binary, from TestMain.
func BuildTallyd(dir string) (string, error) {
	goCmd, err := exec.LookPath("go")
	if err != nil {
		goCmd = "/usr/local/go/bin/go"
	}
	bin := filepath.Join(dir, "tallyd")
	cmd := exec.Command(goCmd, "build", "-o", bin, "tally/cmd/tallyd")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build tally/cmd/tallyd: %v\n%s", err, out)
	}
	return bin, nil
}

// Main runs a package's tests with the tallyd command built into a
// temporary directory, its path in *bin: call it from TestMain as
// os.Exit(harness.Main(m, &tallydBin)).
func Main(m interface{ Run() int }, bin *string) int {
	dir, err := os.MkdirTemp("", "tallyd-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	if *bin, err = BuildTallyd(dir); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return m.Run()
}

// Limits are the serve flags that take the rate limits out of the way:
// every station sends through one proxy, from one address.
var Limits = []string{"--rate-per-address", "1e9", "--burst-per-address", "1000000000",
	"--rate-per-key", "1e6", "--burst-per-key", "1000000"}

// Tallyd is a `tallyd serve` process on a prepared database.
type Tallyd struct {
	bin  string
	DB   string
	keys string

	mu     sync.Mutex
	addr   string // kept across a kill and a restart
	cmd    *exec.Cmd
	done   chan error
	stderr lockedBuffer
	starts int
}

// Import writes the election into dir and imports it, with the stations'
// codes, into a new database there: `tallyd election import`.
func Import(bin, dir string, e *Election) (*Tallyd, error) {
	files, err := e.Write(dir)
	if err != nil {
		return nil, err
	}
	db := filepath.Join(dir, "tallyd.db")
	out, err := exec.Command(bin, "election", "import", "--definition", files.Definition, "--fingerprint",
		e.Fingerprint(), "--codes", files.Codes, "--db", db).CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("tallyd election import: %v\n%s", err, out)
	}
	return &Tallyd{bin: bin, DB: db, keys: files.Keys}, nil
}

// Listen makes the first Start listen on addr (host:port), for an
// election whose definition names the server's address beforehand.
func (t *Tallyd) Listen(addr string) {
	t.mu.Lock()
	t.addr = addr
	t.mu.Unlock()
}

// Start starts `tallyd serve`: on a port of its own the first time, on
// the same address after Kill or Stop. It returns once the server says
// where it listens.
func (t *Tallyd) Start() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.cmd != nil {
		return errors.New("harness: tallyd is running")
	}
	listen := t.addr
	if listen == "" {
		listen = "127.0.0.1:0"
	}
	args := append([]string{"serve", "--db", t.DB, "--keys", t.keys, "--listen", listen, "--log-level", "warn"}, Limits...)
	cmd := exec.Command(t.bin, args...)
	cmd.Stderr = &t.stderr
	dieWithParent(cmd)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan error, 1)
	lines := bufio.NewScanner(out)
	addr := ""
	if lines.Scan() {
		_, addr, _ = strings.Cut(lines.Text(), "listening on ")
	}
	go func() {
		_, _ = io.Copy(io.Discard, out)
		done <- cmd.Wait()
	}()
	if addr == "" {
		_ = cmd.Process.Kill()
		return fmt.Errorf("tallyd serve did not start: %v\n%s", <-done, t.stderr.String())
	}
	t.addr, t.cmd, t.done = addr, cmd, done
	t.starts++
	return nil
}

// Addr is where the server listens (host:port).
func (t *Tallyd) Addr() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.addr
}

// URL is the server's base URL.
func (t *Tallyd) URL() string { return "http://" + t.Addr() }

// Starts counts the times the server was started.
func (t *Tallyd) Starts() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.starts
}

// Kill kills the server with SIGKILL and waits for it to be gone.
func (t *Tallyd) Kill() error {
	return t.end(syscall.SIGKILL)
}

// Stop asks the server to shut down gracefully (SIGINT) and waits.
func (t *Tallyd) Stop() error {
	return t.end(os.Interrupt)
}

func (t *Tallyd) end(sig os.Signal) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.cmd == nil {
		return nil
	}
	if err := t.cmd.Process.Signal(sig); err != nil {
		return err
	}
	err := <-t.done
	t.cmd, t.done = nil, nil
	if sig == syscall.SIGKILL {
		return nil // killed is what was asked
	}
	if err != nil {
		return fmt.Errorf("tallyd serve: %v\n%s", err, t.stderr.String())
	}
	return nil
}

// Log is what the server wrote to its standard error.
func (t *Tallyd) Log() string { return t.stderr.String() }

// lockedBuffer is a bytes.Buffer that a process writes while tests read.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
