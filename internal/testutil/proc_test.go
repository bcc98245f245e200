package testutil

import (
	"os"
	"os/exec"
	"runtime"
	"testing"
	"time"
)

// TestProcessTree finds a grandchild (sh, then sleep) under this
// process, by name, and this process first.
func TestProcessTree(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("ProcessTree reads /proc")
	}
	cmd := exec.Command("sh", "-c", "sleep 30 & wait")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() }) //nolint:errcheck // it is killed on purpose
	var tree []Process
	for i := 0; i < 100; i++ {
		tree = ProcessTree(os.Getpid())
		if hasChild(tree, cmd.Process.Pid, "sleep") {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if tree[0].PID != os.Getpid() {
		t.Errorf("first is %d, want this process %d", tree[0].PID, os.Getpid())
	}
	if !hasChild(tree, os.Getpid(), "sh") || !hasChild(tree, cmd.Process.Pid, "sleep") {
		t.Errorf("sh and its sleep are not in the tree: %+v", tree)
	}
	for _, p := range tree[1:] {
		if p.PID == 1 {
			t.Errorf("init is in the tree of %d: %+v", os.Getpid(), tree)
		}
	}
}

func hasChild(tree []Process, parent int, comm string) bool {
	for _, p := range tree {
		if p.PPID == parent && p.Comm == comm {
			return true
		}
	}
	return false
}
