package term

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gliderlabs/ssh"

	"github.com/pitstopci/pitstop/agent/clock"
	"github.com/pitstopci/pitstop/internal/testutil"
)

// TestOutputNeverWaitsOnTheScreen: with the emulator far behind (here: not
// fed at all), output still goes to the clients at once and the status
// answers; the backlog past maxFeed is dropped, and the redraw made once
// the emulator catches up says the screen may be incomplete.
func TestOutputNeverWaitsOnTheScreen(t *testing.T) {
	tm := &Terminal{clock: clock.Real(time.Now), scr: NewScreen(80, 24), fed: make(chan struct{}), size: ssh.Window{Width: 80, Height: 24}}
	tm.feedCond = sync.NewCond(&tm.mu)
	c := NewClient("alice", false, ssh.Window{Width: 80, Height: 24}, time.Now(), nil)
	tm.clients = []*Client{c}
	line := []byte(strings.Repeat("y", 79) + "\r\n")
	sent := 0
	for sent <= maxFeed+len(line) {
		tm.output(line)
		sent += len(line)
		c.dropPending() // a client that keeps up
	}
	if len(tm.Info().Clients) != 1 {
		t.Fatal("no status while the emulator is behind")
	}
	tm.mu.Lock()
	queued, lost := tm.feedBytes, len(tm.feed) > 0 && tm.feed[0].lost
	tm.mu.Unlock()
	if queued > maxFeed || !lost {
		t.Fatalf("%d bytes queued for the emulator (at most %d), dropped backlog marked: %v", queued, maxFeed, lost)
	}
	// A client joins; the emulator catches up and draws its redraw.
	late := NewClient("bob", false, ssh.Window{Width: 80, Height: 24}, time.Now(), nil)
	if !tm.Attach(late, true, "joined", "") {
		t.Fatal("attach failed")
	}
	go tm.feeder()
	got := redrawFor(t, late, "joined")
	if !strings.Contains(got, staleNote) || !strings.Contains(got, "yyyy") {
		t.Errorf("the redraw does not say the screen may be incomplete, or lacks the output: %q", trimQuote([]byte(got)))
	}
	tm.closeFeed()
}

// TestEchoQueuedWithoutWork: a keystroke's echo, a read of a byte, is
// queued for the client and the emulator without an allocation of its
// own, and the feeder is left alone until a step of output is queued or
// a redraw is wanted; the redraw shows all of it.
func TestEchoQueuedWithoutWork(t *testing.T) {
	tm := &Terminal{clock: clock.Real(time.Now), scr: NewScreen(80, 24), fed: make(chan struct{}), size: ssh.Window{Width: 80, Height: 24}}
	tm.feedCond = sync.NewCond(&tm.mu)
	c := NewClient("alice", false, ssh.Window{Width: 80, Height: 24}, time.Now(), nil)
	tm.clients = []*Client{c}
	go tm.feeder()
	defer tm.closeFeed()

	// The writer is not running: the client's backlog grows, in place.
	const keys = 1000
	allocs := testing.AllocsPerRun(keys, func() { tm.output([]byte("x")) })
	if allocs > 0.1 {
		t.Errorf("%.2f allocations per echo, want (almost) none", allocs)
	}
	tm.mu.Lock()
	chunks, queued := len(tm.feed), tm.feedBytes
	tm.mu.Unlock()
	if chunks != 1 || queued != keys+1 { // AllocsPerRun runs it once more first
		t.Fatalf("%d echoes queued for the emulator as %d chunks of %d bytes, want one", keys+1, chunks, queued)
	}

	// A client joining gets the screen and what is still queued.
	late := NewClient("bob", true, ssh.Window{Width: 80, Height: 24}, time.Now(), nil)
	if !tm.Attach(late, true, "joined", "") {
		t.Fatal("attach failed")
	}
	got := redrawFor(t, late, "joined")
	if n := strings.Count(got, "x"); n != keys+1 {
		t.Errorf("the redraw shows %d of the %d echoes: %q", n, keys+1, trimQuote([]byte(got)))
	}

	// A step of output wakes the feeder, which leaves less than a step.
	tm.output([]byte(strings.Repeat("y", feedStep)))
	if !testutil.Eventually(10*time.Second, func() bool {
		tm.mu.Lock()
		defer tm.mu.Unlock()
		return tm.feedBytes < feedStep
	}) {
		t.Fatal("a step of output queued, and the feeder never took it")
	}
}

// redrawFor waits for the redraw of c, whose note is note, and returns
// all c was sent.
func redrawFor(t *testing.T, c *Client, note string) string {
	t.Helper()
	var got string
	if !testutil.Eventually(10*time.Second, func() bool {
		c.mu.Lock()
		got = string(c.pending)
		c.mu.Unlock()
		return strings.Contains(got, note)
	}) {
		t.Fatalf("no redraw for %s", c.user)
	}
	return got
}
