package agent

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"
	gossh "golang.org/x/crypto/ssh"

	"github.com/pitstopci/pitstop/agent/control"
)

func TestExecReturnsItsStatus(t *testing.T) {
	h := startAgent(t, nil)
	c := h.mustDial(h.alice)
	for cmd, want := range map[string]int{"true": 0, "exit 3": 3, "false": 1, "kill -TERM $$": 128 + 15} {
		if _, _, got := run(t, c, cmd); got != want {
			t.Errorf("%q: status %d, want %d", cmd, got, want)
		}
	}
	out, errOut, _ := run(t, c, "echo out; echo err >&2")
	if out != "out\n" || errOut != "err\n" {
		t.Errorf("stdout %q stderr %q", out, errOut)
	}
}

// TestExecDoesNotWaitForStdinEOF: a command that ignores stdin must end
// although the client never closes it.
func TestExecDoesNotWaitForStdinEOF(t *testing.T) {
	h := startAgent(t, nil)
	c := h.mustDial(h.alice)
	s := newSession(t, c)
	defer s.Close()
	stdin, _ := s.StdinPipe() // held open, never closed
	defer stdin.Close()
	done := make(chan error, 1)
	go func() { done <- s.Run("echo hi") }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("exec did not end while stdin stayed open")
	}
}

func TestExecReadsStdin(t *testing.T) {
	h := startAgent(t, nil)
	c := h.mustDial(h.alice)
	s := newSession(t, c)
	defer s.Close()
	s.Stdin = strings.NewReader("line one\nline two\n")
	out, err := s.Output("wc -l")
	if err != nil || strings.TrimSpace(string(out)) != "2" {
		t.Errorf("wc -l = %q, %v", out, err)
	}
}

// TestSessionEnvironmentIsTheStep's: variables, PATH (with what
// GITHUB_PATH added, and pitstop first) and the working directory are
// what the next step would see; the agent's own inputs and token are not.
func TestSessionEnvironmentIsTheSteps(t *testing.T) {
	h := startAgent(t, nil)
	c := h.mustDial(h.alice)
	out, _, _ := run(t, c, `pwd; echo "$PATH"; echo "$FROM_GITHUB_ENV"; echo "$GITHUB_ENV"; echo "$GITHUB_OUTPUT";`+
		`env | grep -c -e ^INPUT_ -e TOKEN= -e ^PITSTOP_GITHUB; command -v pitstop; echo "$PITSTOP_SOCKET"`)
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != 8 {
		t.Fatalf("output:\n%s", out)
	}
	checks := []struct{ name, got, want string }{
		{"working directory", lines[0], h.workspace},
		{"PATH starts with", strings.Join(strings.Split(lines[1], ":")[:2], ":"), h.binDir + ":" + h.stepBin},
		{"variable from GITHUB_ENV", lines[2], "set by an earlier step"},
		{"GITHUB_ENV", lines[3], filepath.Join(h.workspace, "..", "env")},
		{"GITHUB_OUTPUT", lines[4], filepath.Join(h.workspace, "..", "output")},
		{"inputs and tokens", lines[5], "0"},
		{"pitstop", lines[6], filepath.Join(h.binDir, "pitstop")},
		{"socket", lines[7], h.ready.ControlSocket},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: %q, want %q", c.name, c.got, c.want)
		}
	}
}

// ptySession is an interactive session on a pty.
type ptySession struct {
	*gossh.Session
	in       io.WriteCloser
	out, err *lockedReader
}

// ptyShell starts an interactive shell on a pty of rows×cols.
func ptyShell(t *testing.T, c *gossh.Client, rows, cols int) ptySession {
	t.Helper()
	s := newSession(t, c)
	if err := s.RequestPty("xterm", rows, cols, gossh.TerminalModes{gossh.ECHO: 0}); err != nil {
		t.Fatal(err)
	}
	stdin, _ := s.StdinPipe()
	stdout, _ := s.StdoutPipe()
	stderr, _ := s.StderrPipe()
	if err := s.Shell(); err != nil {
		t.Fatal(err)
	}
	return ptySession{Session: s, in: stdin, out: newLockedReader(stdout), err: newLockedReader(stderr)}
}

// lockedReader collects a stream in the background so tests can wait for
// text to appear.
type lockedReader struct{ buf syncBuffer }

func newLockedReader(r io.Reader) *lockedReader {
	lr := &lockedReader{}
	go io.Copy(&lr.buf, r) //nolint:errcheck // ends with the stream
	return lr
}

// waitFor waits until the stream contains want, and returns everything.
func (lr *lockedReader) waitFor(t *testing.T, want string) string {
	t.Helper()
	var s string
	if !eventually(5*time.Second, func() bool { s = lr.buf.String(); return strings.Contains(s, want) }) {
		t.Fatalf("no %q in the output:\n%s", want, s)
	}
	return s
}

func TestPTYShellFollowsResizes(t *testing.T) {
	h := startAgent(t, nil)
	c := h.mustDial(h.alice)
	sh := ptyShell(t, c, 40, 100)
	s, stdin, out := sh.Session, sh.in, sh.out
	defer s.Close()
	// Markers are built by the shell, so the echo of the typed command
	// never matches them.
	io.WriteString(stdin, `tty; stty size | sed 's/^/SIZE=/'; echo "PATH=$PATH" | sed 's/^/P/'`+"\n")
	got := out.waitFor(t, "PPATH=")
	if !strings.Contains(got, "SIZE=40 100") {
		t.Errorf("stty size on a 40x100 pty:\n%s", got)
	}
	if !strings.Contains(got, "/dev/pts/") {
		t.Errorf("tty does not report a terminal:\n%s", got)
	}
	if !strings.Contains(got, "PPATH="+h.binDir+":"+h.stepBin+":") {
		t.Errorf("the interactive shell lost the step's PATH:\n%s", got)
	}
	if !strings.Contains(got, "pitstop: you are in job \"build\" of workflow \"CI\"") {
		t.Errorf("no banner:\n%s", got)
	}
	// Each window change is followed at once by a command, as sshd orders
	// them: the command sees the new size. Several rounds, since the
	// input overtaking the resize is a race.
	for i := 1; i <= 20; i++ {
		rows, cols := 40+i, 100+2*i
		if err := s.WindowChange(rows, cols); err != nil {
			t.Fatal(err)
		}
		io.WriteString(stdin, fmt.Sprintf("stty size | sed 's/^/NEW%d=/'\n", i))
		if got := out.waitFor(t, fmt.Sprintf("NEW%d=", i)); !strings.Contains(got, fmt.Sprintf("NEW%d=%d %d", i, rows, cols)) {
			t.Fatalf("after resizing to %dx%d:\n%s", rows, cols, got)
		}
	}
	io.WriteString(stdin, "exit 7\n")
	err := s.Wait()
	if e, ok := err.(*gossh.ExitError); !ok || e.ExitStatus() != 7 {
		t.Errorf("shell exit: %v, want status 7", err)
	}
}

// TestOpenSSH drives the agent with the real OpenSSH client: login,
// exec status, environment, and a pty shell that follows a resize of the
// client's own terminal.
func TestOpenSSH(t *testing.T) {
	ssh := openSSH(t)
	h := startAgent(t, nil)

	cmd := exec.Command(ssh, h.sshArgs(h.alice.keyFile, `pwd; echo "$FROM_GITHUB_ENV"; command -v pitstop; exit 42`)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if cmd.ProcessState == nil || cmd.ProcessState.ExitCode() != 42 {
		t.Fatalf("exit: %v, want status 42\nstderr: %s\nlog:\n%s", err, stderr.String(), h.logs)
	}
	want := h.workspace + "\nset by an earlier step\n" + filepath.Join(h.binDir, "pitstop") + "\n"
	if stdout.String() != want {
		t.Errorf("stdout %q, want %q", stdout.String(), want)
	}

	// The client on a terminal of its own, which the test resizes.
	shell, term, out := h.openSSHOnTerminal(&pty.Winsize{Rows: 30, Cols: 90})
	io.WriteString(term, "stty size | sed 's/^/SIZE=/'\n")
	if got := out.waitFor(t, "SIZE=3"); !strings.Contains(got, "SIZE=30 90") {
		t.Errorf("stty size:\n%s", got)
	}
	// Resizing the client's terminal sends it SIGWINCH; it forwards the
	// new size.
	if err := pty.Setsize(term, &pty.Winsize{Rows: 45, Cols: 140}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		io.WriteString(term, "stty size | sed 's/^/NOW=/'\n")
		time.Sleep(100 * time.Millisecond)
		if strings.Contains(out.buf.String(), "NOW=45 140") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the resize did not reach the session:\n%s", out.buf.String())
		}
	}
	io.WriteString(term, "exit 5\n")
	err = shell.Wait()
	if shell.ProcessState.ExitCode() != 5 {
		t.Errorf("ssh exit %v, want the shell's status 5\n%s", err, out.buf.String())
	}
	// That was the only shell: the user is done.
	h.waitEnd(EndShellsExited, 5*time.Second)
}

func TestShellWithoutPTYReadsCommandsFromStdin(t *testing.T) {
	h := startAgent(t, nil)
	c := h.mustDial(h.alice)
	s := newSession(t, c)
	defer s.Close()
	s.Stdin = strings.NewReader("echo \"$FROM_GITHUB_ENV\"\nexit 4\n")
	var out bytes.Buffer
	s.Stdout = &out
	if err := s.Shell(); err != nil {
		t.Fatal(err)
	}
	err := s.Wait()
	if e, ok := err.(*gossh.ExitError); !ok || e.ExitStatus() != 4 {
		t.Errorf("status: %v, want 4", err)
	}
	if out.String() != "set by an earlier step\n" {
		t.Errorf("stdout %q", out.String())
	}
	// Without a terminal it is a script fed to a shell ("ssh host <
	// script"), not someone at a prompt: like an exec, it does not end
	// the pause.
	h.stillRunning(500 * time.Millisecond)
	if r := h.reason(); r != "" {
		t.Fatalf("a shell without a terminal ended the pause (%s)\nlog:\n%s", r, h.logs)
	}
	// A shell with a terminal afterwards is what counts.
	sh := ptyShell(t, c, 24, 80)
	io.WriteString(sh.in, "exit\n")
	sh.Wait() //nolint:errcheck // status checked elsewhere
	c.Close()
	h.waitEnd(EndShellsExited, 5*time.Second)
}

func TestControlCommandsInsideASession(t *testing.T) {
	h := startAgent(t, nil)
	c := h.mustDial(h.alice)
	out, errOut, status := run(t, c, "pitstop status")
	if status != 0 || !strings.Contains(out, `"label":"job \"build\" of workflow \"CI\""`) || !strings.Contains(out, `"kind":"exec"`) {
		t.Fatalf("pitstop status: %d %s %s", status, out, errOut)
	}
	// The deadline as of now: the first connection may have moved the
	// ready file's one (it gets the whole max-duration).
	var st control.Status
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatalf("pitstop status: %v\n%s", err, out)
	}
	before := st.Deadline
	out, _, status = run(t, c, "pitstop extend 10m")
	if status != 0 || !strings.Contains(out, `"deadline":"`+before.Add(10*time.Minute).Format(time.RFC3339Nano)) {
		t.Errorf("pitstop extend 10m: %d %s (deadline was %s)", status, out, before.Format(time.RFC3339Nano))
	}
	if _, errOut, status := run(t, c, "pitstop extend -5m"); status == 0 || !strings.Contains(errOut, "not positive") {
		t.Errorf("negative extend: %d %q", status, errOut)
	}
}

// openSSHShell starts the OpenSSH client with a shell on a terminal of its
// own, as a user at a keyboard would.
func openSSHShell(t *testing.T, h *harness) (*exec.Cmd, *os.File, *lockedReader) {
	t.Helper()
	cmd := exec.Command(openSSH(t), h.sshArgs(h.alice.keyFile, "-tt")...)
	term, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 24, Cols: 80})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		term.Close()
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait() //nolint:errcheck // killed
		}
	})
	out := newLockedReader(term)
	out.waitFor(t, "(pitstop) ")
	return cmd, term, out
}

// TestOpenSSHPauseEnds ends the pause in the ways a user of the real
// client can, other than exiting the shell (see TestOpenSSH). The timeouts
// run on a fake clock, advanced once the client's shell is up, except the
// wait for a first connection, which no session has to beat.
func TestOpenSSHPauseEnds(t *testing.T) {
	t.Run("continue", func(t *testing.T) {
		h := startAgent(t, nil)
		cmd, term, out := openSSHShell(t, h)
		io.WriteString(term, "pitstop continue\n")
		h.waitEnd(EndContinue, 5*time.Second)
		out.waitFor(t, "the pause is over (pitstop continue was run)")
		cmd.Wait() //nolint:errcheck // the session was hung up; its status is not the point
	})
	t.Run("dropped connection, no reconnect", func(t *testing.T) {
		h := startAgent(t, (*harness).useFakeClock)
		cmd, _, _ := openSSHShell(t, h)
		cmd.Process.Kill() // the laptop's lid closes
		cmd.Wait()         //nolint:errcheck // killed
		h.waitDropped()
		h.clock.Advance(h.cfg.ReconnectGrace - time.Second)
		h.stillRunning(100 * time.Millisecond)
		h.clock.Advance(time.Second)
		h.waitEnd(EndReconnectGrace, 5*time.Second)
	})
	t.Run("job cancelled", func(t *testing.T) {
		h := startAgent(t, nil)
		cmd, _, out := openSSHShell(t, h)
		h.cancel()
		h.waitEnd(EndCancelled, 5*time.Second)
		out.waitFor(t, "the pause is over (the job was cancelled)")
		cmd.Wait() //nolint:errcheck // checked below
		if code := cmd.ProcessState.ExitCode(); code != 129 {
			t.Errorf("ssh exited %d, want 129: the shell's SIGHUP status, not a connection error", code)
		}
	})
	t.Run("max duration", func(t *testing.T) {
		h := startAgent(t, func(h *harness) {
			h.useFakeClock()
			h.cfg.WarnBefore = []time.Duration{5 * time.Minute}
		})
		cmd, _, out := openSSHShell(t, h)
		h.clock.Advance(h.cfg.MaxDuration - 5*time.Minute)
		out.waitFor(t, "5m0s left in this pause")
		h.clock.Advance(5 * time.Minute)
		h.waitEnd(EndMaxDuration, 5*time.Second)
		out.waitFor(t, "the pause is over (the maximum duration was reached)")
		cmd.Wait() //nolint:errcheck // checked below
		if code := cmd.ProcessState.ExitCode(); code != 129 {
			t.Errorf("ssh exited %d, want 129", code)
		}
	})
	t.Run("nobody comes", func(t *testing.T) {
		h := startAgent(t, func(h *harness) { h.cfg.WaitTimeout = 200 * time.Millisecond })
		h.waitEnd(EndWaitTimeout, 5*time.Second)
		err := exec.Command(openSSH(t), h.sshArgs(h.alice.keyFile, "true")...).Run()
		if err == nil {
			t.Error("logged in after the pause ended")
		}
	})
}

// TestPTYOutputIsNotRewritten: what a program writes to its terminal
// reaches the client byte for byte, as with sshd. Programs in raw mode
// (vim, less, tmux) move the cursor with a bare LF; turning it into CR LF
// garbles their screens.
func TestPTYOutputIsNotRewritten(t *testing.T) {
	h := startAgent(t, nil)
	cmd := exec.Command(openSSH(t), h.sshArgs(h.alice.keyFile, "-tt", `stty raw -echo; printf 'a\nb\r\r\nc'`)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("ssh: %v\nstderr: %s\nlog:\n%s", err, stderr.String(), h.logs)
	}
	if got, want := stdout.String(), "a\nb\r\r\nc"; got != want {
		t.Errorf("the client got %q, want %q as the program wrote it", got, want)
	}
}

// TestTerminalModesAreApplied: the modes the client sends with its pty
// request (RFC 4254 section 8) are set on the session's terminal, as sshd
// does: here echo off, no CR LF output mapping, and ^G as the interrupt
// key.
func TestTerminalModesAreApplied(t *testing.T) {
	h := startAgent(t, nil)
	c := h.mustDial(h.alice)
	s := newSession(t, c)
	defer s.Close()
	modes := gossh.TerminalModes{gossh.ECHO: 0, gossh.ONLCR: 0, gossh.VINTR: 7, gossh.ICANON: 1, gossh.ISIG: 1}
	if err := s.RequestPty("xterm", 24, 80, modes); err != nil {
		t.Fatal(err)
	}
	out, err := s.Output("stty -a")
	if err != nil {
		t.Fatalf("stty -a: %v\n%s", err, out)
	}
	got := string(out)
	for _, want := range []string{"intr = ^G;", " -echo ", " -onlcr ", " icanon ", " isig "} {
		if !strings.Contains(strings.ReplaceAll(got, "\n", " "), want) {
			t.Errorf("stty -a lacks %q:\n%s", want, got)
		}
	}
}
