package agent

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"github.com/pitstopci/pitstop/agent/audit"
	"github.com/pitstopci/pitstop/agent/control"
)

// Each way the pause can end, with Run returning nil (the step exits 0).
// The timeouts' rules are tested on the pause alone (pause_test.go); the
// tests here check that the server feeds it and acts on its end, most of
// them on a fake clock (harness.clock) that they advance once the sessions
// they need are up.

// TestEndWaitTimeout runs on the real clock: Run's own timers fire. The
// wait timeout given (300ms, against a default of minutes) is the one
// that ends it within waitEnd's bound.
func TestEndWaitTimeout(t *testing.T) {
	h := startAgent(t, func(h *harness) { h.cfg.WaitTimeout = 300 * time.Millisecond })
	h.waitEnd(EndWaitTimeout, 30*time.Second)
	summary, _ := os.ReadFile(h.summary)
	if !strings.Contains(string(summary), "Nobody logged in") || !strings.Contains(string(summary), "nobody connected within the wait timeout") {
		t.Errorf("summary:\n%s", summary)
	}
}

// TestJobLimitShorterThanMaxDurationIsSaid: a job with less time left
// than max-duration is cancelled by GitHub mid-session; the log says so
// at the start, and says nothing when the job has time enough.
func TestJobLimitShorterThanMaxDurationIsSaid(t *testing.T) {
	for _, tt := range []struct {
		left time.Duration
		warn bool
	}{{30 * time.Minute, true}, {2 * time.Hour, false}} {
		h := startAgent(t, func(h *harness) {
			h.useFakeClock()
			h.cfg.JobLimit = tt.left
		})
		h.cancel()
		h.waitEnd(EndCancelled, 10*time.Second)
		got := false
		for _, e := range h.logs.entries(t) {
			got = got || (e["level"] == "warn" && e["job_time_left"] == tt.left.String())
		}
		if got != tt.warn {
			t.Errorf("job limit %v, max-duration 1h: warned %v, want %v\n%s", tt.left, got, tt.warn, h.logs)
		}
	}
}

func TestEndLastShellExits(t *testing.T) {
	h := startAgent(t, nil)
	c := h.mustDial(h.alice)
	s1 := ptyShell(t, c, 24, 80)
	s2 := ptyShell(t, c, 24, 80)
	io.WriteString(s1.in, "exit 0\n")
	if err := s1.Wait(); err != nil {
		t.Fatalf("first shell: %v", err)
	}
	// One shell is still open: the user is not done.
	h.stillRunning(300 * time.Millisecond)
	io.WriteString(s2.in, "exit 2\n")
	if err := s2.Wait(); !isExit(err, 2) {
		t.Fatalf("second shell: %v, want exit status 2", err)
	}
	c.Close()
	h.waitEnd(EndShellsExited, 5*time.Second)
	summary, _ := os.ReadFile(h.summary)
	if !strings.Contains(string(summary), "Logged in: alice from 127.0.0.1:") || !strings.Contains(string(summary), "the last shell exited") {
		t.Errorf("summary:\n%s", summary)
	}
}

func isExit(err error, status int) bool {
	var e *gossh.ExitError
	return errors.As(err, &e) && e.ExitStatus() == status
}

// TestExecAloneDoesNotEndThePause: copying files or running a command
// before opening a shell must not let the job go on.
func TestExecAloneDoesNotEndThePause(t *testing.T) {
	// On a fake clock that stands still, the reconnect grace after each
	// connection cannot end the pause either.
	h := startAgent(t, (*harness).useFakeClock)
	for i := 0; i < 2; i++ {
		c := h.mustDial(h.alice)
		if _, _, status := run(t, c, "echo copy"); status != 0 {
			t.Fatal("exec failed")
		}
		c.Close()
	}
	h.stillRunning(300 * time.Millisecond)
	// A shell afterwards is what counts.
	c := h.mustDial(h.alice)
	s := ptyShell(t, c, 24, 80)
	io.WriteString(s.in, "exit\n")
	s.Wait() //nolint:errcheck // status checked elsewhere
	c.Close()
	h.waitEnd(EndShellsExited, 5*time.Second)
}

func TestEndContinue(t *testing.T) {
	h := startAgent(t, nil)
	c := h.mustDial(h.alice)
	// A second session, which must be told and closed.
	other := ptyShell(t, c, 24, 80)
	s := ptyShell(t, c, 24, 80)
	io.WriteString(s.in, "pitstop continue\n")
	// The command had time to print what the agent answered.
	s.out.waitFor(t, `"label":`)
	other.err.waitFor(t, "the pause is over (pitstop continue was run)")
	s.err.waitFor(t, "the pause is over (pitstop continue was run)")
	for _, sess := range []ptySession{s, other} {
		if err := sess.Wait(); !isExit(err, 129) {
			t.Errorf("a session ended with %v, want exit status 129 (SIGHUP)", err)
		}
	}
	c.Close()
	h.waitEnd(EndContinue, 5*time.Second)
}

func TestEndMaxDurationAfterWarning(t *testing.T) {
	h := startAgent(t, func(h *harness) {
		h.useFakeClock()
		h.cfg.MaxDuration = time.Hour
		h.cfg.WarnBefore = []time.Duration{5 * time.Minute}
	})
	c := h.mustDial(h.alice)
	s := ptyShell(t, c, 24, 80)
	errOut := s.err
	s.out.waitFor(t, "you are in job") // the shell is up
	h.clock.Advance(55 * time.Minute)
	errOut.waitFor(t, "5m0s left in this pause")
	h.clock.Advance(5 * time.Minute)
	errOut.waitFor(t, "the pause is over (the maximum duration was reached)")
	if err := s.Wait(); !isExit(err, 129) {
		// SIGHUP ended the shell; the client still gets that status.
		t.Errorf("shell ended with %v, want exit status 129", err)
	}
	c.Close()
	h.waitEnd(EndMaxDuration, 5*time.Second)
	if !h.logged("the pause ends soon") {
		t.Error("the warning is not in the job log")
	}
}

func TestExtendMovesTheDeadline(t *testing.T) {
	h := startAgent(t, func(h *harness) {
		h.useFakeClock()
		h.cfg.MaxDuration = time.Hour
		h.cfg.WaitTimeout = 2 * time.Hour
	})
	st, err := control.Extend(context.Background(), h.ready.ControlSocket, 30*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if want := h.ready.Deadline.Add(30 * time.Minute); !st.Deadline.Equal(want) {
		t.Errorf("deadline %v, want %v", st.Deadline, want)
	}
	// The old deadline passes; the pause goes on to the new one.
	h.clock.Advance(time.Hour)
	if st := h.waitStatus("status", func(control.Status) bool { return true }); st.Remaining() != 30*time.Minute {
		t.Errorf("%v left at the old deadline, want 30m", st.Remaining())
	}
	h.clock.Advance(30 * time.Minute)
	h.waitEnd(EndMaxDuration, 5*time.Second)
	if _, err := control.Extend(context.Background(), h.ready.ControlSocket, time.Minute); err == nil {
		t.Error("extend after the end succeeded")
	}
}

func TestEndReconnectGraceAfterDrop(t *testing.T) {
	h := startAgent(t, (*harness).useFakeClock)
	c := h.mustDial(h.alice)
	ptyShell(t, c, 24, 80).out.waitFor(t, "you are in job")
	c.Close() // the connection drops; the shell did not exit
	h.waitDropped()
	h.clock.Advance(h.cfg.ReconnectGrace)
	h.waitEnd(EndReconnectGrace, 5*time.Second)
	if !h.audited(audit.SessionEnd, map[string]any{"dropped": true}) {
		t.Errorf("the session was not logged as dropped:\n%s", h.logs)
	}
}

func TestReconnectWithinGrace(t *testing.T) {
	h := startAgent(t, (*harness).useFakeClock)
	c := h.mustDial(h.alice)
	ptyShell(t, c, 24, 80).out.waitFor(t, "you are in job")
	c.Close()
	h.waitDropped()
	h.clock.Advance(h.cfg.ReconnectGrace - time.Second)
	c2 := h.mustDial(h.alice)
	s := ptyShell(t, c2, 24, 80)
	// The new session takes over the shell left detached, which stops its
	// hang-up timer too.
	h.waitStatus("the reconnect is counted and reattached", func(st control.Status) bool {
		return st.Connections == 1 && st.WaitingUntil.IsZero() && len(st.Terminals) == 1 && len(st.Terminals[0].Clients) == 1
	})
	// Past the grace period: had the reconnect not cancelled it, the pause
	// would end for that reason, and not for the shell's exit below.
	h.clock.Advance(2 * h.cfg.ReconnectGrace)
	io.WriteString(s.in, "exit\n")
	s.Wait() //nolint:errcheck // status checked elsewhere
	c2.Close()
	h.waitEnd(EndShellsExited, 5*time.Second)
}

// TestEndCancelledClosesSessionsPromptly: a cancelled job's pause hangs
// up its sessions at once (SIGHUP, not the SIGKILL that follows a
// program that ignores it) and ends without waiting on any of its timers:
// its clock is one that never moves by itself.
func TestEndCancelledClosesSessionsPromptly(t *testing.T) {
	h := startAgent(t, (*harness).useFakeClock)
	c := h.mustDial(h.alice)
	s := ptyShell(t, c, 24, 80)
	errOut := s.err
	execSess := newSession(t, c)
	execOut, _ := execSess.StdoutPipe()
	execDone := make(chan error, 1)
	go func() { execDone <- execSess.Run("echo started; sleep 60") }()
	newLockedReader(execOut).waitFor(t, "started")

	h.cancel()
	errOut.waitFor(t, "the pause is over (the job was cancelled)")
	if err := s.Wait(); !isExit(err, 129) {
		t.Errorf("shell: %v, want exit status 129 (SIGHUP)", err)
	}
	select {
	case err := <-execDone:
		if !isExit(err, 129) {
			t.Errorf("exec: %v, want exit status 129 (SIGHUP)", err)
		}
	case <-time.After(5 * time.Second):
		t.Error("the exec session was not closed")
	}
	c.Close()
	h.waitEnd(EndCancelled, 5*time.Second)
}

func TestNewSessionsRefusedAfterTheEnd(t *testing.T) {
	h := startAgent(t, (*harness).useFakeClock)
	h.clock.Advance(h.cfg.WaitTimeout)
	h.waitEnd(EndWaitTimeout, 5*time.Second)
	if c, err := h.dial(h.alice); err == nil {
		c.Close()
		t.Error("logged in after the pause ended")
	}
}

// TestClosedChannelDetachesItsTerminal: a session channel closed while
// its connection stays up (one "ssh -S socket" client killed while its
// ControlMaster lives on) is a dropped session: its shell goes on,
// detached, for the reconnect grace period, then gets SIGHUP; status
// stops listing the session, and the shell does not hold the pause open.
func TestClosedChannelDetachesItsTerminal(t *testing.T) {
	h := startAgent(t, (*harness).useFakeClock)
	c := h.mustDial(h.alice)
	gone := ptyShell(t, c, 24, 80)
	pidFile := filepath.Join(t.TempDir(), "pid")
	io.WriteString(gone.in, "echo $$ > "+pidFile+"; echo 'WROTE''PID'\n")
	gone.out.waitFor(t, "WROTEPID")
	data, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil {
		t.Fatal(err)
	}
	kept := ptyShell(t, c, 24, 80)
	// Its own new shell, not the other one reattached: that would happen
	// if the other were detached already.
	kept.out.waitFor(t, "you are in job")

	gone.Close() // the channel only; the connection stays
	st := h.waitStatus("only the open session listed, and the first terminal detached", func(st control.Status) bool {
		return len(st.Sessions) == 1 && len(st.Terminals) == 2 && !st.Terminals[0].DetachedSince.IsZero()
	})
	if len(st.Terminals[1].Clients) != 1 {
		t.Errorf("status lists terminals %+v, want the second attached", st.Terminals)
	}
	if !alive(pid) {
		t.Fatalf("the shell of the closed channel (pid %d) did not outlive it\nlog:\n%s", pid, h.logs)
	}
	h.clock.Advance(h.cfg.ReconnectGrace)
	if !eventually(5*time.Second, func() bool { return !alive(pid) }) {
		t.Fatalf("the detached shell (pid %d) is still running after the grace period\nlog:\n%s", pid, h.logs)
	}
	if !h.audited(audit.SessionEnd, map[string]any{"dropped": true}) {
		t.Errorf("the closed session was not logged as dropped:\n%s", h.logs)
	}
	// Dropped is not done: the pause goes on until the open shell exits.
	h.stillRunning(300 * time.Millisecond)
	io.WriteString(kept.in, "exit\n")
	kept.Wait() //nolint:errcheck // status checked elsewhere
	c.Close()
	h.waitEnd(EndShellsExited, 5*time.Second)
}

// alive reports whether process pid still exists.
func alive(pid int) bool {
	p, err := os.FindProcess(pid)
	return err == nil && p.Signal(syscall.Signal(0)) == nil
}

// TestEndOfWriteSendsEOF: a client that can show no more output says so
// with OpenSSH's eow@openssh.com; the agent then sends EOF, as sshd does,
// so that the client closes the channel and the session ends.
func TestEndOfWriteSendsEOF(t *testing.T) {
	h := startAgent(t, nil)
	c := h.mustDial(h.alice)
	s := newSession(t, c)
	defer s.Close()
	stdout, _ := s.StdoutPipe()
	if err := s.Start("echo started; sleep 30"); err != nil {
		t.Fatal(err)
	}
	eof := make(chan error, 1)
	go func() {
		_, err := io.ReadAll(stdout)
		eof <- err
	}()
	if _, err := s.SendRequest("eow@openssh.com", false, nil); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-eof:
		if err != nil {
			t.Errorf("stdout ended with %v, want EOF", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no EOF after eow@openssh.com")
	}
}

// TestStatusNamesDirectKeys: a key given directly is shown by its comment
// (else its file's name), not by a path deep in a temporary directory.
func TestStatusNamesDirectKeys(t *testing.T) {
	bob, carol := newTestUser(t, "bob"), newTestUser(t, "carol")
	src := "/home/me/.cache/act/0123456789abcdef/tmp/pitstop.x/authorized_keys"
	h := startAgent(t, func(h *harness) {
		h.cfg.AuthorizedKeys = []KeyText{{Source: src, Text: bob.authorizedLine() + " me@laptop\n" + carol.authorizedLine() + "\n"}}
	})
	for _, u := range []testUser{bob, carol} {
		ptyShell(t, h.mustDial(u), 24, 80)
	}
	// The answer to the shell request comes before the session's handler
	// has counted it: wait until both are.
	st := h.waitStatus("both shells are listed", func(st control.Status) bool { return len(st.Sessions) == 2 })
	var users []string
	for _, s := range st.Sessions {
		users = append(users, s.User)
	}
	// In either order: the two handlers may count their sessions in
	// either order, whatever order the shells were asked for in.
	slices.Sort(users)
	if strings.Join(users, ",") != "authorized_keys,me@laptop" {
		t.Errorf("sessions' users = %q, want me@laptop and authorized_keys", users)
	}
}
