//go:build unix

package control

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"golang.org/x/term"
)

// RunAttach joins a terminal through the control socket and shows it on
// the caller's own terminal (in and out, which must be one) until the
// caller presses DetachKey or the terminal ends. It says which on out.
func RunAttach(ctx context.Context, socket string, o AttachOptions, in *os.File, out io.Writer) error {
	fd := int(in.Fd())
	if !term.IsTerminal(fd) {
		return errors.New("pitstop attach needs a terminal: run it in an interactive session")
	}
	if cols, rows, err := term.GetSize(fd); err == nil {
		o.Cols, o.Rows = cols, rows
	}
	a, err := Attach(ctx, socket, o)
	if err != nil {
		return err
	}
	defer a.Close()
	old, err := term.MakeRaw(fd)
	if err != nil {
		return fmt.Errorf("put the terminal in raw mode: %w", err)
	}
	// Our own window's size changes follow.
	winch := make(chan os.Signal, 1)
	signal.Notify(winch, syscall.SIGWINCH)
	defer signal.Stop(winch)
	sizes := make(chan [2]int)
	done := make(chan struct{})
	defer close(done)
	go func() {
		for {
			select {
			case <-winch:
				if cols, rows, err := term.GetSize(fd); err == nil {
					select {
					case sizes <- [2]int{cols, rows}:
					case <-done:
						return
					}
				}
			case <-done:
				return
			}
		}
	}()
	attached(a, in, out, sizes, func() {
		term.Restore(fd, old) //nolint:errcheck // best effort: the shell resets the terminal too
	})
	return nil
}
