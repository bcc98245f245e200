//go:build unix

package integration

import (
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pitstopci/pitstop/internal/testutil"
)

// actJobDirs lists the job directories act left under the user's cache
// (~/.cache/act/HEX: the job's copy of the repository, the action,
// RUNNER_TEMP).
func (e *actEnv) actJobDirs(t *testing.T) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(e.home, ".cache", "act"))
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var dirs []string
	for _, en := range entries {
		if regexp.MustCompile(`^[0-9a-f]{16}$`).MatchString(en.Name()) {
			dirs = append(dirs, en.Name())
		}
	}
	return dirs
}

// TestActJobSkipped: a job its if: skips never reaches the pause;
// pitstop act says so and fails, rather than exit 0 in silence.
func TestActJobSkipped(t *testing.T) {
	e := newActRepo(t, map[string]string{".github/workflows/ci.yml": `on: push
jobs:
  build:
    if: github.event_name == 'release'
    runs-on: ubuntu-latest
    steps:
      - run: echo one
`})
	r := e.start(t, "--job", "build", "--ssh-after-step", "1", "--action-source", sourceRoot)
	if code := r.wait(t, 2*time.Minute); code != 1 {
		t.Errorf("exit status %d, want 1", code)
	}
	want := `pitstop: the pause was not reached: act ran no step of job "build": its if: (github.event_name == 'release') was false, so the job was skipped`
	if !strings.Contains(r.stderr.String(), want) {
		t.Errorf("stderr should say %q:\n%s", want, r.stderr.String())
	}
}

// TestActFailedJobLeavesNothing: a job that fails after the pause leaves
// no copy of the repository in ~/.cache/act (act keeps it for failed
// jobs unless told otherwise), and the pause started in seconds from
// pitstop act's own binary, with no Go build.
func TestActFailedJobLeavesNothing(t *testing.T) {
	e := newActRepo(t, map[string]string{".github/workflows/ci.yml": `on: push
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - run: echo one > in-workspace.txt
      - run: exit 3
`})
	r := e.start(t, "--job", "build", "--ssh-after-step", "1", "--wait-timeout", "1s", "--action-source", sourceRoot)
	r.connectLine(t)
	if code := r.wait(t, 2*time.Minute); code == 0 {
		t.Errorf("exit status 0 for a failed job")
	}
	if dirs := e.actJobDirs(t); len(dirs) != 0 {
		t.Errorf("act's job directories left in %s: %v", filepath.Join(e.home, ".cache", "act"), dirs)
	}
	stderr := r.stderr.String()
	if !strings.Contains(stderr, "pitstop: using "+pitstopBin) || strings.Contains(stderr, "building from source") {
		t.Errorf("the pause should run pitstop act's own binary, not build one:\n%s", stderr)
	}
}

// TestActHangup: a closed terminal (SIGHUP) ends pitstop act, and with it
// act and the agent; nothing is left in TMPDIR or ~/.cache/act.
func TestActHangup(t *testing.T) {
	e := newActEnv(t)
	tmp := t.TempDir()
	e.env = withEnv(e.env, map[string]string{"TMPDIR": tmp})
	r := e.start(t, "--job", "build", "--ssh-after-step", "1", "--wait-timeout", "3m", "--action-source", sourceRoot)
	line := r.connectLine(t)
	port := regexp.MustCompile(`-p (\d+) `).FindStringSubmatch(line)
	if port == nil {
		t.Fatalf("no port in %q", line)
	}
	if err := r.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	r.wait(t, 2*time.Minute)
	if c, err := net.DialTimeout("tcp", "127.0.0.1:"+port[1], time.Second); err == nil {
		c.Close()
		t.Errorf("the agent still listens on port %s after pitstop act ended", port[1])
	}
	if left, _ := filepath.Glob(filepath.Join(tmp, "pitstop-act-*")); len(left) != 0 {
		t.Errorf("left behind: %v", left)
	}
	if dirs := e.actJobDirs(t); len(dirs) != 0 {
		t.Errorf("act's job directories left: %v", dirs)
	}
}

// TestActReconnectsOnEnter: when the connection drops (ssh's ~. escape
// ends it from the client, exit status 255, after a login), pitstop act
// says so, and Enter connects again to the same pause.
func TestActReconnectsOnEnter(t *testing.T) {
	r := actOnTerminal(t)
	term, screen, stderr, done := r.term, r.screen, r.stderr, r.done
	waitFor := func(b *testutil.Buffer, s string, timeout time.Duration) {
		t.Helper()
		for deadline := time.Now().Add(timeout); !strings.Contains(b.String(), s); time.Sleep(100 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("never saw %q", s)
			}
		}
	}
	waitFor(stderr, "pitstop: connecting: ssh ", readyTimeout)
	if _, err := io.WriteString(term, "echo first-\"\"session\n"); err != nil {
		t.Fatal(err)
	}
	waitFor(screen, "first-session", time.Minute)
	if _, err := io.WriteString(term, "\n~."); err != nil {
		t.Fatal(err)
	}
	waitFor(stderr, "pitstop: press Enter to connect again", time.Minute)
	if !strings.Contains(stderr.String(), "pitstop: the connection to the pause dropped; the pause waits 5m0s for you to reconnect (then the job goes on)") {
		t.Errorf("stderr should say the connection dropped:\n%s", stderr.String())
	}
	if _, err := io.WriteString(term, "\n"); err != nil {
		t.Fatal(err)
	}
	if strings.Count(stderr.String(), "pitstop: connecting: ssh ") < 1 {
		t.Fatal("no first connection")
	}
	for deadline := time.Now().Add(time.Minute); strings.Count(stderr.String(), "pitstop: connecting: ssh ") < 2; time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("Enter did not connect again")
		}
	}
	if _, err := io.WriteString(term, "echo second-\"\"session; exit\n"); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("pitstop act: %v, want exit status 0", err)
		}
	case <-time.After(2 * time.Minute):
		t.Fatal("pitstop act did not end after the second shell exited")
	}
	if !strings.Contains(screen.String(), "second-session") {
		t.Errorf("the second session did not run:\n%s", screen.String())
	}
}

// TestActMatrixLeg: pitstop act --matrix runs one leg of a matrix job
// under the real act, and pauses in it.
func TestActMatrixLeg(t *testing.T) {
	e := newActRepo(t, map[string]string{".github/workflows/ci.yml": `on: push
jobs:
  build:
    runs-on: ubuntu-latest
    strategy:
      matrix:
        leg: [first, second]
    steps:
      - run: echo "running-leg=${{ matrix.leg }}"
`})
	r := e.start(t, "--job", "build", "--ssh-after-step", "1", "--wait-timeout", "1s", "--matrix", "leg=second", "--action-source", sourceRoot)
	r.connectLine(t)
	if code := r.wait(t, 2*time.Minute); code != 0 {
		t.Errorf("exit status %d, want 0", code)
	}
	stderr := r.stderr.String()
	if !strings.Contains(stderr, "running-leg=second") || strings.Contains(stderr, "running-leg=first") {
		t.Errorf("only the leg second should run:\n%s", stderr)
	}
	if strings.Contains(stderr, "every leg will pause") {
		t.Errorf("warned that every leg pauses:\n%s", stderr)
	}
}

// TestActMatrixWithoutLeg: without --matrix, pitstop act runs one leg of
// a matrix job under the real act (never a macOS or Windows one) and says
// which and how to pick another, instead of leaving legs paused unseen.
func TestActMatrixWithoutLeg(t *testing.T) {
	e := newActRepo(t, map[string]string{".github/workflows/ci.yml": `on: push
jobs:
  build:
    runs-on: ubuntu-latest
    strategy:
      matrix:
        os: [windows-latest, ubuntu-latest]
        leg: [first, second]
    steps:
      - run: echo "running-leg=${{ matrix.os }}/${{ matrix.leg }}"
`})
	r := e.start(t, "--job", "build", "--ssh-after-step", "1", "--wait-timeout", "1s", "--action-source", sourceRoot)
	r.connectLine(t)
	if code := r.wait(t, 2*time.Minute); code != 0 {
		t.Errorf("exit status %d, want 0", code)
	}
	stderr := r.stderr.String()
	for _, other := range []string{"windows-latest/first", "windows-latest/second", "ubuntu-latest/second"} {
		if strings.Contains(stderr, "running-leg="+other) {
			t.Errorf("the leg %s ran too", other)
		}
	}
	if !strings.Contains(stderr, "running-leg=ubuntu-latest/first") {
		t.Errorf("the leg ubuntu-latest/first did not run")
	}
	testutil.Contains(t, "stderr", stderr,
		"act runs and pauses only --matrix os=ubuntu-latest --matrix leg=first. Another: --matrix os=ubuntu-latest --matrix leg=second",
		"left out, as they are for macOS or Windows runners: --matrix os=windows-latest --matrix leg=first; --matrix os=windows-latest --matrix leg=second",
	)
}

// TestActionInstallPath: the install input also takes the path of a
// pitstop binary, which is copied into a directory of its own and run
// from there; anything else that is not a mode is refused.
func TestActionInstallPath(t *testing.T) {
	action := actionCopy(t)
	out, err, outputs := runScript(t, filepath.Join(action, "install.sh"), map[string]string{"PITSTOP_INSTALL": pitstopBin, "PATH": "/usr/bin:/bin"})
	if err != nil {
		t.Fatalf("install.sh: %v\n%s", err, out)
	}
	bin := outputs["bin"]
	if bin == "" || bin == pitstopBin || filepath.Base(bin) != "pitstop" {
		t.Fatalf("bin output %q, want a copy named pitstop\n%s", bin, out)
	}
	if got, err := exec.Command(bin, "version").Output(); err != nil || !strings.HasPrefix(string(got), "pitstop ") {
		t.Errorf("the copy does not run: %q, %v", got, err)
	}
	if entries, _ := os.ReadDir(filepath.Dir(bin)); len(entries) != 1 {
		t.Errorf("the binary's directory (first on the sessions' PATH) holds %d entries, want pitstop alone", len(entries))
	}
	other := filepath.Join(t.TempDir(), "other")
	if err := os.WriteFile(other, []byte("#!/bin/sh\nexit 3\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ install, want string }{
		{"/no/such/pitstop", `input install names /no/such/pitstop, which is not a file here`},
		{other, other + " does not run here"},
		{"binary", `input install is "binary"; valid values: auto, release, source, or the absolute path of a pitstop binary`},
	} {
		out, err, _ := runScript(t, filepath.Join(action, "install.sh"), map[string]string{"PITSTOP_INSTALL": tc.install, "PATH": "/usr/bin:/bin"})
		if err == nil || !strings.Contains(out, tc.want) {
			t.Errorf("install=%s: %v, want a failure saying %q:\n%s", tc.install, err, tc.want, out)
		}
	}
}

// children returns the pids of pid's child processes (Linux).
func children(t *testing.T, pid int) []int {
	t.Helper()
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
	var out []int
	for _, f := range tasks {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, s := range strings.Fields(string(b)) {
			if n, err := strconv.Atoi(s); err == nil {
				out = append(out, n)
			}
		}
	}
	return out
}

// waitClosed waits until nothing listens on port any more.
func waitClosed(t *testing.T, port string, timeout time.Duration) {
	t.Helper()
	for deadline := time.Now().Add(timeout); ; time.Sleep(200 * time.Millisecond) {
		c, err := net.DialTimeout("tcp", "127.0.0.1:"+port, time.Second)
		if err != nil {
			return
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatalf("the agent still listens on port %s after %v", port, timeout)
		}
	}
}

// TestActKilledLeavesNothingRunning: whichever of pitstop act and act is
// killed outright (SIGKILL, no chance to clean up), the pause does not
// live on: act gets SIGTERM when pitstop act dies, and the agent ends its
// pause when act is gone; act's job directory is removed.
func TestActKilledLeavesNothingRunning(t *testing.T) {
	for _, victim := range []string{"act", "pitstop act"} {
		t.Run(victim, func(t *testing.T) {
			e := newActEnv(t)
			r := e.start(t, "--job", "build", "--ssh-after-step", "1", "--wait-timeout", "3m", "--action-source", sourceRoot)
			line := r.connectLine(t)
			port := regexp.MustCompile(`-p (\d+) `).FindStringSubmatch(line)
			if port == nil {
				t.Fatalf("no port in %q", line)
			}
			acts := children(t, r.cmd.Process.Pid)
			if len(acts) != 1 {
				t.Fatalf("pitstop act has children %v, want act alone", acts)
			}
			pid := r.cmd.Process.Pid
			if victim == "act" {
				pid = acts[0]
			}
			if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			waitClosed(t, port[1], 30*time.Second)
			if victim == "act" {
				r.wait(t, time.Minute)
				if dirs := e.actJobDirs(t); len(dirs) != 0 {
					t.Errorf("act's job directories left: %v", dirs)
				}
			}
			for deadline := time.Now().Add(30 * time.Second); syscall.Kill(acts[0], 0) == nil; time.Sleep(200 * time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatalf("act (pid %d) still runs", acts[0])
				}
			}
		})
	}
}

// TestActPauseStepFails: when the pause step itself fails (here, an
// install input naming no binary), pitstop act says the pause was not
// reached and why, and fails.
func TestActPauseStepFails(t *testing.T) {
	e := newActEnv(t)
	r := e.start(t, "--job", "build", "--ssh-after-step", "1", "--with", "install=/no/such/pitstop", "--action-source", sourceRoot)
	if code := r.wait(t, 2*time.Minute); code == 0 {
		t.Errorf("exit status 0 for a pause that never started")
	}
	stderr := r.stderr.String()
	testutil.Contains(t, "stderr", stderr,
		`input install names /no/such/pitstop, which is not a file here`,
		"pitstop: the pause was not reached: the pause step itself failed before the agent was ready (see its output above)",
	)
}
