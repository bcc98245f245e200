package agent

import (
	"context"
	"os"
	"os/exec"
	"testing"
	"time"
)

// The detached pause's state machine is tested in pause_test.go.

// watchJob notices the runner's exit: here a real child process.
func TestWatchJobEndsWhenTheRunnerExits(t *testing.T) {
	cmd := exec.Command("sleep", "0.3")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go cmd.Wait() //nolint:errcheck // reaped so the pid really disappears
	gone := make(chan struct{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go watchJob(ctx, cmd.Process.Pid, 20*time.Millisecond, func() { close(gone) })
	select {
	case <-gone:
	case <-time.After(10 * time.Second):
		t.Fatal("the runner's exit was not noticed")
	}
	if !processAlive(os.Getpid()) {
		t.Error("this process is not alive")
	}
}
