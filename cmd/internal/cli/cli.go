// Package cli runs the subcommands of tally and tallyd the same way: exit
// status 0 on success, 1 when the work failed, 2 when the command line
// could not be understood (with the usage text), and flags that report
// their errors instead of exiting.
package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
)

// ErrUsage marks a command line that cannot be understood.
var ErrUsage = errors.New("usage")

// Usagef makes an ErrUsage error.
func Usagef(format string, a ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrUsage}, a...)...)
}

// Run calls dispatch and turns its error into an exit status and a message
// on stderr prefixed with the program's name.
func Run(program, usage string, stdout, stderr io.Writer, dispatch func() error) int {
	err := dispatch()
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		fmt.Fprint(stdout, usage)
		return 0
	case errors.Is(err, ErrUsage):
		fmt.Fprintf(stderr, "%s: %v\n\n%s", program, err, usage)
		return 2
	default:
		fmt.Fprintf(stderr, "%s: %v\n", program, err)
		return 1
	}
}

// Flags makes a flag set that reports errors instead of exiting.
func Flags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}

// Parse parses a command's flags and refuses stray arguments.
func Parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return Usagef("%s: %v", fs.Name(), err)
	}
	if fs.NArg() > 0 {
		return Usagef("%s: unexpected argument %q", fs.Name(), fs.Arg(0))
	}
	return nil
}
