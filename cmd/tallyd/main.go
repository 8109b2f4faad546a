// Command tallyd is the election commission's server. For now it prepares
// elections; the server itself grows in later releases.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
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

// errUsage marks a command line that cannot be understood.
var errUsage = errors.New("usage")

func run(args []string, stdout, stderr io.Writer) int {
	err := dispatch(args, stdout)
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		fmt.Fprint(stdout, usage)
		return 0
	case errors.Is(err, errUsage):
		fmt.Fprintf(stderr, "tallyd: %v\n\n%s", err, usage)
		return 2
	default:
		fmt.Fprintf(stderr, "tallyd: %v\n", err)
		return 1
	}
}

func dispatch(args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("%w: no command given", errUsage)
	}
	switch args[0] {
	case "election":
		if len(args) > 1 && args[1] == "demo" {
			return electionDemo(args[2:], stdout)
		}
		return fmt.Errorf("%w: unknown election command (want: demo)", errUsage)
	case "version", "--version", "-version":
		fmt.Fprintln(stdout, "tallyd", version)
		return nil
	case "help", "-h", "--help":
		return flag.ErrHelp
	}
	return fmt.Errorf("%w: unknown command %q", errUsage, args[0])
}

// newFlags makes a flag set that reports errors instead of exiting.
func newFlags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}

// parseFlags parses a command's flags and refuses stray arguments.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return fmt.Errorf("%w: %s: %v", errUsage, fs.Name(), err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: %s: unexpected argument %q", errUsage, fs.Name(), fs.Arg(0))
	}
	return nil
}
