package limits

import (
	"runtime"
	"testing"
	"time"

	"github.com/pitstopci/pitstop/agent/clock"
)

// The agent's tests (its limits_test.go) drive the limiter through the
// SSH server with real clients; these test it alone, on the fake clock.

func TestLimiterFailureBudget(t *testing.T) {
	clk := clock.NewFake()
	l := New(10, clk)
	for i := range FailureBurst {
		if d, _ := l.Failed("192.0.2.1"); d != 0 {
			t.Fatalf("failure %d was held back %v; the budget is %d", i+1, d, FailureBurst)
		}
	}
	d, first := l.Failed("192.0.2.1")
	if d != FailurePenalty || !first {
		t.Fatalf("past the budget: %v, first %v; want %v, true", d, first, FailurePenalty)
	}
	if _, first := l.Failed("192.0.2.1"); first {
		t.Error("the second held-back failure was reported as the first")
	}
	if d, _ := l.Failed("192.0.2.2"); d != 0 {
		t.Errorf("another address was held back %v", d)
	}
	clk.Advance(3 * FailureRefill)
	for i := range 3 {
		if d, _ := l.Failed("192.0.2.1"); d != 0 {
			t.Errorf("after refilling 3, failure %d held back %v", i+1, d)
		}
	}
	if d, _ := l.Failed("192.0.2.1"); d == 0 {
		t.Error("the refill gave more than it should")
	}
}

// TestIdleMakesRoom: with MaxConnsPerCap times the cap open, a newcomer
// takes the place of the oldest idle connection, which is closed; its
// Place then says so.
func TestIdleMakesRoom(t *testing.T) {
	l := New(1, clock.NewFake())
	evicted := make([]bool, MaxConnsPerCap)
	var slots []*Slot
	for i := range MaxConnsPerCap {
		sl, why := l.Arrive("192.0.2.1", func() { evicted[i] = true })
		if why != "" {
			t.Fatalf("connection %d refused: %s", i+1, why)
		}
		slots = append(slots, sl)
	}
	if _, why := l.Arrive("192.0.2.2", func() {}); why != "" {
		t.Fatalf("the newcomer was refused: %s", why)
	}
	if !evicted[0] || evicted[1] {
		t.Errorf("closed to make room: %v; want the oldest only", evicted)
	}
	if why := l.Place(slots[0], time.Now(), time.Second); why != Evicted {
		t.Errorf("Place of the closed connection: %q, want %q", why, Evicted)
	}
}

// placeNow gives sl its place, which must be free.
func placeNow(t *testing.T, l *Limiter, clk *clock.Fake, sl *Slot) {
	t.Helper()
	if why := l.Place(sl, clk.Now(), time.Minute); why != "" {
		t.Fatalf("a first connection was held: %s", why)
	}
}

// queue queues sl for a place, and returns once it waits for one (on a
// timer of the fake clock), with the channel Place's answer comes on.
func queue(t *testing.T, l *Limiter, clk *clock.Fake, sl *Slot, wait time.Duration) <-chan string {
	t.Helper()
	placed := make(chan string, 1)
	go func() { placed <- l.Place(sl, clk.Now(), wait) }()
	deadline := time.Now().Add(10 * time.Second)
	for clk.Waiting() != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("%d connections waiting for a place, want 1", clk.Waiting())
		}
		runtime.Gosched()
	}
	return placed
}

// outcome is what Place answered, within 10s.
func outcome(t *testing.T, c <-chan string, what string) string {
	t.Helper()
	select {
	case why := <-c:
		return why
	case <-time.After(10 * time.Second):
		t.Fatalf("%s: no answer within 10s", what)
		return ""
	}
}

// takesPlaceAt checks that the queued connection gets its place after,
// by the fake clock, and not a moment before, and that the connection
// whose place it takes (closed is closed by its evict) is closed then.
func takesPlaceAt(t *testing.T, clk *clock.Fake, placed <-chan string, closed <-chan struct{}, after time.Duration) {
	t.Helper()
	clk.Advance(after - time.Millisecond)
	select {
	case why := <-placed:
		t.Fatalf("the queued connection had its answer (%q) %v early", why, time.Millisecond)
	case <-closed:
		t.Fatalf("a connection was closed %v early", time.Millisecond)
	default:
	}
	clk.Advance(time.Millisecond)
	if why := outcome(t, placed, "the queued connection"); why != "" {
		t.Fatalf("the queued connection after %v: %q, want its place", after, why)
	}
	select { // Place closes the connection it takes the place of before it returns
	case <-closed:
	default:
		t.Error("the connection whose place was taken was not closed")
	}
}

// TestStalledPlaceGoesToTheQueue: a connection that holds its place for
// StallAfter without finishing the key exchange gives it up to the next
// in the queue, and is closed; not a moment before.
func TestStalledPlaceGoesToTheQueue(t *testing.T) {
	clk := clock.NewFake()
	l := New(1, clk)
	closed := make(chan struct{})
	slow, _ := l.Arrive("192.0.2.1", func() { close(closed) })
	placeNow(t, l, clk, slow)
	next, _ := l.Arrive("192.0.2.1", func() { t.Error("the queued connection was closed") })
	takesPlaceAt(t, clk, queue(t, l, clk, next, time.Minute), closed, StallAfter)
	l.Release(next)
}

// TestVouchedKeepsItsPlace: of two connections that finished the key
// exchange and went silent, the one that offered an authorized key keeps
// its place (its user may be typing a passphrase); the other gives it up
// to the queue after KeyedIdleAfter, and is closed.
func TestVouchedKeepsItsPlace(t *testing.T) {
	clk := clock.NewFake()
	l := New(2, clk)
	typing, _ := l.Arrive("192.0.2.1", func() { t.Error("the vouched connection was closed") })
	silentClosed := make(chan struct{})
	silent, _ := l.Arrive("192.0.2.2", func() { close(silentClosed) })
	for _, sl := range []*Slot{typing, silent} {
		placeNow(t, l, clk, sl)
		l.Keyed(sl)
	}
	l.Vouched(typing)
	next, _ := l.Arrive("192.0.2.3", func() { t.Error("the queued connection was closed") })
	takesPlaceAt(t, clk, queue(t, l, clk, next, time.Minute), silentClosed, KeyedIdleAfter)
}

// TestCloseLetsTheQueueGo: once the pause is over, a queued connection
// is told so at once.
func TestCloseLetsTheQueueGo(t *testing.T) {
	clk := clock.NewFake()
	l := New(1, clk)
	first, _ := l.Arrive("192.0.2.1", func() {})
	placeNow(t, l, clk, first)
	next, _ := l.Arrive("192.0.2.1", func() {})
	placed := queue(t, l, clk, next, time.Minute)
	l.Close()
	if why := outcome(t, placed, "the queued connection"); why != "the pause is over" {
		t.Errorf("the queued connection: %q, want the pause is over", why)
	}
}
