package main

import (
	"context"
	"os"
	"strconv"

	"github.com/pitstopci/pitstop/agent"
	"github.com/pitstopci/pitstop/agent/control"
)

const attachHelp = `Usage: pitstop attach [ID] [--read-only]

Joins terminal ID of the paused job (another user's shell, or one of your
own), as shown by pitstop status; without ID, the only other terminal.
Everyone attached sees the same screen; with --read-only you watch, and
your keystrokes and window size go nowhere. Ctrl-] leaves it. Run it inside a pitstop
session; from outside, the same works as: ssh -t ... pitstop attach ID

Examples:
  $ pitstop attach
  $ pitstop attach 2 --read-only
`

func runAttach(io *IO, args []string) error {
	fs, socketFlag := controlFlags("attach", attachHelp, io)
	readOnly := fs.Bool("read-only", false, "watch only: keystrokes are not sent")
	rest, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	var o control.AttachOptions
	o.ReadOnly = *readOnly
	switch len(rest) {
	case 0:
	case 1:
		if o.Terminal, err = strconv.Atoi(rest[0]); err != nil || o.Terminal <= 0 {
			return usagef("%q is not a terminal ID (pitstop status lists them)", rest[0])
		}
	default:
		return usagef("unexpected argument %q", rest[1])
	}
	socket, err := socketPath(io, *socketFlag)
	if err != nil {
		return err
	}
	o.From, _ = strconv.Atoi(io.Getenv(agent.TerminalEnv))
	in, ok := io.In.(*os.File)
	if !ok || !io.IsTerminal {
		return usagef("pitstop attach needs a terminal: run it in an interactive session")
	}
	return control.RunAttach(context.Background(), socket, o, in, io.Out)
}
