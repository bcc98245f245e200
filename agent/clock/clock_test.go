package clock

import (
	"slices"
	"testing"
	"time"
)

func TestFakeClock(t *testing.T) {
	c := NewFake()
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
	if c.Pending() != 0 {
		t.Errorf("%d timers left", c.Pending())
	}
	c.AfterFunc(0, at("now"))
	c.Advance(0)
	if fired[len(fired)-1] != "now@10.999s" {
		t.Errorf("a timer due at once: %v", fired)
	}

	ch, _ := c.NewTimer(2 * time.Second)
	_, stoppedCh := c.NewTimer(time.Second)
	if c.Waiting() != 2 || !stoppedCh.Stop() || c.Waiting() != 1 {
		t.Fatalf("NewTimer: %d waiting, want 1 after one of 2 was stopped", c.Waiting())
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
	if c.Waiting() != 0 {
		t.Errorf("%d NewTimer timers left", c.Waiting())
	}
}
