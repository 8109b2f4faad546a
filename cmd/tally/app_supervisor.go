package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"syscall"

	"fyne.io/fyne/v2"
	fyneapp "fyne.io/fyne/v2/app"

	"tally/app/review"
	"tally/app/seal"
	"tally/storage/reviewdb"
	"tally/sync/reviewer"
	"tally/ui"
)

// startSupervisorSync starts the supervisor's sync worker (sync/reviewer)
// in the background until ctx ends, shows its state on the screens, and
// returns it as the screens' outbox. Without a usable server in the
// definition the screens open on what was fetched before, and decisions
// wait in the outbox.
func startSupervisorSync(ctx context.Context, svc *review.Service, show func(ui.SupervisorSyncStatus), stderr io.Writer) ui.Outbox {
	cl, _, err := supervisorClient(ctx, svc)
	if err != nil {
		show(ui.SupervisorSyncStatus{LastError: err.Error()})
		return nil
	}
	w := reviewer.New(svc, cl, reviewer.Options{OnState: func(st reviewer.State) { show(supervisorStatus(st)) }})
	go func() {
		defer cl.Close()
		if err := w.Run(ctx); err != nil && ctx.Err() == nil {
			fmt.Fprintln(stderr, "tally: supervisor sync:", err)
		}
	}()
	return w
}

// supervisorStatus is the worker's state as the screens show it.
func supervisorStatus(st reviewer.State) ui.SupervisorSyncStatus {
	out := ui.SupervisorSyncStatus{Known: true, Online: st.Online, NeedsKey: st.NeedsKey, Syncing: st.Syncing,
		FetchedAt: st.FetchedAt, Decisions: st.Decisions, NextTry: st.NextTry, LastError: st.LastError}
	for _, r := range st.Refused {
		out.Refused = append(out.Refused, ui.RefusedDecision{Digest: r.Digest, Reason: r.Reason})
	}
	return out
}

// supervisorApp opens the municipal supervisor's screens: `tally app
// --supervisor [--data DIR]`, on DIR/supervisor.db (default: beside the
// station's database).
func supervisorApp(dataDir string) error {
	path, err := appSupervisorPath(dataDir)
	if err != nil {
		return err
	}
	notProvisioned := fmt.Errorf("there is no supervisor on this laptop (%s): run `tally supervisor init` first", path)
	switch _, err := os.Stat(path); {
	case errors.Is(err, fs.ErrNotExist):
		return notProvisioned
	case err != nil:
		return err
	}
	tuneMemory()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	db, err := reviewdb.Open(ctx, path)
	if err != nil {
		return fmt.Errorf("supervisor database %s: %w", path, err)
	}
	defer func() { _ = db.Close() }()
	svc := review.New(db, review.Options{})
	if _, err := svc.Provisioning(ctx); errors.Is(err, review.ErrNotProvisioned) {
		return notProvisioned
	} else if err != nil {
		return err
	}

	a := fyneapp.NewWithID("org.tally.app")
	win := a.NewWindow("Tally")
	win.Resize(fyne.NewSize(1280, 900))
	outbox := &supervisorOutbox{}
	screens := ui.NewSupervisor(a, win, svc, ui.SupervisorOptions{Outbox: outbox, Version: version})
	// The app starts without the supervisor's key: the dashboard asks for
	// the PIN from the first frame, before the worker says so.
	screens.SetSyncStatus(ui.SupervisorSyncStatus{NeedsKey: true})
	outbox.attach(startSupervisorSync(ctx, svc, screens.SetSyncStatus, os.Stderr))
	go func() { // an interrupt closes the window as its close button would
		<-ctx.Done()
		screens.Interrupt()
	}()
	screens.Start()
	win.ShowAndRun()
	return nil
}

// appSupervisorPath is DIR/supervisor.db, else supervisor.db beside the
// station's database.
func appSupervisorPath(dataDir string) (string, error) {
	if dataDir != "" {
		return filepath.Join(dataDir, "supervisor.db"), nil
	}
	station, err := defaultDBPath()
	if err != nil {
		return "", err
	}
	return filepath.Join(filepath.Dir(station), "supervisor.db"), nil
}

// supervisorOutbox hands the screens' key and wake-ups to the sync
// worker, keeping them until a worker is attached.
type supervisorOutbox struct {
	mu   sync.Mutex
	w    ui.Outbox
	key  *seal.PrivateKey
	wake bool
}

func (o *supervisorOutbox) attach(w ui.Outbox) {
	if w == nil {
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	o.w = w
	if o.key != nil {
		w.SetKey(o.key)
	}
	if o.wake {
		w.Wake()
	}
}

func (o *supervisorOutbox) Wake() {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.w == nil {
		o.wake = true
		return
	}
	o.w.Wake()
}

func (o *supervisorOutbox) SetKey(key *seal.PrivateKey) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.key = key
	if o.w != nil {
		o.w.SetKey(key)
	}
}
