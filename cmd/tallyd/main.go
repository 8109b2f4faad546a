// Command tallyd is the election commission's server. For now it prepares
// elections; the server itself grows in later releases.
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
  tallyd version
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	return cli.Run("tallyd", usage, stdout, stderr, func() error { return dispatch(args, stdout) })
}

func dispatch(args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return cli.Usagef("no command given")
	}
	switch args[0] {
	case "election":
		if len(args) > 1 && args[1] == "demo" {
			return electionDemo(args[2:], stdout)
		}
		return cli.Usagef("unknown election command (want: demo)")
	case "version", "--version", "-version":
		fmt.Fprintln(stdout, "tallyd", version)
		return nil
	case "help", "-h", "--help":
		return flag.ErrHelp
	}
	return cli.Usagef("unknown command %q", args[0])
}
