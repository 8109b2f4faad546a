package ui

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tally/app/election/electiontest"
	"tally/app/review"
	"tally/app/seal"
	"tally/storage/reviewdb"
)

// supFirstRun is the supervisor's app on a laptop with no supervisor's
// record: the screens start with the wizard; the hooks stand in for the
// network and the disk as cmd/tally supplies them, in front of a real
// commission.
type supFirstRun struct {
	*supRig
	path string // where the supervisor's database is made

	mu         sync.Mutex
	downloads  []string
	provisions int
	enrolled   []string
	enrollKey  *seal.PrivateKey
}

const supServer = "https://results.example:8443"

func newSupFirstRun(t *testing.T, withSetup bool) *supFirstRun {
	t.Helper()
	clock := newTestClock(time.Date(2026, 10, 4, 20, 0, 0, 0, time.UTC))
	dir := t.TempDir()
	e := newCommission(t, dir, clock.Now)
	f := &supFirstRun{supRig: &supRig{commissionRig: e, t: t, clock: clock, app: test.NewTempApp(t), outbox: &outbox{}},
		path: filepath.Join(dir, "tally", "supervisor.db")}
	opts := SupervisorOptions{Outbox: f.outbox, Version: "test", Now: clock.Now}
	if withSetup {
		_, signed := supElection()
		opts.Setup = &SupervisorSetup{
			Download: func(_ context.Context, url string, pins []string) ([]byte, error) {
				f.mu.Lock()
				defer f.mu.Unlock()
				f.downloads = append(f.downloads, url+" "+strings.Join(pins, " "))
				if url != supServer {
					return nil, errors.New("dial tcp: lookup " + url + ": no such host")
				}
				return signed, nil
			},
			Provision: f.provision,
			Enroll: func(ctx context.Context, key *seal.PrivateKey, code string) error {
				f.mu.Lock()
				f.enrolled = append(f.enrolled, code)
				f.enrollKey = key
				f.mu.Unlock()
				return f.enrollSupervisor(ctx, key, code)
			},
		}
	}
	f.win = test.NewTempWindow(t, widget.NewLabel(""))
	f.win.Resize(fyne.NewSize(1280, 1000))
	f.ui = NewSupervisor(f.app, f.win, nil, opts)
	f.ui.ops.handOver()
	f.ui.Start()
	f.ui.Wait()
	return f
}

// provision makes the supervisor's database on first use, as the app
// does, and removes it again when the provisioning fails.
func (f *supFirstRun) provision(ctx context.Context, req review.ProvisionRequest) (*review.Service, error) {
	f.mu.Lock()
	f.provisions++
	f.mu.Unlock()
	if err := os.MkdirAll(filepath.Dir(f.path), 0o700); err != nil {
		return nil, err
	}
	db, err := reviewdb.Open(ctx, f.path)
	if err != nil {
		return nil, err
	}
	svc := review.New(db, review.Options{Now: f.clock.Now, KDF: seal.KDFParams{Time: 1, MemoryKiB: 64, Threads: 1}})
	if _, err := svc.Provision(ctx, req); err != nil {
		_ = db.Close()
		_ = os.Remove(f.path)
		return nil, err
	}
	f.t.Cleanup(func() { _ = db.Close() })
	f.store, f.svc = db, svc
	return svc, nil
}

func (f *supFirstRun) stepTitle(step int, key string) string {
	return f.T("ui.setup.step", map[string]any{"Step": step, "Steps": steps, "Title": f.T(key, nil)})
}

func (f *supFirstRun) typeEnter(text string) {
	f.t.Helper()
	f.typeText(text)
	f.key(fyne.KeyReturn)
}

func (f *supFirstRun) provisioning() *review.Provisioning {
	f.t.Helper()
	p, err := f.svc.Provisioning(f.ctx)
	require.NoError(f.t, err)
	return p
}

// throughPIN takes the wizard from its first step to the enrollment.
func (f *supFirstRun) throughPIN() {
	f.t.Helper()
	f.typeEnter(supServer)
	f.typeEnter("")
	f.typeEnter("")
	require.True(f.t, f.onScreen("setup-fingerprint"), f.win.Title())
	f.typeEnter(electiontest.Fingerprint())
	require.True(f.t, f.onScreen("setup-municipality"), f.win.Title())
	f.typeEnter(f.muni)
	f.key(fyne.KeyReturn) // "next" has the focus
	require.True(f.t, f.onScreen("setup-supervisor"), f.win.Title())
	f.typeEnter("Drita Berisha")
	f.typeEnter(testPIN)
	f.typeEnter(testPIN)
	require.True(f.t, f.onScreen("setup-enroll"), f.win.Title())
}

// TestSupervisorProvisioningWizard provisions a supervisor's laptop from
// nothing through the widgets, with the keyboard and the station's
// wizard: a failed download, the download with its pins, a wrong
// fingerprint refused with nothing on disk, the municipality chosen
// through its filtered list, a weak and a mistyped PIN refused, a wrong
// enrollment code and then the right one, which the commission takes for
// the key just made; then the dashboard.
func TestSupervisorProvisioningWizard(t *testing.T) {
	f := newSupFirstRun(t, true)
	def, _ := supElection()
	m := &def.Municipalities[0]

	// Step 1: the address and the pins; a server that does not answer
	// says so, with the details.
	require.True(t, f.onScreen("setup-definition"), f.win.Title())
	assert.True(t, f.shows(f.stepTitle(1, "ui.setup.definition")))
	assert.True(t, f.shows(f.T("ui.setup.sup.definition-intro", nil)), "the supervisor's own words")
	f.typeEnter("https://results.example.invalid")
	f.typeEnter("")
	f.typeEnter("")
	assert.True(t, f.shows(f.T("ui.setup.download-failed", nil)))
	assert.True(t, f.shows("no such host"))
	entry := f.focused().(*fieldEntry)
	entry.SetText("")
	f.typeEnter(supServer)
	f.typeEnter("sha256/pAIBqS5GDhQG3YaVZ0ybX9iQSSRm2H0Uwpt0WJvDYvs=")
	f.typeEnter("sha256/9l1o5pR6UIvN6ZpIDQUbZXWBQ9pxRyqkeoGbHnlO2Qk=")
	require.Len(t, f.downloads, 2)
	assert.Equal(t, supServer+" sha256/pAIBqS5GDhQG3YaVZ0ybX9iQSSRm2H0Uwpt0WJvDYvs= "+
		"sha256/9l1o5pR6UIvN6ZpIDQUbZXWBQ9pxRyqkeoGbHnlO2Qk=", f.downloads[1])

	// Step 2: a wrong fingerprint is refused; nothing is made on disk.
	require.True(t, f.onScreen("setup-fingerprint"), f.win.Title())
	groups := strings.Fields(electiontest.Fingerprint())
	assert.True(t, f.shows(strings.Join(groups[:5], "  ")), "the fingerprint, large")
	f.typeEnter(seal.Fingerprint(electiontest.Key(9).ID()))
	assert.True(t, f.shows(f.T("ui.setup.fingerprint-mismatch", nil)))
	require.True(t, f.onScreen("setup-fingerprint"))
	assert.Zero(t, f.provisions)
	assert.NoFileExists(t, f.path)
	entry = f.focused().(*fieldEntry)
	entry.SetText("")
	f.typeEnter(electiontest.Fingerprint())

	// Step 3: the municipality, by filtering its list and Enter.
	require.True(t, f.onScreen("setup-municipality"), f.win.Title())
	assert.True(t, f.shows(f.stepTitle(3, "ui.setup.sup.municipality-step")))
	assert.True(t, f.shows(f.T("ui.setup.sup.municipality-none", nil)))
	other := &def.Municipalities[1]
	assert.True(t, f.shows(other.Code+"  "+f.ui.w.name(other.Name)), "every municipality is listed")
	f.typeEnter(f.ui.w.name(m.Name))
	stations := 0
	for _, st := range def.Stations {
		if st.Municipality == m.Code {
			stations++
		}
	}
	chosen := f.T("ui.setup.sup.municipality-chosen", map[string]any{"Code": m.Code, "Name": f.ui.w.name(m.Name),
		"Stations": f.ui.w.Int(stations)})
	assert.True(t, f.shows(chosen))
	f.key(fyne.KeyReturn) // "next" has the focus

	// Step 4: the name and the PIN twice, under the strength rule.
	require.True(t, f.onScreen("setup-supervisor"), f.win.Title())
	assert.True(t, f.shows(chosen), "the municipality chosen, named again")
	assert.True(t, f.shows(f.T("ui.setup.pin-rule", map[string]any{"Min": seal.MinPINLength})))
	assert.True(t, f.shows(f.T("ui.setup.sup.name", nil)))
	f.typeEnter("Drita Berisha")
	f.typeEnter("123456")
	f.typeEnter("123456")
	assert.True(t, f.shows(f.T("ui.setup.pin-too-weak", nil)))
	f.typeEnter(testPIN)
	f.typeEnter(testPIN + "0")
	assert.True(t, f.shows(f.T("ui.setup.pin-differs", nil)))
	assert.Zero(t, f.provisions)
	assert.NoFileExists(t, f.path)
	f.typeEnter(testPIN)
	f.typeEnter(testPIN)
	require.Equal(t, 1, f.provisions)
	require.FileExists(t, f.path)

	// Provisioned: the store says so, and the key went to the sync.
	p := f.provisioning()
	assert.Equal(t, m.Code, p.Municipality)
	assert.Equal(t, "Drita Berisha", p.ProvisionedBy)
	assert.Nil(t, p.EnrolledAt)
	require.NotNil(t, f.outbox.key.Load(), "the new key is handed to the sync")
	assert.Equal(t, p.PublicKey, seal.EncodePublicKey(f.outbox.key.Load().Public()))

	// Step 5: a wrong code is refused with the details; the right one
	// enrolls the key just made, at the commission.
	require.True(t, f.onScreen("setup-enroll"), f.win.Title())
	pub, err := seal.ParsePublicKey(p.PublicKey)
	require.NoError(t, err)
	assert.True(t, f.shows(f.T("ui.setup.sup.key", map[string]any{"Fingerprint": seal.Fingerprint(pub.ID)})))
	f.typeEnter("AAAAA-BBBBB-CCCCC")
	assert.True(t, f.shows(f.T("ui.setup.sup.enroll-failed", nil)))
	assert.True(t, f.shows(f.T("ui.details", nil)))
	assert.Nil(t, f.provisioning().EnrolledAt)
	entry = f.focused().(*fieldEntry)
	entry.SetText("")
	f.typeEnter(f.codes["supervisor/"+m.Code])
	require.Equal(t, []string{"AAAAA-BBBBB-CCCCC", f.codes["supervisor/"+m.Code]}, f.enrolled)
	assert.Equal(t, p.PublicKey, seal.EncodePublicKey(f.enrollKey.Public()))
	assert.NotNil(t, f.provisioning().EnrolledAt)
	raw, err := f.comm.SignedKeyList(f.ctx)
	require.NoError(t, err)
	keys, err := f.svc.RecordKeyList(f.ctx, raw)
	require.NoError(t, err)
	found := false
	for _, k := range keys.Keys {
		found = found || k.ID == pub.ID && k.Unit == m.Code
	}
	assert.True(t, found, "the commission lists the supervisor's key for the municipality")

	// The dashboard, enrolled; the sync is woken to fetch at once.
	require.True(t, f.onScreen("dashboard"), f.win.Title())
	assert.True(t, f.shows(f.T("ui.setup.sup.enrolled", nil)))
	assert.False(t, f.shows(f.T("ui.sup.not-enrolled", nil)))
	assert.Equal(t, int32(1), f.outbox.woken.Load())
	assert.Len(t, f.listed(), f.allStations())
}

// TestSupervisorEnrollLater skips the enrollment in the wizard; the
// dashboard then says the laptop is not enrolled and offers it, with the
// PIN.
func TestSupervisorEnrollLater(t *testing.T) {
	f := newSupFirstRun(t, true)
	f.throughPIN()
	f.tap(f.T("ui.setup.sup.enroll-later", nil))
	require.True(t, f.onScreen("dashboard"), f.win.Title())
	require.True(t, f.shows(f.T("ui.sup.not-enrolled", nil)))
	assert.Empty(t, f.enrolled)
	// The sync tries nothing before the enrollment, and says so: not
	// "offline".
	f.ui.SetSyncStatus(SupervisorSyncStatus{Known: true, NotEnrolled: true})
	f.ui.Wait()
	assert.True(t, f.shows(f.T("ui.sup.sync.not-enrolled", nil)))
	assert.False(t, f.shows(f.T("ui.sup.offline", nil)))
	assert.False(t, f.shows(f.T("ui.sync.offline", nil)))

	f.tap(f.T("ui.home.enroll", nil))
	require.True(t, f.onScreen("enroll"), f.win.Title())
	code := f.codes["supervisor/"+f.muni]
	f.typeEnter(code)
	f.typeEnter("0000-1111")
	assert.True(t, f.shows(f.T("ui.seal.wrong-pin", nil)))
	assert.Empty(t, f.enrolled, "nothing sent without the key")
	f.win.Canvas().FocusNext() // the code is kept; on to the PIN
	f.typeEnter(testPIN)
	require.Equal(t, []string{code}, f.enrolled)
	assert.NotNil(t, f.provisioning().EnrolledAt)
	require.True(t, f.onScreen("dashboard"), f.win.Title())
	assert.False(t, f.shows(f.T("ui.sup.not-enrolled", nil)))
}

// TestSupervisorNotProvisioned: without the means to provision, the
// screen says which command does.
func TestSupervisorNotProvisioned(t *testing.T) {
	f := newSupFirstRun(t, false)
	require.True(t, f.onScreen("not-provisioned"), f.win.Title())
	assert.True(t, f.shows("tally supervisor init"))
}
