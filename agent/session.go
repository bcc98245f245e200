package agent

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/gliderlabs/ssh"

	"github.com/pitstopci/pitstop/agent/access"
	"github.com/pitstopci/pitstop/agent/audit"
	"github.com/pitstopci/pitstop/agent/control"
	"github.com/pitstopci/pitstop/agent/shell"
	"github.com/pitstopci/pitstop/agent/term"
)

// Session kinds, as logged and shown by "pitstop status".
const (
	kindShell = "shell" // a shell; only one on a pty (interactive) can end the pause
	kindExec  = "exec"  // a command (ssh host cmd, legacy scp)
	kindSFTP  = "sftp"  // the sftp subsystem (sftp, scp)
)

// liveSession is a running session, known to the server so that status
// can list it and shutdown can end it.
type liveSession struct {
	info control.SessionInfo
	sess ssh.Session
	pty  bool
	conn audit.Log     // the connection's: who logged in, with which key, from where
	stop chan struct{} // closed when the pause is over: end the program
	once sync.Once

	tellMu sync.Mutex
	told   chan struct{} // closed once the last message told is written
}

// tell shows msg on the session's stderr. It does not wait: a client that
// stopped reading must not hold up the agent. Messages go out in the order
// told, and the session's exit status waits for them (waitTold).
func (ls *liveSession) tell(msg string) {
	if ls.pty {
		msg = "\r\n" + strings.ReplaceAll(msg, "\n", "\r\n") + "\r\n"
	} else {
		msg += "\n"
	}
	ls.tellMu.Lock()
	prev, done := ls.told, make(chan struct{})
	ls.told = done
	ls.tellMu.Unlock()
	go func() {
		defer close(done)
		if prev != nil {
			<-prev
		}
		ls.sess.Stderr().Write([]byte(msg)) //nolint:errcheck // best effort: the session may be gone
	}()
}

// tellGrace is how long a session's exit waits for what it was told to
// go out, when the client does not take it.
const tellGrace = 2 * time.Second

// waitTold waits until the messages told so far are written, or
// tellGrace has passed. The exit status closes the channel, and a message
// written after it is lost: "the pause is over" must reach the user
// before the session ends because of it.
func (ls *liveSession) waitTold() {
	ls.tellMu.Lock()
	done := ls.told
	ls.tellMu.Unlock()
	if done == nil {
		return
	}
	select {
	case <-done:
	case <-time.After(tellGrace):
	}
}

// end tells the session the pause is over and stops its program.
func (ls *liveSession) end(reason EndReason) {
	ls.tell(fmt.Sprintf("pitstop: the pause is over (%s); the job continues. Closing this session.", reason.Describe()))
	ls.once.Do(func() { close(ls.stop) })
}

// register adds a session, or returns nil when the pause is already over.
func (s *server) register(sess ssh.Session, kind string, pty bool) *liveSession {
	ak, _ := sess.Context().Value(ctxKeyAuth).(access.Key)
	conn := s.ctxAudit(sess.Context())
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return nil
	}
	s.nextID++
	ls := &liveSession{
		info: control.SessionInfo{
			ID:             s.nextID,
			User:           ak.Name,
			KeyFingerprint: ak.Fingerprint,
			RemoteAddr:     sess.RemoteAddr().String(),
			Kind:           kind,
			PTY:            pty,
			Since:          s.cfg.Now(),
		},
		sess: sess,
		pty:  pty,
		conn: conn,
		stop: make(chan struct{}),
	}
	s.sessions[ls.info.ID] = ls
	s.sessWG.Add(1)
	return ls
}

func (s *server) unregister(ls *liveSession) {
	s.mu.Lock()
	delete(s.sessions, ls.info.ID)
	s.mu.Unlock()
	s.sessWG.Done()
}

// sessionsSnapshot lists the live sessions, oldest first.
func (s *server) sessionsSnapshot() []control.SessionInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]control.SessionInfo, 0, len(s.sessions))
	for id := 1; id <= s.nextID; id++ {
		if ls, ok := s.sessions[id]; ok {
			out = append(out, ls.info)
		}
	}
	return out
}

// tellAll shows msg in every live session.
func (s *server) tellAll(msg string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, ls := range s.sessions {
		ls.tell(msg)
	}
}

// handleSession runs a shell or exec request.
func (s *server) handleSession(sess ssh.Session) {
	kind := kindExec
	if sess.RawCommand() == "" {
		kind = kindShell
	}
	// Not sess.Pty(): pty requests are answered by sessionFilter, so
	// gliderlabs never rewrites the session's output.
	st := sessionStateOf(sess)
	ptyReq, isPty := st.ptyRequest()
	// "pitstop new" and "pitstop attach" given over SSH are about the
	// terminals (session_terminal.go): shells, not commands.
	treq, isTerm, terr := parseTermCommand(sess.RawCommand())
	if isTerm {
		kind = kindShell
	}
	ls := s.register(sess, kind, isPty)
	if ls == nil {
		fmt.Fprintln(sess.Stderr(), "pitstop: the pause is over; the job has moved on.")
		sess.Exit(255) //nolint:errcheck // the client may be gone
		return
	}
	defer s.unregister(ls)
	al := s.sessionAudit(ls)
	var kv []any
	if kind == kindExec || isTerm {
		kv = []any{"command", sess.RawCommand()}
	}
	al.Info(audit.SessionStart, "session started", kv...)
	if kind == kindExec {
		s.auditLegacySCP(al, sess.RawCommand())
	}
	if isTerm && terr == nil && !isPty {
		terr = fmt.Errorf("%s needs a terminal: ssh -t ... %s", strings.Join(strings.Fields(sess.RawCommand())[:2], " "), sess.RawCommand())
	}
	if terr != nil {
		fmt.Fprintf(sess.Stderr(), "pitstop: %v\n", terr)
		s.auditSessionEnd(al, ls, 2, false)
		sess.Exit(2) //nolint:errcheck // the client may be gone
		return
	}

	prog := term.Program{
		Argv:  s.argv(kind, sess.RawCommand(), isPty),
		Env:   s.sessionEnv(sess, ptyTerm(ptyReq, isPty)),
		Dir:   s.workdir(),
		WinCh: st.winch,
	}
	if isPty {
		prog.Pty = &ptyReq
	}
	var agentOf term.AgentDialer // a terminal's client's agent
	if ssh.AgentRequested(sess) {
		d, err := sessionAgent(sess)
		switch {
		case err != nil:
			al.Warn(err, "could not set up agent forwarding")
		case kind == kindShell && isPty:
			// The terminal's socket reaches it while this client is the
			// one attached (session_terminal.go).
			agentOf = d
		default:
			sock, stop, err := s.forwardAgent(func() (term.AgentDialer, bool) { return d, true }, al)
			if err != nil {
				al.Warn(err, "could not set up agent forwarding")
			} else {
				defer stop()
				prog.Env = append(prog.Env, "SSH_AUTH_SOCK="+sock)
			}
		}
	}
	// Only a shell on a terminal is someone at a prompt. One without
	// ("ssh host < script", "echo cmd | ssh host") is a script, like an
	// exec: its end says nothing about the user being done. A shell on a
	// terminal outlives the session (session_terminal.go); the terminal
	// tells the pause when it ends.
	var out term.Outcome
	sent := func() {}
	if kind == kindShell && isPty {
		out, sent = s.runTerminal(sess, ls, al, prog, treq, agentOf)
	} else {
		out = term.RunProgram(sess, prog, ls.stop)
	}
	if out.Err != nil {
		al.Warn(out.Err, "could not start the session's program")
		fmt.Fprintf(sess.Stderr(), "pitstop: %v\n", out.Err)
	}
	// Logged before the exit status goes out: once the client has it, it
	// hangs up, and the logout must not come before the session's end.
	s.auditSessionEnd(al, ls, out.Status, out.Dropped)
	// The exit status goes out before the pause is told, so a client
	// whose shell ended the pause still gets its status.
	ls.waitTold()
	sess.Exit(out.Status) //nolint:errcheck // the client may be gone
	sent()
}

// sessionAudit is the audit log for one session: its connection's, which
// names who logged in as the login did (a key given directly by its
// source, not by the comment pitstop status shows), and what the
// session is.
func (s *server) sessionAudit(ls *liveSession) audit.Log {
	return ls.conn.With("session_kind", ls.info.Kind, "pty", ls.pty, "session_id", ls.info.ID)
}

// auditSessionEnd records how a session ended.
func (s *server) auditSessionEnd(al audit.Log, ls *liveSession, status int, dropped bool) {
	kv := []any{"exit_status", status, "duration", s.cfg.Now().Sub(ls.info.Since).Round(time.Millisecond).String()}
	if dropped {
		kv = append(kv, "dropped", true)
	}
	al.Info(audit.SessionEnd, "session ended", kv...)
}

// auditLegacySCP records the file transfer that an exec of "scp -t" (a
// file sent to the runner) or "scp -f" (fetched from it) is: legacy scp,
// "scp -O", runs the remote half as a command.
func (s *server) auditLegacySCP(al audit.Log, command string) {
	f := strings.Fields(command)
	if len(f) == 0 || filepath.Base(f[0]) != "scp" {
		return
	}
	dir := ""
	var paths []string
	for _, a := range f[1:] {
		switch {
		case a == "-t":
			dir = "upload"
		case a == "-f":
			dir = "download"
		case strings.HasPrefix(a, "-"):
		default:
			paths = append(paths, a)
		}
	}
	if dir == "" {
		return
	}
	al.Info(audit.Transfer, "scp "+dir, "protocol", "scp", "direction", dir, "paths", paths)
}

func ptyTerm(p term.Pty, isPty bool) string {
	if !isPty {
		return ""
	}
	if p.Term == "" {
		return "xterm-256color"
	}
	return p.Term
}

// argv is the program a session runs. Shells are started so that the
// step's PATH survives: never as login shells, whose /etc/profile resets
// PATH on Debian and Ubuntu and would drop what GITHUB_PATH added.
func (s *server) argv(kind, command string, isPty bool) []string {
	if runtime.GOOS == "windows" {
		if argv, ok := shell.WindowsArgv(s.shell, kind == kindExec, command, isPty); ok {
			return argv
		}
	}
	isBash := filepath.Base(s.shell) == "bash"
	switch {
	case kind == kindExec && isBash:
		return []string{s.shell, "--noprofile", "--norc", "-c", command}
	case kind == kindExec:
		return []string{s.shell, "-c", command}
	case isBash && isPty:
		// Our rc file only re-asserts PATH and sets a prompt: the next
		// step of the job would not read ~/.bashrc either.
		return []string{s.shell, "--noprofile", "--rcfile", s.rcFile, "-i"}
	case isBash:
		// No pty: commands come on stdin (ssh host < script).
		return []string{s.shell, "--noprofile", "--norc"}
	case isPty:
		return []string{s.shell, "-i"}
	default:
		return []string{s.shell}
	}
}

// workdir is GITHUB_WORKSPACE, where the job's steps run; failing that,
// the agent's own directory.
func (s *server) workdir() string {
	if ws := s.workspace; ws != "" {
		if fi, err := os.Stat(ws); err == nil && fi.IsDir() {
			return ws
		}
	}
	return ""
}

// pickShell chooses the sessions' shell: cfg.Shell, else the default
// shell of "run:" steps (see shell.Default).
func pickShell(cfg Config, env []string) string {
	if cfg.Shell != "" {
		if p := shell.LookPath(cfg.Shell, env); p != "" {
			return p
		}
		return cfg.Shell
	}
	return shell.Default(runtime.GOOS, env)
}

// writeRC writes the rc file of interactive bash sessions.
func writeRC(dir string, env []string) (string, error) {
	path := filepath.Join(dir, "bashrc")
	rc := "# pitstop: interactive sessions read this instead of /etc/profile and\n" +
		"# ~/.bashrc, so PATH stays what the job's next step would see.\n" +
		"export PATH=" + shellQuote(shell.Getenv(runtime.GOOS, env, "PATH")) + "\n" +
		`PS1='(pitstop) \u@\h:\w\$ '` + "\n"
	if err := os.WriteFile(path, []byte(rc), 0o600); err != nil {
		return "", fmt.Errorf("write shell rc file: %w", err)
	}
	return path, nil
}

// shellQuote quotes s for a POSIX shell.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
