package wire

import (
	"fmt"
	"time"
)

// Defaults of the pause that the CLI quotes to its users as well as the
// agent applying them.
const (
	// DefaultWaitTimeout is how long a pause waits for a first connection.
	DefaultWaitTimeout = 15 * time.Minute
	// DefaultReconnectGrace is how long a pause waits for a reconnect
	// after everyone left without being done.
	DefaultReconnectGrace = 5 * time.Minute
)

// The hold policies of HoldRequest.Hold.
const (
	HoldAlways  = "always"  // hold whatever the job's result
	HoldFailure = "failure" // hold only when the job failed
	HoldNever   = "never"   // never hold: the agent stops with the job
)

// HoldRequest is what the end-of-job step of a detached pause sends.
type HoldRequest struct {
	Hold string `json:"hold"` // HoldAlways, HoldFailure or HoldNever
	// JobStatus is the workflow's job.status: "success", "failure" or
	// "cancelled".
	JobStatus string `json:"job_status"`
}

// ValidHold reports whether s is one of the hold policies.
func ValidHold(s string) bool {
	switch s {
	case HoldAlways, HoldFailure, HoldNever:
		return true
	}
	return false
}

// ValidJobStatus reports whether s is a value of job.status.
func ValidJobStatus(s string) bool {
	switch s {
	case "success", "failure", "cancelled":
		return true
	}
	return false
}

// Check says what is wrong with r, if anything.
func (r HoldRequest) Check() error {
	if !ValidHold(r.Hold) {
		return fmt.Errorf("hold %q is not one of %s, %s, %s", r.Hold, HoldAlways, HoldFailure, HoldNever)
	}
	if !ValidJobStatus(r.JobStatus) {
		return fmt.Errorf("job status %q is not one of success, failure, cancelled", r.JobStatus)
	}
	return nil
}
