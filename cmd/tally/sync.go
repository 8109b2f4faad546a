package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"tally/app/election"
	"tally/app/seal"
	"tally/app/station"
	"tally/cmd/internal/cli"
	"tally/sync/client"
	"tally/sync/worker"
)

// newClient makes the commission's client from the station's definition:
// its servers, their TLS pins and the receipt key.
func newClient(ctx context.Context, svc *station.Service) (*client.Client, *election.Definition, error) {
	def, _, err := svc.Scope(ctx)
	if err != nil {
		return nil, nil, err
	}
	cl, err := client.New(client.Config{Servers: def.Election.Servers, ElectionID: def.Election.ID,
		ReceiptKey: def.Election.Keys.Receipt, UserAgent: "tally/" + version})
	return cl, def, err
}

// unlock reads the chair's PIN and opens the station's key.
func unlock(ctx context.Context, sdb *stationDB, pinFile string, s *streams) (*seal.PrivateKey, error) {
	pin, err := readPIN(pinFile, s)
	if err != nil {
		return nil, err
	}
	defer clear(pin)
	key, err := sdb.svc.Unlock(ctx, pin)
	if errors.Is(err, seal.ErrWrongPIN) {
		return nil, errors.New("the PIN is wrong")
	}
	return key, err
}

func stationEnroll(args []string, s *streams) error {
	fs := cli.Flags("station enroll")
	c := commonFlags(fs)
	code := fs.String("code", "", "the one-time enrollment code the commission printed for this station")
	pinFile := fs.String("pin-file", "", "read the chair's PIN from the first line of this file, not standard input")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	if err := required("station enroll", "code", *code); err != nil {
		return err
	}
	ctx := context.Background()
	return withStation(ctx, *c.db, false, func(sdb *stationDB) error {
		cl, def, err := newClient(ctx, sdb.svc)
		if err != nil {
			return err
		}
		key, err := unlock(ctx, sdb, *pinFile, s)
		if err != nil {
			return err
		}
		req, err := sdb.svc.EnrollmentRequest(ctx, key, *code)
		if err != nil {
			return err
		}
		k, err := cl.Enroll(ctx, req)
		if err != nil {
			return fmt.Errorf("the commission did not enroll this station: %w", err)
		}
		if err := sdb.svc.RecordEnrollment(ctx, def.Election.Servers[0].URL); err != nil {
			return err
		}
		if *c.asJSON {
			return printJSON(s.stdout, k)
		}
		fmt.Fprintf(s.stdout, "enrolled        %s %s with key %s\n", k.Role, k.Unit, seal.Fingerprint(k.KeyID))
		return nil
	})
}

func syncCommand(args []string, s *streams) error {
	fs := cli.Flags("sync")
	c := commonFlags(fs)
	follow := fs.Bool("follow", false, "keep sending as forms are sealed, until interrupted")
	pinFile := fs.String("pin-file", "", "read the chair's PIN to upload photos (without it, photos wait)")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return withStation(ctx, *c.db, false, func(sdb *stationDB) error {
		cl, _, err := newClient(ctx, sdb.svc)
		if err != nil {
			return err
		}
		var last worker.State
		w := worker.New(sdb.svc, cl, worker.Options{OnState: func(st worker.State) {
			if !*c.asJSON {
				printChanges(s.stdout, last, st)
			}
			last = st
		}})
		if *pinFile != "" {
			key, err := unlock(ctx, sdb, *pinFile, s)
			if err != nil {
				return err
			}
			w.SetKey(key)
		}
		if *follow {
			err = w.Run(ctx)
		} else {
			err = w.Drain(ctx)
		}
		if *c.asJSON {
			if jerr := printJSON(s.stdout, w.State()); jerr != nil {
				return jerr
			}
		} else {
			st := w.State()
			fmt.Fprintf(s.stdout, "outbox          %d waiting, %d photos to upload\n", st.Queued, st.Photos)
			switch {
			case st.ChecksNeedKey:
				fmt.Fprintln(s.stdout, "decisions       not read: reading the supervisors' decisions needs the PIN (--pin-file)")
			case !st.CheckedAt.IsZero():
				fmt.Fprintf(s.stdout, "decisions       %d from the supervisors, read at %s (tally station status shows them)\n",
					st.Decisions, st.CheckedAt.Local().Format("15:04:05"))
			}
			if st.LastError != "" {
				fmt.Fprintf(s.stdout, "last error      %s\n", st.LastError)
			}
		}
		return err
	})
}

// printChanges prints a line for each version whose phase changed.
func printChanges(w io.Writer, before, after worker.State) {
	old := map[string]worker.Phase{}
	for _, it := range before.Items {
		old[it.Digest] = it.Phase
	}
	for _, it := range after.Items {
		if old[it.Digest] == it.Phase || it.Phase == worker.Sending {
			continue
		}
		line := fmt.Sprintf("%-15s %s version %d", it.Phase, it.Key, it.Version)
		switch it.Phase {
		case worker.Waiting:
			line += fmt.Sprintf(": again at %s (%s)", it.RetryAt.Local().Format("15:04:05"), it.Reason)
		case worker.Refused:
			line += ": " + it.Reason
		}
		fmt.Fprintln(w, line)
	}
}
