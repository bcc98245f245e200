package agent

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gliderlabs/ssh"

	"github.com/pitstopci/pitstop/agent/term"
)

// TestOutputNeverWaitsOnTheScreen: with the emulator far behind (here: not
// fed at all), output still goes to the clients at once and the status
// answers; the backlog past maxFeed is dropped, and the redraw made once
// the emulator catches up says the screen may be incomplete.
func TestOutputNeverWaitsOnTheScreen(t *testing.T) {
	tm := &terminal{clock: realClock{now: time.Now}, scr: term.NewScreen(80, 24), fed: make(chan struct{}), size: ssh.Window{Width: 80, Height: 24}}
	tm.feedCond = sync.NewCond(&tm.mu)
	c := newTermClient("alice", false, ssh.Window{Width: 80, Height: 24}, time.Now())
	tm.clients = []*termClient{c}
	line := []byte(strings.Repeat("y", 79) + "\r\n")
	sent := 0
	for sent <= maxFeed+len(line) {
		tm.output(line)
		sent += len(line)
		c.dropPending() // a client that keeps up
	}
	if len(tm.info().Clients) != 1 {
		t.Fatal("no status while the emulator is behind")
	}
	tm.mu.Lock()
	queued, lost := tm.feedBytes, len(tm.feed) > 0 && tm.feed[0].lost
	tm.mu.Unlock()
	if queued > maxFeed || !lost {
		t.Fatalf("%d bytes queued for the emulator (at most %d), dropped backlog marked: %v", queued, maxFeed, lost)
	}
	// A client joins; the emulator catches up and draws its redraw.
	late := newTermClient("bob", false, ssh.Window{Width: 80, Height: 24}, time.Now())
	if !tm.attach(late, true, "joined", "") {
		t.Fatal("attach failed")
	}
	go tm.feeder()
	var got string
	if !eventually(10*time.Second, func() bool {
		late.mu.Lock()
		got = string(late.pending)
		late.mu.Unlock()
		return strings.Contains(got, "joined")
	}) {
		t.Fatal("no redraw for the client that joined")
	}
	if !strings.Contains(got, staleNote) || !strings.Contains(got, "yyyy") {
		t.Errorf("the redraw does not say the screen may be incomplete, or lacks the output: %q", trimQuote(got))
	}
	tm.closeFeed()
}

// trimQuote cuts s for a test's message.
func trimQuote(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}
