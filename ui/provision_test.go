package ui

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tally/app/election"
	"tally/app/election/electiontest"
	"tally/app/seal"
	"tally/app/station"
	"tally/storage/stationdb"
)

// firstRun is the app on a laptop with no station record: the screens
// start with the wizard, and the hooks stand in for the network and the
// disk as cmd/tally supplies them.
type firstRun struct {
	*rig
	path   string // where the station's database is made
	signed []byte
	def    *election.Definition

	mu         sync.Mutex
	downloads  []string // url and pins of each download
	provisions int
	enrolled   []string // the codes sent
	enrollKey  *seal.PrivateKey
}

func newFirstRun(t *testing.T) *firstRun {
	t.Helper()
	def, signed, err := electiontest.Election(electiontest.Options{Kind: election.Assembly, Municipalities: 2})
	require.NoError(t, err)
	f := &firstRun{rig: &rig{t: t, app: test.NewTempApp(t), outbox: &outbox{}},
		path: filepath.Join(t.TempDir(), "tally", "station.db"), signed: signed, def: def}
	setup := &Setup{
		Download: func(_ context.Context, url string, pins []string) ([]byte, error) {
			f.mu.Lock()
			defer f.mu.Unlock()
			f.downloads = append(f.downloads, url+" "+strings.Join(pins, " "))
			if url != "https://results.example:8443" {
				return nil, errors.New("dial tcp: lookup " + url + ": no such host")
			}
			return f.signed, nil
		},
		Provision: f.provision,
		Enroll: func(ctx context.Context, key *seal.PrivateKey, code string) error {
			f.mu.Lock()
			f.enrolled = append(f.enrolled, code)
			f.enrollKey = key
			f.mu.Unlock()
			if code != "7XX5G-GY5AV-ADF0D" {
				return errors.New("the commission's server refused the enrollment (403 Forbidden): unknown code")
			}
			return f.svc.RecordEnrollment(ctx, "https://results.example:8443")
		},
	}
	f.win = test.NewTempWindow(t, widget.NewLabel(""))
	f.win.Resize(fyne.NewSize(1280, 900))
	f.ui = NewStation(f.app, f.win, nil, Options{Outbox: f.outbox, Version: "test", Setup: setup})
	f.ui.ops.handOver()
	f.ui.Start()
	f.ui.Wait()
	return f
}

// provision makes the station's database on first use, as the app does,
// and removes it again when the provisioning fails.
func (f *firstRun) provision(ctx context.Context, req station.ProvisionRequest) (*station.Service, station.Store, error) {
	f.mu.Lock()
	f.provisions++
	f.mu.Unlock()
	if err := os.MkdirAll(filepath.Dir(f.path), 0o700); err != nil {
		return nil, nil, err
	}
	db, err := stationdb.Open(ctx, f.path)
	if err != nil {
		return nil, nil, err
	}
	svc := station.New(db, station.Options{KDF: seal.KDFParams{Time: 1, MemoryKiB: 64, Threads: 1}})
	if _, err := svc.Provision(ctx, req); err != nil {
		_ = db.Close()
		_ = os.Remove(f.path)
		return nil, nil, err
	}
	f.t.Cleanup(func() { _ = db.Close() })
	f.svc, f.db = svc, db
	return svc, db, nil
}

// chosen is the station the test provisions: the first polling station
// of the second municipality, so that the lists must be used to reach it.
func (f *firstRun) chosen() (*election.Municipality, election.VotingCentre, *election.Station) {
	m := &f.def.Municipalities[1]
	for _, st := range f.def.Stations {
		if st.Municipality == m.Code && st.Kind == election.Polling {
			for _, c := range f.def.VotingCentres {
				if c.Code == st.Centre {
					return m, c, &st
				}
			}
		}
	}
	f.t.Fatal("no polling station in the second municipality")
	return nil, election.VotingCentre{}, nil
}

func (f *firstRun) stepTitle(step int, key string) string {
	return f.ui.w.T("ui.setup.step", map[string]any{"Step": step, "Steps": steps, "Title": f.ui.w.T(key, nil)})
}

// throughFingerprint downloads the definition and types the fingerprint.
func (f *firstRun) throughFingerprint() {
	f.t.Helper()
	require.True(f.t, f.shows(f.stepTitle(1, "ui.setup.definition")))
	f.typeEnter("https://results.example:8443")
	f.typeEnter("sha256/pAIBqS5GDhQG3YaVZ0ybX9iQSSRm2H0Uwpt0WJvDYvs=")
	f.typeEnter("sha256/9l1o5pR6UIvN6ZpIDQUbZXWBQ9pxRyqkeoGbHnlO2Qk=")
	require.True(f.t, f.shows(f.stepTitle(2, "ui.setup.fingerprint")))
	f.typeEnter(strings.ToLower(electiontest.Fingerprint()))
	require.True(f.t, f.shows(f.stepTitle(3, "ui.setup.station")))
}

// TestProvisioningWizard provisions a laptop from nothing through the
// widgets, with the keyboard: a failed download, the download with its
// pins, a wrong fingerprint refused, the station chosen through the three
// lists, a weak PIN and a mistyped repeat refused, the enrollment with a
// wrong code and then the right one; then the station's home.
func TestProvisioningWizard(t *testing.T) {
	f := newFirstRun(t)
	m, centre, want := f.chosen()

	// Step 1: a server that does not answer says so, with the details.
	require.True(t, f.shows(f.stepTitle(1, "ui.setup.definition")))
	f.typeEnter("https://results.example.invalid")
	f.typeEnter("")
	f.typeEnter("")
	assert.True(t, f.shows(f.ui.w.T("ui.setup.download-failed", nil)))
	assert.True(t, f.shows("no such host"), "the technical details are shown")
	assert.True(t, f.shows(f.ui.w.T("ui.details", nil)))
	// The address is kept; retype it, then the two pins.
	entry := f.focused().(*fieldEntry)
	assert.Equal(t, "https://results.example.invalid", entry.Text)
	entry.SetText("")
	f.typeEnter("https://results.example:8443")
	f.typeEnter("sha256/pAIBqS5GDhQG3YaVZ0ybX9iQSSRm2H0Uwpt0WJvDYvs=")
	f.typeEnter("sha256/9l1o5pR6UIvN6ZpIDQUbZXWBQ9pxRyqkeoGbHnlO2Qk=")
	require.Len(t, f.downloads, 2)
	assert.Equal(t, "https://results.example:8443 sha256/pAIBqS5GDhQG3YaVZ0ybX9iQSSRm2H0Uwpt0WJvDYvs= "+
		"sha256/9l1o5pR6UIvN6ZpIDQUbZXWBQ9pxRyqkeoGbHnlO2Qk=", f.downloads[1])

	// Step 2: the definition key's fingerprint, large; a wrong one typed
	// is refused, and nothing is made on disk.
	require.True(t, f.shows(f.stepTitle(2, "ui.setup.fingerprint")))
	groups := strings.Fields(electiontest.Fingerprint())
	assert.True(t, f.shows(strings.Join(groups[:5], "  ")), "the first half of the fingerprint, large")
	assert.True(t, f.shows(strings.Join(groups[5:], "  ")), "the second half")
	wrong := []rune(strings.ReplaceAll(electiontest.Fingerprint(), " ", ""))
	wrong[39] = map[bool]rune{true: '1', false: '0'}[wrong[39] == '0']
	f.typeEnter(string(wrong))
	assert.True(t, f.shows(f.ui.w.T("ui.setup.fingerprint-mismatch", nil)))
	assert.True(t, f.shows(f.stepTitle(2, "ui.setup.fingerprint")), "still on the fingerprint")
	assert.Zero(t, f.provisions)
	assert.NoFileExists(t, f.path)
	entry = f.focused().(*fieldEntry)
	entry.SetText("")
	f.typeEnter(electiontest.Fingerprint())

	// Step 3: municipality, voting centre, station, each by filtering its
	// list and Enter.
	require.True(t, f.shows(f.stepTitle(3, "ui.setup.station")))
	assert.True(t, f.shows(m.Code+"  "+f.ui.w.name(m.Name)))
	f.typeEnter(f.ui.w.name(m.Name))
	assert.True(t, f.shows(centre.Code+"  "+centre.Name), "the centres of the municipality are listed")
	f.typeEnter(centre.Code)
	assert.True(t, f.shows(want.Code+"  "+want.Name), "the stations of the centre are listed")
	f.typeEnter(want.Code)
	chosen := f.ui.w.T("ui.setup.station.chosen", map[string]any{"Code": want.Code, "Name": want.Name,
		"Registered": f.ui.w.Int(want.Registered)})
	assert.True(t, f.shows(chosen))
	f.key(fyne.KeyReturn) // "next" has the focus

	// Step 4: the rule is on screen before the PIN is typed; a weak PIN
	// and a mistyped repeat are refused before anything is made.
	require.True(t, f.shows(f.stepTitle(4, "ui.setup.chair-step")))
	assert.True(t, f.shows(f.ui.w.T("ui.setup.pin-rule", map[string]any{"Min": seal.MinPINLength})))
	f.typeEnter("Arta Krasniqi")
	f.typeEnter("123456")
	f.typeEnter("123456")
	assert.True(t, f.shows(f.ui.w.T("ui.setup.pin-too-weak", nil)))
	f.typeEnter("abc")
	f.typeEnter("abc")
	assert.True(t, f.shows(f.ui.w.T("ui.setup.pin-too-short", map[string]any{"Min": seal.MinPINLength})))
	f.typeEnter(testPIN)
	f.typeEnter(testPIN + "0")
	assert.True(t, f.shows(f.ui.w.T("ui.setup.pin-differs", nil)))
	assert.Zero(t, f.provisions)
	assert.NoFileExists(t, f.path)
	f.typeEnter(testPIN)
	f.typeEnter(testPIN)
	require.Equal(t, 1, f.provisions)

	// The station is provisioned: the store says so.
	_, me, err := f.svc.Scope(context.Background())
	require.NoError(t, err)
	assert.Equal(t, want.Code, me.Code)
	st := f.status()
	assert.Nil(t, st.Provisioned.EnrolledAt)
	assert.NotNil(t, f.outbox.key.Load(), "the new key is handed to the outbox, for the photos")

	// Step 5: a wrong code is refused with the details; the right one
	// enrolls the key that was just made.
	require.True(t, f.shows(f.stepTitle(5, "ui.setup.enroll-title")))
	assert.True(t, f.shows(st.Fingerprint))
	f.typeEnter("AAAAA-BBBBB-CCCCC")
	assert.True(t, f.shows(f.ui.w.T("ui.setup.enroll-failed", nil)))
	assert.True(t, f.shows("unknown code"))
	entry = f.focused().(*fieldEntry)
	entry.SetText("")
	f.typeEnter("7XX5G-GY5AV-ADF0D")
	require.Equal(t, []string{"AAAAA-BBBBB-CCCCC", "7XX5G-GY5AV-ADF0D"}, f.enrolled)
	assert.Equal(t, st.StationKey, seal.EncodePublicKey(f.enrollKey.Public()))
	assert.NotNil(t, f.status().Provisioned.EnrolledAt)

	// Home: the station's forms, nothing more to enroll.
	assert.True(t, f.shows(f.ui.w.T("ui.home.forms", nil)))
	assert.True(t, f.shows(f.ui.w.T("ui.setup.enrolled", nil)))
	assert.False(t, f.shows(f.ui.w.T("ui.home.not-enrolled", nil)))
	assert.Equal(t, int32(1), f.outbox.woken.Load())
}

// TestEnrollLater skips the enrollment in the wizard (no network yet);
// home then offers it, and it asks for the chair's PIN.
func TestEnrollLater(t *testing.T) {
	f := newFirstRun(t)
	m, centre, want := f.chosen()
	f.throughFingerprint()
	// Each list filtered by a code alone.
	f.typeEnter(m.Code)
	f.typeEnter(centre.Code)
	f.typeEnter(want.Code)
	f.key(fyne.KeyReturn)
	f.typeEnter("Arta Krasniqi")
	f.typeEnter(testPIN)
	f.typeEnter(testPIN)
	require.True(t, f.shows(f.stepTitle(5, "ui.setup.enroll-title")))

	// Later: home, which says the station is not enrolled.
	var later *keyButton
	walk(f.win.Content(), func(o fyne.CanvasObject) {
		if b, ok := o.(*keyButton); ok && b.Text == f.ui.w.T("ui.setup.enroll-later", nil) {
			later = b
		}
	})
	require.NotNil(t, later)
	test.Tap(later)
	f.ui.Wait()
	require.True(t, f.shows(f.ui.w.T("ui.home.not-enrolled", nil)))
	assert.Empty(t, f.enrolled)

	// From home: the code and the PIN; a wrong PIN is refused.
	var enroll *keyButton
	walk(f.win.Content(), func(o fyne.CanvasObject) {
		if b, ok := o.(*keyButton); ok && b.Text == f.ui.w.T("ui.home.enroll", nil) {
			enroll = b
		}
	})
	require.NotNil(t, enroll)
	test.Tap(enroll)
	f.ui.Wait()
	f.typeEnter("7XX5G-GY5AV-ADF0D")
	f.typeEnter("0000-1111")
	assert.True(t, f.shows(f.ui.w.T("ui.seal.wrong-pin", nil)))
	assert.Empty(t, f.enrolled)
	f.win.Canvas().FocusNext() // the code is kept; on to the PIN
	f.typeEnter(testPIN)
	require.Equal(t, []string{"7XX5G-GY5AV-ADF0D"}, f.enrolled)
	assert.NotNil(t, f.status().Provisioned.EnrolledAt)
	assert.False(t, f.shows(f.ui.w.T("ui.home.not-enrolled", nil)))
}

// TestImportDefinitionFile provisions from a file instead of the server.
func TestImportDefinitionFile(t *testing.T) {
	f := newFirstRun(t)
	file := filepath.Join(t.TempDir(), "election.json")
	require.NoError(t, os.WriteFile(file, f.signed, 0o600))
	broken := filepath.Join(t.TempDir(), "broken.json")
	require.NoError(t, os.WriteFile(broken, append([]byte{}, f.signed[:len(f.signed)/2]...), 0o600))

	walkEntries(f.rig, func(e *fieldEntry) {
		if e.PlaceHolder == f.ui.w.T("ui.setup.file-path", nil) {
			f.win.Canvas().Focus(e)
		}
	})
	f.typeEnter(broken)
	assert.True(t, f.shows(f.ui.w.T("ui.setup.definition-invalid", nil)))
	assert.Empty(t, f.downloads)
	e := f.focused().(*fieldEntry)
	e.SetText("")
	f.typeEnter(file)
	require.True(t, f.shows(f.stepTitle(2, "ui.setup.fingerprint")))
	assert.Empty(t, f.downloads)
}
