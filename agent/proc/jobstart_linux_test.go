package proc

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// startTree runs script with sh under the name argv0 (a symlink to sh,
// so the kernel names the process after it) with args, and returns the
// pid the script prints, a child of that process. Both live until the
// test ends.
func startTree(t *testing.T, argv0 string, args []string, dir string) (parent, child int) {
	t.Helper()
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(t.TempDir(), argv0)
	if err := os.Symlink(sh, link); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(link, args...)
	cmd.Dir = dir
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if child > 0 {
			syscallKill(child)
		}
		cmd.Process.Kill() //nolint:errcheck // may have ended
		cmd.Wait()         //nolint:errcheck // killed on purpose
	})
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("read the child's pid: %v", err)
	}
	if child, err = strconv.Atoi(strings.TrimSpace(line)); err != nil {
		t.Fatal(err)
	}
	waitExec(t, child, "sleep")
	return cmd.Process.Pid, child
}

// waitExec waits until pid runs comm: until then a forked child still
// carries its parent's name and command line.
func waitExec(t *testing.T, pid int, comm string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "comm"))
		if err != nil {
			t.Fatal(err)
		}
		if strings.TrimSpace(string(b)) == comm {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("pid %d runs %q, not %s", pid, b, comm)
		}
	}
}

func syscallKill(pid int) {
	if p, err := os.FindProcess(pid); err == nil {
		p.Kill() //nolint:errcheck // may have ended
	}
}

// near says whether got is within a few seconds of when the test started
// the process: /proc/stat's boot time is whole seconds.
func near(got, from, to time.Time) bool {
	return !got.Before(from.Add(-2*time.Second)) && !got.After(to.Add(2*time.Second))
}

func TestJobStartRunnerWorker(t *testing.T) {
	before := time.Now()
	worker, child := startTree(t, "Runner.Worker", []string{"-c", "sleep 60 & echo $!; wait"}, "")
	after := time.Now()
	for _, from := range []int{child, worker} {
		start, what, ok := JobStart(from)
		if !ok || what != "Runner.Worker (pid "+strconv.Itoa(worker)+")" || !near(start, before, after) {
			t.Errorf("JobStart(%d) = %v, %q, %v; want Runner.Worker (pid %d) started between %v and %v", from, start, what, ok, worker, before, after)
		}
	}
}

func TestJobStartPitstopAct(t *testing.T) {
	dir := t.TempDir()
	// "pitstop act ..." runs the script named act here.
	if err := os.WriteFile(filepath.Join(dir, "act"), []byte("sleep 60 & echo $!; wait\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	before := time.Now()
	act, child := startTree(t, "pitstop", []string{"act", "--job", "build"}, dir)
	after := time.Now()
	start, what, ok := JobStart(child)
	if !ok || what != "pitstop act (pid "+strconv.Itoa(act)+")" || !near(start, before, after) {
		t.Errorf("JobStart = %v, %q, %v; want pitstop act (pid %d)", start, what, ok, act)
	}
	// Another command of a binary called pitstop is not the job.
	if _, what, ok := JobStart(act); !ok || !strings.HasPrefix(what, "pitstop act") {
		t.Errorf("JobStart(pitstop act itself) = %q, %v", what, ok)
	}
	_, notAct := startTree(t, "pitstop", []string{"-c", "sleep 60 & echo $!; wait"}, dir)
	if _, what, ok := JobStart(notAct); ok && strings.HasPrefix(what, "pitstop act") {
		t.Errorf("pitstop -c ... was taken for pitstop act: %q", what)
	}
}

// A process outside any job: an orphan, reparented away from this test,
// has no worker above it.
func TestJobStartNotFound(t *testing.T) {
	out, err := exec.Command("sh", "-c", "sleep 60 >/dev/null 2>&1 & echo $!").Output()
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(out)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscallKill(pid) })
	waitExec(t, pid, "sleep")
	if start, what, ok := JobStart(pid); ok {
		t.Errorf("JobStart(orphan) = %v, %q", start, what)
	}
	if _, _, ok := JobStart(1 << 30); ok {
		t.Error("JobStart found a job above a pid that does not exist")
	}
}
