package agent_test

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/pitstopci/pitstop/agent"
)

// The agent as a GitHub Actions step runs it: the triggering user's keys
// from the API, a ready file for tools, cancellation on SIGTERM.
func ExampleRun() {
	log, err := agent.NewLogger(os.Stderr, agent.LogConsole, false)
	if err != nil {
		panic(err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	err = agent.Run(ctx, agent.Config{
		Token:       os.Getenv("PITSTOP_GITHUB_TOKEN"),
		WaitTimeout: 10 * time.Minute,
		ReadyFile:   "/tmp/pitstop-ready.json",
		Log:         log,
		Annotations: os.Stdout,
	})
	if err != nil {
		// Only a refusal to start gets here: nobody could be let in.
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
