package term

import (
	"sync"
	"syscall"
)

// ptyMaster is the side of a terminal the agent reads the shell's output
// from, writes its input to, and resizes: a pseudo console.
type ptyMaster = *conPTY

// startTerminal starts p (which has a pty request) on a new pseudo
// console, with first attached from the start so that it misses none of
// the output. ended is called once the shell has exited and its output was
// read, after done is closed. See terminal_unix.go.
func startTerminal(t *Terminal, p Program, first *Client, ended func(*Terminal)) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.feedCond = sync.NewCond(&t.mu)
	con, err := startConsole(p)
	if err != nil {
		t.exited = true // attach and hangUp leave it alone
		return err
	}
	t.size = p.Pty.Window
	t.master = con
	t.serveLocked(p.Pty.Window, first, con.proc.wait, func() { con.Close() }, ended)
	return nil
}

// hangUpKills: a hang-up ends the shell at once here (see hangUp), so
// its own exit code says nothing of why it ended.
const hangUpKills = true

// HangUp ends the shell and everything it started, as a dropped
// connection does: Windows has no SIGHUP to give it a chance first.
func (t *Terminal) HangUp() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.hangUpLocked()
}

// hangUpLocked is hangUp with t.mu held.
func (t *Terminal) hangUpLocked() {
	if t.exited || t.master == nil {
		return
	}
	t.hungUp = true
	t.master.proc.kill()
}

// signal passes a client's signal on (see signals): SIGINT as Ctrl-C.
func (t *Terminal) signal(sig syscall.Signal) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.exited {
		signalProc(t.master.proc, t.master, sig)
	}
}
