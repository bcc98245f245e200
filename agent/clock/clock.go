// Package clock is the time the agent's timeouts keep: what time it is,
// and timers that run a function once a duration has passed. The agent
// runs on Real; its tests use a Fake they advance by hand, so that the
// pause's state machine can be driven through hours without sleeping.
//
// It owns only the interface and those two clocks; which timeouts there
// are, and what they do, is the agent's.
package clock

import "time"

// Clock is the time the agent's timeouts keep. The pause, the login
// grace time, a detached terminal's grace and the limits on connections
// that have not logged in are timed by it.
type Clock interface {
	Now() time.Time
	// AfterFunc calls f in its own goroutine once d has passed, as
	// time.AfterFunc does.
	AfterFunc(d time.Duration, f func()) Timer
	// NewTimer returns a channel that receives the time once d has
	// passed, as time.NewTimer's C does, and the timer that sends it:
	// for a wait that selects on other channels too.
	NewTimer(d time.Duration) (<-chan time.Time, Timer)
}

// Timer is a timer armed by a Clock. Stop keeps it from firing; it reports
// false if the timer had already fired or been stopped.
type Timer interface {
	Stop() bool
}

// Real is the system's clock: the time comes from now (time.Now, or
// what the agent was configured with), timers are time.AfterFunc.
func Real(now func() time.Time) Clock { return realClock{now: now} }

type realClock struct{ now func() time.Time }

func (c realClock) Now() time.Time { return c.now() }

func (realClock) AfterFunc(d time.Duration, f func()) Timer { return time.AfterFunc(d, f) }

func (realClock) NewTimer(d time.Duration) (<-chan time.Time, Timer) {
	t := time.NewTimer(d)
	return t.C, t
}
