package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"tally/app/election"
	"tally/app/review"
	"tally/app/seal"
	"tally/cmd/internal/cli"
	"tally/storage/reviewdb"
	"tally/sync/client"
	"tally/sync/reviewer"
)

// The municipal supervisor's headless commands: for operators, training
// rooms and tests. They run the same use cases (app/review) and the same
// sync (sync/reviewer) as the supervisor's screens.

// supervisorOptions configure the supervisor's service of every command;
// tests make the PIN's key derivation cheap.
var supervisorOptions = review.Options{}

// supervisorDBEnv names the environment variable with the supervisor
// database's path.
const supervisorDBEnv = "TALLY_SUPERVISOR_DB"

// defaultSupervisorDBPath is where the supervisor's database is when --db
// is not given: $TALLY_SUPERVISOR_DB, else tally/supervisor.db in the
// user's configuration directory, beside the station's.
func defaultSupervisorDBPath() (string, error) {
	if p := os.Getenv(supervisorDBEnv); p != "" {
		return p, nil
	}
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("no --db given, %s is not set, and there is no configuration directory: %w", supervisorDBEnv, err)
	}
	return filepath.Join(dir, "tally", "supervisor.db"), nil
}

func supervisorFlags(fs *flag.FlagSet) common {
	return common{
		db: fs.String("db", "", "the supervisor's database (default: $"+supervisorDBEnv+
			", else <config dir>/tally/supervisor.db)"),
		asJSON: fs.Bool("json", false, "print JSON"),
	}
}

// supervisorDB is an open supervisor's database and the service on it.
type supervisorDB struct {
	path string
	db   *reviewdb.DB
	svc  *review.Service
	keep bool // set by init once the database holds a provisioning
}

// withSupervisor opens the supervisor's database, as withStation opens the
// station's: only init creates one, and removes it again unless it was
// provisioned.
func withSupervisor(ctx context.Context, dbFlag string, create bool, fn func(sdb *supervisorDB) error) (err error) {
	path := dbFlag
	if path == "" {
		if path, err = defaultSupervisorDBPath(); err != nil {
			return err
		}
	}
	existed := true
	switch _, err := os.Stat(path); {
	case errors.Is(err, fs.ErrNotExist):
		existed = false
	case err != nil:
		return err
	}
	if !existed {
		if !create {
			return fmt.Errorf("%w: there is no supervisor's database at %s (run `tally supervisor init`, or give --db)",
				review.ErrNotProvisioned, path)
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return err
		}
	}
	db, err := reviewdb.Open(ctx, path)
	if err != nil {
		if !existed {
			err = errors.Join(err, removeDatabase(path))
		}
		return fmt.Errorf("supervisor's database %s: %w", path, err)
	}
	sdb := &supervisorDB{path: path, db: db, svc: review.New(db, supervisorOptions)}
	defer func() {
		if cerr := db.Close(); cerr != nil {
			err = errors.Join(err, fmt.Errorf("closing the supervisor's database %s: %w", path, cerr))
		}
		if !existed && !sdb.keep {
			if rerr := removeDatabase(path); rerr != nil {
				err = errors.Join(err, fmt.Errorf("removing the new supervisor's database: %w", rerr))
			}
		}
	}()
	return fn(sdb)
}

// supervisorCommands are the `tally supervisor` commands.
var supervisorCommands = map[string]func(args []string, s *streams) error{
	"init":      supervisorInit,
	"enroll":    supervisorEnroll,
	"sync":      supervisorSync,
	"dashboard": supervisorDashboard,
	"show":      supervisorShow,
	"decide":    supervisorDecide,
	"conflicts": supervisorConflicts,
}

func supervisorCommand(args []string, s *streams) error {
	names := make([]string, 0, len(supervisorCommands))
	for name := range supervisorCommands {
		names = append(names, name)
	}
	slices.Sort(names)
	if len(args) == 0 {
		return cli.Usagef("supervisor: no command given (want: %s)", strings.Join(names, ", "))
	}
	cmd, ok := supervisorCommands[args[0]]
	if !ok {
		return cli.Usagef("unknown supervisor command %q (want: %s)", args[0], strings.Join(names, ", "))
	}
	return cmd(args[1:], s)
}

// supervisorClient makes the commission's client from the supervisor's
// definition.
func supervisorClient(ctx context.Context, svc *review.Service) (*client.Client, *election.Definition, error) {
	def, _, err := svc.Scope(ctx)
	if err != nil {
		return nil, nil, err
	}
	cl, err := client.New(client.Config{Servers: def.Election.Servers, ElectionID: def.Election.ID,
		ReceiptKey: def.Election.Keys.Receipt, UserAgent: "tally/" + version})
	return cl, def, err
}

// unlockSupervisor reads the supervisor's PIN and opens the key.
func unlockSupervisor(ctx context.Context, sdb *supervisorDB, pinFile string, s *streams) (*seal.PrivateKey, error) {
	pin, err := readPIN(pinFile, s)
	if err != nil {
		return nil, err
	}
	defer clear(pin)
	key, err := sdb.svc.Unlock(ctx, pin)
	if errors.Is(err, seal.ErrWrongPIN) {
		if p, perr := sdb.svc.Provisioning(ctx); perr == nil {
			return nil, fmt.Errorf("the PIN is wrong (%d wrong in a row)", p.Throttle.Failures)
		}
		return nil, errors.New("the PIN is wrong")
	}
	return key, err
}

// supervisorInitResult is what `supervisor init --json` prints.
type supervisorInitResult struct {
	Election         string `json:"election"`
	ElectionName     string `json:"election_name"`
	Municipality     string `json:"municipality"`
	MunicipalityName string `json:"municipality_name"`
	SupervisorKey    string `json:"supervisor_key"`
	Fingerprint      string `json:"supervisor_key_fingerprint"`
	Database         string `json:"database"`
}

func supervisorInit(args []string, s *streams) error {
	fs := cli.Flags("supervisor init")
	c := supervisorFlags(fs)
	source := definitionFlags(fs)
	fingerprint := fs.String("fingerprint", "", "the fingerprint of the commission's definition key, as printed")
	muni := fs.String("municipality", "", "the code of the supervisor's municipality")
	by := fs.String("by", "", "the supervisor's name")
	pinFile := fs.String("pin-file", "", "read the supervisor's new PIN from the first line of this file, not standard input")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	if err := source.check("supervisor init"); err != nil {
		return err
	}
	if err := required("supervisor init", "fingerprint", *fingerprint, "municipality", *muni, "by", *by); err != nil {
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
	return withSupervisor(ctx, *c.db, true, func(sdb *supervisorDB) error {
		p, err := sdb.svc.Provision(ctx, review.ProvisionRequest{
			Definition: signed, Fingerprint: *fingerprint, Municipality: *muni, PIN: pin, By: *by,
		})
		if err != nil {
			return pinRefused("the supervisor's", err)
		}
		sdb.keep = true
		def, m, err := sdb.svc.Scope(ctx)
		if err != nil {
			return err
		}
		pub, err := seal.ParsePublicKey(p.PublicKey)
		if err != nil {
			return err
		}
		out := supervisorInitResult{
			Election: def.Election.ID, ElectionName: def.Election.Name["sq"], Municipality: m.Code,
			MunicipalityName: m.Name["sq"], SupervisorKey: p.PublicKey, Fingerprint: seal.Fingerprint(pub.ID),
			Database: sdb.path,
		}
		if *c.asJSON {
			return printJSON(s.stdout, out)
		}
		w := s.stdout
		fmt.Fprintf(w, "provisioned     supervisor of municipality %s, %s\n", out.Municipality, out.MunicipalityName)
		fmt.Fprintf(w, "election        %s, %s\n", out.Election, out.ElectionName)
		fmt.Fprintf(w, "supervisor key  %s\n", out.Fingerprint)
		fmt.Fprintf(w, "database        %s\n", out.Database)
		return nil
	})
}

func supervisorEnroll(args []string, s *streams) error {
	fs := cli.Flags("supervisor enroll")
	c := supervisorFlags(fs)
	code := fs.String("code", "", "the one-time enrollment code the commission printed for this municipality's supervisor")
	pinFile := fs.String("pin-file", "", "read the supervisor's PIN from the first line of this file, not standard input")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	if err := required("supervisor enroll", "code", *code); err != nil {
		return err
	}
	ctx := context.Background()
	return withSupervisor(ctx, *c.db, false, func(sdb *supervisorDB) error {
		cl, def, err := supervisorClient(ctx, sdb.svc)
		if err != nil {
			return err
		}
		defer cl.Close()
		key, err := unlockSupervisor(ctx, sdb, *pinFile, s)
		if err != nil {
			return err
		}
		req, err := sdb.svc.EnrollmentRequest(ctx, key, *code)
		if err != nil {
			return err
		}
		k, err := cl.Enroll(ctx, req)
		if err != nil {
			return fmt.Errorf("the commission did not enroll this supervisor: %w", err)
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

func supervisorSync(args []string, s *streams) error {
	fs := cli.Flags("supervisor sync")
	c := supervisorFlags(fs)
	follow := fs.Bool("follow", false, "keep fetching and sending, until interrupted")
	pinFile := fs.String("pin-file", "", "read the supervisor's PIN from the first line of this file, not standard input")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return withSupervisor(ctx, *c.db, false, func(sdb *supervisorDB) error {
		cl, _, err := supervisorClient(ctx, sdb.svc)
		if err != nil {
			return err
		}
		defer cl.Close()
		key, err := unlockSupervisor(ctx, sdb, *pinFile, s)
		if err != nil {
			return err
		}
		var lastError string
		w := reviewer.New(sdb.svc, cl, reviewer.Options{OnState: func(st reviewer.State) {
			if !*c.asJSON && st.LastError != "" && st.LastError != lastError {
				fmt.Fprintf(s.stdout, "retry           at %s: %s\n", st.NextTry.Local().Format("15:04:05"), st.LastError)
			}
			lastError = st.LastError
		}})
		w.SetKey(key)
		if *follow {
			err = w.Run(ctx)
		} else {
			err = w.Drain(ctx)
		}
		st := w.State()
		if *c.asJSON {
			if jerr := printJSON(s.stdout, st); jerr != nil {
				return errors.Join(err, jerr)
			}
			return err
		}
		out := s.stdout
		online := "no"
		if st.Online {
			online = "yes"
		}
		fmt.Fprintf(out, "online          %s\n", online)
		if !st.FetchedAt.IsZero() {
			fmt.Fprintf(out, "fetched         %s\n", localTime(st.FetchedAt))
		}
		fmt.Fprintf(out, "stations        %d records read\n", st.Stations)
		fmt.Fprintf(out, "conflicts       %d in the commission's list\n", st.Conflicts)
		fmt.Fprintf(out, "to fetch        %d envelopes, %d photos\n", st.Envelopes, st.Photos)
		fmt.Fprintf(out, "decisions       %d sent, %d waiting, %d refused\n", st.Sent, st.Decisions, len(st.Refused))
		for _, r := range st.Refused {
			fmt.Fprintf(out, "refused         %s: %s\n", r.Digest, r.Reason)
		}
		for _, u := range st.Unverified {
			fmt.Fprintf(out, "not stored      %s: %s\n", u.Digest, u.Reason)
		}
		if st.LastError != "" {
			fmt.Fprintf(out, "last error      %s\n", st.LastError)
		}
		return err
	})
}

// dashboardJSON is what `supervisor dashboard --json` prints.
type dashboardJSON struct {
	Municipality     string                `json:"municipality"`
	Name             string                `json:"name"`
	Total            int                   `json:"total"`
	Counts           map[review.State]int  `json:"counts"`
	FormCounts       map[review.State]int  `json:"form_counts"`
	FetchedAt        time.Time             `json:"fetched_at,omitzero"`
	AgeSeconds       int64                 `json:"age_seconds,omitempty"`
	KeyListFetchedAt time.Time             `json:"key_list_fetched_at,omitzero"`
	Pending          int                   `json:"pending_decisions"`
	Refused          []refusedJSON         `json:"refused_decisions"`
	Conflicts        int                   `json:"conflicts"`
	Stations         []dashboardStationRow `json:"stations"`
}

// refusedJSON is a decision the commission refused, in `supervisor
// dashboard --json`.
type refusedJSON struct {
	Decision   string            `json:"decision"`
	Submission string            `json:"submission"`
	Station    string            `json:"station"`
	Contest    string            `json:"contest"`
	Form       election.FormKind `json:"form"`
	Version    int               `json:"version,omitempty"`
	Verdict    election.Verdict  `json:"verdict"`
	Reason     string            `json:"reason"`
	Head       string            `json:"head,omitempty"`
}

type dashboardStationRow struct {
	Code       string          `json:"code"`
	Name       string          `json:"name"`
	Centre     string          `json:"centre,omitempty"`
	Registered int             `json:"registered"`
	State      review.State    `json:"state"`
	Forms      []dashboardForm `json:"forms"`
	Turnout    *review.Turnout `json:"turnout,omitempty"`
	FetchedAt  time.Time       `json:"fetched_at,omitzero"`
}

type dashboardForm struct {
	Contest string            `json:"contest"`
	Form    election.FormKind `json:"form"`
	State   review.State      `json:"state"`
	Version int               `json:"version,omitempty"`
	Digest  string            `json:"digest,omitempty"`
	Fetched bool              `json:"fetched"`
	Refusal string            `json:"refusal,omitempty"`
}

func supervisorDashboard(args []string, s *streams) error {
	fs := cli.Flags("supervisor dashboard")
	c := supervisorFlags(fs)
	state := fs.String("state", "", "list only the stations in this state")
	search := fs.String("search", "", "list only the stations whose code or name holds this text")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	if *state != "" && !slices.Contains(review.States, review.State(*state)) {
		names := make([]string, len(review.States))
		for i, st := range review.States {
			names[i] = string(st)
		}
		return cli.Usagef("supervisor dashboard: --state %q is not one of %s", *state, strings.Join(names, ", "))
	}
	ctx := context.Background()
	return withSupervisor(ctx, *c.db, false, func(sdb *supervisorDB) error {
		d, err := sdb.svc.Dashboard(ctx, review.Filter{State: review.State(*state), Search: *search})
		if err != nil {
			return err
		}
		out := dashboardJSON{Municipality: d.Municipality, Name: d.Name["sq"], Total: d.Total, Counts: d.Counts,
			FormCounts: d.FormCounts, FetchedAt: d.FetchedAt, KeyListFetchedAt: d.KeyListFetchedAt, Pending: d.Pending,
			Refused: []refusedJSON{}, Conflicts: d.Conflicts, Stations: []dashboardStationRow{}}
		for _, r := range d.Refused {
			out.Refused = append(out.Refused, refusedJSON{Decision: r.Decision.Digest, Submission: r.Decision.Submission,
				Station: r.Decision.Station, Contest: r.Decision.Contest, Form: r.Decision.Form, Version: r.Version,
				Verdict: r.Decision.Verdict, Reason: r.Refusal.Reason, Head: r.Head})
		}
		if !d.FetchedAt.IsZero() {
			out.AgeSeconds = int64(d.Age / time.Second)
		}
		for _, r := range d.Stations {
			row := dashboardStationRow{Code: r.Code, Name: r.Name, Centre: r.Centre, Registered: r.Registered,
				State: r.State, Turnout: r.Turnout, FetchedAt: r.FetchedAt, Forms: []dashboardForm{}}
			for _, f := range r.Forms {
				row.Forms = append(row.Forms, dashboardForm{Contest: f.Contest, Form: f.Form, State: f.State,
					Version: f.Version, Digest: f.Digest, Fetched: f.Fetched, Refusal: f.Refusal})
			}
			out.Stations = append(out.Stations, row)
		}
		if *c.asJSON {
			return printJSON(s.stdout, out)
		}
		printDashboard(s.stdout, d)
		return nil
	})
}

func printDashboard(w io.Writer, d *review.Dashboard) {
	fmt.Fprintf(w, "municipality    %s, %s\n", d.Municipality, d.Name["sq"])
	if d.FetchedAt.IsZero() {
		fmt.Fprintln(w, "fetched         never: run `tally supervisor sync`")
	} else {
		fmt.Fprintf(w, "fetched         %s (%s ago)\n", localTime(d.FetchedAt), d.Age.Round(time.Second))
	}
	var counts []string
	for _, st := range review.States {
		counts = append(counts, fmt.Sprintf("%d %s", d.Counts[st], st))
	}
	fmt.Fprintf(w, "stations        %d: %s\n", d.Total, strings.Join(counts, ", "))
	if d.Pending > 0 {
		fmt.Fprintf(w, "outbox          %d decisions waiting to be sent\n", d.Pending)
	}
	for _, r := range d.Refused {
		fmt.Fprintf(w, "refused         %s %s/%s version %d, %s: %s\n", r.Decision.Station, r.Decision.Contest,
			r.Decision.Form, r.Version, r.Decision.Verdict, r.Refusal.Reason)
	}
	if d.Conflicts > 0 {
		fmt.Fprintf(w, "conflicts       %d in the commission's list (`tally supervisor conflicts`)\n", d.Conflicts)
	}
	if len(d.Stations) == 0 {
		fmt.Fprintln(w, "                no station matches")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "STATION\tSTATE\tTURNOUT\tFORM\tFORM STATE\tVERSION\tDIGEST\tNAME")
	for _, r := range d.Stations {
		turnout := "-"
		if r.Turnout != nil {
			turnout = strconv.FormatFloat(100*r.Turnout.Share, 'f', 1, 64) + "%"
		}
		for i, f := range r.Forms {
			code, state, name, to := r.Code, string(r.State), r.Name, turnout
			if i > 0 {
				code, state, name, to = "", "", "", ""
			}
			version, digest := "-", "-"
			if f.Version > 0 {
				version, digest = strconv.Itoa(f.Version), f.Digest
				if !f.Fetched {
					digest += " (not fetched)"
				}
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s/%s\t%s\t%s\t%s\t%s\n", code, state, to, f.Contest, f.Form, f.State,
				version, digest, name)
		}
		if len(r.Forms) == 0 {
			fmt.Fprintf(tw, "%s\t%s\t%s\t\t\t\t\t%s\n", r.Code, r.State, turnout, r.Name)
		}
	}
	tw.Flush()
}

// submissionJSON is what `supervisor show --json` prints.
type submissionJSON struct {
	Digest        string                  `json:"digest"`
	Station       string                  `json:"station"`
	StationName   string                  `json:"station_name"`
	Contest       string                  `json:"contest"`
	Form          election.FormKind       `json:"form"`
	Version       int                     `json:"version"`
	Supersedes    string                  `json:"supersedes,omitempty"`
	Head          bool                    `json:"head"`
	HeadVersion   int                     `json:"head_version"`
	SignedBy      string                  `json:"signed_by"`
	Fingerprint   string                  `json:"fingerprint"`
	SealedAt      time.Time               `json:"sealed_at"`
	Counts        map[election.Field]int  `json:"counts"`
	Members       int                     `json:"members_present"`
	Remarks       string                  `json:"remarks,omitempty"`
	Objections    string                  `json:"objections,omitempty"`
	EnteredBy     string                  `json:"entered_by"`
	ReenteredBy   string                  `json:"reentered_by,omitempty"`
	Confirmed     []election.Confirmation `json:"confirmed,omitempty"`
	Findings      []findingJSON           `json:"findings"`
	Photo         string                  `json:"photo_sha256,omitempty"`
	HavePhoto     bool                    `json:"photo_fetched"`
	ReceiptNumber uint64                  `json:"receipt_number,omitempty"`
	ReceivedAt    time.Time               `json:"received_at,omitzero"`
	History       []historyJSON           `json:"history"`
	Decisions     []decisionJSON          `json:"decisions"`
}

type historyJSON struct {
	Version    int             `json:"version"`
	Digest     string          `json:"digest"`
	Supersedes string          `json:"supersedes,omitempty"`
	SealedAt   time.Time       `json:"sealed_at,omitzero"`
	Error      string          `json:"error,omitempty"`
	Previous   bool            `json:"previous_fetched"`
	Changes    []review.Change `json:"changes,omitempty"`
}

type decisionJSON struct {
	Digest     string           `json:"digest"`
	Verdict    election.Verdict `json:"verdict"`
	Reason     string           `json:"reason,omitempty"`
	DecidedAt  time.Time        `json:"decided_at"`
	Delivered  bool             `json:"delivered"`
	ReceivedAt time.Time        `json:"received_at,omitzero"`
	Refused    string           `json:"refused,omitempty"`
}

func newSubmissionJSON(sub *review.Submission, refused map[string]review.Refusal) submissionJSON {
	f := sub.Submission.Form
	out := submissionJSON{Digest: sub.Digest, Station: sub.Station.Code, StationName: sub.Station.Name,
		Contest: f.Contest, Form: f.Kind, Version: sub.Submission.Version, Supersedes: sub.Submission.Supersedes,
		Head: sub.Head, HeadVersion: sub.HeadVersion, SignedBy: sub.SignedBy, Fingerprint: sub.Fingerprint,
		SealedAt: sub.Submission.SealedAt, Counts: f.Counts, Members: f.Members, Remarks: f.Remarks,
		Objections: f.Objections, EnteredBy: f.EnteredBy, ReenteredBy: f.ReenteredBy,
		Confirmed: sub.Submission.Confirmed, Findings: []findingJSON{}, Photo: sub.PhotoSHA256, HavePhoto: sub.HavePhoto,
		History: []historyJSON{}, Decisions: []decisionJSON{}}
	confirmed := map[string]bool{}
	for _, c := range sub.Submission.Confirmed {
		confirmed[c.Rule] = true
	}
	for _, fd := range sub.Findings {
		out.Findings = append(out.Findings, findingJSON{Code: fd.Code, Severity: fd.Severity, Fields: fd.Fields,
			Message: findingText(fd), Confirmed: confirmed[fd.Code]})
	}
	if sub.Receipt != nil {
		out.ReceiptNumber, out.ReceivedAt = sub.Receipt.Number, sub.Receipt.ReceivedAt
	}
	for _, h := range sub.History {
		out.History = append(out.History, historyJSON{Version: h.Version, Digest: h.Digest, Supersedes: h.Supersedes,
			SealedAt: h.SealedAt, Error: h.Error, Previous: h.Previous, Changes: h.Changes})
	}
	for _, d := range sub.Decisions {
		out.Decisions = append(out.Decisions, decisionJSON{Digest: d.Digest, Verdict: d.Verdict, Reason: d.Reason,
			DecidedAt: d.DecidedAt, Delivered: d.Delivered, ReceivedAt: d.ReceivedAt, Refused: refused[d.Digest].Reason})
	}
	return out
}

func supervisorShow(args []string, s *streams) error {
	fs := cli.Flags("supervisor show")
	c := supervisorFlags(fs)
	digest, err := parseWithFile(fs, args, "submission's DIGEST")
	if err != nil {
		return err
	}
	ctx := context.Background()
	return withSupervisor(ctx, *c.db, false, func(sdb *supervisorDB) error {
		sub, err := sdb.svc.OpenSubmission(ctx, digest)
		if err != nil {
			return err
		}
		refused, err := sdb.svc.RefusedDecisions(ctx)
		if err != nil {
			return err
		}
		out := newSubmissionJSON(sub, refused)
		if *c.asJSON {
			return printJSON(s.stdout, out)
		}
		printSubmission(s.stdout, sub, out)
		return nil
	})
}

func printSubmission(w io.Writer, sub *review.Submission, out submissionJSON) {
	fmt.Fprintf(w, "station         %s, %s\n", out.Station, out.StationName)
	fmt.Fprintf(w, "form            %s/%s, version %d\n", out.Contest, out.Form, out.Version)
	fmt.Fprintf(w, "digest          %s\n", out.Digest)
	if out.Head {
		fmt.Fprintln(w, "latest          yes")
	} else {
		fmt.Fprintf(w, "latest          no: version %d is known\n", out.HeadVersion)
	}
	fmt.Fprintf(w, "verified        signed by station key %s, in the commission's key list\n", out.Fingerprint)
	fmt.Fprintf(w, "sealed          %s\n", localTime(out.SealedAt))
	if out.ReceiptNumber != 0 {
		fmt.Fprintf(w, "receipt         number %d, received %s\n", out.ReceiptNumber, localTime(out.ReceivedAt))
	}
	fmt.Fprintf(w, "entered by      %s", out.EnteredBy)
	if out.ReenteredBy != "" {
		fmt.Fprintf(w, ", again by %s", out.ReenteredBy)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "values")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	if sub.Layout != nil {
		for _, spec := range sub.Layout.Fields {
			text := "(empty)"
			if n, ok := out.Counts[spec.ID]; ok {
				text = strconv.Itoa(n)
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\n", spec.ID, text, fieldLabel(sub.Layout, spec))
		}
	}
	fmt.Fprintf(tw, "  %s\t%d\t%s\n", election.FieldMembers, out.Members, membersLabel())
	tw.Flush()
	if len(out.Findings) == 0 {
		fmt.Fprintln(w, "findings        none")
	} else {
		fmt.Fprintln(w, "findings")
		for _, f := range out.Findings {
			mark := ""
			if f.Confirmed {
				mark = " (confirmed by the chair)"
			}
			fmt.Fprintf(w, "  %-7s %-14s %s%s\n", f.Severity, f.Code, f.Message, mark)
		}
	}
	for _, c := range out.Confirmed {
		fmt.Fprintf(w, "confirmed       %s: %s\n", c.Rule, c.Explanation)
	}
	if out.Remarks != "" {
		fmt.Fprintf(w, "remarks         %s\n", indentLines(out.Remarks))
	}
	if out.Objections != "" {
		fmt.Fprintf(w, "objections      %s\n", indentLines(out.Objections))
	}
	if out.Photo != "" {
		state := "fetched"
		if !out.HavePhoto {
			state = "not fetched yet"
		}
		fmt.Fprintf(w, "photo           sha256 %s (%s)\n", out.Photo, state)
	}
	fmt.Fprintln(w, "history")
	for _, h := range out.History {
		line := fmt.Sprintf("  %d  %s", h.Version, h.Digest)
		switch {
		case h.Error != "":
			line += "  does not verify: " + h.Error
		case h.Version > 1 && !h.Previous:
			line += "  (the version it supersedes is not fetched)"
		}
		fmt.Fprintln(w, line)
		for _, ch := range h.Changes {
			fmt.Fprintf(w, "       %-14s %s → %s\n", ch.Field, orEmpty(ch.Before), orEmpty(ch.After))
		}
	}
	for _, d := range out.Decisions {
		line := fmt.Sprintf("decision        %s %s", d.Verdict, localTime(d.DecidedAt))
		if d.Reason != "" {
			line += ": " + d.Reason
		}
		switch {
		case d.Delivered:
			line += "; the commission has it"
		case d.Refused != "":
			line += "; refused by the commission: " + d.Refused
		default:
			line += "; waiting to be sent"
		}
		fmt.Fprintln(w, line)
	}
}

// conflictJSON is one conflict, in `supervisor conflicts --json`.
type conflictJSON struct {
	ID            uint64              `json:"id"`
	Station       string              `json:"station"`
	StationName   string              `json:"station_name"`
	Contest       string              `json:"contest"`
	Form          election.FormKind   `json:"form"`
	Version       int                 `json:"version"`
	At            time.Time           `json:"at"`
	Digest        string              `json:"digest"`
	Supersedes    string              `json:"supersedes,omitempty"`
	Kind          review.ConflictKind `json:"kind"`
	Stored        string              `json:"stored,omitempty"`
	StoredVersion int                 `json:"stored_version,omitempty"`
	Standing      bool                `json:"standing"`
	Reason        string              `json:"reason"`
}

// supervisorConflicts lists the commission's conflicts as last fetched.
func supervisorConflicts(args []string, s *streams) error {
	fs := cli.Flags("supervisor conflicts")
	c := supervisorFlags(fs)
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	ctx := context.Background()
	return withSupervisor(ctx, *c.db, false, func(sdb *supervisorDB) error {
		list, err := sdb.svc.Conflicts(ctx)
		if err != nil {
			return err
		}
		rows := make([]conflictJSON, 0, len(list.Conflicts))
		for _, r := range list.Conflicts {
			rows = append(rows, conflictJSON{ID: r.ID, Station: r.Station, StationName: r.StationName, Contest: r.Contest,
				Form: r.Form, Version: r.Version, At: r.At, Digest: r.Digest, Supersedes: r.Supersedes, Kind: r.Kind,
				Stored: r.Stored, StoredVersion: r.StoredVersion, Standing: r.Standing, Reason: r.Reason})
		}
		if *c.asJSON {
			return printJSON(s.stdout, map[string]any{"fetched_at": list.FetchedAt, "conflicts": rows})
		}
		w := s.stdout
		if list.FetchedAt.IsZero() {
			fmt.Fprintln(w, "fetched         never: run `tally supervisor sync`")
			return nil
		}
		fmt.Fprintf(w, "fetched         %s (%s ago)\n", localTime(list.FetchedAt), list.Age.Round(time.Second))
		if len(rows) == 0 {
			fmt.Fprintln(w, "conflicts       none")
			return nil
		}
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "AT\tSTATION\tFORM\tVERSION\tSTANDING\tREFUSED ENVELOPE\tSTORED VERSION\tWHY")
		for _, r := range rows {
			stored := "(not known here)"
			if r.Stored != "" {
				stored = strconv.Itoa(r.StoredVersion) + " " + r.Stored
			}
			standing := "no"
			if r.Standing {
				standing = "yes"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s/%s\t%d\t%s\t%s\t%s\t%s\n", localTime(r.At), r.Station, r.Contest, r.Form,
				r.Version, standing, r.Digest, stored, r.Reason)
		}
		return tw.Flush()
	})
}

func supervisorDecide(args []string, s *streams) error {
	fs := cli.Flags("supervisor decide")
	c := supervisorFlags(fs)
	approve := fs.Bool("approve", false, "approve the version")
	var reason string
	returned := false
	fs.Func("return", "return the version to the station, with this reason", func(v string) error {
		reason, returned = v, true
		return nil
	})
	pinFile := fs.String("pin-file", "", "read the supervisor's PIN from the first line of this file, not standard input")
	digest, err := parseWithFile(fs, args, "submission's DIGEST")
	if err != nil {
		return err
	}
	if *approve == returned {
		return cli.Usagef("supervisor decide: give either --approve or --return REASON")
	}
	verdict := election.Approve
	if returned {
		verdict = election.Return
		if strings.TrimSpace(reason) == "" {
			return cli.Usagef("supervisor decide: --return needs the reason the station will read")
		}
	}
	ctx := context.Background()
	return withSupervisor(ctx, *c.db, false, func(sdb *supervisorDB) error {
		// A version that cannot be decided on is refused before the PIN
		// is asked for; Decide checks everything again.
		sub, err := sdb.svc.OpenSubmission(ctx, digest)
		if err != nil {
			return fmt.Errorf("no decision: %w", err)
		}
		if !sub.Head {
			return fmt.Errorf("no decision: %w: version %d of %s/%s is known, %s is version %d", review.ErrNotHead,
				sub.HeadVersion, sub.Submission.Form.Contest, sub.Submission.Form.Kind, digest, sub.Submission.Version)
		}
		key, err := unlockSupervisor(ctx, sdb, *pinFile, s)
		if err != nil {
			return fmt.Errorf("no decision: %w", err)
		}
		d, err := sdb.svc.Decide(ctx, digest, verdict, reason, key)
		if err != nil {
			return fmt.Errorf("no decision: %w", err)
		}
		if *c.asJSON {
			return printJSON(s.stdout, d)
		}
		w := s.stdout
		fmt.Fprintf(w, "signed          %s station %s's %s/%s version %d\n", d.Verdict, d.Station, d.Contest, d.Form,
			sub.Submission.Version)
		if d.Reason != "" {
			fmt.Fprintf(w, "reason          %s\n", d.Reason)
		}
		fmt.Fprintf(w, "decision        %s\n", d.Digest)
		fmt.Fprintln(w, "                in the outbox until `tally supervisor sync` sends it")
		return nil
	})
}
