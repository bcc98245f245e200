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
	// must then ignore the stale call itself.
	lateStops bool
}

type fakeTimer struct {
	c   *fakeClock
	at  time.Time
	seq int
	f   func()
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
	t := &fakeTimer{c: c, at: c.now.Add(d), seq: c.seq, f: f}
	c.timers = append(c.timers, t)
	return t
}

func (t *fakeTimer) Stop() bool {
	c := t.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.lateStops {
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
		c.mu.Unlock()
		t.f() // unlocked: f may arm or stop timers
	}
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
}
