package agent

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/charmbracelet/x/vt"
	"github.com/creack/pty"

	"github.com/pitstopci/pitstop/agent/audit"
	"github.com/pitstopci/pitstop/agent/control"
	"github.com/pitstopci/pitstop/agent/term"
)

// sshTerm is the real OpenSSH client on a terminal of its own, whose
// screen the test reads through a terminal emulator, as the user would
// see it.
type sshTerm struct {
	t    *testing.T
	cmd  *exec.Cmd
	term *os.File
	raw  *syncBuffer // every byte the client printed
	mu   sync.Mutex
	emu  *vt.Emulator  // the screen those bytes draw, under mu
	done chan struct{} // closed when the client's output ends
}

// startSSHTerm runs ssh -tt as the holder of keyFile on a 24×80 terminal,
// with extra arguments (a command) after the destination.
func startSSHTerm(t *testing.T, h *harness, keyFile string, extra ...string) *sshTerm {
	t.Helper()
	return startSSHTermSized(t, h, keyFile, 80, 24, extra...)
}

// startSSHTermSized is startSSHTerm on a terminal of cols×rows.
func startSSHTermSized(t *testing.T, h *harness, keyFile string, cols, rows int, extra ...string) *sshTerm {
	t.Helper()
	return startSSHTermArgs(t, h.sshArgs(keyFile, append([]string{"-tt"}, extra...)...), cols, rows)
}

// startSSHTermArgs runs ssh with args on a terminal of cols×rows.
func startSSHTermArgs(t *testing.T, args []string, cols, rows int) *sshTerm {
	t.Helper()
	cmd := exec.Command(openSSH(t), args...)
	cmd.Env = append(os.Environ(), "TERM=xterm-256color")
	ptmx, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: uint16(rows), Cols: uint16(cols)}) //nolint:gosec // small
	if err != nil {
		t.Fatal(err)
	}
	st := &sshTerm{t: t, cmd: cmd, term: ptmx, raw: &syncBuffer{}, emu: vt.NewEmulator(cols, rows), done: make(chan struct{})}
	term.Bound(st.emu) // tests print what would keep it busy for minutes
	// The emulator's answers to queries are not needed: the programs
	// under test work without them.
	go io.Copy(io.Discard, st.emu) //nolint:errcheck // ends with the test binary
	go func() {
		defer close(st.done)
		buf := make([]byte, 32<<10)
		for {
			n, err := ptmx.Read(buf)
			if n > 0 {
				st.raw.Write(buf[:n]) //nolint:errcheck // in memory
				st.mu.Lock()
				st.emu.Write(buf[:n]) //nolint:errcheck // in memory
				st.mu.Unlock()
			}
			if err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() {
		st.emu.InputPipe().(io.Closer).Close() // ends the goroutine reading its answers
		ptmx.Close()
		if cmd.ProcessState == nil {
			cmd.Process.Kill() //nolint:errcheck // may have exited
			cmd.Wait()         //nolint:errcheck // killed
		}
	})
	return st
}

// screen is what the client's terminal shows.
func (s *sshTerm) screen() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var b strings.Builder
	for y := 0; y < s.emu.Height(); y++ {
		for x := 0; x < s.emu.Width(); x++ {
			if c := s.emu.CellAt(x, y); c != nil && c.Content != "" {
				b.WriteString(c.Content)
			} else if c == nil || c.Width != 0 {
				b.WriteByte(' ')
			}
		}
		b.WriteString("\n")
	}
	return b.String()
}

// waitScreen waits until the screen matches ok, and returns it.
func (s *sshTerm) waitScreen(what string, ok func(string) bool) string {
	s.t.Helper()
	var scr string
	if !eventually(10*time.Second, func() bool { scr = s.screen(); return ok(scr) }) {
		s.t.Fatalf("the screen never showed %s:\n%s\nraw output: %q", what, scr, s.raw.String())
	}
	return scr
}

func (s *sshTerm) waitText(want string) string {
	s.t.Helper()
	return s.waitScreen(strconv.Quote(want), func(scr string) bool { return strings.Contains(scr, want) })
}

// waitRaw waits until the client has printed want, whether or not it is
// still on the screen.
func (s *sshTerm) waitRaw(want string) {
	s.t.Helper()
	if !eventually(10*time.Second, func() bool { return strings.Contains(s.raw.String(), want) }) {
		s.t.Fatalf("the client never printed %q:\n%q", want, s.raw.String())
	}
}

// waitPromptAfter waits for a shell prompt printed after the last
// marker: the program that printed marker has exited, and what is typed
// next goes to the shell.
func (s *sshTerm) waitPromptAfter(marker string) {
	s.t.Helper()
	var raw string
	if !eventually(10*time.Second, func() bool {
		raw = s.raw.String()
		i := strings.LastIndex(raw, marker)
		return i >= 0 && strings.Contains(raw[i:], "(pitstop) ")
	}) {
		s.t.Fatalf("no prompt after %q:\n%q", marker, raw)
	}
}

func (s *sshTerm) typ(text string) {
	s.t.Helper()
	if _, err := io.WriteString(s.term, text); err != nil {
		s.t.Fatal(err)
	}
}

// kill ends the client as a dropped connection would: SIGKILL, no
// goodbye to the server.
func (s *sshTerm) kill() {
	s.cmd.Process.Signal(syscall.SIGKILL) //nolint:errcheck // checked by Wait
	s.cmd.Wait()                          //nolint:errcheck // killed
}

var tickRE = regexp.MustCompile(`tick (\d+)`)

// lastTick is the highest "tick N" on the screen.
func lastTick(scr string) int {
	n := 0
	for _, m := range tickRE.FindAllStringSubmatch(scr, -1) {
		if v, _ := strconv.Atoi(m[1]); v > n {
			n = v
		}
	}
	return n
}

// TestReattachAfterDrop: the client is killed while a command runs; the
// shell, its variables and the command go on, and the next login gets the
// same terminal back with its screen.
func TestReattachAfterDrop(t *testing.T) {
	h := startAgent(t, nil)
	pidFile := filepath.Join(t.TempDir(), "pid")
	a := startSSHTerm(t, h, h.alice.keyFile)
	a.waitText("(pitstop) ")
	stopFile := filepath.Join(t.TempDir(), "stop")
	a.typ("export MARKER=kept-across; echo $$ > " + pidFile + "\n")
	// The long command stops when the test says so: a ^C may reach bash
	// between two commands of the loop and not end it.
	a.typ("i=0; while [ ! -e " + stopFile + " ]; do i=$((i+1)); echo \"tick $i\"; sleep 0.1; done\n")
	before := lastTick(a.waitScreen("ticks", func(s string) bool { return lastTick(s) >= 3 }))
	data, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(data)))
	a.kill()

	// The shell goes on without a client.
	h.waitStatus("the terminal detached", func(st control.Status) bool {
		return len(st.Terminals) == 1 && len(st.Terminals[0].Clients) == 0 && !st.Terminals[0].DetachedSince.IsZero()
	})
	if !alive(pid) {
		t.Fatalf("the shell (pid %d) died with its connection\nlog:\n%s", pid, h.logs)
	}

	b := startSSHTerm(t, h, h.alice.keyFile)
	b.waitText("reattached to your terminal 1")
	// The screen is redrawn with the command's output, which goes on.
	b.waitScreen("ticks going on after the reattach", func(s string) bool { return lastTick(s) > before+5 })
	if err := os.WriteFile(stopFile, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	b.waitText("(pitstop) ")
	b.typ("echo \"VAR=$MARKER PID=$$\" | tr a-z A-Z\n")
	b.waitText("VAR=KEPT-ACROSS PID=" + strconv.Itoa(pid))
	if !h.audited(audit.TermAttach, map[string]any{"github_user": "alice", "redrawn": true}) || !h.audited(audit.TermDetach, map[string]any{"github_user": "alice"}) {
		t.Errorf("attach and detach are not in the audit log:\n%s", h.logs)
	}
	b.typ("exit\n")
	h.waitEnd(EndShellsExited, 10*time.Second)
}

// TestReattachRedrawsVim: a full-screen program open across a reattach is
// drawn again as it was, and goes on working.
func TestReattachRedrawsVim(t *testing.T) {
	h := startAgent(t, nil)
	file := filepath.Join(h.workspace, "notes.txt")
	var lines []string
	for i := 1; i <= 40; i++ {
		lines = append(lines, "line "+strconv.Itoa(i)+" of the notes")
	}
	if err := os.WriteFile(file, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	a := startSSHTerm(t, h, h.alice.keyFile)
	a.waitText("(pitstop) ")
	a.typ("vim -u NONE -i NONE -N -n notes.txt\n")
	a.waitText("line 23 of the notes")
	a.typ("10jx") // the cursor on line 11, its first character deleted
	want := a.waitText("\nine 11 of the notes")
	a.kill()

	b := startSSHTerm(t, h, h.alice.keyFile)
	// The redraw may come in several reads: wait for all of it.
	b.waitScreen("vim's screen as before the drop:\n"+want, func(s string) bool { return s == want })
	var where string
	if !eventually(5*time.Second, func() bool {
		b.mu.Lock()
		pos := b.emu.CursorPosition()
		b.mu.Unlock()
		where = fmt.Sprintf("%+v", pos)
		return pos.Y == 10 && pos.X == 0
	}) {
		t.Fatalf("cursor at %s after the reattach, want row 10, column 0", where)
	}
	// vim goes on: delete the line, quit, and the shell is back.
	b.typ("dd:wq\r")
	b.waitText("(pitstop) ")
	b.typ("grep -c notes notes.txt | sed 's/^/COUNT=/'\n")
	b.waitText("COUNT=39")
	// The note is on the main screen, which vim's end brought back.
	if !strings.Contains(b.raw.String(), "reattached to your terminal 1") {
		t.Errorf("no reattach note in the output: %q", b.raw.String())
	}
	b.typ("exit\n")
	h.waitEnd(EndShellsExited, 10*time.Second)
}

// TestDetachedTerminalEndsWithTheGrace: nobody comes back within the
// reconnect grace period: the detached shell and what it started get
// SIGHUP, and the pause ends.
func TestDetachedTerminalEndsWithTheGrace(t *testing.T) {
	h := startAgent(t, (*harness).useFakeClock)
	dir := t.TempDir()
	a := startSSHTerm(t, h, h.alice.keyFile)
	a.waitText("(pitstop) ")
	a.typ("echo $$ > " + dir + "/shell; sleep 300 & echo $! > " + dir + "/child; echo 'STAR''TED'\n")
	a.waitText("STARTED")
	var pids []int
	for _, f := range []string{"shell", "child"} {
		data, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		pid, _ := strconv.Atoi(strings.TrimSpace(string(data)))
		pids = append(pids, pid)
	}
	a.kill()
	h.waitDropped()
	h.waitStatus("the terminal detached", func(st control.Status) bool {
		return len(st.Terminals) == 1 && !st.Terminals[0].DetachedSince.IsZero()
	})
	for _, pid := range pids {
		if !alive(pid) {
			t.Fatalf("pid %d ended with the connection, before the grace period", pid)
		}
	}
	h.clock.Advance(h.cfg.ReconnectGrace)
	h.waitEnd(EndReconnectGrace, 10*time.Second)
	for _, pid := range pids {
		if !eventually(term.KillGrace+2*time.Second, func() bool { return !alive(pid) }) {
			t.Fatalf("pid %d still runs after the grace period and the pause ended\nlog:\n%s", pid, h.logs)
		}
	}
}

// TestReattachOutlivesAStaleGraceTimer: the grace timer of a terminal
// fires just as its user reattaches, too late to be stopped. The
// reattached shell must not be hung up by it.
func TestReattachOutlivesAStaleGraceTimer(t *testing.T) {
	h := startAgent(t, (*harness).useFakeClock)
	h.clock.LateStops = true // every Stop comes too late, as in that race
	a := startSSHTerm(t, h, h.alice.keyFile)
	a.waitText("(pitstop) ")
	a.kill()
	h.waitDropped()
	h.clock.Advance(h.cfg.ReconnectGrace - time.Second)
	b := startSSHTerm(t, h, h.alice.keyFile)
	b.waitText("reattached to your terminal 1")
	h.waitStatus("the terminal is attached", func(st control.Status) bool {
		return len(st.Terminals) == 1 && len(st.Terminals[0].Clients) == 1
	})
	h.clock.Advance(2 * time.Second) // the stale timer falls due
	b.typ("echo 'STILL''HERE'\n")
	b.waitText("STILLHERE")
	b.typ("exit\n")
	h.waitEnd(EndShellsExited, 10*time.Second)
	if !h.audited(audit.TermEnd, map[string]any{"hung_up": false, "exit_status": float64(0)}) {
		t.Errorf("the terminal did not end by its exit:\n%s", h.logs)
	}
}

// withBob lets a second GitHub user log in.
func withBob(bob testUser) func(*harness) {
	return func(h *harness) {
		h.gh.SetKeys("bob", bob.authorizedLine())
		h.cfg.GitHubUsers = []string{"bob"}
	}
}

// TestSharedTerminal: a second user joins a running terminal read-write
// and both see what either types; a third client joins read-only and
// what it types does not reach the shell. Joins and leaves are announced
// and audited.
func TestSharedTerminal(t *testing.T) {
	bob := newTestUser(t, "bob")
	h := startAgent(t, withBob(bob))
	dir := t.TempDir()
	a := startSSHTerm(t, h, h.alice.keyFile)
	a.waitText("(pitstop) ")

	b := startSSHTerm(t, h, bob.keyFile, "pitstop", "attach", "1")
	b.waitText("attached to terminal 1 of alice")
	a.waitRaw("[pitstop: bob joined]")
	b.typ("echo 'FROM''BOB'\n")
	a.waitText("FROMBOB")
	b.waitText("FROMBOB")
	a.typ("echo 'FROM''ALICE'\n")
	b.waitText("FROMALICE")

	// A watcher on a small window: the shell's size stays the read-write
	// clients' (the smallest of them, 24×80).
	r := startSSHTermSized(t, h, bob.keyFile, 20, 5, "pitstop", "attach", "--read-only")
	r.waitRaw("attached to terminal 1 of alice (read-only)")
	a.waitRaw("[pitstop: bob joined (read-only)]")
	a.typ("stty size | sed 's/^/SIZE=/'\n")
	a.waitText("SIZE=24 80")
	r.typ("touch " + dir + "/leak; echo 'LE''AK'\n")
	r.typ("\x03") // nor does an interrupt
	a.typ("echo 'AFTER''READONLY'\n")
	r.waitText("AFTERREADONLY")
	a.waitText("AFTERREADONLY")
	if _, err := os.Stat(filepath.Join(dir, "leak")); err == nil {
		t.Error("a read-only client's keystrokes reached the shell")
	}
	if strings.Contains(a.raw.String(), "LEAK") {
		t.Errorf("a read-only client's keystrokes show on the terminal:\n%s", a.screen())
	}

	st, err := control.QueryStatus(context.Background(), h.ready.ControlSocket)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Terminals) != 1 || len(st.Terminals[0].Clients) != 3 || !st.Terminals[0].Clients[2].ReadOnly {
		t.Errorf("status: %+v", st.Terminals)
	}
	b.kill()
	a.waitRaw("[pitstop: bob left]")
	var joins, leaves int
	for _, e := range h.logs.entries(t) {
		switch e["event"] {
		case "terminal_attach":
			if e["github_user"] == "bob" && e["terminal_owner"] == "alice" {
				joins++
			}
		case "terminal_detach":
			if e["github_user"] == "bob" {
				leaves++
			}
		}
	}
	if joins != 2 || leaves != 1 {
		t.Errorf("audit log has %d joins and %d leaves of bob, want 2 and 1:\n%s", joins, leaves, h.logs)
	}
	// The owner's exit ends the shell for everyone attached.
	a.typ("exit 3\n")
	if err := r.cmd.Wait(); r.cmd.ProcessState.ExitCode() != 3 {
		t.Errorf("the read-only client ended with %v, want the shell's status 3", err)
	}
	h.waitEnd(EndShellsExited, 10*time.Second)
}

// TestNewTerminalBesideADetachedOne: "pitstop new" as the command gives a
// new shell although one is waiting to be reattached; the detached one
// is still there for a plain login.
func TestNewTerminalBesideADetachedOne(t *testing.T) {
	h := startAgent(t, nil)
	a := startSSHTerm(t, h, h.alice.keyFile)
	a.waitText("(pitstop) ")
	a.typ("echo $$ | sed 's/^/FIRST=/'\n")
	a.waitText("FIRST=")
	a.kill()

	n := startSSHTerm(t, h, h.alice.keyFile, "pitstop", "new")
	n.waitText("(pitstop) ")
	if strings.Contains(n.raw.String(), "reattached") {
		t.Fatalf("pitstop new reattached: %q", n.raw.String())
	}
	n.typ("echo $PITSTOP_TERMINAL | sed 's/^/TERM=/'\n")
	n.waitText("TERM=2")

	r := startSSHTerm(t, h, h.alice.keyFile)
	r.waitText("reattached to your terminal 1")
	r.waitText("FIRST=")

	bad := exec.Command(openSSH(t), h.sshArgs(h.alice.keyFile, "pitstop attach 9")...)
	out, err := bad.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "needs a terminal") {
		t.Errorf("pitstop attach without a terminal: %v %s", err, out)
	}
	bad = exec.Command(openSSH(t), h.sshArgs(h.alice.keyFile, "-tt", "pitstop attach 9")...)
	out, err = bad.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "no terminal 9; terminals: 1 (alice), 2 (alice)") {
		t.Errorf("pitstop attach 9: %v %s", err, out)
	}
}

// TestAttachInsideASession: "pitstop attach" typed in one's own shell
// joins another terminal through the control socket; Ctrl-] leaves it
// and the own shell is back.
func TestAttachInsideASession(t *testing.T) {
	bob := newTestUser(t, "bob")
	h := startAgent(t, withBob(bob))
	a := startSSHTerm(t, h, h.alice.keyFile)
	a.waitText("(pitstop) ")
	b := startSSHTerm(t, h, bob.keyFile)
	b.waitText("(pitstop) ")

	b.typ("pitstop attach 2\n")
	b.waitPromptAfter("you are in terminal 2 already")
	b.typ("pitstop attach --read-only\n")
	b.waitText("attached to terminal 1 of alice (read-only)")
	a.waitRaw("[pitstop: bob joined (read-only)]")
	b.typ("echo 'SHOULD''NOT'\n")
	a.typ("echo 'ALICE''TYPED'\n")
	b.waitText("ALICETYPED")
	if strings.Contains(a.raw.String(), "SHOULDNOT") {
		t.Error("keystrokes of a read-only attach reached the terminal")
	}
	b.typ("\x1d")
	b.waitPromptAfter("detached from terminal 1")
	a.waitRaw("[pitstop: bob left]")

	b.typ("pitstop attach\n")
	b.waitText("attached to terminal 1 of alice. Leave with Ctrl-].")
	b.typ("echo 'BOB''WAS''HERE'\n")
	a.waitText("BOBWASHERE")
	// Alice's shell ends: bob's attach ends with it, and his own shell is
	// back.
	a.typ("exit\n")
	b.waitPromptAfter("terminal 1 ended")
	b.typ("echo 'OWN''SHELL' $PITSTOP_TERMINAL\n")
	b.waitText("OWNSHELL 2")
	if !h.audited(audit.TermAttach, map[string]any{"via_terminal": float64(2), "terminal_id": float64(1), "github_user": "bob"}) {
		t.Errorf("the attach through the control socket is not in the audit log:\n%s", h.logs)
	}
	noDuplicateKeys(t, "job log", h.logs.String())
	b.typ("exit\n")
	h.waitEnd(EndShellsExited, 10*time.Second)
}

// TestBannerListsTerminals: a new shell's greeting lists the terminals
// one may join, with who is attached.
func TestBannerListsTerminals(t *testing.T) {
	bob := newTestUser(t, "bob")
	h := startAgent(t, withBob(bob))
	a := startSSHTerm(t, h, h.alice.keyFile)
	a.waitText("(pitstop) ")
	if strings.Contains(a.raw.String(), "Terminals to join") {
		t.Errorf("the first shell's banner lists terminals: %q", a.raw.String())
	}
	b := startSSHTerm(t, h, bob.keyFile)
	b.waitText("Terminals to join (pitstop attach ID, --read-only to watch):")
	b.waitText("1  alice  bash  attached: alice; idle")
	b.waitText("From outside: ssh -t <as you logged in> pitstop attach ID")
}

// TestKeyCommentShownClean: a key's comment is shown to other users (a
// join announcement on their terminal, pitstop status, the banner) with
// its control characters removed, and as plain text in the summary.
func TestKeyCommentShownClean(t *testing.T) {
	mallory, carol := newTestUser(t, "mallory"), newTestUser(t, "carol")
	hostile := "\x1b]52;c;cm0gLXJmIH4=\x07\x1b[2J[me](https://x.test/) \u202e<b>*x*</b>"
	clean := "[me](https://x.test/) <b>*x*</b>"
	h := startAgent(t, func(h *harness) {
		h.cfg.AuthorizedKeys = []KeyText{{Source: "keys", Text: mallory.authorizedLine() + " " + hostile + "\n" + carol.authorizedLine() + " carol\n"}}
	})
	c := startSSHTerm(t, h, carol.keyFile)
	c.waitText("(pitstop) ")
	m := startSSHTerm(t, h, mallory.keyFile, "pitstop", "attach", "1")
	m.waitText("attached to terminal 1 of carol")
	c.waitRaw("[pitstop: " + clean + " joined]")
	// A second terminal's banner lists mallory's.
	m2 := startSSHTerm(t, h, mallory.keyFile, "pitstop", "new")
	m2.waitText("(pitstop) ")
	c2 := startSSHTerm(t, h, carol.keyFile, "pitstop", "new")
	c2.waitText("(pitstop) ")
	for _, out := range []string{c.raw.String(), c2.raw.String()} {
		if strings.Contains(out, "\x1b]52") || strings.Contains(out, "\x1b[2J") || strings.Contains(out, "\u202e") {
			t.Errorf("the key's comment reached another user's terminal raw: %q", out)
		}
	}
	if !strings.Contains(c2.raw.String(), "2  "+clean+"  ") {
		t.Errorf("the banner does not list terminal 2 of %q: %q", clean, c2.raw.String())
	}
	st, err := control.QueryStatus(context.Background(), h.ready.ControlSocket)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range st.Sessions {
		if s.User != "carol" && s.User != clean {
			t.Errorf("status shows the session of %q", s.User)
		}
	}
	if len(st.Terminals) != 3 || st.Terminals[1].Owner != clean || st.Terminals[0].Clients[1].User != clean {
		t.Errorf("status: %+v", st.Terminals)
	}
	for _, term := range []*sshTerm{c2, m2, c} {
		term.typ("exit\n")
	}
	h.waitEnd(EndShellsExited, 10*time.Second)
	summary, _ := os.ReadFile(h.summary)
	want := `\[me\]\(https\:\/\/x\.test\/\) \<b\>\*x\*\<\/b\> from 127.0.0.1:`
	if !strings.Contains(string(summary), want) {
		t.Errorf("the summary does not name the key as %s:\n%s", want, summary)
	}
}
