package agent

import "time"

// clock is the time the agent's timeouts keep: what time it is, and
// timers that run a function once a duration has passed. The pause, the
// login grace time, a detached terminal's grace and the limits on
// connections that have not logged in (limits.go) are timed by it. The
// agent runs on the real one; tests use a fake one they advance by hand
// (clock_test.go), so that the pause's state machine can be driven through
// hours without sleeping.
type clock interface {
	Now() time.Time
	// AfterFunc calls f in its own goroutine once d has passed, as
	// time.AfterFunc does.
	AfterFunc(d time.Duration, f func()) timer
	// NewTimer returns a channel that receives the time once d has
	// passed, as time.NewTimer's C does, and the timer that sends it:
	// for a wait that selects on other channels too.
	NewTimer(d time.Duration) (<-chan time.Time, timer)
}

// timer is a timer armed by a clock. Stop keeps it from firing; it reports
// false if the timer had already fired or been stopped.
type timer interface {
	Stop() bool
}

// realClock is the system's clock: now comes from now (Config.Now), timers
// are time.AfterFunc.
type realClock struct{ now func() time.Time }

func (c realClock) Now() time.Time { return c.now() }

func (realClock) AfterFunc(d time.Duration, f func()) timer { return time.AfterFunc(d, f) }

func (realClock) NewTimer(d time.Duration) (<-chan time.Time, timer) {
	t := time.NewTimer(d)
	return t.C, t
}

// clock returns the clock the agent's timeouts keep time by:
// Config.testClock if a test set one, otherwise real timers with
// Config.Now.
func (cfg Config) clock() clock {
	if cfg.testClock != nil {
		return cfg.testClock
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	return realClock{now: now}
}
