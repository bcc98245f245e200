package actrun

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"

	"golang.org/x/term"

	"github.com/pitstopci/pitstop/internal/wire"
)

// connect starts ssh to the pause on the terminal.
func (r *run) connect() (chan error, error) {
	r.out.printf("pitstop: connecting: ssh %s\n", shellJoin(r.sshArgs))
	cmd := exec.Command(r.o.SSH, r.sshArgs...)
	cmd.Env = r.o.Env
	cmd.Stdin, cmd.Stdout, cmd.Stderr = r.o.Stdin, r.o.Stdout, r.o.Stderr
	endWithParent(cmd)
	_, _, r.logins = r.log.state()
	// ssh puts the terminal in raw mode and restores it when it exits;
	// killed, it cannot, so the settings are saved here and put back.
	restore := saveTerminal(r.o.Stdin)
	// act's output would scribble over the shell; it waits until ssh ends.
	r.out.hold()
	if err := cmd.Start(); err != nil {
		r.out.release()
		return nil, fmt.Errorf("start ssh: %w; connect yourself with: %s", err, r.line)
	}
	done := make(chan error, 1)
	go func() {
		err := cmd.Wait()
		restore()
		done <- err
	}()
	return done, nil
}

// saveTerminal saves the settings of in, when it is a terminal, and
// returns what puts them back.
func saveTerminal(in io.Reader) func() {
	f, ok := in.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return func() {}
	}
	st, err := term.GetState(int(f.Fd()))
	if err != nil {
		return func() {}
	}
	return func() { _ = term.Restore(int(f.Fd()), st) }
}

// sshFinished says what an ssh that failed means for the pause. It
// reports true when ssh failed on its own account, so the user may try
// again.
func (r *run) sshFinished(err error) bool {
	r.out.release()
	var exit *exec.ExitError
	if !errors.As(err, &exit) {
		return false
	}
	if exit.ExitCode() < 0 {
		// Killed by a signal (not by the remote shell's end): nothing
		// was said, and the pause is still there to come back to.
		fmt.Fprintf(r.o.Stderr, "pitstop: ssh ended (%s); the terminal's settings are restored, and the pause waits for you to reconnect\n", exit.ProcessState)
		return true
	}
	if exit.ExitCode() != 255 {
		return false
	}
	// 255 is ssh's own failure, not the exit status of a remote shell:
	// either it never got in, or the connection dropped. The agent's log
	// tells which: it logs every login.
	_, _, logins := r.log.state()
	switch {
	case logins > r.logins:
		fmt.Fprintf(r.o.Stderr, "pitstop: the connection to the pause dropped; the pause waits %s for you to reconnect (then the job goes on)\n", wire.DefaultReconnectGrace)
	case logins > 0:
		fmt.Fprintf(r.o.Stderr, "pitstop: ssh could not log in again; the pause waits %s after the last session ended for you to reconnect\n", wire.DefaultReconnectGrace)
	default:
		wait := r.o.WaitTimeout
		if wait == 0 {
			wait = wire.DefaultWaitTimeout
		}
		fmt.Fprintf(r.o.Stderr, "pitstop: ssh could not log in to the pause; it waits for a first connection for %s after it started\n", wait)
	}
	return true
}

// leftDetached tells the user who left a detached pause (ssh ended with
// the remote shell) that the job runs on and they may come back, and
// reports whether it did. Nothing said so before, and the pause looked
// over.
func (r *run) leftDetached(err error) bool {
	var exit *exec.ExitError
	if !r.o.Detached || errors.As(err, &exit) && (exit.ExitCode() == 255 || exit.ExitCode() < 0) {
		return false
	}
	fmt.Fprintln(r.o.Stderr, "pitstop: you left the detached pause; the job runs on, and its end holds while someone is connected")
	return true
}

// waitEnter offers to reconnect: on a terminal, Enter does it; otherwise
// the user is told the command. The returned channel receives once when
// Enter is pressed.
func (r *run) waitEnter() chan struct{} {
	if !r.o.Connect || r.o.Stdin == nil {
		fmt.Fprintf(r.o.Stderr, "pitstop: connect with: %s\n", r.line)
		return nil
	}
	fmt.Fprintf(r.o.Stderr, "pitstop: press Enter to connect again, or connect yourself with: %s\n", r.line)
	enter := make(chan struct{}, 1)
	go func() {
		// Left blocked when the job ends first; pitstop act exits then.
		var b [1]byte
		for {
			n, err := r.o.Stdin.Read(b[:])
			if err != nil {
				return
			}
			if n == 1 && (b[0] == '\n' || b[0] == '\r') {
				enter <- struct{}{}
				return
			}
		}
	}()
	return enter
}
