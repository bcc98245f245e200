//go:build unix

package term

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"

	"github.com/creack/pty"
	"github.com/gliderlabs/ssh"
	"golang.org/x/sys/unix"
)

// Supported says whether RunProgram works here.
const Supported = true

// Timings of a program's end.
const (
	// DrainGrace is how long output may keep coming after the program
	// exited (a background job still holding the terminal or pipe open)
	// before the session sends its exit status anyway.
	DrainGrace = 500 * time.Millisecond
	// KillGrace is how long a program has between SIGHUP and SIGKILL.
	KillGrace = 3 * time.Second
)

// RunProgram runs p with the session's I/O until it exits, the
// connection drops or the client closes the session's channel (the
// program gets SIGHUP, as under sshd), or stop is closed. It returns once the program's output has been forwarded, so the
// caller can send the exit status after it.
func RunProgram(sess ssh.Session, p Program, stop <-chan struct{}) Outcome {
	cmd := command(p)
	if p.Pty != nil {
		return runOnPTY(sess, cmd, p, stop)
	}
	return runOnPipes(sess, cmd, stop)
}

// command is p's program, not started yet.
func command(p Program) *exec.Cmd {
	cmd := exec.Command(p.Argv[0], p.Argv[1:]...)
	cmd.Env = p.Env
	cmd.Dir = p.Dir
	return cmd
}

func runOnPipes(sess ssh.Session, cmd *exec.Cmd, stop <-chan struct{}) Outcome {
	cmd.Stdout = sess
	cmd.Stderr = sess.Stderr()
	// Its own process group, so stop and signals reach its children too.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	// Wait returns at most this long after the program exits even when a
	// background child still holds stdout open.
	cmd.WaitDelay = DrainGrace
	// Not cmd.Stdin = sess: Wait would then block until the client sends
	// EOF, which an interactive client never does. Stdin is copied by a
	// goroutine nobody waits for; it ends when the channel closes.
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return Outcome{Status: 255, Err: fmt.Errorf("open stdin pipe: %w", err)}
	}
	if err := cmd.Start(); err != nil {
		return Outcome{Status: 127, Err: fmt.Errorf("start %s: %w", cmd.Path, err)}
	}
	go func() {
		io.Copy(stdin, sess) //nolint:errcheck // ends with the channel or the program
		stdin.Close()
	}()
	return waitProgram(sess, cmd, stop)
}

// startOnPTY starts cmd on a new pty of pty's size and modes, as the
// leader of a session whose controlling terminal the pty is, as sshd
// does, and returns the pty's master. When it fails, status is the exit
// status to report: 255 when no pty could be had, 127 when the program
// could not start.
func startOnPTY(cmd *exec.Cmd, pty *Pty) (master *ptyFile, status int, err error) {
	master, tty, err := openPTY()
	if err != nil {
		return nil, 255, err
	}
	setWindow(master, pty.Window)
	// As sshd does; a terminal without them still works, with defaults.
	ApplyModes(tty, pty.Modes) //nolint:errcheck // see above
	cmd.Stdin, cmd.Stdout, cmd.Stderr = tty, tty, tty
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true}
	err = cmd.Start()
	tty.Close() // the child has its copy; ours would keep the pty open after it exits
	if err != nil {
		master.Close()
		return nil, 127, fmt.Errorf("start %s: %w", cmd.Path, err)
	}
	return master, 0, nil
}

func runOnPTY(sess ssh.Session, cmd *exec.Cmd, p Program, stop <-chan struct{}) Outcome {
	master, status, err := startOnPTY(cmd, p.Pty)
	if err != nil {
		return Outcome{Status: status, Err: err}
	}

	// Window changes follow until the pty is closed. The channel is
	// agent's (its sessionFilter's), closed when the session's requests end.
	var mu sync.Mutex
	closed := false
	go func() {
		for w := range p.WinCh {
			mu.Lock()
			if !closed {
				setWindow(master, w)
			}
			mu.Unlock()
		}
	}()
	go io.Copy(master, sess) //nolint:errcheck // stdin: ends with the channel or the pty
	outDone := make(chan struct{})
	go func() {
		// Byte for byte: the pty's line discipline has done what output
		// processing the program asked for (see the agent's sessionFilter).
		io.Copy(sess, master) //nolint:errcheck // ends with EIO once the program and its children are gone
		close(outDone)
	}()

	out := waitProgram(sess, cmd, stop)
	// Drain what the program wrote before it exited, then close the pty
	// even if a background job still holds it, which ends the copy.
	select {
	case <-outDone:
	case <-time.After(DrainGrace):
	}
	mu.Lock()
	closed = true
	master.Close()
	mu.Unlock()
	<-outDone
	return out
}

// waitProgram waits for cmd, forwarding the client's signals, and stops
// it when the connection drops, the channel is closed, or stop is closed.
func waitProgram(sess ssh.Session, cmd *exec.Cmd, stop <-chan struct{}) Outcome {
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()

	sigs := make(chan ssh.Signal, 8)
	sess.Signals(sigs)
	defer sess.Signals(nil)

	var kill *time.Timer
	defer func() {
		if kill != nil {
			kill.Stop()
		}
	}()
	hangUp := func() {
		signalGroup(cmd, syscall.SIGHUP)
		signalGroup(cmd, syscall.SIGCONT) // a stopped job must run to see the HUP
		if kill == nil {
			kill = time.AfterFunc(KillGrace, func() { signalGroup(cmd, syscall.SIGKILL) })
		}
	}
	dropped := false
	connDone := sess.Context().Done() // the channel's: see the agent's channelContext
	for {
		select {
		case err := <-waited:
			return Outcome{Status: exitStatus(cmd, err), Dropped: dropped}
		case <-connDone:
			dropped = true
			connDone = nil
			hangUp()
		case <-stop:
			stop = nil
			hangUp()
		case sig := <-sigs:
			if n, ok := signals[sig]; ok {
				signalGroup(cmd, n)
			}
		}
	}
}

// signals maps SSH signal names (RFC 4254 6.10) to this system's.
var signals = map[ssh.Signal]syscall.Signal{
	ssh.SIGABRT: syscall.SIGABRT, ssh.SIGALRM: syscall.SIGALRM, ssh.SIGFPE: syscall.SIGFPE,
	ssh.SIGHUP: syscall.SIGHUP, ssh.SIGILL: syscall.SIGILL, ssh.SIGINT: syscall.SIGINT,
	ssh.SIGKILL: syscall.SIGKILL, ssh.SIGPIPE: syscall.SIGPIPE, ssh.SIGQUIT: syscall.SIGQUIT,
	ssh.SIGSEGV: syscall.SIGSEGV, ssh.SIGTERM: syscall.SIGTERM, ssh.SIGUSR1: syscall.SIGUSR1,
	ssh.SIGUSR2: syscall.SIGUSR2,
}

// signalGroup signals the program's process group: the program leads it
// (Setsid or Setpgid above), and its children belong to it.
func signalGroup(cmd *exec.Cmd, sig syscall.Signal) {
	if cmd.Process != nil {
		syscall.Kill(-cmd.Process.Pid, sig) //nolint:errcheck // the group may be gone already
	}
}

// exitStatus is the status to report: the program's own, or 128+N when
// signal N killed it, as shells report it.
func exitStatus(cmd *exec.Cmd, err error) int {
	if cmd.ProcessState == nil {
		return 255
	}
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) && !errors.Is(err, exec.ErrWaitDelay) {
		return 255
	}
	return cmd.ProcessState.ExitCode()
}

// openMaster opens a pty and returns a duplicate of its master's
// descriptor, for a ptyFile. Not creack/pty's file itself: its ioctls go
// through os.File.Fd, which puts the file into blocking mode, where a
// read could not be ended by Close while a background job keeps the pty
// open. The duplicate is close-on-exec from the start (F_DUPFD_CLOEXEC),
// so a program started meanwhile does not inherit it.
func openMaster() (fd int, tty *os.File, err error) {
	ptmx, tty, err := pty.Open()
	if err != nil {
		return -1, nil, fmt.Errorf("open pty: %w", err)
	}
	defer ptmx.Close()
	fd, err = unix.FcntlInt(ptmx.Fd(), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		tty.Close()
		return -1, nil, fmt.Errorf("duplicate pty: %w", err)
	}
	return fd, tty, nil
}
