package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/pitstopci/pitstop/agent/control"
)

// The commands run inside a pitstop session. They find the agent through
// $PITSTOP_SOCKET, which the agent sets in every session.

// controlFlags adds --socket to a control command's flags.
func controlFlags(name, help string, io *IO) (*flag.FlagSet, *string) {
	fs := flagSet(name, help, io)
	socket := fs.String("socket", "", "the agent's control `socket` (default $"+control.SocketEnv+")")
	return fs, socket
}

// statusAt finds the agent's control socket (see socketPath) and asks
// the agent there for its status; the commands that read the pause
// (status, step) or change it relative to where it is (extend) start so.
func statusAt(io *IO, flagValue string) (string, control.Status, error) {
	socket, err := socketPath(io, flagValue)
	if err != nil {
		return "", control.Status{}, err
	}
	st, err := control.QueryStatus(context.Background(), socket)
	return socket, st, err
}

// writeJSON writes v as indented JSON, for the --json of the control
// commands.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func socketPath(io *IO, flagValue string) (string, error) {
	if flagValue != "" {
		return flagValue, nil
	}
	if s := io.Getenv(control.SocketEnv); s != "" {
		return s, nil
	}
	return "", fmt.Errorf("%w; run this in an SSH session of a paused job", control.ErrNoSocket)
}

const continueHelp = `Usage: pitstop continue

Ends the pause now: every session is closed and the job goes on with its
next step. Run it inside a pitstop session.

Example:
  $ pitstop continue
`

func runContinue(io *IO, args []string) error {
	fs, socketFlag := controlFlags("continue", continueHelp, io)
	rest, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usagef("unexpected argument %q", rest[0])
	}
	socket, err := socketPath(io, *socketFlag)
	if err != nil {
		return err
	}
	if _, err := control.Continue(context.Background(), socket); err != nil {
		return err
	}
	fmt.Fprintln(io.Out, "pitstop: the pause is over; the job continues.")
	return nil
}

const extendHelp = `Usage: pitstop extend DURATION

Adds DURATION (such as 30m or 1h30m) to the most the pause may last. Run it
inside a pitstop session.

Example:
  $ pitstop extend 30m
`

func runExtend(io *IO, args []string) error {
	fs, socketFlag := controlFlags("extend", extendHelp, io)
	rest, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(rest) != 1 {
		return usagef("want one duration, such as 30m")
	}
	d, err := time.ParseDuration(rest[0])
	if err != nil || d <= 0 {
		return usagef("%q is not a positive duration such as 30m or 1h30m", rest[0])
	}
	socket, before, err := statusAt(io, *socketFlag)
	if err != nil {
		return err
	}
	st, err := control.Extend(context.Background(), socket, d)
	if err != nil {
		return err
	}
	if added := st.Deadline.Sub(before.Deadline); added < d && !st.Limit.IsZero() && st.Deadline.Equal(st.Limit) {
		// The agent stopped at the job's own limit: past it, the job
		// would be cancelled in the middle of the session.
		fmt.Fprintf(io.Out, "pitstop: extended by %s, not %s: the job's time limit (its timeout-minutes, 360 by default, counted from the job's start) would cancel it then; %s left (until %s).\n",
			added.Round(time.Second), d, st.Remaining().Round(time.Second), st.Deadline.UTC().Format("15:04 MST"))
		return nil
	}
	fmt.Fprintf(io.Out, "pitstop: extended by %s; %s left (until %s).\n",
		d, st.Remaining().Round(time.Second), st.Deadline.UTC().Format("15:04 MST"))
	return nil
}

const statusHelp = `Usage: pitstop status [--json]

Shows what is paused, how much time is left, and who is connected. Run it
inside a pitstop session.

Examples:
  $ pitstop status
  $ pitstop status --json
`

func runStatus(io *IO, args []string) error {
	fs, socketFlag := controlFlags("status", statusHelp, io)
	asJSON := fs.Bool("json", false, "print the status as JSON")
	rest, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usagef("unexpected argument %q", rest[0])
	}
	_, st, err := statusAt(io, *socketFlag)
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(io.Out, st)
	}
	printStatus(io.Out, st)
	return nil
}

func printStatus(w io.Writer, st control.Status) {
	switch st.Mode {
	case control.ModeDetached:
		fmt.Fprintf(w, "pitstop: %s runs on with a detached pause; its end holds for you\n", st.Label)
		step := st.JobStep
		if step == "" {
			step = "(cannot tell on this runner)"
		}
		fmt.Fprintf(w, "job now runs: %s\n", step)
	case control.ModeHolding:
		fmt.Fprintf(w, "pitstop: the steps of %s are done; the job holds until you exit or run pitstop continue\n", st.Label)
	default:
		fmt.Fprintf(w, "pitstop: %s is paused\n", st.Label)
	}
	if st.Deadline.IsZero() {
		fmt.Fprintln(w, "time left: the limit starts with the first connection")
	} else {
		more := "pitstop extend 30m adds time"
		switch {
		case st.Limit.IsZero():
		case !st.Deadline.Before(st.Limit):
			more = "the job's time limit allows no more"
		default:
			more += ", up to " + st.Limit.UTC().Format("15:04 MST") + " (the job's time limit)"
		}
		fmt.Fprintf(w, "time left: %s (until %s; %s)\n",
			st.Remaining().Round(time.Second), st.Deadline.UTC().Format("15:04:05 MST"), more)
	}
	if !st.WaitingUntil.IsZero() {
		fmt.Fprintf(w, "nobody is connected; waiting until %s\n", st.WaitingUntil.UTC().Format("15:04:05 MST"))
	}
	fmt.Fprintf(w, "connections: %d\n", st.Connections)
	if len(st.Terminals) > 0 {
		fmt.Fprintln(w, "terminals (pitstop attach ID [--read-only]):")
		for _, t := range st.Terminals {
			fmt.Fprintf(w, "  %-3d %-16s %-8s %s\n", t.ID, t.Owner, t.Command, t.Describe(st.Now))
		}
	}
	if len(st.Sessions) == 0 {
		return
	}
	fmt.Fprintln(w, "sessions:")
	for _, s := range st.Sessions {
		kind := s.Kind
		if s.PTY {
			kind += "+pty"
		}
		fmt.Fprintf(w, "  %-16s %-10s %-22s %s  since %s\n", s.User, kind, s.RemoteAddr, s.KeyFingerprint,
			st.Now.Sub(s.Since).Round(time.Second))
	}
}
