package main

import (
	"context"
	"fmt"
	"io"
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
	out := ui.SupervisorSyncStatus{Known: true, Online: st.Online, NeedsKey: st.NeedsKey, NotEnrolled: st.NotEnrolled,
		Syncing:   st.Syncing,
		FetchedAt: st.FetchedAt, Decisions: st.Decisions, NextTry: st.NextTry, LastError: st.LastError}
	for _, r := range st.Refused {
		out.Refused = append(out.Refused, ui.RefusedDecision{Digest: r.Digest, Reason: r.Reason})
	}
	return out
}

// supervisorApp opens the municipal supervisor's screens: `tally app
// --supervisor [--data DIR]`, on DIR/supervisor.db (default: beside the
// station's database). A laptop without one starts with the provisioning
// wizard, which makes it.
func supervisorApp(dataDir string) error {
	path, err := appSupervisorPath(dataDir)
	if err != nil {
		return err
	}
	tuneMemory()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rec := &supervisorRecord{appDB[*reviewdb.DB, *review.Service]{path: path, role: "supervisor", open: reviewdb.Open,
		serve: func(db *reviewdb.DB) *review.Service { return review.New(db, supervisorOptions) }}}
	if err := rec.openExisting(ctx); err != nil {
		return err
	}
	defer rec.close()

	a := fyneapp.NewWithID("org.tally.app")
	win := a.NewWindow("Tally")
	win.Resize(fyne.NewSize(1280, 900))
	outbox := &supervisorOutbox{}
	var screens *ui.Supervisor
	setup := &ui.SupervisorSetup{Download: downloadDefinition, Enroll: rec.enroll}
	// The first run makes the supervisor's record only once the laptop is
	// provisioned; the sync worker starts then.
	setup.Provision = func(ctx context.Context, req review.ProvisionRequest) (*review.Service, error) {
		svc, _, err := rec.provision(ctx, func(svc *review.Service) error {
			_, err := svc.Provision(ctx, req)
			return err
		})
		if err == nil {
			outbox.attach(startSupervisorSync(ctx, svc, screens.SetSyncStatus, os.Stderr))
		}
		return svc, err
	}
	screens = ui.NewSupervisor(a, win, rec.svc, ui.SupervisorOptions{Outbox: outbox, Version: version, Setup: setup})
	if rec.svc != nil {
		// The app starts without the supervisor's key: the dashboard asks
		// for the PIN from the first frame, before the worker says so.
		screens.SetSyncStatus(ui.SupervisorSyncStatus{NeedsKey: true})
		outbox.attach(startSupervisorSync(ctx, rec.svc, screens.SetSyncStatus, os.Stderr))
	}
	go func() { // an interrupt closes the window as its close button would
		<-ctx.Done()
		screens.Interrupt()
	}()
	screens.Start()
	win.ShowAndRun()
	return nil
}

// supervisorRecord is the supervisor's database as the app holds it.
type supervisorRecord struct {
	appDB[*reviewdb.DB, *review.Service]
}

// enroll binds the supervisor's key at the commission with the printed
// one-time code, as `tally supervisor enroll` does.
func (r *supervisorRecord) enroll(ctx context.Context, key *seal.PrivateKey, code string) error {
	svc := r.service()
	if svc == nil {
		return review.ErrNotProvisioned
	}
	cl, def, err := supervisorClient(ctx, svc)
	if err != nil {
		return err
	}
	defer cl.Close()
	req, err := svc.EnrollmentRequest(ctx, key, code)
	if err != nil {
		return err
	}
	if _, err := cl.Enroll(ctx, req); err != nil {
		return fmt.Errorf("the commission did not enroll this supervisor: %w", err)
	}
	return svc.RecordEnrollment(ctx, def.Election.Servers[0].URL)
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
