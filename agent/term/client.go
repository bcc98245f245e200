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
	return &Client{user: user, readOnly: readOnly, win: win, since: since, agent: agent,
		wake: make(chan struct{}, 1), gone: make(chan struct{}), written: make(chan struct{})}
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
// and detaching is the session's business.
func (c *Client) Serve(w io.Writer) {
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
