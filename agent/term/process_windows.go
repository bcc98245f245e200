package term

import (
	"fmt"
	"io"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/gliderlabs/ssh"
	"golang.org/x/sys/windows"
)

// Supported says whether RunProgram works here.
const Supported = true

// Timings of a program's end; see process_unix.go.
const (
	// DrainGrace is how long output may keep coming after the program
	// exited before the session sends its exit status anyway. A pseudo
	// console always takes that long: it holds its output pipe open until
	// it is closed, so the end of the output cannot be seen.
	DrainGrace = 500 * time.Millisecond
	// KillGrace is how long a hung-up terminal's shell has before it is
	// ended. Windows has no SIGHUP to send first: it is ended at once.
	KillGrace = 0
)

// signals maps SSH signal names to the ones a session's program can
// get here. Windows delivers none of them to a program: each ends the
// program and what it started (its job), except SIGINT, which is a
// Ctrl-C in the program's console (see signalProc).
var signals = map[ssh.Signal]syscall.Signal{
	ssh.SIGHUP: syscall.SIGHUP, ssh.SIGINT: syscall.SIGINT, ssh.SIGKILL: syscall.SIGKILL,
	ssh.SIGTERM: syscall.SIGTERM, ssh.SIGQUIT: syscall.SIGQUIT,
}

// RunProgram runs p with the session's I/O until it exits, the connection
// drops or the client closes the session's channel, or stop is closed;
// the last three end it and everything it started. It returns once the
// program's output has been forwarded.
func RunProgram(sess ssh.Session, p Program, stop <-chan struct{}) Outcome {
	if p.Pty != nil {
		return runOnConsole(sess, p, stop)
	}
	return runOnPipes(sess, p, stop)
}

func runOnPipes(sess ssh.Session, p Program, stop <-chan struct{}) Outcome {
	var ours [3]*os.File
	var theirs [3]windows.Handle
	defer func() {
		for i := range ours {
			if ours[i] != nil {
				ours[i].Close()
			}
			if theirs[i] != 0 {
				windows.CloseHandle(theirs[i]) //nolint:errcheck // nothing to do about it
			}
		}
	}()
	for i := range ours {
		var err error
		if ours[i], theirs[i], err = pipePair(i > 0); err != nil {
			return Outcome{Status: 255, Err: err}
		}
	}
	proc, err := startProc(p.Argv, p.Env, p.Dir, 0, stdio{in: theirs[0], out: theirs[1], err: theirs[2]})
	if err != nil {
		return Outcome{Status: 127, Err: err}
	}
	defer proc.release()
	for i := range theirs {
		windows.CloseHandle(theirs[i]) //nolint:errcheck // the program has its own
		theirs[i] = 0
	}
	// Not waited for: it ends with the channel or the pipe.
	go func() {
		io.Copy(ours[0], sess) //nolint:errcheck // see above
		ours[0].Close()
	}()
	var copies sync.WaitGroup
	copies.Add(2)
	go func() { defer copies.Done(); io.Copy(sess, ours[1]) }()          //nolint:errcheck // ends with the pipe
	go func() { defer copies.Done(); io.Copy(sess.Stderr(), ours[2]) }() //nolint:errcheck // ends with the pipe
	outDone := make(chan struct{})
	go func() { copies.Wait(); close(outDone) }()

	out := waitProc(sess, proc, stop, nil)
	// Drain what the program wrote, then end whatever of it still holds
	// the pipes: a session's programs end with it (see winProc).
	select {
	case <-outDone:
	case <-time.After(DrainGrace):
	}
	proc.kill()
	ours[1].Close()
	ours[2].Close()
	<-outDone
	return out
}

func runOnConsole(sess ssh.Session, p Program, stop <-chan struct{}) Outcome {
	con, err := startConsole(p)
	if err != nil {
		return Outcome{Status: 127, Err: err}
	}
	go func() {
		for w := range p.WinCh {
			con.resize(w)
		}
	}()
	go io.Copy(con, sess) //nolint:errcheck // stdin: ends with the channel or the console
	outDone := make(chan struct{})
	go func() {
		io.Copy(sess, con) //nolint:errcheck // ends when the console is closed
		close(outDone)
	}()
	out := waitProc(sess, con.proc, stop, con)
	select {
	case <-outDone:
	case <-time.After(DrainGrace):
	}
	con.Close()
	<-outDone
	return out
}

// waitProc waits for proc, acting on the client's signals (see signals),
// and ends it when the connection drops, the channel is closed, or stop
// is closed. con is its console, if it runs on one.
func waitProc(sess ssh.Session, proc *winProc, stop <-chan struct{}, con *conPTY) Outcome {
	waited := make(chan int, 1)
	go func() { waited <- proc.wait() }()
	sigs := make(chan ssh.Signal, 8)
	sess.Signals(sigs)
	defer sess.Signals(nil)
	dropped := false
	connDone := sess.Context().Done() // the channel's: see the agent's channelContext
	for {
		select {
		case status := <-waited:
			return Outcome{Status: status, Dropped: dropped}
		case <-connDone:
			dropped = true
			connDone = nil
			proc.kill()
		case <-stop:
			stop = nil
			proc.kill()
		case sig := <-sigs:
			if n, ok := signals[sig]; ok {
				signalProc(proc, con, n)
			}
		}
	}
}

// signalProc does what sig means here (see signals): SIGINT is Ctrl-C in
// the program's console, typed on a terminal, raised by the Ctrl-C
// helper otherwise (see interrupt); if that fails, it ends the program.
func signalProc(proc *winProc, con *conPTY, sig syscall.Signal) {
	if sig == syscall.SIGINT && con != nil {
		con.Write([]byte{0x03}) //nolint:errcheck // the console may be closed
		return
	}
	if sig == syscall.SIGINT && interrupt(proc.pid) == nil {
		return
	}
	proc.kill()
}

// conPTY is a pseudo console (ConPTY, Windows 10 1809 and later) with a
// program running on it: what a pty and its master are on Unix. Reads
// are the console's output, writes its input; the console turns them
// into keys and Ctrl-C events for the program, and draws the program's
// screen as escape sequences.
type conPTY struct {
	pc   windows.Handle
	in   *os.File // to the console's input
	out  *os.File // from the console's output
	proc *winProc

	mu     sync.Mutex
	closed bool
}

// startConsole starts p on a new pseudo console of p's window size.
func startConsole(p Program) (_ *conPTY, err error) {
	in, conIn, err := pipePair(false)
	if err != nil {
		return nil, err
	}
	defer windows.CloseHandle(conIn) //nolint:errcheck // the console has its own
	out, conOut, err := pipePair(true)
	if err != nil {
		in.Close()
		return nil, err
	}
	defer windows.CloseHandle(conOut) //nolint:errcheck // the console has its own
	c := &conPTY{in: in, out: out}
	if err := windows.CreatePseudoConsole(coord(p.Pty.Window), conIn, conOut, 0, &c.pc); err != nil {
		in.Close()
		out.Close()
		return nil, fmt.Errorf("create pseudo console: %w", err)
	}
	argv, err := consoleArgv(p.Argv)
	if err == nil {
		c.proc, err = startProc(argv, p.Env, p.Dir, c.pc, stdio{})
	}
	if err != nil {
		windows.ClosePseudoConsole(c.pc)
		in.Close()
		out.Close()
		return nil, err
	}
	return c, nil
}

// coord is a window size as the console takes it, within its range.
func coord(w ssh.Window) windows.Coord {
	clamp := func(n int) int16 { return int16(min(max(n, 1), 32767)) } //nolint:gosec // clamped
	return windows.Coord{X: clamp(w.Width), Y: clamp(w.Height)}
}

func (c *conPTY) Read(b []byte) (int, error)  { return c.out.Read(b) }
func (c *conPTY) Write(b []byte) (int, error) { return c.in.Write(b) }

// resize changes the console's size; the program sees a resize event.
func (c *conPTY) resize(w ssh.Window) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.closed {
		windows.ResizePseudoConsole(c.pc, coord(w)) //nolint:errcheck // a failed resize leaves the old size
	}
}

// Close ends the program and everything it started, then the console,
// which ends reads once its last output is read.
func (c *conPTY) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	c.mu.Unlock()
	c.proc.kill()
	// Closing the console waits, on some versions of Windows, until its
	// output has been read: whoever reads it goes on until the pipe closes.
	windows.ClosePseudoConsole(c.pc)
	c.in.Close()
	c.out.Close()
	c.proc.release()
	return nil
}

// setWindow resizes the terminal's console.
func setWindow(c *conPTY, w ssh.Window) { c.resize(w) }
