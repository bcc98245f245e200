package main

import (
	"os"

	"github.com/pitstopci/pitstop/agent"
	"github.com/pitstopci/pitstop/agent/proc"
)

// jobStart sets when the job started, so that its time limit counts
// from there, and says in the log where the limit counts from. The
// process that runs the job is looked for above the agent, or above
// --watch-pid for a detached agent, which has left its parent behind.
func jobStart(cfg *agent.Config, watchPID int) {
	from := watchPID
	if from == 0 {
		from = os.Getppid()
	}
	limit := cfg.JobLimit
	if limit == 0 {
		limit = agent.DefaultJobLimit
	}
	start, what, ok := proc.JobStart(from)
	if !ok {
		cfg.Log.Info().Str("job_limit", limit.String()).
			Msgf("the job's start is not known here: its time limit (%s) counts from the start of the pause", limit)
		return
	}
	cfg.JobStarted = start
	cfg.Log.Info().Str("job_limit", limit.String()).Time("job_started", start).Str("job_process", what).
		Msgf("the job's time limit (%s) counts from its start at %s (the start of %s)", limit, start.UTC().Format("15:04:05 MST"), what)
}
