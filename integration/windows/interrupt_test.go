//go:build linux

package windows

import (
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pitstopci/pitstop/internal/testutil"
	"golang.org/x/crypto/ssh"
)

// goClient logs in to the agent with x/crypto/ssh: OpenSSH's client has
// no way to send a signal request.
func goClient(t *testing.T, a *agent) *ssh.Client {
	t.Helper()
	signer := testutil.SSHSigner(t, a.key)
	c, err := ssh.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", a.port), &ssh.ClientConfig{
		User: "runner", Auth: []ssh.AuthMethod{ssh.PublicKeys(signer)},
		HostKeyCallback: ssh.InsecureIgnoreHostKey(), //nolint:gosec // a test agent's fresh key
		Timeout:         30 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// waitOutput waits until buf holds want, and fails after a while.
func waitOutput(t *testing.T, buf *testutil.Buffer, want string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(buf.String(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("the output never held %q; it holds %q", want, buf.String())
		}
		time.Sleep(50 * time.Millisecond) // polling output another goroutine writes
	}
}

// A client's SIGINT to an exec session without a terminal is a Ctrl-C in
// the program's console: its Ctrl-C handler runs, rather than the job's
// being ended, and the session ends. The session's status is not
// checked: cmd.exe, which runs the program, gets the Ctrl-C too, and
// under wine it exits 0 or with the program's status depending on which
// of the two handles it first.
func TestWineExecInterrupt(t *testing.T) {
	a := startAgent(t, "--shell", "cmd.exe")
	sess, err := goClient(t, a).NewSession()
	if err != nil {
		t.Fatal(err)
	}
	out := &testutil.Buffer{}
	sess.Stdout, sess.Stderr = out, out
	stdin, err := sess.StdinPipe() // held open: the probe waits on it
	if err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	if err := sess.Start(winPath(bins.probe)); err != nil {
		t.Fatal(err)
	}
	waitOutput(t, out, "probe: ready")
	if err := sess.Signal(ssh.SIGINT); err != nil {
		t.Fatal(err)
	}
	ended := make(chan error, 1)
	go func() { ended <- sess.Wait() }()
	select {
	case err := <-ended:
		if !strings.Contains(out.String(), "probe: interrupted") {
			t.Errorf("after SIGINT the session ended (%v) without the probe's Ctrl-C handler running; output %q", err, out)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("the session still runs 30s after SIGINT; output %q", out)
	}
}

// A client that disconnects ends its exec session's program, and what
// that started, through the session's job object.
func TestWineExecEndsWithClient(t *testing.T) {
	a := startAgent(t, "--shell", "cmd.exe")
	c := goClient(t, a)
	sess, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	out := &testutil.Buffer{}
	sess.Stdout, sess.Stderr = out, out
	stdin, err := sess.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	// cmd.exe starts the probe, so the probe is a grandchild of the agent.
	if err := sess.Start(`"` + winPath(bins.probe) + `" & echo after`); err != nil {
		t.Fatal(err)
	}
	waitOutput(t, out, "probe: ready")
	if !probeRuns(t) {
		t.Fatal("no probe.exe process found while the session runs")
	}
	c.Close()
	waitLog(t, a, "session ended", "dropped=true")
	deadline := time.Now().Add(30 * time.Second)
	for probeRuns(t) {
		if time.Now().After(deadline) {
			t.Fatal("probe.exe still runs 30s after its client disconnected")
		}
		time.Sleep(100 * time.Millisecond) // polling the process table
	}
}

// probeRuns reports whether wine runs the probe.exe TestMain built (its
// folder's name is this run's own).
func probeRuns(t *testing.T) bool {
	t.Helper()
	err := exec.Command("pgrep", "-f", regexp.QuoteMeta(filepath.Base(bins.dir))+`.probe\.exe`).Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) && ee.ExitCode() == 1 {
		return false
	}
	if err != nil {
		t.Fatalf("pgrep: %v", err)
	}
	return true
}
