package term

import (
	"io"
	"time"
)

// The pump writes a lone client's output itself when that client is
// keeping up, rather than queueing it for the client's writer (Client.Serve):
// waking that goroutine wakes a second thread for every echo, and the
// bench measured that hand-off as most of what a shell on a terminal
// added to the echo's round trip (docs/performance.md). Queueing stays
// for everything else: more than one client, a client with a backlog or
// waiting for a redraw, and output of more than maxInline bytes.
//
// A write to a connection can stall (a client that stopped reading, a
// network gone quiet), and a stalled pump would hold up the shell and
// any client who joins. So a write the pump began is watched: when it
// has lasted stallAfter, when someone attaches, or when the shell has
// exited, a new pump takes over reading the pty, and the stalled one
// ends once its write returns. The client's later output queues behind
// that write (its writer is busy until then), in order.

const (
	// maxInline is the most output the pump writes to a client itself:
	// echoes, prompts and short lines, not a burst.
	maxInline = 4 << 10
	// stallAfter is how long a write by the pump may take before another
	// pump takes over reading the pty.
	stallAfter = time.Second
)

// inlineLocked claims the lone client for the pump to write n bytes to,
// if it is keeping up; with t.mu held.
func (t *Terminal) inlineLocked(n int) (*Client, io.Writer) {
	if len(t.clients) != 1 || n > maxInline {
		return nil, nil
	}
	c := t.clients[0]
	if c.redraw {
		return nil, nil
	}
	w, ok := c.claimInline()
	if !ok {
		return nil, nil
	}
	t.inlineSince = t.active
	if t.stallTimer == nil {
		// One timer at a time, armed at most once per stallAfter: not one
		// per keystroke, each of which could wake the runtime's poller.
		t.stallTimer = t.clock.AfterFunc(stallAfter, t.checkStall)
	}
	return c, w
}

// inlineDone ends pump gen's write to a client. It returns false when
// another pump has taken over meanwhile: gen is then to end.
func (t *Terminal) inlineDone(gen int) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if gen != t.pumpGen {
		return false
	}
	t.inlineSince = time.Time{}
	return true
}

// checkStall runs stallAfter after a write by the pump began: a write
// still under way since then is taken over; a later one is watched anew.
func (t *Terminal) checkStall() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.stallTimer = nil
	if t.inlineSince.IsZero() {
		return
	}
	if left := stallAfter - t.clock.Now().Sub(t.inlineSince); left > 0 {
		t.stallTimer = t.clock.AfterFunc(left, t.checkStall)
		return
	}
	t.takeOverLocked()
}

// takeOverLocked starts a new pump when the current one is writing to a
// client; with t.mu held.
func (t *Terminal) takeOverLocked() {
	if t.inlineSince.IsZero() {
		return
	}
	t.inlineSince = time.Time{}
	t.pumpGen++
	go t.pump(t.pumpGen)
}
