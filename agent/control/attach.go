package control

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
)

// "pitstop attach" inside a session joins another terminal through the
// control socket: the request is the usual JSON line, and once the agent
// has answered, the connection carries the terminal. The agent sends the
// terminal's output as it is; the client sends frames, one byte of kind
// ('i' for keystrokes, 'w' for a window size) and a big-endian uint32
// length before the payload, since keystrokes and sizes share the one
// stream. The client is here; the agent serves it (its
// terminal_control.go) with ReadFrames.

// Frame kinds from an attached client.
const (
	frameInput  = 'i'
	frameWindow = 'w'
)

// maxFrame bounds a client's frame: keystrokes come in small reads.
const maxFrame = 1 << 20

// DetachKey leaves "pitstop attach": Ctrl-], as in telnet and virsh
// console. The SSH client's own escape (~.) would end the session
// "pitstop attach" runs in, not just the attachment.
const DetachKey = 0x1d

// ReadFrames reads an attached client's frames from r until r fails or
// a frame is too long: keystrokes go to input, window sizes to resize.
// Frames of other kinds, and sizes of the wrong length, are skipped.
func ReadFrames(r io.Reader, input func(b []byte), resize func(cols, rows uint32)) {
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
		switch {
		case hdr[0] == frameInput:
			input(b)
		case hdr[0] == frameWindow && len(b) == 8:
			resize(binary.BigEndian.Uint32(b), binary.BigEndian.Uint32(b[4:]))
		}
	}
}

// Attachment is a terminal joined through the control socket.
type Attachment struct {
	// Terminal is the terminal as it was when joined.
	Terminal TerminalInfo
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
		return nil, ErrNoSocket
	}
	dctx, cancel := context.WithTimeout(ctx, Timeout)
	defer cancel()
	conn, err := Dial(dctx, socket)
	if err != nil {
		return nil, fmt.Errorf("reach the pitstop agent at %s (has the pause ended?): %w", socket, err)
	}
	conn.SetDeadline(time.Now().Add(Timeout)) //nolint:errcheck // unix sockets support deadlines
	req := Request{Op: "attach", Attach: &AttachRequest{Terminal: o.Terminal, From: o.From, ReadOnly: o.ReadOnly, Cols: o.Cols, Rows: o.Rows}}
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
	var resp Response
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

// attached shows the attachment a on the caller's terminal, which the
// platform's RunAttach has put in raw mode: what in reads goes to the
// terminal until DetachKey, what the terminal shows goes to out, and each
// size from sizes is passed on. It returns once either side has ended,
// and says which on out; restore is called before that line, so that it
// shows on the terminal as it was.
func attached(a *Attachment, in io.Reader, out io.Writer, sizes <-chan [2]int, restore func()) {
	done := make(chan struct{})
	defer close(done)
	go func() {
		for {
			select {
			case s := <-sizes:
				a.Resize(s[0], s[1]) //nolint:errcheck // a closed attachment ends the copy below
			case <-done:
				return
			}
		}
	}()
	detached := make(chan struct{})
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := in.Read(buf)
			b := buf[:n]
			for i, c := range b {
				if c == DetachKey {
					a.Write(b[:i]) //nolint:errcheck // leaving anyway
					close(detached)
					a.Close()
					return
				}
			}
			if len(b) > 0 {
				if _, err := a.Write(b); err != nil {
					return
				}
			}
			if err != nil {
				return
			}
		}
	}()
	io.Copy(out, a) //nolint:errcheck // ends when either side closes
	restore()
	select {
	case <-detached:
		fmt.Fprintf(out, "\r\npitstop: detached from terminal %d.\r\n", a.Terminal.ID)
	default:
		fmt.Fprintf(out, "\r\npitstop: terminal %d ended.\r\n", a.Terminal.ID)
	}
}
