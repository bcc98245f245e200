package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"golang.org/x/term"

	"github.com/pitstopci/pitstop/injector"
	"github.com/pitstopci/pitstop/workflows"
)

// Named exit codes, as in gh: scripts can tell a usage mistake from a
// failure of the work itself.
const (
	exitOK    = 0
	exitError = 1 // the command ran and failed
	exitUsage = 2 // the command line was wrong; nothing was done
)

// IO is what a command may touch of the outside world. Tests substitute
// buffers and an environment of their own.
type IO struct {
	In     io.Reader
	Out    io.Writer
	Err    io.Writer
	Getenv func(string) string
	// IsTerminal reports whether stdin and stdout are both a terminal.
	// It is decided once, here, so every command agrees.
	IsTerminal bool
}

func stdio() *IO {
	return &IO{
		In:         os.Stdin,
		Out:        os.Stdout,
		Err:        os.Stderr,
		Getenv:     os.Getenv,
		IsTerminal: term.IsTerminal(int(os.Stdin.Fd())) && term.IsTerminal(int(os.Stdout.Fd())),
	}
}

// isTerminal reports whether w is a terminal, for colour: a file or a
// pipe gets none.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// command is one subcommand. Its run function lives in the command's own
// file; the list of commands is the table in commands.go.
type command struct {
	name    string
	summary string // one line, shown by "pitstop help"
	run     func(io *IO, args []string) error
}

// usageError is a mistake on the command line. It exits with exitUsage;
// the message says what was wrong and, where it helps, what is valid.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// silentError is an exit code whose explanation has already been printed
// (for example the exit status of a child process).
type silentError struct{ code int }

func (e *silentError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

// Main runs pitstop with args (without the program name) and returns the
// process exit code.
func Main(args []string, io *IO) int {
	if len(args) == 0 {
		printHelp(io.Err)
		return exitUsage
	}
	name := args[0]
	switch name {
	case "-h", "-help", "--help", "help":
		if len(args) > 1 {
			if c := lookup(args[1]); c != nil {
				return report(io, c.name, c.run(io, []string{"--help"}))
			}
		}
		printHelp(io.Out)
		return exitOK
	case "-v", "-version", "--version":
		name = "version"
	}
	c := lookup(name)
	if c == nil {
		fmt.Fprintf(io.Err, "pitstop: unknown command %q; valid commands: %s\n", name, strings.Join(commandNames(), ", "))
		return exitUsage
	}
	return report(io, c.name, c.run(io, args[1:]))
}

func report(io *IO, name string, err error) int {
	var silent *silentError
	var usage *usageError
	var wf *workflows.Error
	var opt *injector.OptionsError
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return exitOK
	case errors.As(err, &silent):
		return silent.code
	case errors.As(err, &wf):
		// FILE:LINE:COL: message, like a compiler, so editors can jump to it.
		fmt.Fprintln(io.Err, err)
		return exitError
	case errors.As(err, &usage):
		fmt.Fprintf(io.Err, "pitstop %s: %s\nRun 'pitstop %s --help' for usage.\n", name, usage.msg, name)
		return exitUsage
	case errors.As(err, &opt):
		// Flags that do not go together: a usage mistake, whatever the file.
		fmt.Fprintf(io.Err, "pitstop %s: %s\nRun 'pitstop %s --help' for usage.\n", name, opt.Msg, name)
		return exitUsage
	default:
		fmt.Fprintf(io.Err, "pitstop %s: %s\n", name, err)
		return exitError
	}
}

// lookup returns the command called name, or nil if there is none.
func lookup(name string) *command {
	for i := range commands {
		if commands[i].name == name {
			return &commands[i]
		}
	}
	return nil
}

func commandNames() []string {
	var names []string
	for _, c := range commands {
		names = append(names, c.name)
	}
	sort.Strings(names)
	return names
}

func printHelp(w io.Writer) {
	fmt.Fprint(w, `pitstop pauses a CI job after step N and lets the person who triggered the
run SSH into the live runner, in the job's own workspace and environment.

Usage:
  pitstop <command> [flags]

Commands:
`)
	for _, n := range commandNames() {
		fmt.Fprintf(w, "  %-9s %s\n", n, lookup(n).summary)
	}
	fmt.Fprint(w, `
Examples:
  $ pitstop inject --job build --ssh-after-step 4 -w .github/workflows/ci.yml
  $ pitstop act --job build --ssh-after-step 4
  $ pitstop continue            # inside a pitstop session: let the job go on
  $ pitstop step run            # inside a pitstop session: run the step after the pause
  $ ssh -t -p PORT runner@HOST pitstop new   # a fresh shell beside a detached one

Run 'pitstop <command> --help' for a command's flags.
`)
}

// flagSet returns a FlagSet for a subcommand. help is printed, followed by
// the flags, when the user asks for --help.
func flagSet(name, help string, io *IO) *flag.FlagSet {
	return groupedFlagSet(name, help, io, nil)
}

// flagGroup is a heading in a command's --help and the flags under it.
type flagGroup struct {
	title string
	flags []string
}

// groupedFlagSet is flagSet whose --help lists the flags under the
// groups' headings, in the groups' order; flags in no group come last,
// under "Other flags".
func groupedFlagSet(name, help string, io *IO, groups []flagGroup) *flag.FlagSet {
	fs := flag.NewFlagSet("pitstop "+name, flag.ContinueOnError)
	fs.SetOutput(io.Out) // --help was asked for, so it goes to stdout
	fs.Usage = func() {
		fmt.Fprint(io.Out, strings.TrimLeft(help, "\n"))
		if len(groups) == 0 {
			fmt.Fprintln(io.Out, "\nFlags:")
			fs.VisitAll(func(f *flag.Flag) { printFlag(io.Out, f) })
			return
		}
		listed := map[string]bool{}
		for _, g := range groups {
			fmt.Fprintf(io.Out, "\n%s:\n", g.title)
			for _, n := range g.flags {
				if f := fs.Lookup(n); f != nil {
					printFlag(io.Out, f)
					listed[n] = true
				}
			}
		}
		first := true
		fs.VisitAll(func(f *flag.Flag) {
			if listed[f.Name] {
				return
			}
			if first {
				fmt.Fprintln(io.Out, "\nOther flags:")
				first = false
			}
			printFlag(io.Out, f)
		})
	}
	return fs
}

// printFlag prints one flag the way flag.PrintDefaults does, but with
// the "--" the usage lines and examples use for names longer than a
// letter (the flag package takes both).
func printFlag(w io.Writer, f *flag.Flag) {
	dash := "--"
	if len(f.Name) == 1 {
		dash = "-"
	}
	name, usage := flag.UnquoteUsage(f)
	line := "  " + dash + f.Name
	if name != "" {
		line += " " + name
	}
	if len(line) <= 4 {
		line += "\t"
	} else {
		line += "\n    \t"
	}
	line += strings.ReplaceAll(usage, "\n", "\n    \t")
	switch f.DefValue {
	case "", "0", "false", "0s", "[]":
	default:
		if g, ok := f.Value.(flag.Getter); ok {
			if _, isString := g.Get().(string); isString {
				line += fmt.Sprintf(" (default %q)", f.DefValue)
				break
			}
		}
		line += fmt.Sprintf(" (default %v)", f.DefValue)
	}
	fmt.Fprintln(w, line)
}

// parseArgs parses flags that may come before, between or after positional
// arguments (pitstop inject ci.yml --job build), which the standard flag
// package alone does not allow. Everything after a bare "--" is positional.
// Mistakes come back as a usageError; --help prints the usage and returns
// flag.ErrHelp.
func parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	usage := fs.Usage
	fs.Usage = func() {} // flag calls Usage on every mistake; only --help should print it
	defer func() { fs.Usage = usage }()
	out := fs.Output()
	fs.SetOutput(io.Discard) // flag's own message is returned in the usageError instead
	defer fs.SetOutput(out)

	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				fs.SetOutput(out) // the defaults are printed to the flag set's output
				usage()
				return nil, err
			}
			return nil, &usageError{msg: err.Error()}
		}
		rest := fs.Args()
		if n := len(args) - len(rest); n > 0 && args[n-1] == "--" {
			return append(pos, rest...), nil
		}
		if len(rest) == 0 {
			return pos, nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// multiFlag is a repeatable string flag (--with a=1 --with b=2).
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }
