package clock

import (
	"slices"
	"sync"
	"time"
)

// Fake is a Clock that moves only when a test advances it. Timers
// fire on the advancing goroutine, each at its own time and in order, so
// when Advance returns everything that fell due has run: a test of the
// pause needs no sleeps and no polling.
type Fake struct {
	mu     sync.Mutex
	now    time.Time
	seq    int // arming order, which breaks ties between timers due together
	timers []*fakeTimer
	// LateStops makes Stop a no-op that reports failure, as when a real
	// timer has already fired and its function is on its way: the pause
	// must then ignore the stale call itself. Only once the clock has
	// moved since the timer was armed: a stop cannot come late before any
	// time has passed (a connection's version-line timer is armed and
	// stopped in the same instant of fake time).
	LateStops bool
}

type fakeTimer struct {
	c     *Fake
	at    time.Time
	armed time.Time // the clock's time when it was armed
	seq   int
	f     func()
	ch    chan time.Time // NewTimer's channel, when f is nil
}

// NewFake starts at a fixed, arbitrary time.
func NewFake() *Fake {
	return &Fake{now: time.Date(2026, 3, 4, 5, 0, 0, 0, time.UTC)}
}

// Now is the fake time: where the last Advance left it.
func (c *Fake) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// AfterFunc arms a timer. One with d <= 0 is due at once and fires on the
// next Advance (Advance(0) will do): calling f here could deadlock a
// caller that holds a lock f takes, which real timers never do either.
func (c *Fake) AfterFunc(d time.Duration, f func()) Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seq++
	t := &fakeTimer{c: c, at: c.now.Add(d), armed: c.now, seq: c.seq, f: f}
	c.timers = append(c.timers, t)
	return t
}

// NewTimer arms a timer that sends the time it fell due on the returned
// channel, which holds it until read, as time.NewTimer's does.
func (c *Fake) NewTimer(d time.Duration) (<-chan time.Time, Timer) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seq++
	t := &fakeTimer{c: c, at: c.now.Add(d), armed: c.now, seq: c.seq, ch: make(chan time.Time, 1)}
	c.timers = append(c.timers, t)
	return t.ch, t
}

func (t *fakeTimer) Stop() bool {
	c := t.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.LateStops && c.now.After(t.armed) {
		return false
	}
	i := slices.Index(c.timers, t)
	if i < 0 {
		return false
	}
	c.timers = slices.Delete(c.timers, i, i+1)
	return true
}

// Advance moves the clock d forward, firing every timer that falls due on
// the way at its own time, including timers armed by the ones that fire.
func (c *Fake) Advance(d time.Duration) {
	c.mu.Lock()
	end := c.now.Add(d)
	c.mu.Unlock()
	c.AdvanceTo(end)
}

// AdvanceTo advances the clock to end (which must not be in the past).
func (c *Fake) AdvanceTo(end time.Time) {
	for {
		c.mu.Lock()
		next := -1
		for i, t := range c.timers {
			if t.at.After(end) {
				continue
			}
			if next < 0 || t.at.Before(c.timers[next].at) || t.at.Equal(c.timers[next].at) && t.seq < c.timers[next].seq {
				next = i
			}
		}
		if next < 0 {
			if end.After(c.now) {
				c.now = end
			}
			c.mu.Unlock()
			return
		}
		t := c.timers[next]
		c.timers = slices.Delete(c.timers, next, next+1)
		if t.at.After(c.now) {
			c.now = t.at
		}
		now := c.now
		c.mu.Unlock()
		if t.f == nil {
			t.ch <- now // buffered, and sent to only once
			continue
		}
		t.f() // unlocked: f may arm or stop timers
	}
}

// Waiting is how many NewTimer timers are armed and have not fired: a
// test can tell by it that a goroutine has gone to wait for one.
func (c *Fake) Waiting() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, t := range c.timers {
		if t.f == nil {
			n++
		}
	}
	return n
}

// Pending is how many timers are armed and have not fired.
func (c *Fake) Pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.timers)
}
