//go:build unix

package proc

import (
	"context"
	"os"
	"os/exec"
	"testing"
	"time"
)

// startSleep starts a real child that lives until the test ends or kills
// it; the caller decides when it is reaped.
func startSleep(t *testing.T) *exec.Cmd {
	t.Helper()
	cmd := exec.Command("sleep", "60")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill() //nolint:errcheck // may have ended already
		cmd.Wait()         //nolint:errcheck // killed on purpose
	})
	return cmd
}

func TestProcessGone(t *testing.T) {
	if processGone(os.Getpid()) {
		t.Error("this process is gone")
	}
	cmd := startSleep(t)
	if processGone(cmd.Process.Pid) {
		t.Error("a running child is gone")
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait() //nolint:errcheck // killed on purpose; now reaped
	if !processGone(cmd.Process.Pid) {
		t.Error("a reaped child is still there")
	}
}

// Watch notices the job's runner exit: here a real child process,
// reaped by its parent (this test) as the runner's would be.
func TestWatchProcessEndsWhenTheProcessExits(t *testing.T) {
	cmd := exec.Command("sleep", "0.3")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go cmd.Wait() //nolint:errcheck // reaped so the pid really disappears
	gone := make(chan struct{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go Watch(ctx, cmd.Process.Pid, 20*time.Millisecond, func() { close(gone) })
	select {
	case <-gone:
	case <-time.After(10 * time.Second):
		t.Fatal("the process's exit was not noticed")
	}
}

// A watch on a live process reports nothing and ends with its context.
func TestWatchProcessLiveProcess(t *testing.T) {
	cmd := startSleep(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	called := false
	go func() {
		Watch(ctx, cmd.Process.Pid, 10*time.Millisecond, func() { called = true })
		close(done)
	}()
	// Some polls of a live process, then the end of the watch.
	time.Sleep(100 * time.Millisecond)
	cancel()
	<-done
	if called {
		t.Error("a live process was reported gone")
	}
}

// A parent pid of 0 (a process started by docker exec) cannot be
// watched: the watch ends at once and reports nothing.
func TestWatchProcessNoPID(t *testing.T) {
	for _, pid := range []int{0, -1} {
		if processGone(pid) {
			t.Errorf("processGone(%d) = true", pid)
		}
		called := false
		Watch(context.Background(), pid, time.Millisecond, func() { called = true })
		if called {
			t.Errorf("Watch(%d) reported it gone", pid)
		}
	}
}
