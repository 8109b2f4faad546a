package main

import (
	"bytes"
	"crypto/rand"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"os"
	"path/filepath"

	"tally/app/election"
	"tally/app/enrollment"
	"tally/app/seal"
	"tally/cmd/internal/cli"
)

// Files of a demo election directory.
const (
	definitionFile = "election.json"
	codesFile      = "enrollment-codes.csv"
	keysDir        = "keys"
)

var commissionKeys = []string{"definition", "receipt", "publication"}

// codesHeader is the first line of a CSV of printed enrollment codes.
var codesHeader = []string{"role", "unit", "municipality", "name", "code"}

func electionDemo(args []string, stdout io.Writer) error {
	fs := cli.Flags("election demo")
	out := fs.String("out", "", "directory to write the election into (required)")
	kind := fs.String("kind", string(election.Assembly), "assembly or municipal")
	seed := fs.Uint64("seed", 2026, "seed of the generator: the same seed gives the same election")
	server := fs.String("server", "http://127.0.0.1:8480", "the server URL stations send to")
	force := fs.Bool("force", false, "replace a demo election already in --out")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	if *out == "" {
		return cli.Usagef("election demo: --out is required")
	}
	k := election.Kind(*kind)
	if k != election.Assembly && k != election.Municipal {
		return cli.Usagef("election demo: --kind %q is neither assembly nor municipal", *kind)
	}
	if err := prepareDemoDir(*out, *force); err != nil {
		return err
	}

	keys := map[string]*seal.PrivateKey{}
	for _, name := range commissionKeys {
		key, err := seal.GenerateKey(rand.Reader)
		if err != nil {
			return err
		}
		keys[name] = key
	}
	d, err := election.Demo(election.DemoOptions{
		Seed: *seed,
		Kind: k,
		Keys: election.Keys{
			Definition:  seal.EncodePublicKey(keys["definition"].Public()),
			Receipt:     seal.EncodePublicKey(keys["receipt"].Public()),
			Publication: seal.EncodePublicKey(keys["publication"].Public()),
		},
		Servers: []election.Server{{URL: *server}},
	})
	if err != nil {
		return err
	}
	signed, err := election.Sign(d, keys["definition"])
	if err != nil {
		return err
	}
	for _, name := range commissionKeys {
		base := filepath.Join(*out, keysDir, name)
		if err := seal.WritePrivateKeyFile(base+".key", keys[name]); err != nil {
			return err
		}
		if err := seal.WritePublicKeyFile(base+".pub", keys[name].Public()); err != nil {
			return err
		}
	}
	codes, err := writeCodes(filepath.Join(*out, codesFile), d)
	if err != nil {
		return err
	}
	if err := writeSamples(*out, d, *seed); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(*out, definitionFile), signed, 0o644); err != nil {
		return err
	}

	t := d.Totals()
	fmt.Fprintf(stdout, "election        %s (%s)\n", d.Election.ID, d.Election.Kind)
	fmt.Fprintf(stdout, "fingerprint     %s\n", seal.Fingerprint(keys["definition"].ID()))
	fmt.Fprintf(stdout, "municipalities  %d\n", t.Municipalities)
	fmt.Fprintf(stdout, "voting centres  %d\n", t.VotingCentres)
	fmt.Fprintf(stdout, "stations        %d polling, %d counting centres\n", t.PollingStations, t.CountingCentres)
	fmt.Fprintf(stdout, "voters          %d on station lists, %d out of country, %d in all\n",
		t.Registered, t.OutOfCountry, t.Registered+t.OutOfCountry)
	fmt.Fprintf(stdout, "contests        %d, %d entities, %d candidates\n", t.Contests, t.Entities, t.Candidates)
	fmt.Fprintf(stdout, "codes           %d\n", codes)
	fmt.Fprintf(stdout, "written to      %s\n", *out)
	return nil
}

// prepareDemoDir makes the directory, refusing to mix a new election with
// an old one unless force says to remove the old one's files (only those).
func prepareDemoDir(dir string, force bool) error {
	files := []string{filepath.Join(dir, definitionFile), filepath.Join(dir, codesFile),
		filepath.Join(dir, samplePhotoFile)}
	for i := 1; i <= maxSampleForms; i++ {
		files = append(files, filepath.Join(dir, sampleCountsFile(i)))
	}
	for _, name := range commissionKeys {
		files = append(files, filepath.Join(dir, keysDir, name+".key"), filepath.Join(dir, keysDir, name+".pub"))
	}
	for _, f := range files {
		if _, err := os.Stat(f); err == nil {
			if !force {
				return fmt.Errorf("election demo: %s already exists; use --force to replace the demo election in %s", f, dir)
			}
			if err := os.Remove(f); err != nil {
				return err
			}
		}
	}
	return os.MkdirAll(filepath.Join(dir, keysDir), 0o700)
}

// writeCodes draws one enrollment code per station and per municipal
// supervisor and writes them, for printing, to a file only its owner reads.
func writeCodes(path string, d *election.Definition) (int, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	w := csv.NewWriter(f)
	n := 0
	write := func(role enrollment.Role, unit, municipality, name string) error {
		code, err := enrollment.NewCode(rand.Reader)
		if err != nil {
			return err
		}
		n++
		return w.Write([]string{string(role), unit, municipality, name, code})
	}
	if err := w.Write(codesHeader); err != nil {
		return 0, err
	}
	for _, m := range d.Municipalities {
		if err := write(enrollment.RoleSupervisor, m.Code, m.Code, m.Name["sq"]); err != nil {
			return 0, err
		}
	}
	for _, s := range d.Stations {
		if err := write(enrollment.RoleStation, s.Code, s.Municipality, s.Name); err != nil {
			return 0, err
		}
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return 0, err
	}
	if err := f.Sync(); err != nil {
		return 0, err
	}
	return n, f.Close()
}

// The demo's samples: the numbers of the first polling station's forms, in
// the file format of `tally station enter`, and a picture to stand for the
// photo of the signed paper form, for training rooms and `make demo`.
const (
	samplePhotoFile = "sample-paper-form.png"
	maxSampleForms  = 2
)

func sampleCountsFile(i int) string { return fmt.Sprintf("sample-counts-%d.json", i) }

func writeSamples(dir string, d *election.Definition, seed uint64) error {
	var st *election.Station
	for i := range d.Stations {
		if d.Stations[i].Kind == election.Polling {
			st = &d.Stations[i]
			break
		}
	}
	if st == nil {
		return nil
	}
	for i, ref := range st.Forms[:min(len(st.Forms), maxSampleForms)] {
		l, err := d.Layout(ref.Contest, ref.Form)
		if err != nil {
			return err
		}
		f := election.DemoForm(d, l, st, seed)
		doc := map[string]any{"counts": f.Counts, "members_present": f.Members}
		raw, err := json.MarshalIndent(doc, "", "  ")
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, sampleCountsFile(i+1)), append(raw, '\n'), 0o644); err != nil {
			return err
		}
	}
	img := image.NewGray(image.Rect(0, 0, 64, 48))
	for x := 8; x < 56; x++ {
		for _, y := range []int{10, 20, 30, 40} {
			img.Set(x, y, color.White)
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, samplePhotoFile), b.Bytes(), 0o644)
}
