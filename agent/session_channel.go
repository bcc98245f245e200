package agent

import (
	"context"
	"io"
	"sync"
	"time"

	"github.com/gliderlabs/ssh"
	gossh "golang.org/x/crypto/ssh"

	"github.com/pitstopci/pitstop/agent/audit"
	"github.com/pitstopci/pitstop/agent/term"
)

// A session channel is served by gliderlabs' session handler behind a
// filter (sessionFilter) that takes some requests out of its hands:
//
//   - "pty-req" and "window-change" are answered here. gliderlabs, once
//     it has accepted a pty, rewrites every "\n" the session writes into
//     "\r\n" (it does not apply terminal modes, so it fakes ONLCR). The
//     pty's own line discipline already does that when the program wants
//     it; programs in raw mode (vim, less, tmux) write bare LFs to move
//     the cursor, and the rewrite garbles their screens. Handled here,
//     gliderlabs never sees a pty, the program's bytes go out unchanged as
//     with sshd, and the client's terminal modes can be applied.
//   - "auth-agent-req@openssh.com" is refused unless agent forwarding is
//     allowed: gliderlabs accepts every such request, and a client told
//     yes believes its agent is there.
//
// What the filter learns is kept in a sessionState, which the session
// handler finds in the session's context (a channelContext).

// ptyRequestMsg and windowChangeMsg are the wire formats of "pty-req"
// (RFC 4254 6.2, kept as a term.Pty) and "window-change".
type ptyRequestMsg struct {
	Term                             string
	Columns, Rows, WidthPx, HeightPx uint32
	Modes                            string
}

type windowChangeMsg struct {
	Columns, Rows, WidthPx, HeightPx uint32
}

// sessionState is what the filter learned about one session channel.
type sessionState struct {
	mu      sync.Mutex
	pty     *term.Pty
	started bool // a shell, exec or subsystem was asked for: too late for a pty
	// winch carries the latest window size, never more than one pending;
	// it is closed when the channel's requests end.
	winch chan ssh.Window
	// onWindow, when set, is called with each new size before the request
	// is answered, so a command typed after the client's resize sees it.
	onWindow func(ssh.Window)

	// settle asks the filter to handle the requests that came before the
	// input just read, settled says it has, and ended is closed when the
	// filter is gone (see inputAfterRequests).
	settle, settled chan struct{}
	ended           chan struct{}
}

// followWindow sets onWindow, and calls it at once with the latest size,
// in case one came before it was set. Under the lock, so that a window
// change arriving meanwhile is applied after it, not overtaken by it.
func (st *sessionState) followWindow(f func(ssh.Window)) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.onWindow = f
	if f != nil && st.pty != nil {
		f(st.pty.Window)
	}
}

func newSessionState() *sessionState {
	return &sessionState{
		winch:   make(chan ssh.Window, 1),
		settle:  make(chan struct{}),
		settled: make(chan struct{}),
		ended:   make(chan struct{}),
	}
}

// inputAfterRequests reads r, the session channel's data, and returns
// what it read only once the channel's requests that arrived before it
// have been handled. The client sends a window change and then what is
// typed next on one channel, and sshd, which handles a channel's messages
// in order, resizes the pty before the input reaches it: a command typed
// after a resize sees the new size. x/crypto hands the requests and the
// data out on separate paths, so without this the input could overtake
// the resize.
func (st *sessionState) inputAfterRequests(r io.Reader) io.Reader {
	return orderedInput{r: r, st: st}
}

type orderedInput struct {
	r  io.Reader
	st *sessionState
}

func (o orderedInput) Read(p []byte) (int, error) {
	n, err := o.r.Read(p)
	if n > 0 {
		select {
		case o.st.settle <- struct{}{}:
			select {
			case <-o.st.settled:
			case <-o.st.ended:
			}
		case <-o.st.ended:
		}
	}
	return n, err
}

// ptyRequest returns the session's pty request, if it made one.
func (st *sessionState) ptyRequest() (term.Pty, bool) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.pty == nil {
		return term.Pty{}, false
	}
	return *st.pty, true
}

// ctxKeySession holds a session channel's *sessionState in its context.
const ctxKeySession ctxKey = "pitstop-session"

// sessionStateOf is the state of sess's channel. A session that did not
// come through the filter has an empty one: no pty.
func sessionStateOf(sess ssh.Session) *sessionState {
	if st, ok := sess.Context().Value(ctxKeySession).(*sessionState); ok {
		return st
	}
	st := newSessionState()
	close(st.ended) // no filter: its input waits for nothing
	return st
}

// channelContext is a session channel's context: the connection's, with
// values of its own, and done when either the connection or the channel
// ends. gliderlabs hands the channel handler's context to the session as
// Session.Context, so this is how the handler finds the channel's
// sessionState, and learns that the client closed the channel while the
// connection lives on: OpenSSH multiplexing (ControlMaster, which VS Code
// Remote-SSH uses) does that when one client of a shared connection
// dies. Values set on it (gliderlabs marks agent forwarding requests this
// way) stay with the session rather than the whole connection.
type channelContext struct {
	ssh.Context
	done context.Context // ends with the channel or the connection

	mu     sync.Mutex
	values map[any]any
}

func newChannelContext(parent ssh.Context) (*channelContext, context.CancelFunc) {
	done, cancel := context.WithCancel(parent)
	return &channelContext{Context: parent, done: done, values: map[any]any{}}, cancel
}

// Deadline, Done and Err are those of the channel.
func (c *channelContext) Deadline() (time.Time, bool) { return c.done.Deadline() }
func (c *channelContext) Done() <-chan struct{}       { return c.done.Done() }
func (c *channelContext) Err() error                  { return c.done.Err() }

// Value looks in the channel's own values first, then the connection's.
func (c *channelContext) Value(key any) any {
	c.mu.Lock()
	v, ok := c.values[key]
	c.mu.Unlock()
	if ok {
		return v
	}
	return c.Context.Value(key)
}

// SetValue sets a value for this channel only.
func (c *channelContext) SetValue(key, value any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.values[key] = value
}

// agentRequest is the session request behind "ssh -A".
const agentRequest = "auth-agent-req@openssh.com"

// eowRequest is OpenSSH's "end of write": the client will not read the
// channel's output any more.
const eowRequest = "eow@openssh.com"

// sessionChannel serves a "session" channel: gliderlabs' handler behind
// a sessionFilter.
func (s *server) sessionChannel(srv *ssh.Server, conn *gossh.ServerConn, newChan gossh.NewChannel, ctx ssh.Context) {
	st := newSessionState()
	cctx, cancel := newChannelContext(ctx)
	defer cancel()
	cctx.SetValue(ctxKeySession, st)
	f := sessionFilter{NewChannel: newChan, state: st, closed: cancel, allowAgent: s.cfg.AllowAgentForwarding, refused: func() {
		s.ctxAudit(ctx).Info(audit.ForwardRefused, "refused agent forwarding (ssh -A): it is off (--allow-agent-forwarding)", "forward", "agent")
	}}
	ssh.DefaultSessionHandler(srv, conn, f, cctx)
}

// sessionFilter is a session channel whose pty, window-change and agent
// requests are answered before gliderlabs sees the rest.
type sessionFilter struct {
	gossh.NewChannel
	state      *sessionState
	closed     func() // called when the channel's requests end: it was closed
	allowAgent bool
	refused    func() // called when an agent request is refused
}

// Accept accepts the channel and passes on the requests the filter does
// not answer itself. The filter ends with the channel's requests.
func (f sessionFilter) Accept() (gossh.Channel, <-chan *gossh.Request, error) {
	ch, reqs, err := f.NewChannel.Accept()
	if err != nil {
		return ch, reqs, err
	}
	out := make(chan *gossh.Request)
	go func() {
		// x/crypto ends a channel's requests when the channel is closed
		// by the client, or the connection ends.
		defer f.closed()
		defer close(f.state.winch)
		defer close(out)
		defer close(f.state.ended)
		for {
			select {
			case r, ok := <-reqs:
				if !ok {
					return
				}
				f.handle(ch, out, r)
			case <-f.state.settle:
				// x/crypto's connection loop queues a channel's requests
				// and stores its data in the order they arrive, so the
				// requests that came before the input being read are all
				// queued by now: handle those, not any that came after.
				for n := len(reqs); n > 0; n-- {
					r, ok := <-reqs
					if !ok {
						return
					}
					f.handle(ch, out, r)
				}
				f.state.settled <- struct{}{}
			}
		}
	}()
	return ch, out, nil
}

// handle answers r, or passes it on to gliderlabs (out).
func (f sessionFilter) handle(ch gossh.Channel, out chan<- *gossh.Request, r *gossh.Request) {
	if r.Type == eowRequest {
		// The client can show no more output: its side of a multiplexed
		// connection died. sshd then stops reading the program and sends
		// EOF, upon which the client closes the channel; its end is
		// handled as a hang-up (see channelContext). Without the EOF,
		// OpenSSH keeps the channel open for as long as the program runs.
		ch.CloseWrite() //nolint:errcheck // the client may be gone
		return
	}
	if ok, handled := f.answer(r); handled {
		r.Reply(ok, nil) //nolint:errcheck // the client may be gone
		return
	}
	out <- r
}

// answer handles the requests the filter owns; handled is false for
// those gliderlabs is to see.
func (f sessionFilter) answer(r *gossh.Request) (ok, handled bool) {
	st := f.state
	switch r.Type {
	case agentRequest:
		if f.allowAgent {
			return false, false
		}
		f.refused()
		return false, true
	case "shell", "exec", "subsystem":
		st.mu.Lock()
		st.started = true
		st.mu.Unlock()
		return false, false
	case "pty-req":
		var m ptyRequestMsg
		if err := gossh.Unmarshal(r.Payload, &m); err != nil {
			return false, true
		}
		st.mu.Lock()
		defer st.mu.Unlock()
		if st.started || st.pty != nil {
			return false, true
		}
		st.pty = &term.Pty{Term: m.Term, Window: window(m.Columns, m.Rows), Modes: []byte(m.Modes)}
		return true, true
	case "window-change":
		var m windowChangeMsg
		if err := gossh.Unmarshal(r.Payload, &m); err != nil {
			return false, true
		}
		st.mu.Lock()
		if st.pty == nil {
			st.mu.Unlock()
			return false, true
		}
		w := window(m.Columns, m.Rows)
		st.pty.Window = w
		// Only the latest size matters; this goroutine is the only
		// sender, so after the drain there is room.
		select {
		case <-st.winch:
		default:
		}
		st.winch <- w
		f := st.onWindow
		st.mu.Unlock()
		if f != nil {
			f(w)
		}
		return true, true
	}
	return false, false
}

// window is a terminal size from a request's uint32 fields, clamped so
// that a nonsense size cannot overflow.
func window(cols, rows uint32) ssh.Window {
	return ssh.Window{Width: int(min(cols, 1<<16-1)), Height: int(min(rows, 1<<16-1))}
}
