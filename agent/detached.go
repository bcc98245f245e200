package agent

import (
	"errors"

	"github.com/pitstopci/pitstop/agent/control"
	"github.com/pitstopci/pitstop/internal/wire"
)

// A detached pause (Config.Detached) runs next to the job instead of
// stopping it. The step that starts it returns at once; users connect
// whenever they like and get the environment of that step. At the end of
// the job a second step sends a HoldRequest over the control socket, and
// the pause then behaves like an ordinary one: it holds the job while
// someone is connected, or waits WaitTimeout for a first connection.

// The hold policies of HoldRequest.Hold, as wire defines them.
const (
	HoldAlways  = wire.HoldAlways
	HoldFailure = wire.HoldFailure
	HoldNever   = wire.HoldNever
)

// HoldRequest is what the end-of-job step of a detached pause sends.
type HoldRequest = wire.HoldRequest

// endOfJob applies r: either the pause now holds the job (true), or it
// ends, and why says why not.
func (p *pause) endOfJob(r HoldRequest) (holding bool, why string, err error) {
	if err := r.Check(); err != nil {
		return false, "", err
	}
	p.mu.Lock()
	switch {
	case p.ended:
		why = "the pause has already ended"
	case !p.detached:
		p.mu.Unlock()
		return false, "", errors.New("this pause is not detached; it holds the job already")
	case r.Hold == HoldNever:
		why = "hold is never"
	case r.Hold == HoldFailure && r.JobStatus == "success":
		why = "the job succeeded and hold is failure"
	case r.JobStatus == "cancelled":
		// Cancelling must end things promptly, even for someone at
		// work: the runner (or act) kills what is left soon after, and
		// a session cut off by that loses more than one closed now.
		why = "the job was cancelled"
	case p.conns == 0 && p.connected:
		why = "everyone who connected has left"
	}
	if why != "" {
		p.mu.Unlock()
		p.finish(EndJobEnded)
		return false, why, nil
	}
	p.holding = true
	if p.conns == 0 {
		// Nobody has come yet: give them WaitTimeout from now.
		p.waitUntil = p.clock.Now().Add(p.wait)
		p.armLocked("wait", p.wait, func() { p.finish(EndWaitTimeout) })
	}
	p.mu.Unlock()
	return true, "", nil
}

func mode(t pauseTimes) string {
	switch {
	case t.Holding:
		return control.ModeHolding
	case t.Detached:
		return control.ModeDetached
	}
	return control.ModePause
}
