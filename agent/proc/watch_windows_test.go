package proc

import (
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// startWaiting starts path (a copy of cmd.exe) running "cmd /c set /p",
// which waits for a line of input: a process with a child that lives
// until the test closes their input or kills them.
func startWaiting(t *testing.T, path string) (*exec.Cmd, io.Closer) {
	t.Helper()
	cmd := exec.Command(path, "/d", "/c", "cmd.exe /d /c set /p x=")
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		in.Close()
		cmd.Process.Kill() //nolint:errcheck // may have ended already
		cmd.Wait()         //nolint:errcheck // ended on purpose
	})
	return cmd, in
}

func cmdExe(t *testing.T) string {
	t.Helper()
	p := filepath.Join(os.Getenv("SystemRoot"), "System32", "cmd.exe")
	if _, err := os.Stat(p); err != nil {
		t.Fatal(err)
	}
	return p
}

// processGone follows a process from running to ended through the handle
// it keeps, and a pid of no process is gone.
func TestWindowsProcessGone(t *testing.T) {
	if processGone(os.Getpid()) {
		t.Error("this process is gone")
	}
	cmd, in := startWaiting(t, cmdExe(t))
	if processGone(cmd.Process.Pid) {
		t.Error("a running child is gone")
	}
	in.Close() // its input ends: it exits
	cmd.Wait() //nolint:errcheck // its status does not matter
	if !processGone(cmd.Process.Pid) {
		t.Error("an ended child is still there")
	}
	for _, pid := range []int{0, -1} {
		if processGone(pid) {
			t.Errorf("processGone(%d) = true", pid)
		}
	}
}

// JobStart finds the Runner.Worker.exe above a process, and its start.
func TestWindowsJobStart(t *testing.T) {
	// Not t.TempDir, which fails when it cannot remove everything: wine
	// may hold the program file a moment after it exits.
	dir, err := os.MkdirTemp("", "pitstop-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) }) //nolint:errcheck // see above
	worker := filepath.Join(dir, runnerWorker)
	b, err := os.ReadFile(cmdExe(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(worker, b, 0o755); err != nil {
		t.Fatal(err)
	}
	before := time.Now()
	cmd, _ := startWaiting(t, worker)
	after := time.Now()
	// Its child, once it runs: wine lists a process it is still creating
	// with no program name and a start time that is not yet its own.
	child := 0
	deadline := time.Now().Add(30 * time.Second)
	for child == 0 {
		procs, err := processTable()
		if err != nil {
			t.Fatal(err)
		}
		for pid, p := range procs {
			if int(p.ppid) == cmd.Process.Pid && strings.EqualFold(p.exe, "cmd.exe") {
				child = int(pid)
			}
		}
		if child == 0 && time.Now().After(deadline) {
			t.Fatal("the worker started no child")
		}
		time.Sleep(20 * time.Millisecond) // polling the process table
	}
	want := "Runner.Worker (pid " + strconv.Itoa(cmd.Process.Pid) + ")"
	for _, from := range []int{child, cmd.Process.Pid} {
		start, what, ok := JobStart(from)
		// Windows' process times are exact; the clock's reading before
		// and after may lag them by its resolution.
		if !ok || what != want || start.Before(before.Add(-time.Second)) || start.After(after.Add(time.Second)) {
			t.Errorf("JobStart(%d) = %v, %q, %v; want %s started between %v and %v", from, start, what, ok, want, before, after)
		}
	}
	if pid, ok := RunnerPID(child); !ok || pid != cmd.Process.Pid {
		t.Errorf("RunnerPID(%d) = %d, %v; want the worker, %d", child, pid, ok, cmd.Process.Pid)
	}
	if _, _, ok := JobStart(1 << 30); ok {
		t.Error("JobStart found a job above a pid of no process")
	}
}
