package agent

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/pitstopci/pitstop/agent/audit"
	"github.com/pitstopci/pitstop/agent/control"
	"github.com/pitstopci/pitstop/agent/term"
)

// "pitstop attach" inside a session joins another terminal through the
// control socket (agent/control has the client and the frames it sends).
//
// The control socket is open to every process of the runner's user, so
// the agent cannot tell who runs "pitstop attach"; it names the owner of
// the terminal the command runs in ($PITSTOP_TERMINAL) in announcements
// and in the audit log.

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
	control.ReadFrames(conn, func(b []byte) {
		if !c.ReadOnly() {
			t.Input(b) //nolint:errcheck // a closed pty means the shell is gone: done says so
		}
	}, func(cols, rows uint32) {
		t.Resize(c, window(cols, rows))
	})
	select {
	case <-t.Done():
	default:
		t.Leave(c, user+" left")
		al.Info(audit.TermDetach, "detached from terminal", "terminal_id", t.ID())
	}
}
