//go:build unix

package term

import (
	"sync"
	"syscall"
	"time"
)

// ptyMaster is the side of a terminal the agent reads the shell's output
// from, writes its input to, and resizes: the pty's master.
type ptyMaster = *ptyFile

// startTerminal starts p (which has a pty request) on a new pty, with
// first attached from the start so that it misses none of the output.
// ended is called once the shell has exited and its output was read,
// after done is closed.
func startTerminal(t *Terminal, p Program, first *Client, ended func(*Terminal)) error {
	// t is listed already (it has its ID): hold others off until it runs.
	t.mu.Lock()
	defer t.mu.Unlock()
	t.feedCond = sync.NewCond(&t.mu)
	fail := func(err error) error {
		t.exited = true // attach and hangUp leave it alone
		return err
	}
	cmd := command(p)
	master, _, err := startOnPTY(cmd, p.Pty)
	if err != nil {
		return fail(err)
	}
	t.size = p.Pty.Window
	t.cmd, t.master = cmd, master
	wait := func() int { return exitStatus(cmd, cmd.Wait()) }
	t.serveLocked(p.Pty.Window, first, wait, func() { master.Close() }, ended)
	return nil
}

// hangUpKills is false: a hung-up shell gets SIGHUP, and its exit status
// says so itself.
const hangUpKills = false

// HangUp ends the shell as a dropped connection does under sshd: SIGHUP
// to its process group and the rest of its session (its background
// jobs), SIGKILL to whatever is still there KillGrace later.
func (t *Terminal) HangUp() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.hangUpLocked()
}

// hangUpLocked is hangUp with t.mu held.
func (t *Terminal) hangUpLocked() {
	if t.exited || t.cmd.Process == nil {
		return
	}
	t.hungUp = true
	leader := t.cmd.Process.Pid
	signalGroup(t.cmd, syscall.SIGHUP)
	signalSession(leader, syscall.SIGHUP)
	signalGroup(t.cmd, syscall.SIGCONT) // a stopped job must run to see the HUP
	signalSession(leader, syscall.SIGCONT)
	if t.kill == nil {
		t.kill = time.AfterFunc(KillGrace, func() {
			signalGroup(t.cmd, syscall.SIGKILL)
			signalSession(leader, syscall.SIGKILL)
		})
	}
}

// signal forwards a client's signal to the shell's process group.
func (t *Terminal) signal(sig syscall.Signal) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.exited {
		signalGroup(t.cmd, sig)
	}
}
