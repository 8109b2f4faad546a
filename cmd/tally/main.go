// Command tally is the polling station's app. This build carries the
// headless commands; the desktop screens come with the station core.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"tally/app/election"
	"tally/app/seal"
	"tally/cmd/internal/cli"
)

// version is set at build time from FyneApp.toml.
var version = "dev"

const usage = `tally — the polling station's results app

Usage:
  tally election inspect FILE [--keys PUBFILE | --fingerprint FP] [--election ID] [--json]
        verify a signed election definition and print what it holds
  tally version
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	return cli.Run("tally", usage, stdout, stderr, func() error { return dispatch(args, stdout) })
}

func dispatch(args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return cli.Usagef("no command given")
	}
	switch args[0] {
	case "election":
		if len(args) > 1 && args[1] == "inspect" {
			return electionInspect(args[2:], stdout)
		}
		return cli.Usagef("unknown election command (want: inspect)")
	case "version", "--version", "-version":
		fmt.Fprintln(stdout, "tally", version)
		return nil
	case "help", "-h", "--help":
		return flag.ErrHelp
	}
	return cli.Usagef("unknown command %q", args[0])
}

// inspection is what `election inspect --json` prints.
type inspection struct {
	Election    string          `json:"election"`
	Kind        election.Kind   `json:"kind"`
	Name        string          `json:"name"`
	Date        string          `json:"date"`
	KeyID       string          `json:"definition_key_id"`
	Fingerprint string          `json:"fingerprint"`
	Trusted     bool            `json:"fingerprint_checked"`
	Totals      election.Totals `json:"totals"`
}

func electionInspect(args []string, stdout io.Writer) error {
	fs := cli.Flags("election inspect")
	keyFile := fs.String("keys", "", "the commission's definition public key file to trust")
	fingerprint := fs.String("fingerprint", "", "the printed fingerprint of the commission's definition key")
	electionID := fs.String("election", "", "the election id expected")
	asJSON := fs.Bool("json", false, "print JSON")
	// The file comes first, flags after it.
	if len(args) == 0 || len(args[0]) == 0 || args[0][0] == '-' {
		return cli.Usagef("election inspect: the definition FILE comes first")
	}
	file := args[0]
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return cli.Usagef("election inspect: %v", err)
	}
	if fs.NArg() > 0 {
		return cli.Usagef("election inspect: unexpected argument %q", fs.Arg(0))
	}
	if *keyFile != "" && *fingerprint != "" {
		return cli.Usagef("election inspect: give --keys or --fingerprint, not both")
	}
	raw, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	trust := election.Trust{ElectionID: *electionID}
	if *keyFile != "" {
		pub, err := seal.ReadPublicKeyFile(*keyFile)
		if err != nil {
			return err
		}
		trust.DefinitionKeyID = pub.ID
	}
	d, err := election.OpenSigned(raw, trust)
	if err != nil {
		return err
	}
	key, err := seal.ParsePublicKey(d.Election.Keys.Definition)
	if err != nil {
		return err
	}
	out := inspection{
		Election: d.Election.ID, Kind: d.Election.Kind, Name: d.Election.Name["sq"], Date: d.Election.Date,
		KeyID: key.ID, Fingerprint: seal.Fingerprint(key.ID), Trusted: trust.DefinitionKeyID != "",
		Totals: d.Totals(),
	}
	if *fingerprint != "" {
		if !seal.MatchesFingerprint(*fingerprint, key.ID) {
			return fmt.Errorf("the commission's key fingerprint %s differs from the printed %s: do not use this definition", out.Fingerprint, *fingerprint)
		}
		out.Trusted = true
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	t := out.Totals
	fmt.Fprintf(stdout, "election        %s (%s, %s)\n", out.Election, out.Kind, out.Date)
	fmt.Fprintf(stdout, "name            %s\n", out.Name)
	fmt.Fprintf(stdout, "fingerprint     %s\n", out.Fingerprint)
	if !out.Trusted {
		fmt.Fprintln(stdout, "                NOT CHECKED: compare it with the fingerprint the commission printed")
	}
	fmt.Fprintf(stdout, "municipalities  %d\n", t.Municipalities)
	fmt.Fprintf(stdout, "voting centres  %d\n", t.VotingCentres)
	fmt.Fprintf(stdout, "stations        %d polling, %d counting centres\n", t.PollingStations, t.CountingCentres)
	fmt.Fprintf(stdout, "voters          %d on station lists, %d out of country\n", t.Registered, t.OutOfCountry)
	fmt.Fprintf(stdout, "contests        %d, %d entities, %d candidates, %d forms\n", t.Contests, t.Entities, t.Candidates, t.Forms)
	return nil
}
