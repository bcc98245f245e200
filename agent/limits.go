package agent

import (
	"net"
	"slices"
	"sync"
	"time"

	"github.com/pitstopci/pitstop/agent/clock"
)

// Limits on connections that have not logged in yet. A key cannot be
// guessed, so they guard the runner's resources (each handshake costs a
// key exchange, each open connection memory) and keep the job log
// readable, not the login itself. None of them can keep out the user who
// holds an authorized key, however many idle or slow connections others
// open:
//
//   - a connection gets Config.MaxAuthTries failed attempts, then it is
//     closed (the client opens another);
//   - a connection that has not logged in after Config.LoginGraceTime is
//     closed;
//   - a connection goes through three stages before it logs in. It
//     arrives, and the server sends its version line at once. SSH clients
//     send their own as soon as they connect; until it has come, the
//     connection is idle. At most maxConnsPerCap times the total
//     cap are open, and a newcomer takes the place of the oldest idle one
//     when they are all taken: flooding with idle connections only
//     closes idle connections;
//   - with the client's version line in, it queues for a place in the key
//     exchange. At most Config.MaxUnauthenticated connections, and
//     perAddrUnauthenticated from one address, may be exchanging keys or
//     authenticating; the queue is served in order within an address, and
//     addresses take turns (the one served longest ago goes first), so
//     parallel scp, a script or everyone behind a relay (who all come from
//     its address) is served in turn rather than refused, and a queue
//     filled from other addresses does not hold the user up. A connection
//     waits there at most half its LoginGraceTime;
//   - a connection that has had its place for stallAfter without finishing
//     the key exchange (a real client needs a few round trips) gives it up
//     to the next in the queue. One that finished the key exchange gives
//     it up only after keyedIdleAfter without an authentication request,
//     and never once it offered an authorized key: its user may be typing
//     the key's passphrase;
//   - each address has a budget of failures (a token bucket: failureBurst,
//     refilled by one every failureRefill). Past it, every further refused
//     key is answered only after failurePenalty, which slows a scan from
//     that address down without refusing anything: an authorized key is
//     never delayed.
const (
	perAddrUnauthenticated = 10
	failureBurst           = 20
	failureRefill          = time.Second
	failurePenalty         = 500 * time.Millisecond
	// maxConnsPerCap bounds all connections not logged in, as a multiple
	// of the total cap: room for a burst of parallel connections (50 at
	// once through a relay), bounded for a flood.
	maxConnsPerCap = 5
	// stallAfter is how long a connection may hold a place in the key
	// exchange without finishing it while others wait.
	stallAfter = time.Second
	// keyedIdleAfter is how long a connection in authentication may be
	// silent while others wait. It allows for a client that reads a
	// passphrase before it offers its key.
	keyedIdleAfter = 5 * time.Second
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

// limiter counts connections that have not logged in, and failures, by
// address.
type limiter struct {
	maxUnauth int
	perAddr   int
	maxConns  int
	clock     clock.Clock // Config.clock: stalls, waits and the failure budget keep its time

	mu      sync.Mutex
	placed  int           // connections placed or keyed
	conns   []*slot       // every connection not logged in, in arrival order
	queue   []*slot       // stageQueued, in order
	changed chan struct{} // closed, and replaced, whenever a place may have come free
	closed  chan struct{} // closed when the server shuts down
	closing sync.Once
	addrs   map[string]*addrState
}

// slot is one connection that has not logged in yet.
type slot struct {
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

func newLimiter(cfg Config) *limiter {
	return &limiter{
		maxUnauth: cfg.MaxUnauthenticated,
		perAddr:   min(perAddrUnauthenticated, cfg.MaxUnauthenticated),
		maxConns:  maxConnsPerCap * cfg.MaxUnauthenticated,
		clock:     cfg.clock(),
		changed:   make(chan struct{}),
		closed:    make(chan struct{}),
		addrs:     map[string]*addrState{},
	}
}

// close lets every queued connection go (refused): the pause is over.
func (l *limiter) close() { l.closing.Do(func() { close(l.closed) }) }

// hostOf is the address part of a remote address: limits apply to a
// host, whatever source port it uses.
func hostOf(a net.Addr) string {
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
func (l *limiter) stateLocked(host string) *addrState {
	now := l.clock.Now()
	st, ok := l.addrs[host]
	if !ok {
		if len(l.addrs) >= maxTrackedAddrs {
			l.pruneLocked()
		}
		st = &addrState{tokens: failureBurst, at: now}
		l.addrs[host] = st
		return st
	}
	st.tokens = min(failureBurst, st.tokens+float64(now.Sub(st.at))/float64(failureRefill))
	st.at = now
	return st
}

// pruneLocked forgets addresses with nothing placed, and then, if the
// table is still full, everything: a flood of addresses must not grow
// memory without bound, and forgetting only makes the limits milder.
func (l *limiter) pruneLocked() {
	for h, st := range l.addrs {
		if st.placed == 0 {
			delete(l.addrs, h)
		}
	}
	if len(l.addrs) >= maxTrackedAddrs {
		clear(l.addrs)
	}
}

// arrive counts a new connection from host. When maxConns are open, the
// oldest idle one is closed (evict) to make room; when none is idle, the
// newcomer is refused, with the reason.
func (l *limiter) arrive(host string, evict func()) (*slot, string) {
	var victim *slot
	defer func() {
		if victim != nil {
			victim.evict() // outside the lock: it closes a connection
		}
	}()
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.conns) >= l.maxConns {
		i := slices.IndexFunc(l.conns, func(s *slot) bool { return s.stage == stageIdle })
		if i < 0 {
			return nil, "too many connections waiting to log in"
		}
		victim = l.conns[i]
		l.releaseLocked(victim)
	}
	sl := &slot{host: host, evict: evict, stage: stageIdle, since: l.clock.Now()}
	l.conns = append(l.conns, sl)
	return sl, ""
}

// evictedWhy is place's answer for a connection closed to make room,
// which evict has logged already.
const evictedWhy = "closed to make room"

// place queues sl, whose client has sent its version line, for a place in
// the key exchange, and waits for it until wait after start (by the
// limiter's clock). It returns why it gave up, or "" once sl has its
// place.
func (l *limiter) place(sl *slot, start time.Time, wait time.Duration) string {
	deadline := start.Add(wait)
	var victims []*slot
	evictAll := func() {
		for _, v := range victims {
			v.evict() // outside the lock: it closes a connection
		}
		victims = nil
	}
	l.mu.Lock()
	if sl.done {
		l.mu.Unlock()
		return evictedWhy
	}
	sl.stage, sl.since = stageQueued, l.clock.Now()
	l.queue = append(l.queue, sl)
	for {
		victims = l.dispatchLocked(victims)
		if sl.stage != stageQueued {
			l.mu.Unlock()
			evictAll()
			if sl.done {
				return evictedWhy
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
func (l *limiter) dispatchLocked(victims []*slot) []*slot {
	now := l.clock.Now()
	for {
		// Addresses take turns: the next place goes to the first queued
		// connection of the address served longest ago (or never), so
		// a queue filled from other addresses does not hold up the user.
		// From one address, connections are served in order.
		next, nextVictim := -1, (*slot)(nil)
		var nextServed time.Time
		for i, q := range l.queue {
			st := l.stateLocked(q.host)
			if next >= 0 && !st.served.Before(nextServed) {
				continue
			}
			var victim *slot
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
// without finishing the key exchange, for stallAfter or more; else the
// one in authentication that has been silent longest, for keyedIdleAfter
// or more, unless it offered an authorized key.
func (l *limiter) stalledLocked(host string, now time.Time) *slot {
	var oldest *slot
	for _, s := range l.conns {
		if s.stage == stagePlaced && (host == "" || s.host == host) && now.Sub(s.since) >= stallAfter &&
			(oldest == nil || s.since.Before(oldest.since)) {
			oldest = s
		}
	}
	if oldest != nil {
		return oldest
	}
	for _, s := range l.conns {
		if s.stage == stageKeyed && !s.vouched && (host == "" || s.host == host) && now.Sub(s.since) >= keyedIdleAfter &&
			(oldest == nil || s.since.Before(oldest.since)) {
			oldest = s
		}
	}
	return oldest
}

// nextStallLocked is when the next connection stalls (stalledLocked).
func (l *limiter) nextStallLocked() (time.Time, bool) {
	var next time.Time
	for _, s := range l.conns {
		var at time.Time
		switch {
		case s.stage == stagePlaced:
			at = s.since.Add(stallAfter)
		case s.stage == stageKeyed && !s.vouched:
			at = s.since.Add(keyedIdleAfter)
		default:
			continue
		}
		if next.IsZero() || at.Before(next) {
			next = at
		}
	}
	return next, !next.IsZero()
}

func (l *limiter) dropQueuedLocked(sl *slot) {
	if i := slices.Index(l.queue, sl); i >= 0 {
		l.queue = slices.Delete(l.queue, i, i+1)
	}
}

// keyed records that sl finished the key exchange, or, called again,
// made an authentication request: from now on it is closed to make room
// for another only after keyedIdleAfter of silence.
func (l *limiter) keyed(sl *slot) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if sl != nil && !sl.done && (sl.stage == stagePlaced || sl.stage == stageKeyed) {
		sl.stage, sl.since = stageKeyed, l.clock.Now()
	}
}

// vouched records that sl offered an authorized key: it is never closed
// to make room, as its user may be typing the key's passphrase.
func (l *limiter) vouched(sl *slot) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if sl != nil {
		sl.vouched = true
	}
}

// release forgets a connection arrive counted: it logged in, or closed
// without. Queued connections are woken to take its place. It may be
// called more than once.
func (l *limiter) release(sl *slot) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.releaseLocked(sl)
}

func (l *limiter) releaseLocked(sl *slot) {
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

// failed records a failed attempt from host and returns how long its
// answer is to be held back; first is true when host has just run out of
// its budget, so the log can say so once rather than every time.
func (l *limiter) failed(host string) (delay time.Duration, first bool) {
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
	return failurePenalty, first
}
