package agent

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
	"github.com/pitstopci/pitstop/agent/term"
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
// with its work bounded by the screen's size (agent/term); a
// client attaching later gets the emulator's screen rendered, then the
// live stream.
//
// The terminal's size follows the smallest read-write client: everyone
// then sees the whole screen, where "the latest client wins" would cut
// the screen of anyone on a smaller window and garble full-screen
// programs for them. Read-only clients (a colleague watching from a
// laptop) take no part: a watcher cannot change what the owner works on.

// Terminal limits.
const (
	// maxPending is how much output may wait for a slow client. Beyond
	// it the client's backlog is replaced by a redraw of the screen, so a
	// stalled connection costs bounded memory and never holds up the
	// shell or the other clients.
	maxPending = 256 << 10
	// maxSpare is the largest buffer a client's writer keeps to queue the
	// next output in: typing then allocates nothing per keystroke, and an
	// idle client does not hold on to a burst's buffer.
	maxSpare = 32 << 10
)

// terminal is one shell on a pty, with the clients attached to it.
type terminal struct {
	id      int
	owner   string // who started it, as shown to people: access.Key.Name
	command string
	started time.Time
	clock   clock.Clock
	grace   time.Duration // how long it lives detached
	who     audit.Log     // the audit log of the connection that started it
	audit   audit.Log     // its events: who, its id

	cmd    *exec.Cmd
	master ptyMaster     // the pty's master; on Windows the pseudo console
	done   chan struct{} // closed once the shell exited and its output is read

	scr *term.Screen  // the feeder's alone
	fed chan struct{} // closed when the feeder is done

	mu         sync.Mutex
	feed       []feedChunk   // output and sizes queued for the emulator
	feedBytes  int           // the output's bytes in feed
	feedCond   *sync.Cond    // on mu: the feeder has something to do
	feedClosed bool          // the shell's output has ended
	clients    []*termClient // in the order they attached
	size       ssh.Window
	active     time.Time   // last input or output
	detach     time.Time   // when the last client left; zero while attached
	timer      clock.Timer // hangs up a terminal left detached for grace
	hungUp     bool        // ended by a hang-up (grace or the pause's end), not by exit
	status     int
	exited     bool
	kill       *time.Timer

	// agentStop closes the shell's SSH_AUTH_SOCK (forwardAgent), if any.
	agentStop func()

	// exiting counts the clients still to send the shell's exit status.
	exiting sync.WaitGroup
}

// termClient is one client attached to a terminal: an SSH session or a
// "pitstop attach" on the control socket.
type termClient struct {
	user     string // who, for announcements and status
	readOnly bool
	win      ssh.Window
	since    time.Time

	agent  agentDialer // its agent, when it asked for agent forwarding
	redraw bool        // under the terminal's mu: waits for a redraw, gets nothing else
	note   string      // the redraw's first line

	mu      sync.Mutex
	pending []byte
	wake    chan struct{} // a token when pending has data
	gone    chan struct{} // closed when it detached or the terminal ended
	written chan struct{} // closed when the writer is done
}

func newTermClient(user string, readOnly bool, win ssh.Window, since time.Time) *termClient {
	return &termClient{user: user, readOnly: readOnly, win: win, since: since,
		wake: make(chan struct{}, 1), gone: make(chan struct{}), written: make(chan struct{})}
}

// queue adds output for the client. It returns false, adding nothing,
// when the backlog would be over maxPending: the client is then to get a
// redraw instead (wantRedrawLocked).
func (c *termClient) queue(b []byte) bool {
	c.mu.Lock()
	if len(c.pending)+len(b) > maxPending {
		c.mu.Unlock()
		return false
	}
	c.pending = append(c.pending, b...)
	c.mu.Unlock()
	c.wakeUp()
	return true
}

// put adds output for the client whatever its backlog: a redraw, a note.
func (c *termClient) put(b []byte) {
	c.mu.Lock()
	c.pending = append(c.pending, b...)
	c.mu.Unlock()
	c.wakeUp()
}

// dropPending forgets the client's backlog.
func (c *termClient) dropPending() {
	c.mu.Lock()
	c.pending = nil
	c.mu.Unlock()
}

func (c *termClient) wakeUp() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// writeTo sends the client's output to w until the client is gone, then
// what is still pending. A failed write ends it: the connection is gone,
// and detaching is the session's business.
func (c *termClient) writeTo(w io.Writer) {
	defer close(c.written)
	var spare []byte // the buffer written last, for the next output
	for {
		ended := false
		select {
		case <-c.wake:
		case <-c.gone:
			ended = true
		}
		c.mu.Lock()
		b := c.pending
		c.pending, spare = spare, nil
		c.mu.Unlock()
		if len(b) > 0 {
			if _, err := w.Write(b); err != nil {
				return
			}
		}
		if cap(b) <= maxSpare {
			spare = b[:0]
		}
		if ended {
			return
		}
	}
}

// pump reads the shell's output until the pty is closed, to every client
// and the emulator.
func (t *terminal) pump(outDone chan<- struct{}) {
	defer close(outDone)
	buf := make([]byte, 32<<10)
	for {
		n, err := t.master.Read(buf)
		if n > 0 {
			t.output(buf[:n])
		}
		if err != nil {
			return
		}
	}
}

// output sends b to the clients and queues it for the emulator. A client
// whose backlog is full gets a redraw instead.
func (t *terminal) output(b []byte) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.active = t.clock.Now()
	t.pushFeedLocked(b)
	t.sendLocked(b)
}

// sendLocked sends b to every client not waiting for a redraw.
func (t *terminal) sendLocked(b []byte) {
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
func (t *terminal) announceLocked(msg string) {
	t.sendLocked([]byte("\x1b7\x1b[1;1H\x1b[7m[pitstop: " + msg + "]\x1b[m\x1b[K\x1b8"))
}

// attach adds c; redraw says whether the screen is to be redrawn for
// it, with note as its first line. It returns false when the shell has
// already ended; otherwise c counts in exiting until it is done.
func (t *terminal) attach(c *termClient, redraw bool, note, announce string) bool {
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
	t.clients = append(t.clients, c)
	t.resizeLocked()
	if redraw {
		t.wantRedrawLocked(c, note)
	} else if note != "" {
		c.put([]byte(strings.ReplaceAll(note, "\n", "\r\n")))
	}
	return true
}

// leave detaches c. A terminal left without clients is hung up once it
// has been detached for its grace period, unless someone attaches.
func (t *terminal) leave(c *termClient, announce string) {
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
func (t *terminal) graceOver(tm clock.Timer) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.timer != tm || len(t.clients) > 0 {
		return
	}
	t.hangUpLocked()
}

// resize records c's new window size.
func (t *terminal) resize(c *termClient, w ssh.Window) {
	t.mu.Lock()
	defer t.mu.Unlock()
	c.win = w
	t.resizeLocked()
}

// resizeLocked sizes the pty and the emulator to the smallest read-write
// client.
func (t *terminal) resizeLocked() {
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

// currentAgent is the agent the shell's SSH_AUTH_SOCK reaches: that of
// the owner's read-write client that attached last and forwards one.
// Nobody else's: a colleague who joins lends their screen, not their
// keys. ok is false when no such client is attached.
func (t *terminal) currentAgent() (d agentDialer, ok bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for i := len(t.clients) - 1; i >= 0; i-- {
		if c := t.clients[i]; c.user == t.owner && !c.readOnly && c.agent != nil {
			return c.agent, true
		}
	}
	return nil, false
}

// input writes what a read-write client typed to the shell.
func (t *terminal) input(b []byte) error {
	t.mu.Lock()
	t.active = t.clock.Now()
	t.mu.Unlock()
	_, err := t.master.Write(b)
	return err
}

func (t *terminal) info() control.TerminalInfo {
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
func (t *terminal) serveLocked(w ssh.Window, first *termClient, wait func() int, closeMaster func(), ended func(*terminal)) {
	t.active = t.clock.Now()
	t.scr = term.NewScreen(w.Width, w.Height)
	t.fed = make(chan struct{})
	t.clients = []*termClient{first}
	outDone := make(chan struct{})
	go t.feeder()
	go t.pump(outDone)
	go func() { t.finish(wait(), outDone, closeMaster, ended) }()
}

// finish ends the terminal once its shell has exited with status: it
// waits (up to drainGrace) for outDone, the end of the shell's output,
// then marks the terminal exited and closes its master with closeMaster,
// which ends the output even if a background program still holds it
// (a pseudo console holds its output open until it is closed). Then the
// clients are let go, done is closed and ended is called.
func (t *terminal) finish(status int, outDone <-chan struct{}, closeMaster func(), ended func(*terminal)) {
	select {
	case <-outDone:
	case <-time.After(drainGrace):
	}
	t.mu.Lock()
	t.exited = true
	if t.hungUp && hangUpKills {
		status = 128 + int(syscall.SIGHUP) // as a shell killed by SIGHUP reports it
	}
	t.status = status
	closeMaster()
	if t.timer != nil {
		t.timer.Stop()
	}
	if t.kill != nil {
		t.kill.Stop()
	}
	t.mu.Unlock()
	<-outDone
	t.closeFeed()
	t.mu.Lock()
	for _, c := range t.clients {
		close(c.gone)
	}
	t.clients = nil
	t.mu.Unlock()
	close(t.done)
	ended(t)
}
