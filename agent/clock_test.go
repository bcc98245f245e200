package agent

import (
	"slices"
	"sync"
	"testing"
	"time"
)

// fakeClock is a clock that moves only when a test advances it. Timers
// fire on the advancing goroutine, each at its own time and in order, so
// when Advance returns everything that fell due has run: a test of the
// pause needs no sleeps and no polling.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	seq    int // arming order, which breaks ties between timers due together
	timers []*fakeTimer
	// lateStops makes Stop a no-op that reports failure, as when a real
	// timer has already fired and its function is on its way: the pause
	// must then ignore the stale call itself. Only once the clock has
	// moved since the timer was armed: a stop cannot come late before any
	// time has passed (a connection's version-line timer is armed and
	// stopped in the same instant of fake time).
	lateStops bool
}

type fakeTimer struct {
	c     *fakeClock
	at    time.Time
	armed time.Time // the clock's time when it was armed
	seq   int
	f     func()
	ch    chan time.Time // NewTimer's channel, when f is nil
}

// newFakeClock starts at a fixed, arbitrary time.
func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 3, 4, 5, 0, 0, 0, time.UTC)}
}

// useFakeClock makes cfg keep time by a new fake clock, the pause's timers
// and Now alike, and returns it.
func useFakeClock(cfg *Config) *fakeClock {
	c := newFakeClock()
	cfg.testClock, cfg.Now = c, c.Now
	return c
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// AfterFunc arms a timer. One with d <= 0 is due at once and fires on the
// next Advance (Advance(0) will do): calling f here could deadlock a
// caller that holds a lock f takes, which real timers never do either.
func (c *fakeClock) AfterFunc(d time.Duration, f func()) timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seq++
	t := &fakeTimer{c: c, at: c.now.Add(d), armed: c.now, seq: c.seq, f: f}
	c.timers = append(c.timers, t)
	return t
}

// NewTimer arms a timer that sends the time it fell due on the returned
// channel, which holds it until read, as time.NewTimer's does.
func (c *fakeClock) NewTimer(d time.Duration) (<-chan time.Time, timer) {
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
	if c.lateStops && c.now.After(t.armed) {
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
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	end := c.now.Add(d)
	c.mu.Unlock()
	c.AdvanceTo(end)
}

// AdvanceTo advances the clock to end (which must not be in the past).
func (c *fakeClock) AdvanceTo(end time.Time) {
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

// waiting is how many NewTimer timers are armed and have not fired: a
// test can tell by it that a goroutine has gone to wait for one.
func (c *fakeClock) waiting() int {
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

// pending is how many timers are armed and have not fired.
func (c *fakeClock) pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.timers)
}

func TestFakeClock(t *testing.T) {
	c := newFakeClock()
	start := c.Now()
	var fired []string
	at := func(name string) func() {
		return func() { fired = append(fired, name+"@"+c.Now().Sub(start).String()) }
	}
	c.AfterFunc(3*time.Second, at("c"))
	c.AfterFunc(time.Second, func() {
		at("a")()
		c.AfterFunc(time.Second, at("a+1s")) // armed by a firing timer
	})
	stopped := c.AfterFunc(2*time.Second, at("stopped"))
	c.AfterFunc(time.Second, at("b")) // due with a, armed after it
	if !stopped.Stop() || stopped.Stop() {
		t.Error("Stop: want true once, then false")
	}
	c.Advance(999 * time.Millisecond)
	if len(fired) != 0 {
		t.Fatalf("fired early: %v", fired)
	}
	c.Advance(10 * time.Second)
	if got, want := fired, []string{"a@1s", "b@1s", "a+1s@2s", "c@3s"}; !slices.Equal(got, want) {
		t.Errorf("fired %v, want %v", got, want)
	}
	if got := c.Now().Sub(start); got != 10999*time.Millisecond {
		t.Errorf("now is start+%v, want start+10.999s", got)
	}
	if c.pending() != 0 {
		t.Errorf("%d timers left", c.pending())
	}
	c.AfterFunc(0, at("now"))
	c.Advance(0)
	if fired[len(fired)-1] != "now@10.999s" {
		t.Errorf("a timer due at once: %v", fired)
	}

	ch, _ := c.NewTimer(2 * time.Second)
	_, stoppedCh := c.NewTimer(time.Second)
	if c.waiting() != 2 || !stoppedCh.Stop() || c.waiting() != 1 {
		t.Fatalf("NewTimer: %d waiting, want 1 after one of 2 was stopped", c.waiting())
	}
	c.Advance(1999 * time.Millisecond)
	select {
	case at := <-ch:
		t.Fatalf("NewTimer's channel received %v early", at)
	default:
	}
	c.Advance(time.Second)
	select {
	case at := <-ch:
		if got := at.Sub(start); got != 12999*time.Millisecond {
			t.Errorf("NewTimer's channel received start+%v, want start+12.999s", got)
		}
	default:
		t.Error("NewTimer's channel received nothing once the timer was due")
	}
	if c.waiting() != 0 {
		t.Errorf("%d NewTimer timers left", c.waiting())
	}
}
