package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"

	"github.com/pitstopci/pitstop/agent/control"
)

const stepHelp = `Usage: pitstop step [--json]
       pitstop step run

Shows the job step the pause stands for: the step after the pause, or for
an on-failure pause the step it follows. Its name and number, and its
script, shell and working directory, or its action and inputs, with the
expressions in them as the runner evaluated them. The session already has
that step's environment (its env: included).

"pitstop step run" runs a run: step as GitHub's runner would: the script
in a file, run by its shell with the runner's options (bash: bash
--noprofile --norc -eo pipefail; sh: sh -e; none: bash -e), in its working
directory, with this session's environment and no input. It prints the
exit status and exits with it. A uses: step runs an action, which only the
runner can run.

Examples:
  $ pitstop step
  $ pitstop step run
  $ GOFLAGS=-v pitstop step run    # try a change before the job runs it
`

func runStep(io *IO, args []string) error {
	fs, socketFlag := controlFlags("step", stepHelp, io)
	asJSON := fs.Bool("json", false, "print the step as JSON")
	rest, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	run := len(rest) == 1 && rest[0] == "run"
	if len(rest) > 0 && !run {
		return usagef("unexpected argument %q; the one subcommand is run", rest[0])
	}
	_, st, err := statusAt(io, *socketFlag)
	if err != nil {
		return err
	}
	if st.Step == nil {
		return errors.New("this pause stands for no step: it is at the end of the job, detached, or was not written by pitstop inject")
	}
	s := st.Step
	switch {
	case run:
		return runStepScript(io, s)
	case *asJSON:
		return writeJSON(io.Out, s)
	}
	printStep(io.Out, s)
	return nil
}

func printStep(w io.Writer, s *control.Step) {
	fmt.Fprintf(w, "%s.\n", s.Describe())
	indent := func(text string) string {
		return "  " + strings.ReplaceAll(strings.TrimSuffix(text, "\n"), "\n", "\n  ")
	}
	if s.Uses != "" {
		fmt.Fprintf(w, "uses: %s\n", s.Uses)
		if s.With != "" {
			fmt.Fprintf(w, "with:\n%s\n", indent(s.With))
		}
	} else {
		shell := s.Shell
		if shell == "" {
			shell = "(the runner's default: bash -e, else sh -e)"
		}
		fmt.Fprintf(w, "shell: %s\n", shell)
		if s.WorkingDirectory != "" {
			fmt.Fprintf(w, "working-directory: %s\n", s.WorkingDirectory)
		}
		fmt.Fprintf(w, "run:\n%s\n", indent(s.Run))
	}
	if len(s.Env) > 0 {
		fmt.Fprintf(w, "env (set in this session): %s\n", strings.Join(s.Env, " "))
	}
	if s.Uses == "" {
		fmt.Fprintln(w, "Run it as the runner would: pitstop step run")
	}
}

func runStepScript(io *IO, s *control.Step) error {
	if s.Uses != "" {
		return fmt.Errorf("step %d runs the action %s, which only the runner can run; pitstop continue lets the job run it", s.Number, s.Uses)
	}
	// Ctrl-C goes to the script, which shares the terminal; pitstop stays
	// to report how it ended. Caught, not ignored: an ignored signal
	// would stay ignored in the script.
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt)
	defer signal.Stop(sig)
	fmt.Fprintf(io.Err, "pitstop: running step %d (%s)\n", s.Number, s.Label())
	code, err := control.RunStep(context.Background(), s, control.StepRun{
		Env:       os.Environ(),
		Workspace: io.Getenv("GITHUB_WORKSPACE"),
		TempDir:   io.Getenv("RUNNER_TEMP"),
		Stdout:    io.Out,
		Stderr:    io.Err,
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(io.Err, "pitstop: step %d exited with status %d\n", s.Number, code)
	if code != 0 {
		return &silentError{code: code}
	}
	return nil
}
