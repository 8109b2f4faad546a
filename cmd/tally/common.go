package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"tally/app/election"
	"tally/app/seal"
	"tally/app/station"
	"tally/cmd/internal/cli"
	"tally/storage/stationdb"
	"tally/sync/client"
)

// stationOptions configure the station service of every command. The zero
// value is right for use; tests make the PIN's key derivation cheap.
var stationOptions = station.Options{}

// dbEnv names the environment variable with the station database's path.
const dbEnv = "TALLY_DB"

// defaultDBPath is where the station database is when --db is not given:
// $TALLY_DB, else tally/station.db in the user's configuration directory.
func defaultDBPath() (string, error) {
	if p := os.Getenv(dbEnv); p != "" {
		return p, nil
	}
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("no --db given, %s is not set, and there is no configuration directory: %w", dbEnv, err)
	}
	return filepath.Join(dir, "tally", "station.db"), nil
}

// common are the flags of every station, audit and export command.
type common struct {
	db     *string
	asJSON *bool
}

func commonFlags(fs *flag.FlagSet) common {
	return common{
		db:     fs.String("db", "", "the station database (default: $"+dbEnv+", else <config dir>/tally/station.db)"),
		asJSON: fs.Bool("json", false, "print JSON"),
	}
}

// stationDB is an open station database and the service on it.
type stationDB struct {
	path string
	db   *stationdb.DB
	svc  *station.Service
	// keep is set by init once the database holds a provisioning: a
	// database this run created is removed again unless it does.
	keep bool
}

// withStation opens the station database named by --db, runs fn on it and
// closes it. Only init may create a database that does not exist yet (and
// the directory it goes in, readable by its owner only), and the database
// is removed again unless fn sets keep; every other command refuses a
// missing database, so that no command that fails leaves a file behind.
func withStation(ctx context.Context, dbFlag string, create bool, fn func(sdb *stationDB) error) (err error) {
	path := dbFlag
	if path == "" {
		if path, err = defaultDBPath(); err != nil {
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
			return fmt.Errorf("%w: there is no station database at %s (run `tally station init`, or give --db)",
				station.ErrNotProvisioned, path)
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return err
		}
	}
	db, err := stationdb.Open(ctx, path)
	if err != nil {
		if !existed {
			err = errors.Join(err, removeDatabase(path))
		}
		return fmt.Errorf("station database %s: %w", path, err)
	}
	sdb := &stationDB{path: path, db: db, svc: station.New(db, stationOptions)}
	defer func() {
		if cerr := db.Close(); cerr != nil {
			err = errors.Join(err, fmt.Errorf("closing the station database %s: %w", path, cerr))
		}
		if !existed && !sdb.keep {
			if rerr := removeDatabase(path); rerr != nil {
				err = errors.Join(err, fmt.Errorf("removing the new station database: %w", rerr))
			}
		}
	}()
	return fn(sdb)
}

// removeDatabase removes a database file that this run created and that
// holds nothing, with the files SQLite may keep beside it.
func removeDatabase(path string) error {
	var errs []error
	for _, suffix := range []string{"", "-wal", "-shm", "-journal"} {
		if err := os.Remove(path + suffix); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// formFlags name one form of the station.
type formFlags struct {
	contest, form *string
}

func addFormFlags(fs *flag.FlagSet) formFlags {
	return formFlags{
		contest: fs.String("contest", "", "the contest's code (required)"),
		form:    fs.String("form", string(election.ResultsForm), "results or candidates"),
	}
}

func (f formFlags) key(cmd string) (station.FormKey, error) {
	if *f.contest == "" {
		return station.FormKey{}, cli.Usagef("%s: --contest is required", cmd)
	}
	k := station.FormKey{Contest: *f.contest, Form: election.FormKind(*f.form)}
	if k.Form != election.ResultsForm && k.Form != election.CandidatesForm {
		return station.FormKey{}, cli.Usagef("%s: --form %q is neither %s nor %s", cmd, *f.form,
			election.ResultsForm, election.CandidatesForm)
	}
	return k, nil
}

// required refuses a flag left empty; nameValues are the flags' names
// and values, in pairs.
func required(cmd string, nameValues ...string) error {
	for i := 0; i+1 < len(nameValues); i += 2 {
		if strings.TrimSpace(nameValues[i+1]) == "" {
			return cli.Usagef("%s: --%s is required", cmd, nameValues[i])
		}
	}
	return nil
}

// parseWithFile parses a command whose one argument is a file, before,
// after or between the flags.
func parseWithFile(fs *flag.FlagSet, args []string, what string) (string, error) {
	var files []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return "", err
			}
			return "", cli.Usagef("%s: %v", fs.Name(), err)
		}
		if fs.NArg() == 0 {
			break
		}
		files = append(files, fs.Arg(0))
		args = fs.Args()[1:]
	}
	switch len(files) {
	case 0:
		return "", cli.Usagef("%s: the %s is required", fs.Name(), what)
	case 1:
		return files[0], nil
	}
	return "", cli.Usagef("%s: unexpected argument %q", fs.Name(), files[1])
}

// maxPINLine bounds the line a PIN is read from.
const maxPINLine = 1024

// readPIN reads the chair's PIN from the first line of the file, or of
// standard input without one; only the line's end is removed. The PIN is
// never taken from the command line, where other users of the laptop and
// the shell's history would see it.
func readPIN(file string, s *streams) ([]byte, error) {
	var r io.Reader = s.stdin
	source := "standard input"
	if file != "" {
		f, err := os.Open(file)
		if err != nil {
			return nil, fmt.Errorf("PIN file: %w", err)
		}
		defer f.Close()
		r, source = f, file
	} else if isTerminal(s.stdin) {
		fmt.Fprint(s.stderr, "PIN (it shows as you type; --pin-file FILE avoids that): ")
	}
	if r == nil {
		return nil, fmt.Errorf("no PIN: give --pin-file FILE or the PIN on the first line of standard input")
	}
	line, err := bufio.NewReaderSize(io.LimitReader(r, maxPINLine+1), maxPINLine+1).ReadSlice('\n')
	switch {
	case errors.Is(err, bufio.ErrBufferFull) || (err == io.EOF && len(line) > maxPINLine):
		return nil, fmt.Errorf("the first line of %s is longer than %d bytes: not a PIN", source, maxPINLine)
	case err != nil && err != io.EOF:
		return nil, fmt.Errorf("reading the PIN from %s: %w", source, err)
	}
	pin := bytes.Clone(bytes.TrimSuffix(bytes.TrimSuffix(line, []byte("\n")), []byte("\r")))
	clear(line)
	if len(pin) == 0 {
		return nil, fmt.Errorf("no PIN on the first line of %s", source)
	}
	return pin, nil
}

// isTerminal reports whether r is a terminal, where a prompt makes sense.
func isTerminal(r io.Reader) bool {
	f, ok := r.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// definitionSource is where an init takes the commission's signed election
// definition from: a file, or the commission's server with the pins of its
// key as printed.
type definitionSource struct {
	file, server *string
	pins         []string
}

func definitionFlags(fs *flag.FlagSet) *definitionSource {
	d := &definitionSource{
		file:   fs.String("definition", "", "the commission's signed election definition (election.json)"),
		server: fs.String("server", "", "download the definition from the commission's server at this address instead"),
	}
	fs.Func("tls-pin", "a pin of the server's key (sha256/…), as printed; give the backup pin too", func(v string) error {
		d.pins = append(d.pins, v)
		return nil
	})
	return d
}

// check refuses a command line that gives both sources, or neither.
func (d *definitionSource) check(cmd string) error {
	if (*d.file == "") == (*d.server == "") {
		return cli.Usagef("%s: give either --definition FILE or --server URL", cmd)
	}
	if len(d.pins) > 0 && *d.server == "" {
		return cli.Usagef("%s: --tls-pin goes with --server", cmd)
	}
	return nil
}

// load reads or downloads the definition; the caller verifies it.
func (d *definitionSource) load(ctx context.Context) ([]byte, error) {
	if *d.server == "" {
		return os.ReadFile(*d.file)
	}
	signed, err := client.FetchDefinition(ctx, client.Config{
		Servers: []election.Server{{URL: *d.server, Pins: d.pins}}, UserAgent: "tally/" + version})
	if err != nil {
		return nil, fmt.Errorf("the election definition could not be downloaded: %w", err)
	}
	return signed, nil
}

// pinRefused explains a new PIN that seal's strength rule refused; other
// errors pass as they are.
func pinRefused(whose string, err error) error {
	if errors.Is(err, seal.ErrPINTooShort) || errors.Is(err, seal.ErrPINTooWeak) {
		return fmt.Errorf("%s PIN is refused: %w (it takes at least %d characters, and not a run "+
			"such as 123456, a repeat such as 121212 or one of the most common PINs)", whose, err, seal.MinPINLength)
	}
	return err
}
