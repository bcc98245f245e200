package agent

import (
	"fmt"
	"time"
)

// The job's own time limit (Config.JobLimit) is counted from the job's
// start: GitHub cancels a job timeout-minutes after it started, however
// long it ran before the pause. proc.JobStart finds that start where the
// system shows it (/proc on Linux, the process list on Windows); elsewhere
// the limit counts from the pause's start, and pitstop extend may then go
// past the moment the job is cancelled.

// jobLimitLeft turns JobLimit, counted from JobStarted, into the time
// left of it now, which is what the pause counts from its own start. The
// pause starts a moment later, after the key lookups (each bounded by
// LookupTimeout), so its limit may fall that much past the job's. It
// clears JobStarted, so that applying it twice changes nothing.
func (cfg Config) jobLimitLeft() (Config, error) {
	if cfg.JobLimit < 0 {
		return cfg, fmt.Errorf("job limit %v is negative", cfg.JobLimit)
	}
	if cfg.JobStarted.IsZero() {
		return cfg, nil
	}
	ran := cfg.Now().Sub(cfg.JobStarted)
	cfg.JobStarted = time.Time{}
	if ran <= 0 {
		return cfg, nil // a start in the future: trust no part of it
	}
	// Past the limit already (the job is about to be cancelled): the
	// smallest limit there is; the pause still lasts its MaxDuration.
	cfg.JobLimit = max(cfg.JobLimit-ran, time.Nanosecond)
	return cfg, nil
}
