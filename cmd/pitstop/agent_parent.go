package main

import (
	"context"
	"os"
	"time"

	"github.com/rs/zerolog"

	"github.com/pitstopci/pitstop/agent"
)

// endWithParent cancels the pause when the agent's parent process goes
// away. Under act the parent is act itself (the step's shell execs the
// agent): if act is killed, nothing would otherwise end the pause, and
// the agent would hold its port, and the user's shell, until its
// timeouts, reparented to PID 1. The parent is polled because a parent
// death signal would fire when act's forking thread ends, not act.
func endWithParent(ctx context.Context, log zerolog.Logger, every time.Duration) context.Context {
	parent := os.Getppid()
	ctx, cancel := context.WithCancel(ctx)
	go agent.WatchProcess(ctx, parent, every, func() {
		log.Warn().Int("parent_pid", parent).Msg("act, which runs this job, is gone; ending the pause")
		cancel()
	})
	return ctx
}
