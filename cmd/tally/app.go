package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"fyne.io/fyne/v2"
	fyneapp "fyne.io/fyne/v2/app"

	"tally/app/election"
	"tally/app/seal"
	"tally/app/station"
	"tally/cmd/internal/cli"
	"tally/storage/stationdb"
	"tally/sync/client"
	"tally/sync/worker"
	"tally/ui"
)

// started is when the process began, for --timing.
var started = time.Now()

// appCommand runs the desktop app: `tally app [--data DIR]`, and `tally`
// with no arguments.
func appCommand(args []string, s *streams) error {
	if len(args) > 0 && args[0] == "app" {
		args = args[1:]
	}
	fs := cli.Flags("app")
	data := fs.String("data", "", "the directory of the station's database (default: the directory of $"+dbEnv+", else <config dir>/tally)")
	timing := fs.Bool("timing", false, "print how long the start took, once the station's forms are on screen")
	supervisor := fs.Bool("supervisor", false, "open the municipal supervisor's screens on DIR/supervisor.db")
	if err := cli.Parse(fs, args); err != nil {
		return err
	} else if *supervisor {
		return supervisorApp(*data)
	}
	path, err := defaultDBPath()
	if err != nil {
		return err
	}
	if *data != "" {
		path = filepath.Join(*data, "station.db")
	}
	tuneMemory()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	serveHeapProfiles(ctx, s.stderr)
	rec := &appRecord{appDB[*stationdb.DB, *station.Service]{path: path, role: "station", open: stationdb.Open,
		serve: func(db *stationdb.DB) *station.Service { return station.New(db, stationOptions) }}}
	if err := rec.openExisting(ctx); err != nil {
		return err
	}
	defer rec.close()

	a := fyneapp.NewWithID("org.tally.app")
	win := a.NewWindow("Tally")
	win.Resize(fyne.NewSize(1280, 860))
	outbox := &syncBridge{}
	opts := ui.Options{Outbox: outbox, Version: version, Setup: &ui.Setup{
		Download: downloadDefinition,
		Enroll:   rec.enroll,
	}}
	if rec.db != nil {
		opts.Store = rec.db
	}
	if *timing {
		opts.OnReady = func() {
			fmt.Fprintf(s.stderr, "tally: forms on screen %d ms after the start\n", time.Since(started).Milliseconds())
		}
	}
	var screens *ui.Station
	// The first run makes the station's record only when the chair
	// provisions the laptop; the sync worker starts then.
	opts.Setup.Provision = func(ctx context.Context, req station.ProvisionRequest) (*station.Service, station.Store, error) {
		svc, store, err := rec.provision(ctx, func(svc *station.Service) error {
			_, err := svc.Provision(ctx, req)
			return err
		})
		if err == nil {
			go outbox.run(ctx, svc, screens, s)
		}
		return svc, store, err
	}
	screens = ui.NewStation(a, win, rec.svc, opts)
	if rec.svc != nil {
		go outbox.run(ctx, rec.svc, screens, s)
	}
	go func() { // an interrupt closes the window as its close button would
		<-ctx.Done()
		screens.Interrupt()
	}()
	screens.Start()
	win.ShowAndRun()
	return nil
}

// appRecord is the station's database as the app holds it.
type appRecord struct {
	appDB[*stationdb.DB, *station.Service]
}

// enroll binds the station's key at the commission with the printed
// one-time code, as `tally station enroll` does.
func (r *appRecord) enroll(ctx context.Context, key *seal.PrivateKey, code string) error {
	svc := r.service()
	if svc == nil {
		return station.ErrNotProvisioned
	}
	cl, def, err := newClient(ctx, svc)
	if err != nil {
		return err
	}
	defer cl.Close()
	req, err := svc.EnrollmentRequest(ctx, key, code)
	if err != nil {
		return err
	}
	if _, err := cl.Enroll(ctx, req); err != nil {
		return fmt.Errorf("the commission did not enroll this station: %w", err)
	}
	return svc.RecordEnrollment(ctx, def.Election.Servers[0].URL)
}

// downloadDefinition fetches the signed election definition from the
// commission's server, as `tally station init --server` does.
func downloadDefinition(ctx context.Context, url string, pins []string) ([]byte, error) {
	return client.FetchDefinition(ctx, client.Config{
		Servers: []election.Server{{URL: url, Pins: pins}}, UserAgent: "tally/" + version})
}

// syncBridge hands the screens' requests to the sync worker, which starts
// in the background once the station's definition is loaded.
type syncBridge struct {
	mu   sync.Mutex
	w    *worker.Worker
	key  *seal.PrivateKey
	wake bool
}

func (b *syncBridge) Wake() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.w == nil {
		b.wake = true
		return
	}
	b.w.Wake()
}

func (b *syncBridge) SetKey(key *seal.PrivateKey) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.key = key
	if b.w != nil {
		b.w.SetKey(key)
	}
}

// run starts the sync worker for a provisioned station and shows its
// state on the screens until ctx ends.
func (b *syncBridge) run(ctx context.Context, svc *station.Service, screens *ui.Station, s *streams) {
	cl, _, err := newClient(ctx, svc)
	switch {
	case errors.Is(err, station.ErrNotProvisioned):
		return // the provisioning starts the worker again
	case err != nil:
		// A definition without a usable server: the forms are kept and
		// the outbox waits.
		screens.SetSyncStatus(ui.SyncStatus{LastError: err.Error()})
		return
	}
	w := worker.New(svc, cl, worker.Options{OnState: func(st worker.State) {
		screens.SetSyncStatus(syncStatus(st))
	}})
	b.mu.Lock()
	if b.w != nil {
		b.mu.Unlock()
		return // running already
	}
	b.w = w
	if b.key != nil {
		w.SetKey(b.key)
	}
	if b.wake {
		w.Wake()
	}
	b.mu.Unlock()
	if err := w.Run(ctx); err != nil && ctx.Err() == nil {
		fmt.Fprintln(s.stderr, "tally: sync:", err)
	}
}

// syncStatus is the worker's state as the status bar shows it.
func syncStatus(st worker.State) ui.SyncStatus {
	out := ui.SyncStatus{Known: true, Online: st.Online, Queued: st.Queued, NextTry: st.NextTry,
		Photos: st.Photos, PhotosKey: st.PhotosNeedKey, LastError: st.LastError}
	for _, it := range st.Items {
		if it.Phase == worker.Sending {
			out.Uploading = true
		}
	}
	return out
}
