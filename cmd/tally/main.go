// Command tally is the polling station's app. This build carries the
// headless commands (station.go, audit.go, export.go); the desktop screens
// come later.
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
  tally [app] [--data DIR]
        open the desktop app: the station's forms, double entry, sealing,
        and the outbox on its way to the commission
  tally election inspect FILE [--keys PUBFILE | --fingerprint FP] [--election ID] [--json]
        verify a signed election definition and print what it holds

  tally station init (--definition FILE | --server URL [--tls-pin PIN]...) --fingerprint FP
                     --station CODE --by NAME [--pin-file FILE]
        bind this laptop to its station: verify the commission's definition
        (from a file, or downloaded from the commission's server with the
        printed pins), make the station's key and seal it under the chair's PIN
  tally station enroll --code CODE [--pin-file FILE]
        enroll the station's key with the commission's server, with the
        printed one-time code
  tally station enter --contest C [--form results|candidates] --file COUNTS.json
                      --as first|second --by NAME [--photo FILE]
        type one whole entry of a form from a file, and attach the photo of the
        signed paper form (with the first entry)
  tally station photo --contest C [--form F] --file FILE --by NAME
        attach the photo or scan of the signed paper form later
  tally station resolve --contest C [--form F] --field F --value N --by NAME
        settle a difference between the two entries by retyping it from paper
  tally station confirm --contest C [--form F] --rule CODE --explanation TEXT --by NAME
        confirm an error that the paper form itself carries
  tally station seal --contest C [--form F] [--pin-file FILE]
        sign the agreed form with the station's key and queue it
  tally station correct --contest C [--form F] --by NAME
        start a new version of a sealed form
  tally station receipt FILE
        record a commission's receipt brought by hand
  tally station status
        every form's state, the outbox and the last receipt
  tally station show --contest C [--form F]
        one form: its numbers, findings and differences
  tally station print --contest C [--form F] [--version N] --out FILE.pdf [--lang TAG]
        write a sealed version as a PDF to print, sign and keep with the paper
        form: its numbers, findings, hashes and the commission's receipt
  tally sync [--follow] [--pin-file FILE]
        send the outbox to the commission until it is empty (or, with
        --follow, until interrupted); with the PIN, upload the photos too
  tally supervisor init (--definition FILE | --server URL [--tls-pin PIN]...) --fingerprint FP
                        --municipality CODE --by NAME [--pin-file FILE]
        bind this laptop to a municipality's supervisor: verify the
        commission's definition, make the supervisor's key and seal it under
        the supervisor's PIN
  tally supervisor enroll --code CODE [--pin-file FILE]
        enroll the supervisor's key with the commission's server
  tally supervisor sync [--follow] [--pin-file FILE]
        fetch the key list, the municipality's stations, their records,
        submissions and photos, and send the decisions waiting
  tally supervisor dashboard [--state S] [--search TEXT]
        every station of the municipality and where its forms stand
  tally supervisor show DIGEST
        a submission verified here: its numbers, findings, confirmations,
        and the history of its form with the differences between versions
  tally supervisor decide DIGEST (--approve | --return REASON) [--pin-file FILE]
        sign a decision on the latest version of a form and queue it; the
        next sync sends it
  tally audit verify
        check the audit log's hash chain and the database's integrity
  tally export --out DIR
        write the station's record (definition, sealed versions, receipts,
        photos, audit log, manifest) into a new or empty directory
  tally verify-release DIR (--key FILE | --fingerprint FP) [--json] [INSTALLED...]
        check a release directory against its manifest signed with the
        release key: the checksums, every file, the Authenticode signatures;
        name every file that does not match; and find each INSTALLED file
        (such as /usr/bin/tallyd) among those its packages install
  tally verify-results DIR|URL --fingerprint FP [--from N | --latest] [--tls-pin PIN]...
        check published results, in the directory tallyd publish wrote or
        at the server's address: the signed definition and key list, every
        snapshot's signature and chain, every station's signed form in it,
        every sum, and every file derived from it; name the first that fails
  tally version

The station, audit and export commands take --db PATH (default: $TALLY_DB,
else station.db in the user's configuration directory under tally/) and
--json to print JSON; the supervisor commands take --db PATH (default:
$TALLY_SUPERVISOR_DB, else supervisor.db beside station.db) and --json.
The PIN is read from --pin-file FILE or else from the first line of
standard input, never from the command line.
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// streams are the standard input and outputs of one run.
type streams struct {
	stdin          io.Reader
	stdout, stderr io.Writer
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	s := &streams{stdin: stdin, stdout: stdout, stderr: stderr}
	return cli.Run("tally", usage, stdout, stderr, func() error { return dispatch(args, s) })
}

func dispatch(args []string, s *streams) error {
	if len(args) == 0 || args[0] == "app" {
		return appCommand(args, s)
	}
	switch args[0] {
	case "election":
		if len(args) > 1 && args[1] == "inspect" {
			return electionInspect(args[2:], s.stdout)
		}
		return cli.Usagef("unknown election command (want: inspect)")
	case "station":
		return stationCommand(args[1:], s)
	case "supervisor":
		return supervisorCommand(args[1:], s)
	case "audit":
		if len(args) > 1 && args[1] == "verify" {
			return auditVerify(args[2:], s)
		}
		return cli.Usagef("unknown audit command (want: verify)")
	case "sync":
		return syncCommand(args[1:], s)
	case "export":
		return exportCommand(args[1:], s)
	case "verify-release":
		return verifyRelease(args[1:], s.stdout)
	case "verify-results":
		return verifyResults(args[1:], s.stdout)
	case "version", "--version", "-version":
		fmt.Fprintln(s.stdout, "tally", version)
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
