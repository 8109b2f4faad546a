// Command tallyd is the election commission's server and the operator's
// commands around it.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"

	"tally/cmd/internal/cli"
)

// version is set at build time from FyneApp.toml.
var version = "dev"

const usage = `tallyd — the election commission's server

Usage:
  tallyd election demo --out DIR [--kind assembly|municipal] [--seed N] [--server URL] [--force]
        write a demo election at Kosovo's scale: the signed definition, the
        commission's keys and one enrollment code per station and supervisor
  tallyd serve [--listen ADDR] [--db DB] [--keys DIR] [--tls-cert PEM --tls-key PEM]
        run the commission's server until SIGINT or SIGTERM
  tallyd election import --definition FILE --fingerprint FP [--codes CSV] [--db DB]
        verify the signed definition against the printed fingerprint and import it
  tallyd codes issue [--role station|supervisor] [--unit CODE,...] --out CSV [--db DB]
        issue new one-time enrollment codes (all units by default) for printing
  tallyd key revoke --key ID --reason TEXT [--db DB]
        revoke a station's or supervisor's key (a lost laptop)
  tallyd audit verify [--json] [--db DB]
        check the audit chain and the database file
  tallyd publish --out DIR [--all] [--keys DIR] [--db DB]
        write the latest results snapshot (made first if what is counted
        changed), the definition, the key list and the results page as
        static files, under the paths tallyd serves them at
  tallyd bench [--db DB] [--kind municipal|assembly] [--clients 250] [--rounds 5] [--json]
        enroll every demo station into a real tallyd serve and fire the
        election-night burst, then corrections; print the figures
  tallyd bench floor [--kind municipal|assembly] [--seed N] [--listen ADDR] [--results DIR]
        the bench's yardstick: verify, parse and sign a receipt for each
        of the bench's submissions, and store nothing; serve the gzipped
        results files under DIR from memory
  tallyd version

DB is a SQLite file (default: $TALLYD_DB or tallyd.db) or a postgres:// URL.
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	return cli.Run("tallyd", usage, stdout, stderr, func() error { return dispatch(args, stdout, stderr) })
}

func dispatch(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return cli.Usagef("no command given")
	}
	switch args[0] {
	case "election":
		if len(args) > 1 && args[1] == "demo" {
			return electionDemo(args[2:], stdout)
		}
		if len(args) > 1 && args[1] == "import" {
			return electionImport(args[2:], stdout)
		}
		return cli.Usagef("unknown election command (want: demo, import)")
	case "bench":
		if len(args) > 1 && args[1] == "floor" {
			return floorServe(args[2:], stdout)
		}
		return bench(args[1:], stdout)
	case "serve":
		return serve(args[1:], stdout, stderr)
	case "publish":
		return publishOut(args[1:], stdout)
	case "codes":
		if len(args) > 1 && args[1] == "issue" {
			return codesIssue(args[2:], stdout)
		}
		return cli.Usagef("unknown codes command (want: issue)")
	case "key":
		if len(args) > 1 && args[1] == "revoke" {
			return keyRevoke(args[2:], stdout)
		}
		return cli.Usagef("unknown key command (want: revoke)")
	case "audit":
		if len(args) > 1 && args[1] == "verify" {
			return auditVerify(args[2:], stdout)
		}
		return cli.Usagef("unknown audit command (want: verify)")
	case "version", "--version", "-version":
		fmt.Fprintln(stdout, "tallyd", version)
		return nil
	case "help", "-h", "--help":
		return flag.ErrHelp
	}
	return cli.Usagef("unknown command %q", args[0])
}
