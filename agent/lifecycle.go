package agent

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/pitstopci/pitstop/agent/clock"
)

// EndReason says why a pause ended. Every reason is a normal end: the step
// exits 0 and the job goes on.
type EndReason string

// The ways a pause ends.
const (
	EndWaitTimeout    EndReason = "wait_timeout"    // nobody connected within WaitTimeout
	EndShellsExited   EndReason = "shells_exited"   // the last interactive shell exited
	EndContinue       EndReason = "continue"        // "pitstop continue" was run
	EndMaxDuration    EndReason = "max_duration"    // MaxDuration (plus extensions) ran out
	EndReconnectGrace EndReason = "reconnect_grace" // everyone left and nobody came back in time
	EndCancelled      EndReason = "cancelled"       // the context was cancelled (job cancelled)
	EndJobEnded       EndReason = "job_ended"       // detached: the job ended and nobody holds it
)

// Describe is the reason in words, for the log and the sessions.
func (r EndReason) Describe() string {
	switch r {
	case EndWaitTimeout:
		return "nobody connected within the wait timeout"
	case EndShellsExited:
		return "the last shell exited"
	case EndContinue:
		return "pitstop continue was run"
	case EndMaxDuration:
		return "the maximum duration was reached"
	case EndReconnectGrace:
		return "nobody reconnected within the grace period"
	case EndCancelled:
		return "the job was cancelled"
	case EndJobEnded:
		return "the job ended and nobody is holding it"
	default:
		return string(r)
	}
}

// pause is the lifecycle state machine. It only counts and keeps time;
// the server tells it what happens (connections come and go, shells start
// and end) and acts on Done.
//
// Timers come from a clock (real ones: time.AfterFunc). A timer that is
// replaced (extend, reconnect) may already be firing; each carries the
// generation it was armed in and is ignored if that generation has passed.
type pause struct {
	clock      clock.Clock
	wait       time.Duration
	grace      time.Duration
	warnBefore []time.Duration
	// warn is called, without the lock held, when a warning is due.
	warn func(left time.Duration, deadline time.Time)

	mu         sync.Mutex
	started    time.Time
	limit      time.Time // the latest extend may move deadline to
	deadline   time.Time
	waitUntil  time.Time // zero once someone connected
	graceUntil time.Time // non-zero while waiting for a reconnect
	conns      int       // authenticated connections open now
	shells     int       // interactive shells (on a pty) running now
	timers     map[string]clock.Timer
	gens       map[string]int
	ended      bool
	reason     EndReason
	done       chan struct{}
	// A detached pause runs alongside the job: no timer runs until someone
	// connects (max duration) or the job ends (holding; see detached.go).
	detached bool
	holding  bool
	// connected is set by the first connection, which gets the whole
	// maxDur from then, in every mode.
	connected bool
	maxDur    time.Duration
}

func newPause(cfg Config, warn func(time.Duration, time.Time)) *pause {
	p := &pause{
		clock:      cfg.clock(),
		wait:       cfg.WaitTimeout,
		grace:      cfg.ReconnectGrace,
		warnBefore: cfg.WarnBefore,
		warn:       warn,
		timers:     map[string]clock.Timer{},
		gens:       map[string]int{},
		done:       make(chan struct{}),
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.started = p.clock.Now()
	p.detached, p.maxDur = cfg.Detached, cfg.MaxDuration
	p.limit = p.started.Add(max(cfg.JobLimit, cfg.MaxDuration))
	if p.detached {
		return p // the clocks start with a first connection, or the hold
	}
	p.deadline = p.started.Add(cfg.MaxDuration)
	p.waitUntil = p.started.Add(cfg.WaitTimeout)
	p.armLocked("wait", cfg.WaitTimeout, func() { p.finish(EndWaitTimeout) })
	p.armDeadlineLocked()
	return p
}

// armLocked (re)starts the named timer; any earlier one is disarmed.
func (p *pause) armLocked(name string, d time.Duration, f func()) {
	p.disarmLocked(name)
	gen := p.gens[name]
	p.timers[name] = p.clock.AfterFunc(d, func() {
		p.mu.Lock()
		current := p.gens[name] == gen && !p.ended
		p.mu.Unlock()
		if current {
			f()
		}
	})
}

func (p *pause) disarmLocked(name string) {
	if t, ok := p.timers[name]; ok {
		t.Stop()
		delete(p.timers, name)
	}
	p.gens[name]++
}

// armDeadlineLocked arms the max-duration timer and its warnings.
func (p *pause) armDeadlineLocked() {
	now := p.clock.Now()
	p.armLocked("max", p.deadline.Sub(now), func() { p.finish(EndMaxDuration) })
	for i, before := range p.warnBefore {
		name := fmt.Sprintf("warn%d", i)
		at := p.deadline.Add(-before)
		if !at.After(now) {
			p.disarmLocked(name)
			continue
		}
		deadline := p.deadline
		p.armLocked(name, at.Sub(now), func() { p.warn(deadline.Sub(p.clock.Now()), deadline) })
	}
}

// connOpened records an authenticated connection: the wait for a first
// connection, or for a reconnect, is over.
func (p *pause) connOpened() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.conns++
	if d := p.clock.Now().Add(p.maxDur); !p.connected && d.After(p.deadline) {
		// Timeouts follow people: whoever connects first gets the whole
		// max-duration, however long they took to come (and a detached
		// pause has no deadline at all until then), but never past the
		// job's own limit.
		if d.After(p.limit) {
			d = p.limit
		}
		p.deadline = d
		p.armDeadlineLocked()
	}
	p.connected = true
	p.waitUntil = time.Time{}
	p.graceUntil = time.Time{}
	p.disarmLocked("wait")
	p.disarmLocked("grace")
}

// connClosed records a connection's end. When nobody is left the agent
// waits ReconnectGrace for someone to come back: a dropped connection is
// not the user being done.
func (p *pause) connClosed() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.conns--
	if p.conns == 0 && !p.ended && (!p.detached || p.holding) {
		p.graceUntil = p.clock.Now().Add(p.grace)
		p.armLocked("grace", p.grace, func() { p.finish(EndReconnectGrace) })
	}
}

func (p *pause) shellStarted() {
	p.mu.Lock()
	p.shells++
	p.mu.Unlock()
}

// shellEnded records a shell's end. exited is true when the shell ended
// by itself (the user typed exit), false when it was stopped because its
// connection dropped. Only the first ends the pause.
func (p *pause) shellEnded(exited bool) {
	p.mu.Lock()
	p.shells--
	// While a detached pause's job runs on, a shell that exits is just
	// the user stepping out; they may come back until the job ends.
	last := p.shells == 0 && (!p.detached || p.holding)
	p.mu.Unlock()
	if exited && last {
		p.finish(EndShellsExited)
	}
}

// ErrJobLimit is returned by extend when the pause already ends at the
// job's own time limit.
var ErrJobLimit = errors.New("the pause already ends where the job's time limit would cancel the job")

// extend moves the deadline by d, but not past the job's limit, and
// returns the new one.
func (p *pause) extend(d time.Duration) (time.Time, error) {
	if d <= 0 {
		return time.Time{}, fmt.Errorf("duration %v is not positive", d)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ended {
		return time.Time{}, fmt.Errorf("the pause has already ended (%s)", p.reason.Describe())
	}
	if p.deadline.IsZero() {
		return time.Time{}, fmt.Errorf("the time limit starts with the first connection")
	}
	if !p.deadline.Before(p.limit) {
		return time.Time{}, fmt.Errorf("%w (%s after the pause started)", ErrJobLimit, p.limit.Sub(p.started).Round(time.Minute))
	}
	p.deadline = p.deadline.Add(d)
	if p.deadline.After(p.limit) {
		p.deadline = p.limit
	}
	p.armDeadlineLocked()
	return p.deadline, nil
}

// finish ends the pause; only the first reason counts.
func (p *pause) finish(r EndReason) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ended {
		return
	}
	p.ended = true
	p.reason = r
	for name := range p.timers {
		p.disarmLocked(name)
	}
	close(p.done)
}

// Done is closed when the pause has ended.
func (p *pause) Done() <-chan struct{} { return p.done }

// Reason is why the pause ended; "" while it goes on.
func (p *pause) Reason() EndReason {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.reason
}

// pauseTimes is a consistent snapshot of the pause's clocks.
type pauseTimes struct {
	Started, Deadline, WaitUntil, GraceUntil time.Time
	Conns, Shells                            int
	Limit                                    time.Time
	Detached, Holding                        bool
}

func (p *pause) times() pauseTimes {
	p.mu.Lock()
	defer p.mu.Unlock()
	return pauseTimes{p.started, p.deadline, p.waitUntil, p.graceUntil, p.conns, p.shells, p.limit, p.detached, p.holding}
}
