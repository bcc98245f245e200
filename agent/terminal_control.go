package agent

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/pitstopci/pitstop/agent/audit"
	"github.com/pitstopci/pitstop/agent/control"
	"github.com/pitstopci/pitstop/agent/term"
)

// "pitstop attach" inside a session joins another terminal through the
// control socket: the request is the usual JSON line, and once the agent
// has answered, the connection carries the terminal. The agent sends the
// terminal's output as it is; the client sends frames, one byte of kind
// ('i' for keystrokes, 'w' for a window size) and a big-endian uint32
// length before the payload, since keystrokes and sizes share the one
// stream.
//
// The control socket is open to every process of the runner's user, so
// the agent cannot tell who runs "pitstop attach"; it names the owner of
// the terminal the command runs in ($PITSTOP_TERMINAL) in announcements
// and in the audit log.

// Frame kinds from an attached client.
const (
	frameInput  = 'i'
	frameWindow = 'w'
)

// maxFrame bounds a client's frame: keystrokes come in small reads.
const maxFrame = 1 << 20

// controlAttach serves an attach request on the control socket.
func (s *server) controlAttach(conn net.Conn, req control.AttachRequest) {
	fail := func(err error) {
		json.NewEncoder(conn).Encode(control.Response{Error: err.Error()}) //nolint:errcheck // peer may be gone
	}
	from := s.terms.Get(req.From)
	if from == nil {
		fail(errors.New("pitstop attach runs in a terminal of a pitstop session (" + TerminalEnv + " names none)"))
		return
	}
	t, err := s.terms.Pick(req.Terminal, req.From)
	if err != nil {
		fail(err)
		return
	}
	user := from.Owner()
	c := term.NewClient(user, req.ReadOnly, window(uint32(max(req.Cols, 0)), uint32(max(req.Rows, 0))), s.cfg.Now(), nil) //nolint:gosec // clamped
	note := fmt.Sprintf("pitstop: attached to terminal %d of %s%s. Leave with Ctrl-].", t.ID(), t.Owner(), roNote(req.ReadOnly))
	ti := t.Info()
	conn.SetDeadline(time.Time{}) //nolint:errcheck // unix sockets support deadlines
	if err := json.NewEncoder(conn).Encode(control.Response{Attached: &ti}); err != nil {
		return
	}
	go c.Serve(conn)
	if !t.Attach(c, true, note, user+" joined"+roNote(req.ReadOnly)) {
		c.Close()
		return
	}
	defer t.ExitSent()
	// The one attaching is from's owner; each event names the terminal
	// joined, t.
	al := from.Log().With("via_terminal", from.ID())
	s.auditAttach(al, t, c, true)
	// The terminal's end (or the client's leaving, when the connection is
	// closed already) closes the connection, which ends the reading.
	go func() {
		<-c.Gone()
		<-c.Written()
		conn.Close()
	}()
	readFrames(conn, func(kind byte, b []byte) {
		switch {
		case kind == frameInput && !c.ReadOnly():
			t.Input(b) //nolint:errcheck // a closed pty means the shell is gone: done says so
		case kind == frameWindow && len(b) == 8:
			t.Resize(c, window(binary.BigEndian.Uint32(b), binary.BigEndian.Uint32(b[4:])))
		}
	})
	select {
	case <-t.Done():
	default:
		t.Leave(c, user+" left")
		al.Info(audit.TermDetach, "detached from terminal", "terminal_id", t.ID())
	}
}

// readFrames calls f with each frame read from r, until r fails.
func readFrames(r io.Reader, f func(kind byte, b []byte)) {
	br := bufio.NewReader(r)
	var hdr [5]byte
	for {
		if _, err := io.ReadFull(br, hdr[:]); err != nil {
			return
		}
		n := binary.BigEndian.Uint32(hdr[1:])
		if n > maxFrame {
			return
		}
		b := make([]byte, n)
		if _, err := io.ReadFull(br, b); err != nil {
			return
		}
		f(hdr[0], b)
	}
}

// Attachment is a terminal joined through the control socket.
type Attachment struct {
	// Terminal is the terminal as it was when joined.
	Terminal control.TerminalInfo
	conn     net.Conn
}

// AttachOptions say which terminal to join and how.
type AttachOptions struct {
	Terminal int  // 0: the only one other than From
	From     int  // the terminal the caller runs in ($PITSTOP_TERMINAL)
	ReadOnly bool // watch only: keystrokes are not sent
	Cols     int  // the caller's window size
	Rows     int
}

// Attach joins a terminal of the agent listening on socket.
func Attach(ctx context.Context, socket string, o AttachOptions) (*Attachment, error) {
	if socket == "" {
		return nil, control.ErrNoSocket
	}
	dctx, cancel := context.WithTimeout(ctx, control.Timeout)
	defer cancel()
	conn, err := control.Dial(dctx, socket)
	if err != nil {
		return nil, fmt.Errorf("reach the pitstop agent at %s (has the pause ended?): %w", socket, err)
	}
	conn.SetDeadline(time.Now().Add(control.Timeout)) //nolint:errcheck // unix sockets support deadlines
	req := control.Request{Op: "attach", Attach: &control.AttachRequest{Terminal: o.Terminal, From: o.From, ReadOnly: o.ReadOnly, Cols: o.Cols, Rows: o.Rows}}
	if err := json.NewEncoder(conn).Encode(req); err != nil {
		conn.Close()
		return nil, fmt.Errorf("send attach request: %w", err)
	}
	// Byte by byte up to the newline, so that no terminal output is read
	// ahead into a decoder's buffer.
	var line []byte
	var b [1]byte
	for {
		if _, err := conn.Read(b[:]); err != nil {
			conn.Close()
			return nil, fmt.Errorf("read attach answer: %w", err)
		}
		if b[0] == '\n' {
			break
		}
		line = append(line, b[0])
	}
	var resp control.Response
	if err := json.Unmarshal(line, &resp); err != nil {
		conn.Close()
		return nil, fmt.Errorf("read attach answer: %w", err)
	}
	if resp.Error != "" {
		conn.Close()
		// The caller names the command ("pitstop attach: ..."); the
		// agent's answer says the rest.
		return nil, errors.New(resp.Error)
	}
	if resp.Attached == nil {
		conn.Close()
		return nil, errors.New("read attach answer: no terminal in it")
	}
	conn.SetDeadline(time.Time{}) //nolint:errcheck // see above
	return &Attachment{Terminal: *resp.Attached, conn: conn}, nil
}

// Read reads the terminal's output.
func (a *Attachment) Read(p []byte) (int, error) { return a.conn.Read(p) }

// Write sends keystrokes; a read-only attachment's are dropped by the agent.
func (a *Attachment) Write(p []byte) (int, error) {
	if err := a.frame(frameInput, p); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Resize tells the agent the caller's window size.
func (a *Attachment) Resize(cols, rows int) error {
	var b [8]byte
	binary.BigEndian.PutUint32(b[:], uint32(max(cols, 0)))  //nolint:gosec // clamped
	binary.BigEndian.PutUint32(b[4:], uint32(max(rows, 0))) //nolint:gosec // clamped
	return a.frame(frameWindow, b[:])
}

func (a *Attachment) frame(kind byte, p []byte) error {
	b := make([]byte, 5+len(p))
	b[0] = kind
	binary.BigEndian.PutUint32(b[1:], uint32(len(p))) //nolint:gosec // reads are far smaller than 4 GiB
	copy(b[5:], p)
	_, err := a.conn.Write(b)
	return err
}

// Close detaches.
func (a *Attachment) Close() error { return a.conn.Close() }
