package term

import (
	"context"
	"io"
	"sync"
	"time"

	"github.com/gliderlabs/ssh"
	gossh "golang.org/x/crypto/ssh"
)

// AgentDialer opens a channel to the agent of a client that asked for
// agent forwarding, and the context its use ends with.
type AgentDialer func() (gossh.Channel, context.Context, error)

// Client limits.
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

// Client is one client attached to a terminal: an SSH session or a
// "pitstop attach" on the control socket.
type Client struct {
	user     string // who, for announcements and status
	readOnly bool
	win      ssh.Window
	since    time.Time

	agent  AgentDialer // its agent, when it asked for agent forwarding
	redraw bool        // under the terminal's mu: waits for a redraw, gets nothing else
	note   string      // the redraw's first line

	mu      sync.Mutex
	pending []byte
	w       io.Writer     // where Serve writes; nil until it runs
	writing bool          // a write to w is under way: Serve's, or the pump's (claimInline)
	failed  bool          // a write to w failed: the connection is gone
	idle    *sync.Cond    // on mu: writing went false
	wake    chan struct{} // a token when pending has data
	gone    chan struct{} // closed when it detached or the terminal ended
	written chan struct{} // closed when the writer is done
}

// NewClient is a client for user (readOnly: one who only watches), with
// the window size win, joining at since; agent is its agent, when it
// forwards one (else nil). A client reaches nobody until Serve runs, and
// is let go by its terminal (Leave, the shell's end) or, if it never got
// attached, by Close.
func NewClient(user string, readOnly bool, win ssh.Window, since time.Time, agent AgentDialer) *Client {
	c := &Client{user: user, readOnly: readOnly, win: win, since: since, agent: agent,
		wake: make(chan struct{}, 1), gone: make(chan struct{}), written: make(chan struct{})}
	c.idle = sync.NewCond(&c.mu)
	return c
}

// ReadOnly says the client only watches: its keystrokes and signals are
// not for the shell.
func (c *Client) ReadOnly() bool { return c.readOnly }

// Close lets go of a client that did not get attached (Attach or Start
// failed): its writer sends what is pending and ends.
func (c *Client) Close() { close(c.gone) }

// Gone is closed when the client has left or its terminal ended.
func (c *Client) Gone() <-chan struct{} { return c.gone }

// Written is closed when Serve is done.
func (c *Client) Written() <-chan struct{} { return c.written }

// queue adds output for the client. It returns false, adding nothing,
// when the backlog would be over maxPending: the client is then to get a
// redraw instead (wantRedrawLocked).
func (c *Client) queue(b []byte) bool {
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

// Put adds output for the client whatever its backlog: a redraw, a note.
func (c *Client) Put(b []byte) {
	c.mu.Lock()
	c.pending = append(c.pending, b...)
	c.mu.Unlock()
	c.wakeUp()
}

// dropPending forgets the client's backlog.
func (c *Client) dropPending() {
	c.mu.Lock()
	c.pending = nil
	c.mu.Unlock()
}

func (c *Client) wakeUp() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// Serve sends the client's output to w until the client is gone, then
// what is still pending. A failed write ends it: the connection is gone,
// and detaching is the session's business. While the terminal's pump
// writes to w itself (claimInline), Serve leaves w alone; the pump wakes
// it if output queued meanwhile.
func (c *Client) Serve(w io.Writer) {
	defer close(c.written)
	c.mu.Lock()
	c.w = w
	c.mu.Unlock()
	var spare []byte // the buffer written last, for the next output
	for {
		ended := false
		select {
		case <-c.wake:
		case <-c.gone:
			ended = true
		}
		c.mu.Lock()
		for ended && c.writing {
			c.idle.Wait() // the pump's write goes out first
		}
		if failed, busy := c.failed, c.writing; failed || busy {
			c.mu.Unlock()
			if failed {
				return
			}
			continue
		}
		b := c.pending
		c.pending, spare = spare, nil
		c.writing = len(b) > 0
		c.mu.Unlock()
		if len(b) > 0 {
			_, err := w.Write(b)
			c.wrote(err)
			if err != nil {
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

// wrote ends a write to w, which failed with err if not nil.
func (c *Client) wrote(err error) (more bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.writing = false
	c.failed = c.failed || err != nil
	c.idle.Broadcast()
	return len(c.pending) > 0 || c.failed
}

// claimInline lets the terminal's pump write output to the client itself,
// when Serve has nothing to write and is not writing: the echo of a
// keystroke then goes out on the thread that read it, without waking
// the client's writer (and, with it, a thread). It returns where to
// write; the pump ends the write with writtenInline.
func (c *Client) claimInline() (io.Writer, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.w == nil || c.writing || c.failed || len(c.pending) > 0 {
		return nil, false
	}
	c.writing = true
	return c.w, true
}

// writtenInline ends the pump's write, and hands what queued meanwhile
// (or the news of a failed write) to Serve.
func (c *Client) writtenInline(err error) {
	if c.wrote(err) {
		c.wakeUp()
	}
}
