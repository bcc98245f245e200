package proc

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// zombie starts a child that exits at once and is not reaped until the
// test ends, and returns its pid once the kernel shows it as a zombie.
func zombie(t *testing.T) int {
	t.Helper()
	cmd := startSleep(t)
	cmd.Process.Kill() //nolint:errcheck // reaped by startSleep's cleanup only
	pid := cmd.Process.Pid
	stat := filepath.Join("/proc", strconv.Itoa(pid), "stat")
	for deadline := time.Now().Add(10 * time.Second); ; {
		b, err := os.ReadFile(stat)
		if err != nil {
			t.Fatalf("the unreaped child disappeared: %v", err)
		}
		if strings.Contains(string(b), ") Z ") {
			return pid
		}
		if time.Now().After(deadline) {
			t.Fatalf("the child did not become a zombie: %s", b)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// A process that has exited is gone although its parent has not reaped
// it yet; signal 0 alone would still find it.
func TestProcessGoneZombie(t *testing.T) {
	pid := zombie(t)
	if killGone(pid) {
		t.Fatal("signal 0 no longer finds the zombie; this test proves nothing")
	}
	if !processGone(pid) {
		t.Error("a zombie is not gone")
	}
	gone := make(chan struct{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go Watch(ctx, pid, 10*time.Millisecond, func() { close(gone) })
	select {
	case <-gone:
	case <-time.After(10 * time.Second):
		t.Fatal("the zombie's end was not noticed")
	}
}
