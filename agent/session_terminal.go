package agent

import (
	"fmt"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gliderlabs/ssh"

	"github.com/pitstopci/pitstop/agent/audit"
	"github.com/pitstopci/pitstop/agent/control"
)

// TerminalEnv is set in a terminal's shell to the terminal's ID, so that
// "pitstop attach" run in it knows where it runs (a terminal cannot
// attach to itself) and on whose behalf.
const TerminalEnv = "PITSTOP_TERMINAL"

// terminals are the server's live terminals.
type terminals struct {
	mu   sync.Mutex
	next int
	all  map[int]*terminal
}

func (ts *terminals) add(t *terminal) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if ts.all == nil {
		ts.all = map[int]*terminal{}
	}
	ts.next++
	t.id = ts.next
	ts.all[t.id] = t
}

func (ts *terminals) remove(t *terminal) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	delete(ts.all, t.id)
}

func (ts *terminals) get(id int) *terminal {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return ts.all[id]
}

// list is every terminal, oldest first.
func (ts *terminals) list() []*terminal {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	out := make([]*terminal, 0, len(ts.all))
	for _, t := range ts.all {
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].id < out[j].id })
	return out
}

// infos describes every terminal, oldest first.
func (ts *terminals) infos() []control.TerminalInfo {
	out := []control.TerminalInfo{}
	for _, t := range ts.list() {
		out = append(out, t.info())
	}
	return out
}

// detachedOf is user's most recently detached terminal, if any: the one a
// dropped connection left behind.
func (ts *terminals) detachedOf(user string) *terminal {
	var best *terminal
	var bestAt time.Time
	for _, t := range ts.list() {
		ti := t.info()
		if ti.Owner != user || ti.DetachedSince.IsZero() {
			continue
		}
		if best == nil || !ti.DetachedSince.Before(bestAt) {
			best, bestAt = t, ti.DetachedSince
		}
	}
	return best
}

// pick is the terminal "pitstop attach [ID]" means: the given one, or,
// without an ID, the only one other than the caller's own (from, 0 for
// none).
func (ts *terminals) pick(id, from int) (*terminal, error) {
	if id == from && id != 0 {
		return nil, fmt.Errorf("you are in terminal %d already", id)
	}
	if id != 0 {
		if t := ts.get(id); t != nil {
			return t, nil
		}
		return nil, fmt.Errorf("no terminal %d; %s", id, ts.describe(from))
	}
	var others []*terminal
	for _, t := range ts.list() {
		if t.id != from {
			others = append(others, t)
		}
	}
	if len(others) == 1 {
		return others[0], nil
	}
	return nil, fmt.Errorf("say which terminal: %s", ts.describe(from))
}

// describe lists the terminals one may attach to, for error messages.
func (ts *terminals) describe(from int) string {
	var ids []string
	for _, t := range ts.list() {
		if t.id != from {
			ids = append(ids, strconv.Itoa(t.id)+" ("+t.owner+")")
		}
	}
	if len(ids) == 0 {
		return "there is no other terminal"
	}
	return "terminals: " + strings.Join(ids, ", ")
}

// hangUpAll hangs up every terminal: the pause is over.
func (ts *terminals) hangUpAll() {
	for _, t := range ts.list() {
		t.hangUp()
	}
}

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
func (s *server) newTerminal(ls *liveSession, al audit.Log, prog program, first *termClient) (*terminal, error) {
	t := &terminal{owner: ls.info.User, who: ls.conn, command: filepath.Base(prog.argv[0]),
		started: s.cfg.Now(), clock: s.cfg.clock(), grace: s.cfg.ReconnectGrace, done: make(chan struct{})}
	s.terms.add(t)
	t.audit = t.who.With("terminal_id", t.id)
	prog.env = append(prog.env, TerminalEnv+"="+strconv.Itoa(t.id))
	if first.agent != nil {
		// The shell outlives this connection: its SSH_AUTH_SOCK is the
		// terminal's, reaching the agent of whoever is attached now.
		sock, stop, err := s.forwardAgent(t.currentAgent, al)
		if err != nil {
			al.Warn(err, "could not set up agent forwarding")
		} else {
			t.agentStop = stop
			prog.env = append(prog.env, "SSH_AUTH_SOCK="+sock)
		}
	}
	s.sessWG.Add(1)  // the session holds one: shutdown cannot be waiting at zero
	t.exiting.Add(1) // first's
	if err := startTerminal(t, prog, first, s.terminalEnded); err != nil {
		if t.agentStop != nil {
			t.agentStop()
		}
		s.terms.remove(t)
		s.sessWG.Done()
		return nil, err
	}
	t.audit.Info(audit.TermStart, "terminal started")
	return t, nil
}

// terminalEnded runs once a terminal's shell has exited. Its clients are
// given a moment to send the exit status first, so that a client whose
// shell ended the pause still gets its status.
func (s *server) terminalEnded(t *terminal) {
	waitTimeout(&t.exiting, time.Second)
	if t.agentStop != nil {
		t.agentStop()
	}
	s.terms.remove(t)
	t.audit.Info(audit.TermEnd, "terminal ended", "exit_status", t.status, "hung_up", t.hungUp)
	s.pause.shellEnded(!t.hungUp)
	s.sessWG.Done()
}

// runTerminal serves an interactive session: it attaches the session to a
// terminal (its user's detached one, a new one, or the one asked for),
// and returns when the shell ends, the pause ends, or the session's
// channel closes, which detaches it and leaves the shell running.
// Once the caller has sent the exit status it calls sent.
func (s *server) runTerminal(sess ssh.Session, ls *liveSession, al audit.Log, prog program, req termRequest, agentOf agentDialer) (out outcome, sent func()) {
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
	var t *terminal
	redraw, note := false, ""
	switch req.op {
	case "attach":
		var err error
		if t, err = s.terms.pick(req.id, 0); err != nil {
			return outcome{status: 1, err: err}, sent
		}
		redraw = true
		note = fmt.Sprintf("pitstop: attached to terminal %d of %s%s. Leave with ~. (a newline first).", t.id, t.owner, roNote(req.readOnly))
	case "":
		if t = s.terms.detachedOf(user); t != nil {
			redraw = true
			note = fmt.Sprintf("pitstop: reattached to your terminal %d, left by a dropped connection (a new shell: ssh -t ... pitstop new).", t.id)
		}
	}
	c := newTermClient(user, req.readOnly, ptyReq.Window, s.cfg.Now())
	c.agent = agentOf
	go c.writeTo(sess)
	if t == nil {
		// The banner goes straight to the client, not through the pty or
		// the emulator: a redraw shows the shell's screen, not greetings.
		c.put([]byte(strings.ReplaceAll(s.banner()+s.terminalsBanner(), "\n", "\r\n")))
		var err error
		if t, err = s.newTerminal(ls, al, prog, c); err != nil {
			close(c.gone)
			return outcome{status: 127, err: err}, sent
		}
		counted = false // the terminal's now
	} else {
		if !t.attach(c, redraw, note, user+" joined"+roNote(req.readOnly)) {
			close(c.gone)
			return outcome{status: 1, err: fmt.Errorf("terminal %d has just ended", t.id)}, sent
		}
	}
	sent = t.exiting.Done
	uncount()
	s.auditAttach(al, t, c, redraw)

	// Sizes are applied as the window changes are answered, and the input
	// waits for those that came before it (inputAfterRequests).
	st.followWindow(func(w ssh.Window) { t.resize(c, w) })
	defer st.followWindow(nil)
	in := st.inputAfterRequests(sess)
	go func() {
		buf := make([]byte, 32<<10)
		for {
			n, err := in.Read(buf)
			if n > 0 && !c.readOnly {
				t.input(buf[:n]) //nolint:errcheck // a closed pty means the shell is gone: done says so
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
		case <-t.done:
			select {
			case <-c.written:
			case <-time.After(drainGrace):
			}
			return outcome{status: t.status}, sent
		case <-sess.Context().Done():
			t.leave(c, user+" left")
			al.Info(audit.TermDetach, "detached from terminal", "terminal_id", t.id)
			return outcome{status: 255, dropped: true}, sent
		case <-stop:
			stop = nil
			t.hangUp()
		case sig := <-sigs:
			if n, ok := signals[sig]; ok && !c.readOnly {
				t.signal(n)
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
func (s *server) auditAttach(al audit.Log, t *terminal, c *termClient, reattach bool) {
	al.Info(audit.TermAttach, "attached to terminal", "terminal_id", t.id, "terminal_owner", t.owner, "read_only", c.readOnly, "redrawn", reattach)
}

// terminalsBanner lists, for a new shell's banner, the terminals one may
// join.
func (s *server) terminalsBanner() string {
	infos := s.terms.infos()
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
