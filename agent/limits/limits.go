package limits

import (
	"net"
	"slices"
	"sync"
	"time"

	"github.com/pitstopci/pitstop/agent/clock"
)

// The limits on connections that have not logged in yet. A key cannot be
// guessed, so they guard the runner's resources (each handshake costs a
// key exchange, each open connection memory) and keep the job log
// readable, not the login itself. None of them can keep out the user who
// holds an authorized key, however many idle or slow connections others
// open:
//
//   - a connection gets the agent's Config.MaxAuthTries failed attempts,
//     then it is closed (the client opens another; the agent counts them);
//   - a connection that has not logged in after Config.LoginGraceTime is
//     closed (the agent's timer too);
//   - a connection goes through three stages before it logs in. It
//     arrives, and the server sends its version line at once. SSH clients
//     send their own as soon as they connect; until it has come, the
//     connection is idle. At most MaxConnsPerCap times the total
//     cap are open, and a newcomer takes the place of the oldest idle one
//     when they are all taken: flooding with idle connections only
//     closes idle connections;
//   - with the client's version line in, it queues for a place in the key
//     exchange. At most Config.MaxUnauthenticated connections, and
//     PerAddr from one address, may be exchanging keys or
//     authenticating; the queue is served in order within an address, and
//     addresses take turns (the one served longest ago goes first), so
//     parallel scp, a script or everyone behind a relay (who all come from
//     its address) is served in turn rather than refused, and a queue
//     filled from other addresses does not hold the user up. A connection
//     waits there at most half its LoginGraceTime;
//   - a connection that has had its place for StallAfter without finishing
//     the key exchange (a real client needs a few round trips) gives it up
//     to the next in the queue. One that finished the key exchange gives
//     it up only after KeyedIdleAfter without an authentication request,
//     and never once it offered an authorized key: its user may be typing
//     the key's passphrase;
//   - each address has a budget of failures (a token bucket: FailureBurst,
//     refilled by one every FailureRefill). Past it, every further refused
//     key is answered only after FailurePenalty, which slows a scan from
//     that address down without refusing anything: an authorized key is
//     never delayed.
const (
	// PerAddr bounds the connections from one address placed in the key
	// exchange or authenticating (less when the total cap is lower).
	PerAddr = 10
	// FailureBurst is an address's budget of failures, refilled by one
	// every FailureRefill; past it each failure is answered after
	// FailurePenalty.
	FailureBurst   = 20
	FailureRefill  = time.Second
	FailurePenalty = 500 * time.Millisecond
	// MaxConnsPerCap bounds all connections not logged in, as a multiple
	// of the total cap: room for a burst of parallel connections (50 at
	// once through a relay), bounded for a flood.
	MaxConnsPerCap = 5
	// StallAfter is how long a connection may hold a place in the key
	// exchange without finishing it while others wait.
	StallAfter = time.Second
	// KeyedIdleAfter is how long a connection in authentication may be
	// silent while others wait. It allows for a client that reads a
	// passphrase before it offers its key.
	KeyedIdleAfter = 5 * time.Second
	// maxTrackedAddrs bounds the per-address table; idle entries are
	// dropped first.
	maxTrackedAddrs = 4096
)

// Stages of a connection that has not logged in.
const (
	stageIdle   = iota // connected, no version line from the client yet
	stageQueued        // waiting for a place in the key exchange
	stagePlaced        // exchanging keys
	stageKeyed         // key exchange done: authenticating
)

// Limiter counts connections that have not logged in, and failures, by
// address. It is safe for concurrent use.
type Limiter struct {
	maxUnauth int
	perAddr   int
	maxConns  int
	clock     clock.Clock // stalls, waits and the failure budget keep its time

	mu      sync.Mutex
	placed  int           // connections placed or keyed
	conns   []*Slot       // every connection not logged in, in arrival order
	queue   []*Slot       // stageQueued, in order
	changed chan struct{} // closed, and replaced, whenever a place may have come free
	closed  chan struct{} // closed when the server shuts down
	closing sync.Once
	addrs   map[string]*addrState
}

// Slot is one connection that has not logged in yet, as Arrive counted
// it; the caller hands it back to the other methods.
type Slot struct {
	host  string
	evict func() // closes the connection, to make room for another
	stage int
	since time.Time // when it reached its stage, or was last active (by the limiter's clock)
	// vouched: it offered an authorized key (an unproven one: the public
	// halves of a forge user's keys are public).
	vouched bool
	done    bool // released: logged in, closed or evicted
}

// addrState is what the limiter knows about one source address.
type addrState struct {
	placed int       // connections from it placed or keyed
	served time.Time // when a connection from it last got a place
	tokens float64   // failures it may still have before it is slowed
	at     time.Time // when tokens was last refilled
	slowed bool      // its failures are being held back
}

// New is a Limiter that lets maxUnauth connections (the agent's
// Config.MaxUnauthenticated) into the key exchange and authentication at
// once; stalls, waits and the failure budget keep clk's time.
func New(maxUnauth int, clk clock.Clock) *Limiter {
	return &Limiter{
		maxUnauth: maxUnauth,
		perAddr:   min(PerAddr, maxUnauth),
		maxConns:  MaxConnsPerCap * maxUnauth,
		clock:     clk,
		changed:   make(chan struct{}),
		closed:    make(chan struct{}),
		addrs:     map[string]*addrState{},
	}
}

// Close lets every queued connection go (refused): the pause is over.
func (l *Limiter) Close() { l.closing.Do(func() { close(l.closed) }) }

// HostOf is the address part of a remote address: limits apply to a
// host, whatever source port it uses.
func HostOf(a net.Addr) string {
	if a == nil {
		return ""
	}
	h, _, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	return h
}

// stateLocked returns host's entry, refilled to now.
func (l *Limiter) stateLocked(host string) *addrState {
	now := l.clock.Now()
	st, ok := l.addrs[host]
	if !ok {
		if len(l.addrs) >= maxTrackedAddrs {
			l.pruneLocked()
		}
		st = &addrState{tokens: FailureBurst, at: now}
		l.addrs[host] = st
		return st
	}
	st.tokens = min(FailureBurst, st.tokens+float64(now.Sub(st.at))/float64(FailureRefill))
	st.at = now
	return st
}

// pruneLocked forgets addresses with nothing placed, and then, if the
// table is still full, everything: a flood of addresses must not grow
// memory without bound, and forgetting only makes the limits milder.
func (l *Limiter) pruneLocked() {
	for h, st := range l.addrs {
		if st.placed == 0 {
			delete(l.addrs, h)
		}
	}
	if len(l.addrs) >= maxTrackedAddrs {
		clear(l.addrs)
	}
}

// Arrive counts a new connection from host. When maxConns are open, the
// oldest idle one is closed (evict) to make room; when none is idle, the
// newcomer is refused, with the reason.
func (l *Limiter) Arrive(host string, evict func()) (*Slot, string) {
	var victim *Slot
	defer func() {
		if victim != nil {
			victim.evict() // outside the lock: it closes a connection
		}
	}()
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.conns) >= l.maxConns {
		i := slices.IndexFunc(l.conns, func(s *Slot) bool { return s.stage == stageIdle })
		if i < 0 {
			return nil, "too many connections waiting to log in"
		}
		victim = l.conns[i]
		l.releaseLocked(victim)
	}
	sl := &Slot{host: host, evict: evict, stage: stageIdle, since: l.clock.Now()}
	l.conns = append(l.conns, sl)
	return sl, ""
}

// Evicted is Place's answer for a connection closed to make room,
// which its evict function has logged already.
const Evicted = "closed to make room"

// Place queues sl, whose client has sent its version line, for a place in
// the key exchange, and waits for it until wait after start (by the
// Limiter's clock). It returns why it gave up, or "" once sl has its
// place.
func (l *Limiter) Place(sl *Slot, start time.Time, wait time.Duration) string {
	deadline := start.Add(wait)
	var victims []*Slot
	evictAll := func() {
		for _, v := range victims {
			v.evict() // outside the lock: it closes a connection
		}
		victims = nil
	}
	l.mu.Lock()
	if sl.done {
		l.mu.Unlock()
		return Evicted
	}
	sl.stage, sl.since = stageQueued, l.clock.Now()
	l.queue = append(l.queue, sl)
	for {
		victims = l.dispatchLocked(victims)
		if sl.stage != stageQueued {
			l.mu.Unlock()
			evictAll()
			if sl.done {
				return Evicted
			}
			return ""
		}
		why := "too many connections waiting to log in"
		if st := l.stateLocked(sl.host); st.placed >= l.perAddr {
			why = "too many connections from this address waiting to log in"
		}
		// Wake up when a place frees up, or when a placed connection
		// stalls and its place may be taken.
		wake := deadline
		if t, ok := l.nextStallLocked(); ok && t.Before(wake) {
			wake = t
		}
		changed := l.changed
		l.mu.Unlock()
		evictAll()
		fired, timer := l.clock.NewTimer(max(wake.Sub(l.clock.Now()), time.Millisecond))
		var closed bool
		select {
		case <-changed:
		case <-fired:
		case <-l.closed:
			closed = true
		}
		timer.Stop()
		l.mu.Lock()
		if sl.stage != stageQueued {
			continue // placed, or evicted, meanwhile
		}
		switch {
		case closed:
			why = "the pause is over"
		case !l.clock.Now().Before(deadline):
			why += " for " + wait.String()
		default:
			continue
		}
		l.dropQueuedLocked(sl)
		l.mu.Unlock()
		return why
	}
}

// dispatchLocked gives places to queued connections, in order, each one
// either a free place or that of a stalled connection, which it appends
// to victims for the caller to close once unlocked.
func (l *Limiter) dispatchLocked(victims []*Slot) []*Slot {
	now := l.clock.Now()
	for {
		// Addresses take turns: the next place goes to the first queued
		// connection of the address served longest ago (or never), so
		// a queue filled from other addresses does not hold up the user.
		// From one address, connections are served in order.
		next, nextVictim := -1, (*Slot)(nil)
		var nextServed time.Time
		for i, q := range l.queue {
			st := l.stateLocked(q.host)
			if next >= 0 && !st.served.Before(nextServed) {
				continue
			}
			var victim *Slot
			if st.placed >= l.perAddr || l.placed >= l.maxUnauth {
				// Only a stalled place can make room: from the same
				// address when the address is at its cap.
				from := ""
				if st.placed >= l.perAddr {
					from = q.host
				}
				if victim = l.stalledLocked(from, now); victim == nil {
					continue
				}
			}
			next, nextVictim, nextServed = i, victim, st.served
		}
		if next < 0 {
			return victims
		}
		if nextVictim != nil {
			l.releaseLocked(nextVictim)
			victims = append(victims, nextVictim)
		}
		q := l.queue[next]
		l.queue = slices.Delete(l.queue, next, next+1)
		q.stage, q.since = stagePlaced, now
		l.placed++
		st := l.stateLocked(q.host)
		st.placed++
		st.served = now
	}
}

// stalledLocked is the connection whose place may go to another, from
// host if host is not empty: first the one that has held a place longest
// without finishing the key exchange, for StallAfter or more; else the
// one in authentication that has been silent longest, for KeyedIdleAfter
// or more, unless it offered an authorized key.
func (l *Limiter) stalledLocked(host string, now time.Time) *Slot {
	var oldest *Slot
	for _, s := range l.conns {
		if s.stage == stagePlaced && (host == "" || s.host == host) && now.Sub(s.since) >= StallAfter &&
			(oldest == nil || s.since.Before(oldest.since)) {
			oldest = s
		}
	}
	if oldest != nil {
		return oldest
	}
	for _, s := range l.conns {
		if s.stage == stageKeyed && !s.vouched && (host == "" || s.host == host) && now.Sub(s.since) >= KeyedIdleAfter &&
			(oldest == nil || s.since.Before(oldest.since)) {
			oldest = s
		}
	}
	return oldest
}

// nextStallLocked is when the next connection stalls (stalledLocked).
func (l *Limiter) nextStallLocked() (time.Time, bool) {
	var next time.Time
	for _, s := range l.conns {
		var at time.Time
		switch {
		case s.stage == stagePlaced:
			at = s.since.Add(StallAfter)
		case s.stage == stageKeyed && !s.vouched:
			at = s.since.Add(KeyedIdleAfter)
		default:
			continue
		}
		if next.IsZero() || at.Before(next) {
			next = at
		}
	}
	return next, !next.IsZero()
}

func (l *Limiter) dropQueuedLocked(sl *Slot) {
	if i := slices.Index(l.queue, sl); i >= 0 {
		l.queue = slices.Delete(l.queue, i, i+1)
	}
}

// Keyed records that sl finished the key exchange, or, called again,
// made an authentication request: from now on it is closed to make room
// for another only after KeyedIdleAfter of silence.
func (l *Limiter) Keyed(sl *Slot) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if sl != nil && !sl.done && (sl.stage == stagePlaced || sl.stage == stageKeyed) {
		sl.stage, sl.since = stageKeyed, l.clock.Now()
	}
}

// Vouched records that sl offered an authorized key: it is never closed
// to make room, as its user may be typing the key's passphrase.
func (l *Limiter) Vouched(sl *Slot) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if sl != nil {
		sl.vouched = true
	}
}

// Release forgets a connection Arrive counted: it logged in, or closed
// without. Queued connections are woken to take its place. It may be
// called more than once.
func (l *Limiter) Release(sl *Slot) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.releaseLocked(sl)
}

func (l *Limiter) releaseLocked(sl *Slot) {
	if sl == nil || sl.done {
		return
	}
	sl.done = true
	if sl.stage == stagePlaced || sl.stage == stageKeyed {
		l.placed--
		if st, ok := l.addrs[sl.host]; ok && st.placed > 0 {
			st.placed--
		}
	}
	if i := slices.Index(l.conns, sl); i >= 0 {
		l.conns = slices.Delete(l.conns, i, i+1)
	}
	l.dropQueuedLocked(sl)
	close(l.changed)
	l.changed = make(chan struct{})
}

// Failed records a failed attempt from host and returns how long its
// answer is to be held back; first is true when host has just run out of
// its budget, so the log can say so once rather than every time.
func (l *Limiter) Failed(host string) (delay time.Duration, first bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	st := l.stateLocked(host)
	if st.tokens >= 1 {
		st.tokens--
		st.slowed = false
		return 0, false
	}
	first = !st.slowed
	st.slowed = true
	return FailurePenalty, first
}
