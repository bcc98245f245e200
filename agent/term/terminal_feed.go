package term

import "github.com/gliderlabs/ssh"

// The emulator is fed by a goroutine of its own, the feeder, so that the
// shell's output never waits on it: the pump hands each read to the
// clients and appends it to the terminal's feed, a queue the feeder
// takes from, both under t.mu and neither waiting on the emulator. The
// feeder alone touches the screen, with t.mu released while the emulator
// works; status, signals, hang-ups and the pause's end take only t.mu.
//
// The screen is only read for redraws, and a redraw carries the output
// still queued, so the feeder is not woken for every read: only once a
// step of output (feedStep) is queued, or a redraw is wanted. A keystroke's
// echo then costs no wake-up of another goroutine, nor the emulator's
// work, while its bytes are on their way to the clients; at most a step
// of output waits in the queue.
//
// Redraws (for a client attaching, or one whose backlog overflowed) are
// made by the feeder too. A redraw is the screen as the emulator has it
// plus the output still queued for it, taken together under t.mu, and
// the client gets the live stream from there on: so it misses nothing
// and sees nothing twice, however far the emulator is behind.

// Feed limits.
const (
	// maxFeed is how much output may wait for the emulator. Beyond it
	// the emulator has fallen behind (output faster than it can follow,
	// or costly sequences): the backlog is dropped, the screen marked
	// stale, and a later redraw says so. The clients still get every
	// byte. vt v0.1.0 follows scrolling text at about 1 MB/s on a
	// runner's core, so this is a fraction of a second of output: more
	// would cost memory and show nothing more.
	maxFeed = 256 << 10
	// feedStep is how much output the emulator takes at a time, and how
	// much is queued before the feeder is woken: a client waiting for a
	// redraw waits for at most that much, and gets at most that much
	// more than the screen in its redraw when the terminal is quiet.
	feedStep = 4 << 10
)

// feedChunk is output queued for the emulator, or a new size.
type feedChunk struct {
	b    []byte
	win  ssh.Window // when b is nil: resize to it
	lost bool       // output before it was dropped
}

// pushFeedLocked queues output for the emulator, dropping the backlog
// when it is over maxFeed, and wakes the feeder once a step is queued.
// Output following output is appended to the same chunk: reads of a few
// bytes (keystrokes' echoes) then cost neither a chunk nor an allocation
// each. The feeder may still be reading the front of that chunk, but only
// up to its length when taken: appending writes past it.
func (t *Terminal) pushFeedLocked(b []byte) {
	if t.feedBytes+len(b) > maxFeed {
		kept := t.feed[:0]
		for _, o := range t.feed {
			if o.b == nil {
				kept = append(kept, o) // sizes stay, in order
			}
		}
		clear(t.feed[len(kept):])
		t.feed, t.feedBytes = kept, 0
		t.feed = append(t.feed, feedChunk{b: append([]byte(nil), b...), lost: true})
	} else if n := len(t.feed); n > 0 && t.feed[n-1].b != nil {
		t.feed[n-1].b = append(t.feed[n-1].b, b...)
	} else {
		t.feed = append(t.feed, feedChunk{b: append([]byte(nil), b...)})
	}
	t.feedBytes += len(b)
	if t.feedBytes >= feedStep {
		t.feedCond.Signal()
	}
}

// pushSizeLocked queues a resize of the emulator, in order with the
// output: what was written before it was written for the old size. It
// waits with the output: a redraw applies what is queued before it.
func (t *Terminal) pushSizeLocked(w ssh.Window) {
	t.feed = append(t.feed, feedChunk{win: w})
}

// wantRedrawLocked has the feeder redraw the screen for c, with note as
// its first line: c gets nothing else until then.
func (t *Terminal) wantRedrawLocked(c *Client, note string) {
	c.redraw, c.note = true, note
	c.dropPending()
	t.feedCond.Signal()
}

// feeder feeds the emulator until the terminal's output has ended
// (closeFeed), then draws the redraws still wanted and closes the screen.
func (t *Terminal) feeder() {
	defer close(t.fed)
	defer t.scr.Close()
	for {
		t.mu.Lock()
		for t.feedBytes < feedStep && !t.redrawsWantedLocked() && !t.feedClosed {
			t.feedCond.Wait()
		}
		if t.feedClosed {
			// The shell has exited: the rest is not worth the emulator's
			// time, but clients waiting for a redraw get one, with what
			// is queued (at the screen's size: sizes queued are dropped).
			data := t.feed[:0]
			for _, ch := range t.feed {
				if ch.b != nil {
					data = append(data, ch)
				}
			}
			t.feed = data
			t.mu.Unlock()
			t.drawRedraws()
			return
		}
		var ch feedChunk
		if len(t.feed) > 0 {
			ch = t.feed[0]
			if len(ch.b) > feedStep {
				t.feed[0].b = ch.b[feedStep:]
				t.feed[0].lost = false
				ch.b = ch.b[:feedStep:feedStep]
			} else {
				t.feed[0] = feedChunk{}
				t.feed = t.feed[1:]
			}
			t.feedBytes -= len(ch.b)
		}
		t.mu.Unlock()

		switch {
		case ch.b != nil:
			if ch.lost {
				t.scr.Stale = true
			}
			t.scr.Write(ch.b)
		case ch.win.Width > 0:
			t.scr.Resize(ch.win.Width, ch.win.Height)
		}

		t.drawRedraws()
	}
}

// closeFeed ends the feeder once the shell's output has ended, and waits
// for it: for the chunk it is on, not for the backlog.
func (t *Terminal) closeFeed() {
	t.mu.Lock()
	t.feedClosed = true
	t.feedCond.Signal()
	t.mu.Unlock()
	<-t.fed
}

func (t *Terminal) redrawsWantedLocked() bool {
	for _, c := range t.clients {
		if c.redraw {
			return true
		}
	}
	return false
}

// sizePendingLocked says a resize is queued: a redraw waits for it, so
// that a client joining with a smaller window gets the screen at its
// size.
func (t *Terminal) sizePendingLocked() bool {
	for _, ch := range t.feed {
		if ch.b == nil {
			return true
		}
	}
	return false
}

// drawRedraws gives each client waiting for a redraw the screen and the
// output queued after it. The screen is rendered with t.mu released (the
// feeder alone touches it), so that the status and the output do not wait
// on the rendering. That stays consistent: a client waiting for a redraw
// gets no output, so all that is queued when the redraw is handed over
// is what comes after the screen rendered. Only the feeder calls it.
func (t *Terminal) drawRedraws() {
	t.mu.Lock()
	var want []*Client
	var notes []string
	if !t.sizePendingLocked() {
		for _, c := range t.clients {
			if c.redraw {
				want, notes = append(want, c), append(notes, c.note)
			}
		}
	}
	t.mu.Unlock()
	if len(want) == 0 {
		return
	}
	draws := make([][]byte, len(want))
	for i, note := range notes {
		if t.scr.Stale && note != "" {
			note += "\r\n" + staleNote
		}
		draws[i] = t.scr.Render(note)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.sizePendingLocked() {
		return // the screen is to change size first: drawn again after
	}
	var queued []byte
	for _, ch := range t.feed {
		queued = append(queued, ch.b...)
	}
	for i, c := range want {
		if c.redraw {
			c.redraw, c.note = false, ""
			c.Put(append(draws[i], queued...))
		}
	}
}

// staleNote is shown with a redraw of a screen the emulator could not
// follow.
const staleNote = "pitstop: output came faster than the screen could be kept; it may be incomplete (Ctrl-L redraws)."
