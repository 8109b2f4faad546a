package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"image"
	"image/png"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tally/app/election"
	"tally/app/review"
	"tally/app/seal"
	"tally/app/station"
	"tally/i18n"
	"tally/storage/stationdb"
	"tally/sync/client"
	"tally/sync/faults/harness"
)

// asMain makes the test binary run as the tally command: the end-to-end
// test starts it so, as the app in a real window, without a second cgo
// build of the GL driver.
const asMain = "TALLY_TEST_AS_MAIN"

// windowWait bounds each wait for the app in a real window: a start under
// the race detector on a busy 2-core machine takes a few seconds.
const windowWait = 90 * time.Second

// TestRealWindow runs the desktop app in a real X window (Xvfb) against a
// real tallyd process: the station is provisioned and enrolled with the
// headless commands, then a person's keystrokes (xdotool) type both
// entries of a form, blind, and seal it with the PIN; the outbox worker
// delivers it, and the commission's database holds it exactly once.
func TestRealWindow(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	addr := freeAddr(t)
	e, err := harness.NewElection(harness.ElectionOptions{Seed: 11, Municipalities: 1,
		Servers: []election.Server{{URL: "http://" + addr}}})
	require.NoError(t, err)
	tallydBin, err := harness.BuildTallyd(dir)
	require.NoError(t, err)
	td, err := harness.Import(tallydBin, dir, e)
	require.NoError(t, err)
	td.Listen(addr)
	require.NoError(t, td.Start())
	defer func() { _ = td.Stop() }()

	// The station, provisioned and enrolled as a training room does it.
	me := e.PollingStations()[0]
	data := filepath.Join(dir, "station")
	require.NoError(t, os.MkdirAll(data, 0o700))
	db := filepath.Join(data, "station.db")
	pinFile := filepath.Join(dir, "pin.txt")
	require.NoError(t, os.WriteFile(pinFile, []byte(goodPIN+"\n"), 0o600))
	tallyOK(t, "station", "init", "--db", db, "--definition", filepath.Join(dir, "election.json"),
		"--fingerprint", e.Fingerprint(), "--station", me.Code, "--by", chair, "--pin-file", pinFile)
	tallyOK(t, "station", "enroll", "--db", db, "--code", e.Codes[me.Code], "--pin-file", pinFile)

	key := station.FormKey{Contest: me.Forms[0].Contest, Form: me.Forms[0].Form}
	layout, err := e.Def.Layout(key.Contest, key.Form)
	require.NoError(t, err)
	paper := election.DemoForm(e.Def, layout, me, 5)
	var typed []string
	for _, spec := range layout.Fields {
		typed = append(typed, strconv.Itoa(paper.Counts[spec.ID]))
	}
	typed = append(typed, strconv.Itoa(paper.Members))

	x := startXvfb(t)
	app := x.startApp(t, "--data", data)
	sq, err := i18n.New("sq")
	require.NoError(t, err)
	screen := func(name string) string { return sq.T("ui.screen."+name, nil) }

	x.waitTitle(t, app, screen("home"))
	// "Open" on the first form has the focus. The first key may come
	// before the window has the keyboard's focus: it is sent again until
	// the screen changes.
	x.keyUntil(t, app, "Return", screen("begin-first"))
	x.typeLine(t, chair)
	x.waitTitle(t, app, screen("entry-first"))
	for _, v := range typed {
		x.typeLine(t, v)
	}
	x.key(t, "ctrl+Return") // finish the entry
	x.waitTitle(t, app, screen("begin-second"))
	x.typeLine(t, second)
	x.waitTitle(t, app, screen("entry-second"))
	for _, v := range typed {
		x.typeLine(t, v)
	}
	x.key(t, "ctrl+Return")
	x.waitTitle(t, app, screen("seal"))
	// The scan of the signed paper form, by its path. The screen is drawn
	// again, the PIN's field focused, on the UI thread right after the
	// store has the photo: reading the store from here takes far longer.
	photo := filepath.Join(dir, "paper-form.png")
	require.NoError(t, os.WriteFile(photo, pngPhoto(t), 0o600))
	x.typeLine(t, photo)
	waitFor(t, "the photo attached", func() bool {
		var v struct {
			Photo string `json:"photo"`
		}
		require.NoError(t, json.Unmarshal([]byte(tallyOK(t, "station", "show", "--db", db, "--contest", key.Contest,
			"--form", string(key.Form), "--json")), &v))
		return v.Photo != ""
	})
	x.shot(t, "seal")
	x.typeLine(t, goodPIN)
	x.waitTitle(t, app, screen("sealed"))
	x.shot(t, "sealed")

	// The worker delivers it: the station holds the commission's receipt.
	var head string
	waitFor(t, "the receipt of the sealed form", func() bool {
		var st station.Status
		require.NoError(t, json.Unmarshal([]byte(tallyOK(t, "station", "status", "--db", db, "--json")), &st))
		for _, f := range st.Forms {
			if f.Key == key && f.State == station.StateSealed && f.Received {
				head = f.Head
				return true
			}
		}
		return false
	})
	var v struct {
		Values map[election.Field]int `json:"values"`
	}
	require.NoError(t, json.Unmarshal([]byte(tallyOK(t, "station", "show", "--db", db, "--contest", key.Contest,
		"--form", string(key.Form), "--json")), &v))
	for _, spec := range layout.Fields {
		assert.Equal(t, paper.Counts[spec.ID], v.Values[spec.ID], "field %s as typed", spec.ID)
	}

	app.stop(t)
	require.NoError(t, td.Stop())
	c, err := harness.ReadCommission(ctx, td.DB)
	require.NoError(t, err)
	stored := c.OfStation(me.Code)
	require.Len(t, stored, 1, "the commission stores the form once")
	assert.Equal(t, head, stored[0].Digest)
	assert.Empty(t, c.Duplicates())
}

// tallyOK runs a tally command in this process and returns its output.
func tallyOK(t *testing.T, args ...string) string {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(args, strings.NewReader(""), &out, &errOut)
	require.Equal(t, 0, code, "tally %v: %s%s", args, out.String(), errOut.String())
	return out.String()
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	return addr
}

// waitFor polls cond until it holds, or fails the test after windowWait.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(windowWait)
	for !cond() {
		select {
		case <-tick.C:
		case <-deadline:
			require.FailNow(t, "waited too long", "for %s", what)
		}
	}
}

// xserver is an Xvfb server of the test's own.
type xserver struct {
	display string
	shots   string // where screenshots go: $TALLY_SCREENSHOTS, else the test's directory
}

// startXvfb starts Xvfb on a display it picks itself (-displayfd): it
// writes the display's number once it accepts connections.
func startXvfb(t *testing.T) *xserver {
	t.Helper()
	r, w, err := os.Pipe()
	require.NoError(t, err)
	cmd := exec.Command("Xvfb", "-displayfd", "3", "-screen", "0", "1280x1024x24", "-nolisten", "tcp", "-noreset")
	cmd.ExtraFiles = []*os.File{w}
	require.NoError(t, cmd.Start(), "Xvfb (scripts/install-deps.sh gui-test installs it)")
	_ = w.Close()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	line := make(chan string, 1)
	go func() {
		s := bufio.NewScanner(r)
		s.Scan()
		line <- strings.TrimSpace(s.Text())
		_ = r.Close()
	}()
	var n string
	select {
	case n = <-line:
	case <-time.After(windowWait):
	}
	require.NotEmpty(t, n, "Xvfb did not say its display")
	x := &xserver{display: ":" + n, shots: os.Getenv("TALLY_SCREENSHOTS")}
	if x.shots == "" {
		x.shots = t.TempDir()
	}
	return x
}

// xdo runs xdotool on the display.
func (x *xserver) xdo(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), windowWait)
	defer cancel()
	cmd := exec.CommandContext(ctx, "xdotool", args...)
	cmd.Env = append(os.Environ(), "DISPLAY="+x.display)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "xdotool %v: %s", args, out)
	return string(out)
}

func (x *xserver) key(t *testing.T, keys string) {
	t.Helper()
	x.xdo(t, "key", "--clearmodifiers", keys)
}

// typeLine types text as a person would, then Enter.
func (x *xserver) typeLine(t *testing.T, text string) {
	t.Helper()
	x.xdo(t, "type", "--delay", "15", text)
	x.key(t, "Return")
}

// shot saves a screenshot of the whole screen as NAME.png, once the
// screen has settled: the window is drawn some frames after the title
// names its screen (llvmpipe under Xvfb, the race detector), so captures
// are taken until two in a row differ by no more than a blinking cursor.
func (x *xserver) shot(t *testing.T, name string) {
	t.Helper()
	path := filepath.Join(x.shots, name+".png")
	prev := x.capture(t, path)
	deadline := time.Now().Add(windowWait)
	for time.Now().Before(deadline) {
		next := x.capture(t, path)
		if changedPixels(prev, next) <= settledPixels {
			return
		}
		prev = next
	}
	require.FailNow(t, "the screen did not settle", "for the screenshot %s", name)
}

// settledPixels is how many pixels may differ between two captures of a
// settled screen: an entry's cursor, blinking.
const settledPixels = 200

// capture saves a screenshot of the whole screen at path, and returns it.
func (x *xserver) capture(t *testing.T, path string) image.Image {
	t.Helper()
	cmd := exec.Command("import", "-window", "root", path)
	cmd.Env = append(os.Environ(), "DISPLAY="+x.display)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "import: %s", out)
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	img, err := png.Decode(f)
	require.NoError(t, err)
	return img
}

// changedPixels counts the pixels that differ between two captures of
// the same screen.
func changedPixels(a, b image.Image) int {
	if a.Bounds() != b.Bounds() {
		return a.Bounds().Dx() * a.Bounds().Dy()
	}
	n := 0
	r := a.Bounds()
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			if a.At(x, y) != b.At(x, y) {
				n++
			}
		}
	}
	return n
}

// appProcess is the tally app running in the window.
type appProcess struct {
	cmd    *exec.Cmd
	done   chan error
	stderr *bytes.Buffer
	window string
}

// startApp starts `tally app ARGS` on the display, with a home of
// its own for Fyne's preferences, and waits for its window.
func (x *xserver) startApp(t *testing.T, args ...string) *appProcess {
	t.Helper()
	home := t.TempDir()
	cmd := exec.Command(os.Args[0], append([]string{"app"}, args...)...)
	cmd.Env = append(os.Environ(), asMain+"=1", "DISPLAY="+x.display, "HOME="+home,
		"XDG_CONFIG_HOME="+filepath.Join(home, ".config"), "LANG=C.UTF-8", "LC_ALL=C.UTF-8")
	p := &appProcess{cmd: cmd, done: make(chan error, 1), stderr: &bytes.Buffer{}}
	cmd.Stderr = p.stderr
	require.NoError(t, cmd.Start())
	go func() { p.done <- cmd.Wait() }()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("the app's standard error:\n%s", p.stderr.String())
			x.capture(t, filepath.Join(x.shots, "failed.png"))
			t.Logf("a screenshot of the failure: %s", filepath.Join(x.shots, "failed.png"))
		}
	})
	ids := strings.Fields(x.xdo(t, "search", "--sync", "--onlyvisible", "--name", "Tally"))
	require.NotEmpty(t, ids)
	p.window = ids[len(ids)-1]
	x.focus(t, p)
	return p
}

// waitTitle waits until the window's title names the screen: the app sets
// the title and the focus of a new screen in one step on its UI thread,
// so keys sent after it reach the new screen.
func (x *xserver) waitTitle(t *testing.T, p *appProcess, screen string) {
	t.Helper()
	if title, ok := x.titleWithin(t, p, screen, windowWait); !ok {
		require.FailNow(t, "waited too long", "for the screen %q; the title is %q", screen, title)
	}
}

// titleWithin waits up to d for the window's title to name the screen.
func (x *xserver) titleWithin(t *testing.T, p *appProcess, screen string, d time.Duration) (string, bool) {
	t.Helper()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(d)
	for {
		title := strings.TrimSpace(x.xdo(t, "getwindowname", p.window))
		if strings.HasSuffix(title, "— "+screen) {
			return title, true
		}
		select {
		case <-tick.C:
		case <-deadline:
			return title, false
		}
	}
}

// keyUntil presses a key, focusing the window again and pressing it once
// more while the screen it leads to has not come, a few times at most.
func (x *xserver) keyUntil(t *testing.T, p *appProcess, key, screen string) {
	t.Helper()
	for range 5 {
		x.key(t, key)
		if _, ok := x.titleWithin(t, p, screen, windowWait/10); ok {
			return
		}
		x.focus(t, p)
	}
	x.waitTitle(t, p, screen)
}

// handshake makes sure that the window takes keys before a test types
// what it cannot see land: Ctrl+L (the next language) is pressed until
// the title, which names the screen (key, a message key), changes, then
// the languages are gone round back to Albanian. It leaves the screen as
// it was, in the language it had.
func (x *xserver) handshake(t *testing.T, p *appProcess, key string) {
	t.Helper()
	langs := i18n.Languages()
	title := func(i int) string {
		l, err := i18n.New(langs[i%len(langs)].Tag)
		require.NoError(t, err)
		return l.T(key, nil)
	}
	require.Equal(t, "sq", langs[0].Tag, "the app starts in Albanian")
	x.keyUntil(t, p, "ctrl+l", title(1))
	for i := 2; i <= len(langs); i++ {
		x.key(t, "ctrl+l")
		x.waitTitle(t, p, title(i))
	}
}

// focus gives the window the keyboard's focus, and waits until X says so.
func (x *xserver) focus(t *testing.T, p *appProcess) {
	t.Helper()
	x.xdo(t, "windowfocus", "--sync", p.window)
}

// stop closes the app as an interrupt does, and waits for it to end.
func (p *appProcess) stop(t *testing.T) {
	t.Helper()
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGTERM))
	select {
	case err := <-p.done:
		require.NoError(t, err, "the app's exit")
	case <-time.After(windowWait):
		require.FailNow(t, "the app did not end after SIGTERM")
	}
}

// TestRealWindowSupervisor runs the supervisor's screens in a real X
// window against a real tallyd process with a station that submitted: the
// supervisor types the PIN to connect, the sync fetches the municipality,
// the station is found by its code, its submission opened and returned
// with a reason and the PIN; the commission then holds the decision.
func TestRealWindowSupervisor(t *testing.T) {
	r := newSubmittedRig(t, 12)
	e, dir, td, tallydBin, definition, pinFile := r.e, r.dir, r.td, r.tallydBin, r.definition, r.pinFile
	me, sdb := r.me, r.sdb

	// The municipality's supervisor, provisioned and enrolled headless.
	codes := filepath.Join(dir, "supervisor-codes.csv")
	out, err := exec.Command(tallydBin, "codes", "issue", "--role", "supervisor", "--unit", me.Municipality,
		"--out", codes, "--db", td.DB).CombinedOutput()
	require.NoError(t, err, "%s", out)
	csv, err := os.ReadFile(codes)
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSpace(string(csv)), "\n")
	require.Len(t, lines, 2, "a header and the supervisor's code")
	fields := strings.Split(lines[1], ",")
	data := filepath.Join(dir, "supervisor")
	require.NoError(t, os.MkdirAll(data, 0o700))
	supDB := filepath.Join(data, "supervisor.db")
	tallyOK(t, "supervisor", "init", "--db", supDB, "--definition", definition, "--fingerprint", e.Fingerprint(),
		"--municipality", me.Municipality, "--by", "Drita Berisha", "--pin-file", pinFile)
	tallyOK(t, "supervisor", "enroll", "--db", supDB, "--code", fields[len(fields)-1], "--pin-file", pinFile)

	x := startXvfb(t)
	app := x.startApp(t, "--supervisor", "--data", data)
	sq, err := i18n.New("sq")
	require.NoError(t, err)
	screen := func(name string) string { return sq.T("ui.sup.screen."+name, nil) }
	x.waitTitle(t, app, screen("dashboard"))
	x.handshake(t, app, "ui.sup.screen.dashboard")

	// The search field has the focus; the PIN's field is next.
	x.key(t, "Tab")
	x.typeLine(t, goodPIN)
	var head string
	waitFor(t, "the station's submission fetched", func() bool {
		var d struct {
			Stations []struct {
				Code  string `json:"code"`
				Forms []struct {
					State   string `json:"state"`
					Digest  string `json:"digest"`
					Fetched bool   `json:"fetched"`
				} `json:"forms"`
			} `json:"stations"`
		}
		require.NoError(t, json.Unmarshal([]byte(tallyOK(t, "supervisor", "dashboard", "--db", supDB, "--json")), &d))
		for _, st := range d.Stations {
			if st.Code == me.Code && len(st.Forms) > 0 && st.Forms[0].Fetched {
				head = st.Forms[0].Digest
				return true
			}
		}
		return false
	})
	x.shot(t, "supervisor-dashboard")

	// The PIN did its work: its row hides, and the search has the focus.
	x.typeLine(t, me.Code)
	x.waitTitle(t, app, screen("station"))
	x.key(t, "Return") // "Open" on the form that came
	x.waitTitle(t, app, screen("submission"))
	x.shot(t, "supervisor-submission")
	// xdotool types ASCII only under Xvfb's keymap: the reason keeps to it.
	const reason = "Rreshti C nuk perputhet me letren."
	x.typeLine(t, reason) // the reason has the focus; Enter goes to the PIN
	x.xdo(t, "type", "--delay", "15", goodPIN)
	x.key(t, "ctrl+Return") // return, with the reason typed

	// The sync sends it; the commission's answer marks it delivered.
	waitFor(t, "the decision delivered to the commission", func() bool {
		var v struct {
			Decisions []struct {
				Verdict   election.Verdict `json:"verdict"`
				Reason    string           `json:"reason"`
				Delivered bool             `json:"delivered"`
			} `json:"decisions"`
		}
		shown := tallyOK(t, "supervisor", "show", head, "--db", supDB, "--json")
		require.NoError(t, json.Unmarshal([]byte(shown), &v))
		return len(v.Decisions) == 1 && v.Decisions[0].Delivered && v.Decisions[0].Verdict == election.Return &&
			v.Decisions[0].Reason == reason
	})
	app.stop(t)

	// The station's next sync brings it: the form is returned.
	tallyOK(t, "sync", "--db", sdb, "--pin-file", pinFile)
	var st station.Status
	require.NoError(t, json.Unmarshal([]byte(tallyOK(t, "station", "status", "--db", sdb, "--json")), &st))
	require.Len(t, st.Forms, len(me.Forms))
	assert.Equal(t, station.StateReturned, st.Forms[0].State)
	assert.Equal(t, reason, st.Forms[0].Reason)
}

// TestRealWindowSupervisorSetup provisions and enrolls a supervisor from
// inside the app, in a real X window against a real tallyd process: the
// definition downloaded from the server, the fingerprint typed, the
// municipality found by its code, the name and the PIN twice, the
// one-time code; the sync then fetches, with the key just made, a
// station's submission and the conflict the commission recorded when
// another envelope for the same version came, and the conflicts screen
// shows it.
func TestRealWindowSupervisorSetup(t *testing.T) {
	ctx := context.Background()
	r := newSubmittedRig(t, 13)
	e, dir, addr, td, tallydBin := r.e, r.dir, r.addr, r.td, r.tallydBin
	me, sdb, layout := r.me, r.sdb, r.layout

	// The station's key signs another version 1, as a copied laptop
	// would: the commission refuses it as a conflict.
	stdb, err := stationdb.Open(ctx, sdb)
	require.NoError(t, err)
	stKey, err := station.New(stdb, stationOptions).Unlock(ctx, []byte(goodPIN))
	require.NoError(t, err)
	require.NoError(t, stdb.Close())
	other := election.DemoForm(e.Def, layout, me, 7)
	other.PhotoSHA256 = strings.Repeat("ab", 32)
	payload, err := json.Marshal(election.Submission{Format: election.SubmissionFormat, Form: *other, Version: 1,
		SealedAt: time.Now().UTC().Truncate(time.Second), Sequence: 9})
	require.NoError(t, err)
	conflicting, err := seal.Sign(election.SubmissionPayloadType, payload, stKey)
	require.NoError(t, err)
	cl, err := client.New(client.Config{Servers: e.Def.Election.Servers, ElectionID: e.Def.Election.ID,
		ReceiptKey: e.Def.Election.Keys.Receipt})
	require.NoError(t, err)
	out := cl.Submit(ctx, seal.Digest(conflicting), conflicting)
	cl.Close()
	require.Equal(t, 409, out.Status, "%v", out.Err)

	// The supervisor's one-time code, as the commission prints it.
	codes := filepath.Join(dir, "supervisor-codes.csv")
	res, err := exec.Command(tallydBin, "codes", "issue", "--role", "supervisor", "--unit", me.Municipality,
		"--out", codes, "--db", td.DB).CombinedOutput()
	require.NoError(t, err, "%s", res)
	csv, err := os.ReadFile(codes)
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSpace(string(csv)), "\n")
	require.Len(t, lines, 2, "a header and the supervisor's code")
	fields := strings.Split(lines[1], ",")
	code := fields[len(fields)-1]

	// The app on a laptop with nothing on it: the wizard.
	data := filepath.Join(dir, "supervisor")
	supDB := filepath.Join(data, "supervisor.db")
	x := startXvfb(t)
	app := x.startApp(t, "--supervisor", "--data", data)
	sq, err := i18n.New("sq")
	require.NoError(t, err)
	screen := func(name string) string { return sq.T("ui.sup.screen."+name, nil) }
	x.waitTitle(t, app, screen("setup-definition"))
	assert.NoFileExists(t, supDB, "nothing on disk before the provisioning")
	x.handshake(t, app, "ui.sup.screen.setup-definition")

	// The address has the focus; no pins for plain http on this computer.
	x.typeLine(t, "http://"+addr)
	x.key(t, "Return")
	x.key(t, "Return")
	x.waitTitle(t, app, screen("setup-fingerprint"))
	x.typeLine(t, e.Fingerprint())
	x.waitTitle(t, app, screen("setup-municipality"))
	x.typeLine(t, me.Municipality) // the filter, Enter takes the first line; "next" then has the focus
	x.shot(t, "supervisor-setup-municipality")
	x.key(t, "Return")
	x.waitTitle(t, app, screen("setup-supervisor"))
	x.typeLine(t, "Drita Berisha")
	x.typeLine(t, goodPIN)
	x.typeLine(t, goodPIN)
	x.waitTitle(t, app, screen("setup-enroll"))
	require.FileExists(t, supDB)
	x.shot(t, "supervisor-setup-enroll")
	x.typeLine(t, code)
	x.waitTitle(t, app, screen("dashboard"))

	// Enrolled with the key just made: the sync fetches at once, without
	// the PIN asked again, the submission and the conflict.
	waitFor(t, "the conflict and the submission fetched", func() bool {
		var c struct {
			Conflicts []conflictJSON `json:"conflicts"`
		}
		require.NoError(t, json.Unmarshal([]byte(tallyOK(t, "supervisor", "conflicts", "--db", supDB, "--json")), &c))
		if len(c.Conflicts) != 1 || c.Conflicts[0].Stored == "" {
			return false
		}
		var d dashboardJSON
		require.NoError(t, json.Unmarshal([]byte(tallyOK(t, "supervisor", "dashboard", "--db", supDB, "--json")), &d))
		for _, st := range d.Stations {
			if st.Code == me.Code {
				return st.State == review.Conflict && st.Forms[0].Fetched
			}
		}
		return false
	})
	var c struct {
		Conflicts []conflictJSON `json:"conflicts"`
	}
	require.NoError(t, json.Unmarshal([]byte(tallyOK(t, "supervisor", "conflicts", "--db", supDB, "--json")), &c))
	assert.Equal(t, seal.Digest(conflicting), c.Conflicts[0].Digest)
	assert.Equal(t, review.ConflictSameVersion, c.Conflicts[0].Kind)

	// The search has the focus, the conflicts' button is next. A screen
	// names itself in the title once it shows what it read from the store.
	x.key(t, "Tab")
	x.key(t, "Return")
	x.waitTitle(t, app, screen("conflicts"))
	x.shot(t, "supervisor-conflicts")
	x.key(t, "ctrl+h")
	x.waitTitle(t, app, screen("dashboard"))
	x.shot(t, "supervisor-dashboard-conflict")
	x.key(t, "Tab")
	x.key(t, "Return")
	x.waitTitle(t, app, screen("conflicts"))
	x.key(t, "Return") // "open the station" has the focus
	x.waitTitle(t, app, screen("station"))
	app.stop(t)
}

// submittedRig is a real tallyd process with a one-municipality election
// and its first polling station, provisioned and enrolled headless, that
// typed, sealed and sent its first form.
type submittedRig struct {
	e                        *harness.Election
	dir, addr, tallydBin     string
	td                       *harness.Tallyd
	definition, pinFile, sdb string
	me                       *election.Station
	key                      station.FormKey
	layout                   *election.Layout
}

func newSubmittedRig(t *testing.T, seed uint64) *submittedRig {
	t.Helper()
	r := &submittedRig{dir: t.TempDir(), addr: freeAddr(t)}
	var err error
	r.e, err = harness.NewElection(harness.ElectionOptions{Seed: seed, Municipalities: 1,
		Servers: []election.Server{{URL: "http://" + r.addr}}})
	require.NoError(t, err)
	r.tallydBin, err = harness.BuildTallyd(r.dir)
	require.NoError(t, err)
	r.td, err = harness.Import(r.tallydBin, r.dir, r.e)
	require.NoError(t, err)
	r.td.Listen(r.addr)
	require.NoError(t, r.td.Start())
	t.Cleanup(func() { _ = r.td.Stop() })
	r.definition = filepath.Join(r.dir, "election.json")
	r.pinFile = filepath.Join(r.dir, "pin.txt")
	require.NoError(t, os.WriteFile(r.pinFile, []byte(goodPIN+"\n"), 0o600))

	r.me = r.e.PollingStations()[0]
	r.sdb = filepath.Join(r.dir, "station.db")
	tallyOK(t, "station", "init", "--db", r.sdb, "--definition", r.definition, "--fingerprint", r.e.Fingerprint(),
		"--station", r.me.Code, "--by", chair, "--pin-file", r.pinFile)
	tallyOK(t, "station", "enroll", "--db", r.sdb, "--code", r.e.Codes[r.me.Code], "--pin-file", r.pinFile)
	r.key = station.FormKey{Contest: r.me.Forms[0].Contest, Form: r.me.Forms[0].Form}
	r.layout, err = r.e.Def.Layout(r.key.Contest, r.key.Form)
	require.NoError(t, err)
	paper := election.DemoForm(r.e.Def, r.layout, r.me, 6)
	counts := map[string]int{}
	for k, v := range paper.Counts {
		counts[string(k)] = v
	}
	raw, err := json.Marshal(map[string]any{"counts": counts, "members_present": paper.Members})
	require.NoError(t, err)
	countsFile, photo := filepath.Join(r.dir, "counts.json"), filepath.Join(r.dir, "paper-form.png")
	require.NoError(t, os.WriteFile(countsFile, raw, 0o600))
	require.NoError(t, os.WriteFile(photo, pngPhoto(t), 0o600))
	tallyOK(t, "station", "enter", "--db", r.sdb, "--contest", r.key.Contest, "--file", countsFile, "--as", "first",
		"--by", chair, "--photo", photo)
	tallyOK(t, "station", "enter", "--db", r.sdb, "--contest", r.key.Contest, "--file", countsFile, "--as", "second",
		"--by", second)
	tallyOK(t, "station", "seal", "--db", r.sdb, "--contest", r.key.Contest, "--pin-file", r.pinFile)
	tallyOK(t, "sync", "--db", r.sdb, "--pin-file", r.pinFile)
	return r
}
