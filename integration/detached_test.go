//go:build unix

package integration

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pitstopci/pitstop/internal/testutil"
)

// detachedWorkflow is the job the detached tests run. Step 2 waits until
// the test (or the person connected) creates $MARKER_DIR/go, so a session
// can see the job at work on it; step 3 leaves $MARKER_DIR/three-done;
// step 4 fails when act is given FAIL=true.
const detachedWorkflow = `name: detached
on: push
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - name: One
        run: echo "step-one-ran"
      - name: Two
        run: |
          for i in $(seq 1500); do [ -e "$MARKER_DIR/go" ] && break; sleep 0.2; done
      - name: Three
        run: echo "three" > "$MARKER_DIR/three-done"
      - name: Four
        run: |
          echo "step-four-ran"
          [ "$FAIL" != "true" ]
`

// startDetached runs the detached workflow with pitstop act and the given
// flags; markers is $MARKER_DIR.
func startDetached(t *testing.T, fail bool, flags ...string) (r *actRun, markers string) {
	t.Helper()
	tool(t, "ssh", sshInstall)
	e := newActRepo(t, map[string]string{".github/workflows/ci.yml": detachedWorkflow})
	markers = t.TempDir()
	failing := "false"
	if fail {
		failing = "true"
	}
	args := append([]string{"--job", "build", "--no-connect", "--action-source", sourceRoot}, flags...)
	args = append(args, "--", "--env", "MARKER_DIR="+markers, "--env", "FAIL="+failing)
	r = e.start(t, args...)
	r.key = e.key
	return r, markers
}

// waitFile waits for name to exist.
func waitFile(t *testing.T, name string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		if _, err := os.Stat(name); err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not appear within %v", name, within)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitText waits until buf holds want.
func waitText(t *testing.T, what string, buf *testutil.Buffer, want string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !strings.Contains(buf.String(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("%s lacks %q after %v:\n%s", what, want, within, buf.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// shellSession is an interactive ssh session fed line by line.
type shellSession struct {
	in   io.WriteCloser
	out  *testutil.Buffer
	done chan error
}

func openShell(t *testing.T, ctx context.Context, line, key string) *shellSession {
	t.Helper()
	cmd := sshWith(ctx, line, "-tt", "-i", key, "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes", "-o", "ConnectTimeout=20")
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	s := &shellSession{in: in, out: &testutil.Buffer{}, done: make(chan error, 1)}
	cmd.Stdout, cmd.Stderr = s.out, s.out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { s.done <- cmd.Wait() }()
	t.Cleanup(func() {
		in.Close()
		_ = cmd.Process.Kill()
	})
	return s
}

func (s *shellSession) run(t *testing.T, line string) {
	t.Helper()
	if _, err := io.WriteString(s.in, line+"\n"); err != nil {
		t.Fatalf("write to the session: %v", err)
	}
}

// TestActDetachedRunsOnAndHolds: a detached pause before step 1 lets the
// job run on while a user is connected (step 3's marker appears while the
// session is open, and pitstop status names the step the job is at); the
// end of the job then holds until the user exits, and the job succeeds.
func TestActDetachedRunsOnAndHolds(t *testing.T) {
	r, markers := startDetached(t, false, "--detached", "--wait-timeout", "3m")
	line := r.connectLine(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()

	sh := openShell(t, ctx, line, r.key)
	// The quotes split the markers, so the pty's echo of the command
	// cannot match them.
	// The composite action's last part may still be running when the
	// session starts; wait until the job is at step 2.
	sh.run(t, `for i in $(seq 300); do pitstop status | grep -q MARKER_DIR/go && break; sleep 0.2; done; pitstop status; echo "status-""done"`)
	waitText(t, "the session", sh.out, "status-done", time.Minute)
	waitText(t, "the session", sh.out, "job now runs: ", time.Minute)
	if !strings.Contains(sh.out.String(), "which runs on (detached)") {
		t.Errorf("the banner does not say the job runs on:\n%s", sh.out.String())
	}
	if !strings.Contains(sh.out.String(), "runs on with a detached pause") {
		t.Errorf("pitstop status does not say the pause is detached:\n%s", sh.out.String())
	}
	if !strings.Contains(sh.out.String(), `"$MARKER_DIR/go"`) {
		t.Errorf("pitstop status does not show step 2 running:\n%s", sh.out.String())
	}

	// Let step 2 finish: step 3 runs while the session stays open.
	sh.run(t, `touch "$MARKER_DIR/go"`)
	waitFile(t, filepath.Join(markers, "three-done"), 2*time.Minute)
	waitText(t, "act's output", r.stderr, "step-four-ran", time.Minute)

	// The job's steps are done; the end holds while the session is open.
	waitText(t, "act's output", r.stderr, "the job's steps are done; it holds while you are connected", time.Minute)
	select {
	case err := <-r.done:
		t.Fatalf("pitstop act ended (%v) while a user was connected at the end of the job", err)
	case <-time.After(2 * time.Second):
	}
	sh.run(t, `echo "still-""here"; exit`)
	select {
	case err := <-sh.done:
		if err != nil {
			t.Errorf("ssh session: %v\n%s", err, sh.out.String())
		}
	case <-time.After(time.Minute):
		t.Fatal("the session did not end after exit")
	}
	if code := r.wait(t, 2*time.Minute); code != 0 {
		t.Fatalf("pitstop act exited %d, want 0 (the job succeeded)", code)
	}
	testutil.Contains(t, "act's output", r.stderr.String(), "the pause is over: the last shell exited", "Job succeeded")
}

// TestActDetachedNobodyConnects: with nobody connecting, the end of a
// failing job waits wait-timeout for a first connection, prints how to
// connect again, and the job still fails.
func TestActDetachedNobodyConnects(t *testing.T) {
	r, markers := startDetached(t, true, "--detached", "--wait-timeout", "4s")
	if err := os.WriteFile(filepath.Join(markers, "go"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	r.connectLine(t)
	code := r.wait(t, 4*time.Minute)
	if code == 0 {
		t.Fatal("pitstop act exited 0, want the failing job's failure")
	}
	stderr := r.stderr.String()
	testutil.Contains(t, "act's output", stderr,
		"the job holds for SSH (failure). Connect with:",
		"the job's steps are done; waiting 4s for a first connection",
		"the pause is over: nobody connected within the wait timeout",
		"Job failed",
	)
}

// TestActDetachedHoldFailureOnSuccess: with hold: failure, a job that
// succeeds does not hold at its end, however long the wait timeout.
func TestActDetachedHoldFailureOnSuccess(t *testing.T) {
	r, markers := startDetached(t, false, "--detached", "--hold", "failure", "--wait-timeout", "30m")
	if err := os.WriteFile(filepath.Join(markers, "go"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	r.connectLine(t)
	if code := r.wait(t, 4*time.Minute); code != 0 {
		t.Fatalf("pitstop act exited %d, want 0", code)
	}
	stderr := r.stderr.String()
	testutil.Contains(t, "act's output", stderr, "no hold: the job succeeded and hold is failure", "Job succeeded")
	if strings.Contains(stderr, "the job holds for SSH") {
		t.Error("the job held")
	}
}

// TestActOnFailure: --on-failure pauses at the end of a job whose step
// failed, and is skipped when every step succeeded.
func TestActOnFailure(t *testing.T) {
	t.Run("failed", func(t *testing.T) {
		r, markers := startDetached(t, true, "--on-failure", "--wait-timeout", "3m")
		if err := os.WriteFile(filepath.Join(markers, "go"), nil, 0o644); err != nil {
			t.Fatal(err)
		}
		line := r.connectLine(t)
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		sh := openShell(t, ctx, line, r.key)
		sh.run(t, `echo "fail-""[$FAIL]"; pitstop step; exit`)
		select {
		case err := <-sh.done:
			if err != nil {
				t.Fatalf("ssh session: %v\n%s", err, sh.out.String())
			}
		case <-time.After(time.Minute):
			t.Fatal("the session did not end after exit")
		}
		if !strings.Contains(sh.out.String(), "fail-[true]") {
			t.Errorf("the session did not run in the job's environment:\n%s", sh.out.String())
		}
		// The pause names the step that failed, in the log, the banner
		// and pitstop step.
		failed := "Step 4 (Four) failed, or a step before it did and it was skipped"
		if n := strings.Count(sh.out.String(), failed); n < 2 {
			t.Errorf("the banner and pitstop step name the failed step %d times, want 2:\n%s", n, sh.out.String())
		}
		if !strings.Contains(r.stderr.String(), failed) {
			t.Error("the pause's log does not name the failed step")
		}
		if !strings.Contains(r.stderr.String(), "step-four-ran") {
			t.Error("the pause came before the failing step ran")
		}
		if code := r.wait(t, 2*time.Minute); code == 0 {
			t.Error("pitstop act exited 0, want the job's failure")
		}
	})
	t.Run("succeeded", func(t *testing.T) {
		r, markers := startDetached(t, false, "--on-failure", "--wait-timeout", "30m")
		if err := os.WriteFile(filepath.Join(markers, "go"), nil, 0o644); err != nil {
			t.Fatal(err)
		}
		if code := r.wait(t, 4*time.Minute); code != 0 {
			t.Fatalf("pitstop act exited %d, want 0", code)
		}
		stderr := r.stderr.String()
		if !strings.Contains(stderr, "Job succeeded") || strings.Contains(stderr, "pitstop: the job is paused") {
			t.Errorf("the pause was not skipped:\n%s", stderr)
		}
		if !strings.Contains(stderr, "pitstop: no step failed, so the pause (--on-failure) did not run") {
			t.Errorf("pitstop act did not say why there was no pause:\n%s", stderr)
		}
	})
}

// TestActDetachedCancel: interrupting pitstop act while a user is
// connected to a detached pause ends the job, the agent and the session.
func TestActDetachedCancel(t *testing.T) {
	r, _ := startDetached(t, false, "--detached", "--wait-timeout", "3m")
	line := r.connectLine(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	sh := openShell(t, ctx, line, r.key)
	sh.run(t, `echo "connected-""now"`)
	waitText(t, "the session", sh.out, "connected-now", time.Minute)

	if err := r.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	r.wait(t, time.Minute)
	select {
	case <-sh.done:
	case <-time.After(30 * time.Second):
		t.Fatal("the session outlived the cancelled job")
	}
	out, err := sshWith(ctx, line, "-i", r.key, "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes", "-o", "ConnectTimeout=5", "true").CombinedOutput()
	if err == nil {
		t.Fatalf("the agent still accepts connections after the job was cancelled:\n%s", out)
	}
}
