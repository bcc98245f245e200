package term

import (
	"io"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/gliderlabs/ssh"

	"github.com/pitstopci/pitstop/agent/audit"
	"github.com/pitstopci/pitstop/agent/clock"
	"github.com/pitstopci/pitstop/agent/control"
)

// A terminal is an interactive shell on a pty that outlives the
// connections showing it, as under tmux or screen: a dropped connection
// detaches its client, the shell goes on, and the same user logging in
// again gets the terminal back with its screen redrawn. Other users (and
// other keys) may attach too, read-write or read-only.
//
// The screen is kept by a terminal emulator, charmbracelet/x/vt: Charm
// maintains it (it backs their own multiplexing tools), it is pure Go,
// keeps the main and alternate screens apart and reports mode changes,
// which is what a faithful redraw of vim or less needs. It is fed every
// byte the shell writes, by a goroutine of its own (terminal_feed.go),
// with its work bounded by the screen's size (screen.go); a
// client attaching later gets the emulator's screen rendered, then the
// live stream.
//
// The terminal's size follows the smallest read-write client: everyone
// then sees the whole screen, where "the latest client wins" would cut
// the screen of anyone on a smaller window and garble full-screen
// programs for them. Read-only clients (a colleague watching from a
// laptop) take no part: a watcher cannot change what the owner works on.

// Terminal is one shell on a pty, with the clients attached to it.
type Terminal struct {
	id      int
	owner   string // who started it, as shown to people: access.Key.Name
	command string
	started time.Time
	clock   clock.Clock
	grace   time.Duration // how long it lives detached
	who     audit.Log     // the audit log of the connection that started it

	cmd    *exec.Cmd
	master ptyMaster     // the pty's master; on Windows the pseudo console
	done   chan struct{} // closed once the shell exited and its output is read

	scr *Screen       // the feeder's alone
	fed chan struct{} // closed when the feeder is done

	mu         sync.Mutex
	feed       []feedChunk // output and sizes queued for the emulator
	feedBytes  int         // the output's bytes in feed
	feedCond   *sync.Cond  // on mu: the feeder has something to do
	feedClosed bool        // the shell's output has ended
	clients    []*Client   // in the order they attached
	size       ssh.Window
	active     time.Time   // last input or output
	detach     time.Time   // when the last client left; zero while attached
	timer      clock.Timer // hangs up a terminal left detached for grace
	hungUp     bool        // ended by a hang-up (grace or the pause's end), not by exit
	status     int
	exited     bool
	kill       *time.Timer

	// The pump (terminal_inline.go): which one reads the pty now, and
	// since when it has been writing to a lone client (zero when not).
	outDone     chan struct{} // closed when the shell's output has ended
	pumpGen     int
	inlineSince time.Time
	stallTimer  clock.Timer // armed while the pump writes; nil when not

	// exiting counts the clients still to send the shell's exit status.
	exiting sync.WaitGroup
}

// Spec is what a new terminal is.
type Spec struct {
	Owner   string        // who starts it, as shown to people: access.Key.Name
	Command string        // its program's name, for status
	Started time.Time     // when it starts
	Clock   clock.Clock   // the clock its grace period keeps
	Grace   time.Duration // how long it lives detached
	Log     audit.Log     // the audit log of the connection that starts it
}

// New is a terminal of spec, not started yet: list it (Terminals.Add)
// for its ID, then Start it.
func New(spec Spec) *Terminal {
	return &Terminal{owner: spec.Owner, who: spec.Log, command: spec.Command,
		started: spec.Started, clock: spec.Clock, grace: spec.Grace, done: make(chan struct{})}
}

// Start starts p (which has a pty request) on a new pty, with first
// attached from the start so that it misses none of the output. Once the
// shell has exited, its output was read and Done is closed, the clients
// get a moment (exitGrace) to send the exit status (ExitSent), and then
// ended is called. When Start fails, first was not attached: let it go
// with Close.
func (t *Terminal) Start(p Program, first *Client, ended func(*Terminal)) error {
	t.exiting.Add(1) // first's
	return startTerminal(t, p, first, ended)
}

// exitGrace is how long a terminal's end waits for its clients to send
// the exit status, so that a client whose shell ended the pause still
// gets its status.
const exitGrace = time.Second

// ID is the terminal's number, given by Terminals.Add.
func (t *Terminal) ID() int { return t.id }

// Owner is who started it, as shown to people.
func (t *Terminal) Owner() string { return t.owner }

// Log is the audit log of the connection that started it.
func (t *Terminal) Log() audit.Log { return t.who }

// Audit is the log of its own events: Log, and its ID.
func (t *Terminal) Audit() audit.Log { return t.who.With("terminal_id", t.id) }

// Done is closed once the shell has exited and its output is read.
func (t *Terminal) Done() <-chan struct{} { return t.done }

// Status is the shell's exit status, once Done is closed.
func (t *Terminal) Status() int { return t.status }

// HungUp says, once Done is closed, that a hang-up (the grace period,
// the pause's end) ended the shell, not its own exit.
func (t *Terminal) HungUp() bool { return t.hungUp }

// ExitSent says a client (the first, or one Attach took) has sent the
// shell's exit status, or will not.
func (t *Terminal) ExitSent() { t.exiting.Done() }

// Signal passes a read-write client's signal on to the shell, as this
// system can (see signals); signals it has no use for are dropped.
func (t *Terminal) Signal(sig ssh.Signal) {
	if n, ok := signals[sig]; ok {
		t.signal(n)
	}
}

// pump reads the shell's output until the pty is closed, to every client
// and the emulator, and then closes t.outDone. It is pump number gen: a
// pump whose write to a lone client stalls is replaced by the next
// (terminal_inline.go), and ends once that write is done.
func (t *Terminal) pump(gen int) {
	buf := make([]byte, 32<<10)
	for {
		n, err := t.master.Read(buf)
		if n > 0 {
			if c, w := t.output(buf[:n]); w != nil {
				_, werr := w.Write(buf[:n])
				c.writtenInline(werr)
				if !t.inlineDone(gen) {
					return
				}
			}
		}
		if err != nil {
			close(t.outDone)
			return
		}
	}
}

// output sends b to the clients and queues it for the emulator. A client
// whose backlog is full gets a redraw instead. A lone client that is
// keeping up is left to the pump: output returns it and where the pump
// is to write b.
func (t *Terminal) output(b []byte) (*Client, io.Writer) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.active = t.clock.Now()
	t.pushFeedLocked(b)
	if c, w := t.inlineLocked(len(b)); w != nil {
		return c, w
	}
	t.sendLocked(b)
	return nil, nil
}

// sendLocked sends b to every client not waiting for a redraw.
func (t *Terminal) sendLocked(b []byte) {
	for _, c := range t.clients {
		if !c.redraw && !c.queue(b) {
			t.wantRedrawLocked(c, "")
		}
	}
}

// announceLocked shows msg to everyone attached, on the top line of
// their screens, in reverse video, with the cursor put back. It goes
// neither to the shell nor to the emulator: a line written into the
// stream would move the cursor behind the back of the program drawing
// the screen (bash's line editor, vim) and garble what it draws next,
// whereas the top line is only overdrawn until the program writes there
// again, and a redraw never shows it.
func (t *Terminal) announceLocked(msg string) {
	t.sendLocked([]byte("\x1b7\x1b[1;1H\x1b[7m[pitstop: " + msg + "]\x1b[m\x1b[K\x1b8"))
}

// Attach adds c; redraw says whether the screen is to be redrawn for
// it, with note as its first line, and announce is shown to those
// attached already. It returns false when the shell has already ended
// (c is then to be let go with Close); otherwise c is to call ExitSent
// once it is done.
func (t *Terminal) Attach(c *Client, redraw bool, note, announce string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.exited {
		return false
	}
	t.exiting.Add(1) // under mu, before exited is set: never concurrent with Wait
	if t.timer != nil {
		t.timer.Stop()
		t.timer = nil
	}
	t.detach = time.Time{}
	if announce != "" && len(t.clients) > 0 {
		t.announceLocked(announce)
	}
	t.takeOverLocked() // the newcomer must not wait on a stalled client
	t.clients = append(t.clients, c)
	t.resizeLocked()
	if redraw {
		t.wantRedrawLocked(c, note)
	} else if note != "" {
		c.Put([]byte(strings.ReplaceAll(note, "\n", "\r\n")))
	}
	return true
}

// Leave detaches c. A terminal left without clients is hung up once it
// has been detached for its grace period, unless someone attaches.
func (t *Terminal) Leave(c *Client, announce string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for i, o := range t.clients {
		if o == c {
			t.clients = append(t.clients[:i], t.clients[i+1:]...)
			close(c.gone)
			break
		}
	}
	if t.exited {
		return
	}
	if len(t.clients) > 0 {
		if announce != "" {
			t.announceLocked(announce)
		}
		t.resizeLocked()
		return
	}
	t.detach = t.clock.Now()
	var tm clock.Timer
	tm = t.clock.AfterFunc(t.grace, func() { t.graceOver(tm) })
	t.timer = tm
}

// graceOver hangs up a terminal whose grace timer tm ran out. A timer
// that fires while attach holds the lock can no longer be stopped, so
// it checks, under the lock, that tm is still the terminal's timer:
// someone who attached (or a later leave, which armed a new one) has
// replaced or cleared it.
func (t *Terminal) graceOver(tm clock.Timer) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.timer != tm || len(t.clients) > 0 {
		return
	}
	t.hangUpLocked()
}

// Resize records c's new window size.
func (t *Terminal) Resize(c *Client, w ssh.Window) {
	t.mu.Lock()
	defer t.mu.Unlock()
	c.win = w
	t.resizeLocked()
}

// resizeLocked sizes the pty and the emulator to the smallest read-write
// client.
func (t *Terminal) resizeLocked() {
	var w ssh.Window
	for _, c := range t.clients {
		if c.readOnly || c.win.Width <= 0 || c.win.Height <= 0 {
			continue
		}
		if w.Width == 0 || c.win.Width < w.Width {
			w.Width = c.win.Width
		}
		if w.Height == 0 || c.win.Height < w.Height {
			w.Height = c.win.Height
		}
	}
	if w.Width == 0 || w == t.size || t.exited {
		return
	}
	t.size = w
	t.pushSizeLocked(w)
	setWindow(t.master, w) // the kernel sends the shell SIGWINCH
}

// CurrentAgent is the agent the shell's SSH_AUTH_SOCK reaches: that of
// the owner's read-write client that attached last and forwards one.
// Nobody else's: a colleague who joins lends their screen, not their
// keys. ok is false when no such client is attached.
func (t *Terminal) CurrentAgent() (d AgentDialer, ok bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for i := len(t.clients) - 1; i >= 0; i-- {
		if c := t.clients[i]; c.user == t.owner && !c.readOnly && c.agent != nil {
			return c.agent, true
		}
	}
	return nil, false
}

// Input writes what a read-write client typed to the shell.
func (t *Terminal) Input(b []byte) error {
	t.mu.Lock()
	t.active = t.clock.Now()
	t.mu.Unlock()
	_, err := t.master.Write(b)
	return err
}

// Info describes the terminal and its clients, for status.
func (t *Terminal) Info() control.TerminalInfo {
	t.mu.Lock()
	defer t.mu.Unlock()
	ti := control.TerminalInfo{ID: t.id, Owner: t.owner, Command: t.command, Since: t.started,
		LastActive: t.active, DetachedSince: t.detach, Clients: []control.ClientInfo{}}
	for _, c := range t.clients {
		ti.Clients = append(ti.Clients, control.ClientInfo{User: c.user, ReadOnly: c.readOnly, Since: c.since})
	}
	return ti
}

// serveLocked begins a started shell's life, the same on every
// platform: its screen, its first client, the goroutines that feed the
// screen and read the output, and the wait for its exit (wait returns
// its status), after which finish closes the master with closeMaster;
// with t.mu held.
func (t *Terminal) serveLocked(w ssh.Window, first *Client, wait func() int, closeMaster func(), ended func(*Terminal)) {
	t.active = t.clock.Now()
	t.scr = NewScreen(w.Width, w.Height)
	t.fed = make(chan struct{})
	t.clients = []*Client{first}
	t.outDone = make(chan struct{})
	go t.feeder()
	go t.pump(0)
	go func() { t.finish(wait(), closeMaster, ended) }()
}

// finish ends the terminal once its shell has exited with status: it
// waits (up to DrainGrace) for t.outDone, the end of the shell's output,
// then marks the terminal exited and closes its master with closeMaster,
// which ends the output even if a background program still holds it
// (a pseudo console holds its output open until it is closed). Then the
// clients are let go, done is closed, and ended is called once they have
// sent the exit status (at most exitGrace later).
func (t *Terminal) finish(status int, closeMaster func(), ended func(*Terminal)) {
	select {
	case <-t.outDone:
	case <-time.After(DrainGrace):
	}
	t.mu.Lock()
	t.exited = true
	if t.hungUp && hangUpKills {
		status = 128 + int(syscall.SIGHUP) // as a shell killed by SIGHUP reports it
	}
	t.status = status
	t.takeOverLocked() // a pump stuck writing to a client must not hold the end
	closeMaster()
	if t.timer != nil {
		t.timer.Stop()
	}
	if t.kill != nil {
		t.kill.Stop()
	}
	if t.stallTimer != nil {
		t.stallTimer.Stop()
		t.stallTimer = nil
	}
	t.mu.Unlock()
	<-t.outDone
	t.closeFeed()
	t.mu.Lock()
	for _, c := range t.clients {
		close(c.gone)
	}
	t.clients = nil
	t.mu.Unlock()
	close(t.done)
	exited := make(chan struct{})
	go func() { t.exiting.Wait(); close(exited) }()
	select {
	case <-exited:
	case <-time.After(exitGrace):
	}
	ended(t)
}
