package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"fyne.io/fyne/v2"
	fyneapp "fyne.io/fyne/v2/app"

	"tally/app/seal"
	"tally/app/station"
	"tally/cmd/internal/cli"
	"tally/storage/stationdb"
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
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	path, err := defaultDBPath()
	if err != nil {
		return err
	}
	if *data != "" {
		path = filepath.Join(*data, "station.db")
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	db, err := stationdb.Open(ctx, path)
	if err != nil {
		return fmt.Errorf("station database %s: %w", path, err)
	}
	defer db.Close()
	svc := station.New(db, stationOptions)

	a := fyneapp.NewWithID("org.tally.app")
	win := a.NewWindow("Tally")
	win.Resize(fyne.NewSize(1280, 860))
	outbox := &syncBridge{}
	opts := ui.Options{Outbox: outbox, Version: version}
	if *timing {
		opts.OnReady = func() {
			fmt.Fprintf(s.stderr, "tally: forms on screen %d ms after the start\n", time.Since(started).Milliseconds())
		}
	}
	screens := ui.NewStation(a, win, svc, opts)
	go outbox.run(ctx, svc, screens, s)
	go func() { // an interrupt closes the window as its close button would
		<-ctx.Done()
		fyne.Do(screens.Close)
	}()
	screens.Start()
	win.ShowAndRun()
	return nil
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
	if err != nil {
		// Not provisioned yet, or a definition without a usable server:
		// the forms are kept and the outbox waits.
		screens.SetSyncStatus(ui.SyncStatus{LastError: err.Error()})
		return
	}
	w := worker.New(svc, cl, worker.Options{OnState: func(st worker.State) {
		screens.SetSyncStatus(syncStatus(st))
	}})
	b.mu.Lock()
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
