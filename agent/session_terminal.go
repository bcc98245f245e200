package agent

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/gliderlabs/ssh"

	"github.com/pitstopci/pitstop/agent/audit"
	"github.com/pitstopci/pitstop/agent/term"
)

// TerminalEnv is set in a terminal's shell to the terminal's ID, so that
// "pitstop attach" run in it knows where it runs (a terminal cannot
// attach to itself) and on whose behalf.
const TerminalEnv = "PITSTOP_TERMINAL"

// termRequest is what an interactive session asks for: a shell (its own
// detached terminal back, or a new one), a new shell whatever is
// detached ("pitstop new"), or to join a terminal ("pitstop attach").
type termRequest struct {
	op       string // "", "new" or "attach"
	id       int    // attach: the terminal, 0 for the only one
	readOnly bool
}

// parseTermCommand recognizes the commands that the agent serves itself
// when given over SSH ("ssh -t host pitstop attach 2"): they are about
// the agent's terminals, not programs to run. ok is false for anything
// else, which runs as a command.
func parseTermCommand(command string) (req termRequest, ok bool, err error) {
	f := strings.Fields(command)
	if len(f) < 2 || f[0] != "pitstop" || (f[1] != "new" && f[1] != "attach") {
		return termRequest{}, false, nil
	}
	req.op = f[1]
	for _, a := range f[2:] {
		switch {
		case req.op == "attach" && (a == "--read-only" || a == "-read-only" || a == "-r"):
			req.readOnly = true
		case req.op == "attach" && req.id == 0:
			n, err := strconv.Atoi(a)
			if err != nil || n <= 0 {
				return req, true, fmt.Errorf("pitstop attach: %q is not a terminal ID (see pitstop status)", a)
			}
			req.id = n
		default:
			return req, true, fmt.Errorf("usage: pitstop new | pitstop attach [ID] [--read-only]; unexpected %q", a)
		}
	}
	return req, true, nil
}

// newTerminal starts the session's shell as a terminal. The terminal,
// not the session, now counts as a shell for the pause: the caller has
// counted it (see runTerminal), and terminalEnded uncounts it.
func (s *server) newTerminal(ls *liveSession, al audit.Log, prog term.Program, first *term.Client, agentOf term.AgentDialer) (*term.Terminal, error) {
	t := term.New(term.Spec{Owner: ls.info.User, Log: ls.conn, Command: filepath.Base(prog.Argv[0]),
		Started: s.cfg.Now(), Clock: s.cfg.clock(), Grace: s.cfg.ReconnectGrace})
	s.terms.Add(t)
	prog.Env = append(prog.Env, TerminalEnv+"="+strconv.Itoa(t.ID()))
	agentStop := func() {}
	if agentOf != nil {
		// The shell outlives this connection: its SSH_AUTH_SOCK is the
		// terminal's, reaching the agent of whoever is attached now.
		sock, stop, err := s.forwardAgent(t.CurrentAgent, al)
		if err != nil {
			al.Warn(err, "could not set up agent forwarding")
		} else {
			agentStop = stop
			prog.Env = append(prog.Env, "SSH_AUTH_SOCK="+sock)
		}
	}
	s.sessWG.Add(1) // the session holds one: shutdown cannot be waiting at zero
	if err := t.Start(prog, first, func(t *term.Terminal) { s.terminalEnded(t, agentStop) }); err != nil {
		agentStop()
		s.terms.Remove(t)
		s.sessWG.Done()
		return nil, err
	}
	t.Audit().Info(audit.TermStart, "terminal started")
	return t, nil
}

// terminalEnded runs once a terminal's shell has exited and its clients
// have sent the exit status (or were given a moment to); agentStop
// closes the shell's SSH_AUTH_SOCK.
func (s *server) terminalEnded(t *term.Terminal, agentStop func()) {
	agentStop()
	s.terms.Remove(t)
	t.Audit().Info(audit.TermEnd, "terminal ended", "exit_status", t.Status(), "hung_up", t.HungUp())
	s.pause.shellEnded(!t.HungUp())
	s.sessWG.Done()
}

// runTerminal serves an interactive session: it attaches the session to a
// terminal (its user's detached one, a new one, or the one asked for),
// and returns when the shell ends, the pause ends, or the session's
// channel closes, which detaches it and leaves the shell running.
// Once the caller has sent the exit status it calls sent.
func (s *server) runTerminal(sess ssh.Session, ls *liveSession, al audit.Log, prog term.Program, req termRequest, agentOf term.AgentDialer) (out term.Outcome, sent func()) {
	sent = func() {}
	// Counted as a shell from the start, as a session was before
	// terminals: a shell exiting meanwhile must not end the pause while
	// this one is on its way. A new terminal takes the count over; joining
	// one gives it back.
	s.pause.shellStarted()
	counted := true
	uncount := func() {
		if counted {
			counted = false
			s.pause.shellEnded(false)
		}
	}
	defer uncount()
	st := sessionStateOf(sess)
	ptyReq, _ := st.ptyRequest()
	user := ls.info.User
	var t *term.Terminal
	redraw, note := false, ""
	switch req.op {
	case "attach":
		var err error
		if t, err = s.terms.Pick(req.id, 0); err != nil {
			return term.Outcome{Status: 1, Err: err}, sent
		}
		redraw = true
		note = fmt.Sprintf("pitstop: attached to terminal %d of %s%s. Leave with ~. (a newline first).", t.ID(), t.Owner(), roNote(req.readOnly))
	case "":
		if t = s.terms.DetachedOf(user); t != nil {
			redraw = true
			note = fmt.Sprintf("pitstop: reattached to your terminal %d, left by a dropped connection (a new shell: ssh -t ... pitstop new).", t.ID())
		}
	}
	c := term.NewClient(user, req.readOnly, ptyReq.Window, s.cfg.Now(), agentOf)
	go c.Serve(sess)
	if t == nil {
		// The banner goes straight to the client, not through the pty or
		// the emulator: a redraw shows the shell's screen, not greetings.
		c.Put([]byte(strings.ReplaceAll(s.banner()+s.terminalsBanner(), "\n", "\r\n")))
		var err error
		if t, err = s.newTerminal(ls, al, prog, c, agentOf); err != nil {
			c.Close()
			return term.Outcome{Status: 127, Err: err}, sent
		}
		counted = false // the terminal's now
	} else {
		if !t.Attach(c, redraw, note, user+" joined"+roNote(req.readOnly)) {
			c.Close()
			return term.Outcome{Status: 1, Err: fmt.Errorf("terminal %d has just ended", t.ID())}, sent
		}
	}
	sent = t.ExitSent
	uncount()
	s.auditAttach(al, t, c, redraw)

	// Sizes are applied as the window changes are answered, and the input
	// waits for those that came before it (inputAfterRequests).
	st.followWindow(func(w ssh.Window) { t.Resize(c, w) })
	defer st.followWindow(nil)
	in := st.inputAfterRequests(sess)
	go func() {
		buf := make([]byte, 32<<10)
		for {
			n, err := in.Read(buf)
			if n > 0 && !c.ReadOnly() {
				t.Input(buf[:n]) //nolint:errcheck // a closed pty means the shell is gone: done says so
			}
			if err != nil {
				return
			}
		}
	}()
	sigs := make(chan ssh.Signal, 8)
	sess.Signals(sigs)
	defer sess.Signals(nil)
	stop := ls.stop
	for {
		select {
		case <-t.Done():
			select {
			case <-c.Written():
			case <-time.After(term.DrainGrace):
			}
			return term.Outcome{Status: t.Status()}, sent
		case <-sess.Context().Done():
			t.Leave(c, user+" left")
			al.Info(audit.TermDetach, "detached from terminal", "terminal_id", t.ID())
			return term.Outcome{Status: 255, Dropped: true}, sent
		case <-stop:
			stop = nil
			t.HangUp()
		case sig := <-sigs:
			if !c.ReadOnly() {
				t.Signal(sig)
			}
		}
	}
}

func roNote(readOnly bool) string {
	if readOnly {
		return " (read-only)"
	}
	return ""
}

// auditAttach records a client joining a terminal.
func (s *server) auditAttach(al audit.Log, t *term.Terminal, c *term.Client, reattach bool) {
	al.Info(audit.TermAttach, "attached to terminal", "terminal_id", t.ID(), "terminal_owner", t.Owner(), "read_only", c.ReadOnly(), "redrawn", reattach)
}

// terminalsBanner lists, for a new shell's banner, the terminals one may
// join.
func (s *server) terminalsBanner() string {
	infos := s.terms.Infos()
	if len(infos) == 0 {
		return ""
	}
	now := s.cfg.Now()
	var b strings.Builder
	b.WriteString("  Terminals to join (pitstop attach ID, --read-only to watch):\n")
	for _, ti := range infos {
		fmt.Fprintf(&b, "    %d  %s  %s  %s\n", ti.ID, ti.Owner, ti.Command, ti.Describe(now))
	}
	b.WriteString("  From outside: ssh -t <as you logged in> pitstop attach ID\n")
	return b.String()
}
