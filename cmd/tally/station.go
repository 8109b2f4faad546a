package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"tally/app/election"
	"tally/app/seal"
	"tally/app/station"
	"tally/cmd/internal/cli"
)

// stationCommands are the `tally station` commands.
var stationCommands = map[string]func(args []string, s *streams) error{
	"init":    stationInit,
	"enroll":  stationEnroll,
	"enter":   stationEnter,
	"photo":   stationPhoto,
	"resolve": stationResolve,
	"confirm": stationConfirm,
	"seal":    stationSeal,
	"correct": stationCorrect,
	"receipt": stationReceipt,
	"status":  stationStatus,
	"show":    stationShow,
	"print":   stationPrint,
}

func stationCommand(args []string, s *streams) error {
	names := make([]string, 0, len(stationCommands))
	for name := range stationCommands {
		names = append(names, name)
	}
	slices.Sort(names)
	if len(args) == 0 {
		return cli.Usagef("station: no command given (want: %s)", strings.Join(names, ", "))
	}
	cmd, ok := stationCommands[args[0]]
	if !ok {
		return cli.Usagef("unknown station command %q (want: %s)", args[0], strings.Join(names, ", "))
	}
	return cmd(args[1:], s)
}

// initResult is what `station init --json` prints.
type initResult struct {
	Election     string `json:"election"`
	ElectionName string `json:"election_name"`
	Station      string `json:"station"`
	StationName  string `json:"station_name"`
	StationKey   string `json:"station_key"`
	Fingerprint  string `json:"station_key_fingerprint"`
	Database     string `json:"database"`
}

func stationInit(args []string, s *streams) error {
	fs := cli.Flags("station init")
	c := commonFlags(fs)
	source := definitionFlags(fs)
	fingerprint := fs.String("fingerprint", "", "the fingerprint of the commission's definition key, as printed")
	code := fs.String("station", "", "this station's code")
	by := fs.String("by", "", "the chair's name")
	pinFile := fs.String("pin-file", "", "read the chair's new PIN from the first line of this file, not standard input")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	if err := source.check("station init"); err != nil {
		return err
	}
	if err := required("station init", "fingerprint", *fingerprint, "station", *code, "by", *by); err != nil {
		return err
	}
	ctx := context.Background()
	signed, err := source.load(ctx)
	if err != nil {
		return err
	}
	pin, err := readPIN(*pinFile, s)
	if err != nil {
		return err
	}
	defer clear(pin)
	return withStation(ctx, *c.db, true, func(sdb *stationDB) error {
		p, err := sdb.svc.Provision(ctx, station.ProvisionRequest{
			Definition: signed, Fingerprint: *fingerprint, Station: *code, PIN: pin, By: *by,
		})
		if err != nil {
			return pinRefused("the chair's", err)
		}
		sdb.keep = true
		def, st, err := sdb.svc.Scope(ctx)
		if err != nil {
			return err
		}
		pub, err := seal.ParsePublicKey(p.PublicKey)
		if err != nil {
			return err
		}
		out := initResult{
			Election: def.Election.ID, ElectionName: def.Election.Name["sq"], Station: st.Code, StationName: st.Name,
			StationKey: p.PublicKey, Fingerprint: seal.Fingerprint(pub.ID), Database: sdb.path,
		}
		if *c.asJSON {
			return printJSON(s.stdout, out)
		}
		w := s.stdout
		fmt.Fprintf(w, "provisioned     station %s, %s\n", out.Station, out.StationName)
		fmt.Fprintf(w, "election        %s, %s\n", out.Election, out.ElectionName)
		fmt.Fprintf(w, "station key     %s\n", out.Fingerprint)
		fmt.Fprintf(w, "database        %s\n", out.Database)
		return nil
	})
}

// parseEntry reads --as.
func parseEntry(cmd, as string) (station.Entry, error) {
	switch as {
	case "first":
		return station.First, nil
	case "second":
		return station.Second, nil
	case "":
		return 0, cli.Usagef("%s: --as is required (first or second)", cmd)
	}
	return 0, cli.Usagef("%s: --as %q is neither first nor second", cmd, as)
}

func stationEnter(args []string, s *streams) error {
	fs := cli.Flags("station enter")
	c := commonFlags(fs)
	ff := addFormFlags(fs)
	file := fs.String("file", "", "the counts file (JSON) of the entry")
	as := fs.String("as", "", "first or second: which entry this is")
	by := fs.String("by", "", "the name of the commissioner who types it")
	photo := fs.String("photo", "", "the photo or scan (JPEG, PNG or PDF) of the signed paper form, with the first entry")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	key, err := ff.key("station enter")
	if err != nil {
		return err
	}
	if err := required("station enter", "file", *file, "by", *by); err != nil {
		return err
	}
	entry, err := parseEntry("station enter", *as)
	if err != nil {
		return err
	}
	if *photo != "" && entry != station.First {
		return cli.Usagef("station enter: --photo goes with the first entry (or use `tally station photo`)")
	}
	typed, err := readCounts(*file, entry)
	if err != nil {
		return err
	}
	// The photo is read and checked before anything is entered, so that a
	// wrong file refuses the whole command.
	var photoData []byte
	if *photo != "" {
		if photoData, err = readPhoto(*photo); err != nil {
			return err
		}
	}
	ctx := context.Background()
	typed.Photo = photoData
	return withStation(ctx, *c.db, false, func(sdb *stationDB) error {
		if err := sdb.svc.Enter(ctx, key, entry, *by, typed.Typed); err != nil {
			return fmt.Errorf("%s: the %s entry is refused: %w", key, entry, err)
		}
		done := fmt.Sprintf("%s entry by %s saved", entry, *by)
		if photoData != nil {
			done += " with the photo"
		}
		return printForm(ctx, sdb, key, *c.asJSON, s.stdout, done)
	})
}

// readPhoto reads a photo or scan of a paper form and checks what
// AttachPhoto will check.
func readPhoto(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("photo: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, station.MaxPhotoSize+1))
	switch {
	case err != nil:
		return nil, fmt.Errorf("photo: %w", err)
	case len(data) == 0:
		return nil, fmt.Errorf("photo %s: the file is empty", path)
	case len(data) > station.MaxPhotoSize:
		return nil, fmt.Errorf("photo %s: larger than the %d MiB allowed", path, station.MaxPhotoSize>>20)
	case station.PhotoExtension(data) == "":
		return nil, fmt.Errorf("photo %s: not a JPEG, PNG or PDF file", path)
	}
	return data, nil
}

func stationPhoto(args []string, s *streams) error {
	fs := cli.Flags("station photo")
	c := commonFlags(fs)
	ff := addFormFlags(fs)
	file := fs.String("file", "", "the photo or scan (JPEG, PNG or PDF) of the signed paper form")
	by := fs.String("by", "", "the name of the commissioner who attaches it")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	key, err := ff.key("station photo")
	if err != nil {
		return err
	}
	if err := required("station photo", "file", *file, "by", *by); err != nil {
		return err
	}
	data, err := readPhoto(*file)
	if err != nil {
		return err
	}
	ctx := context.Background()
	return withStation(ctx, *c.db, false, func(sdb *stationDB) error {
		sha, err := sdb.svc.AttachPhoto(ctx, key, data, *by)
		if err != nil {
			return fmt.Errorf("%s: %w", key, err)
		}
		return printForm(ctx, sdb, key, *c.asJSON, s.stdout, "photo "+sha+" attached by "+*by)
	})
}

func stationResolve(args []string, s *streams) error {
	fs := cli.Flags("station resolve")
	c := commonFlags(fs)
	ff := addFormFlags(fs)
	field := fs.String("field", "", "the field whose entries differ, e.g. B or I.3")
	value := fs.String("value", "", "the number retyped from the paper form")
	by := fs.String("by", "", "the name of the commissioner who retypes it")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	key, err := ff.key("station resolve")
	if err != nil {
		return err
	}
	if err := required("station resolve", "field", *field, "value", *value, "by", *by); err != nil {
		return err
	}
	ctx := context.Background()
	return withStation(ctx, *c.db, false, func(sdb *stationDB) error {
		if err := sdb.svc.Resolve(ctx, key, election.Field(*field), *value, *by); err != nil {
			return fmt.Errorf("%s: %w", key, err)
		}
		return printForm(ctx, sdb, key, *c.asJSON, s.stdout,
			fmt.Sprintf("%s set to %s by %s", *field, strings.TrimSpace(*value), *by))
	})
}

func stationConfirm(args []string, s *streams) error {
	fs := cli.Flags("station confirm")
	c := commonFlags(fs)
	ff := addFormFlags(fs)
	rule := fs.String("rule", "", "the code of the error, e.g. E.C-BAL")
	explanation := fs.String("explanation", "", "why the paper form carries the error")
	by := fs.String("by", "", "the chair's name")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	key, err := ff.key("station confirm")
	if err != nil {
		return err
	}
	if err := required("station confirm", "rule", *rule, "explanation", *explanation, "by", *by); err != nil {
		return err
	}
	ctx := context.Background()
	return withStation(ctx, *c.db, false, func(sdb *stationDB) error {
		if err := sdb.svc.Confirm(ctx, key, *rule, *explanation, *by); err != nil {
			return fmt.Errorf("%s: %w", key, err)
		}
		return printForm(ctx, sdb, key, *c.asJSON, s.stdout, *rule+" confirmed by "+*by)
	})
}

func stationSeal(args []string, s *streams) error {
	fs := cli.Flags("station seal")
	c := commonFlags(fs)
	ff := addFormFlags(fs)
	pinFile := fs.String("pin-file", "", "read the chair's PIN from the first line of this file, not standard input")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	key, err := ff.key("station seal")
	if err != nil {
		return err
	}
	ctx := context.Background()
	return withStation(ctx, *c.db, false, func(sdb *stationDB) error {
		// A form that cannot be sealed is refused before the PIN is
		// asked for; Seal checks everything again.
		view, err := sdb.svc.Open(ctx, key)
		if err != nil {
			return err
		}
		if !slices.Contains(view.Allowed, station.OpSeal) {
			return fmt.Errorf("%s cannot be sealed while the form is %s", key, view.State)
		}
		pin, err := readPIN(*pinFile, s)
		if err != nil {
			return err
		}
		defer clear(pin)
		signer, err := sdb.svc.Unlock(ctx, pin)
		if errors.Is(err, seal.ErrWrongPIN) {
			if st, serr := sdb.svc.Status(ctx); serr == nil {
				return fmt.Errorf("%s is not sealed: the PIN is wrong (%d wrong in a row)", key, st.Provisioned.Throttle.Failures)
			}
			return fmt.Errorf("%s is not sealed: the PIN is wrong", key)
		} else if err != nil {
			return fmt.Errorf("%s is not sealed: %w", key, err)
		}
		v, err := sdb.svc.Seal(ctx, key, signer)
		if err != nil {
			return fmt.Errorf("%s is not sealed: %w", key, err)
		}
		if *c.asJSON {
			return printJSON(s.stdout, v)
		}
		w := s.stdout
		fmt.Fprintf(w, "sealed          %s version %d\n", v.Key, v.Version)
		fmt.Fprintf(w, "digest          %s\n", v.Digest)
		fmt.Fprintf(w, "sequence        %d\n", v.Sequence)
		if v.Supersedes != "" {
			fmt.Fprintf(w, "supersedes      %s\n", v.Supersedes)
		}
		fmt.Fprintln(w, "                in the outbox until the commission's receipt arrives")
		return nil
	})
}

func stationCorrect(args []string, s *streams) error {
	fs := cli.Flags("station correct")
	c := commonFlags(fs)
	ff := addFormFlags(fs)
	by := fs.String("by", "", "the name of the commissioner who types the corrected first entry")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	key, err := ff.key("station correct")
	if err != nil {
		return err
	}
	if err := required("station correct", "by", *by); err != nil {
		return err
	}
	ctx := context.Background()
	return withStation(ctx, *c.db, false, func(sdb *stationDB) error {
		if err := sdb.svc.Correct(ctx, key, *by); err != nil {
			return fmt.Errorf("%s: %w", key, err)
		}
		return printForm(ctx, sdb, key, *c.asJSON, s.stdout,
			"a new version begun by "+*by+", its first entry holding the sealed version's numbers")
	})
}

// maxReceiptFile bounds a receipt file; the station checks the envelope's
// own, smaller bound.
const maxReceiptFile = 1 << 20

// receiptResult is what `station receipt --json` prints.
type receiptResult struct {
	Receipt *station.StoredReceipt `json:"receipt"`
	Form    *station.FormKey       `json:"form,omitempty"`
	Outbox  int                    `json:"outbox"`
}

func stationReceipt(args []string, s *streams) error {
	fs := cli.Flags("station receipt")
	c := commonFlags(fs)
	file, err := parseWithFile(fs, args, "receipt FILE")
	if err != nil {
		return err
	}
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	raw, err := io.ReadAll(io.LimitReader(f, maxReceiptFile+1))
	if err != nil {
		return err
	}
	if len(raw) > maxReceiptFile {
		return fmt.Errorf("%s: larger than %d KiB: not a receipt", file, maxReceiptFile>>10)
	}
	ctx := context.Background()
	return withStation(ctx, *c.db, false, func(sdb *stationDB) error {
		rc, err := sdb.svc.RecordReceipt(ctx, raw)
		if err != nil {
			return fmt.Errorf("%s: %w", file, err)
		}
		st, err := sdb.svc.Status(ctx)
		if err != nil {
			return err
		}
		out := receiptResult{Receipt: rc, Outbox: len(st.Outbox)}
		for _, form := range st.Forms {
			if form.Head == rc.Submission {
				out.Form = &form.Key
			}
		}
		if *c.asJSON {
			return printJSON(s.stdout, out)
		}
		w := s.stdout
		fmt.Fprintf(w, "receipt         number %d, received by the commission %s\n", rc.Number, rc.ReceivedAt.Format(timeLayout))
		if out.Form != nil {
			fmt.Fprintf(w, "form            %s\n", out.Form)
		}
		fmt.Fprintf(w, "submission      %s\n", rc.Submission)
		fmt.Fprintf(w, "outbox          %d waiting\n", out.Outbox)
		return nil
	})
}

func stationStatus(args []string, s *streams) error {
	fs := cli.Flags("station status")
	c := commonFlags(fs)
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	ctx := context.Background()
	return withStation(ctx, *c.db, false, func(sdb *stationDB) error {
		st, err := sdb.svc.Status(ctx)
		if err != nil {
			return err
		}
		if st.Forms == nil {
			st.Forms = []station.FormStatus{}
		}
		if st.Outbox == nil {
			st.Outbox = []station.OutboxItem{}
		}
		if *c.asJSON {
			return printJSON(s.stdout, st)
		}
		printStatus(s.stdout, st)
		return nil
	})
}

func stationShow(args []string, s *streams) error {
	fs := cli.Flags("station show")
	c := commonFlags(fs)
	ff := addFormFlags(fs)
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	key, err := ff.key("station show")
	if err != nil {
		return err
	}
	ctx := context.Background()
	return withStation(ctx, *c.db, false, func(sdb *stationDB) error {
		view, err := sdb.svc.Open(ctx, key)
		if err != nil {
			return err
		}
		if *c.asJSON {
			return printJSON(s.stdout, newFormJSON(view))
		}
		printView(s.stdout, view)
		return nil
	})
}

// printForm prints where a form stands after a change: one line saying
// what was done, then what is left to do; or the whole form as JSON.
func printForm(ctx context.Context, sdb *stationDB, key station.FormKey, asJSON bool, w io.Writer, done string) error {
	view, err := sdb.svc.Open(ctx, key)
	if err != nil {
		return err
	}
	if asJSON {
		return printJSON(w, newFormJSON(view))
	}
	fmt.Fprintf(w, "%s: %s; the form is %s\n", key, done, view.State)
	printNext(w, view)
	return nil
}
