package agent

import (
	"net"
	"sync"
	"time"
)

// Limits on connections that have not logged in yet. A key cannot be
// guessed, so they guard the runner's resources (each handshake costs a
// key exchange, each open connection memory) and keep the job log
// readable, not the login itself. None of them can keep out the user who
// holds an authorized key:
//
//   - a connection gets Config.MaxAuthTries failed attempts, then it is
//     closed (the client opens another);
//   - a connection that has not logged in after Config.LoginGraceTime is
//     closed;
//   - at most Config.MaxUnauthenticated connections, and at most
//     perAddrUnauthenticated from one address, may be in the middle of
//     logging in, so a flood from one address leaves room for everyone
//     else. A connection over a cap is not closed but held, before any
//     key exchange, until a place frees up or half its LoginGraceTime has
//     passed (it keeps the other half to log in): a client that opens many connections at once (parallel scp, a
//     script, everyone behind a relay, who all come from its loopback
//     address) is served in turn rather than refused;
//   - when heldPerCap times the total cap are held, a new one takes
//     the place of the oldest connection that has not logged in (from the
//     same address when that address is over its cap), which is closed.
//     A real client logs in within milliseconds, so it is never the
//     oldest for long: connections that sit idle to fill the caps cannot
//     keep anyone out, whereas closing the newest would let them;
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
	// heldPerCap sizes the queue of held connections, as a multiple of
	// the total cap: room for a burst of parallel connections (50 at once
	// through a relay), bounded for a flood.
	heldPerCap = 4
	// maxTrackedAddrs bounds the per-address table; idle entries are
	// dropped first.
	maxTrackedAddrs = 4096
)

// limiter counts unauthenticated connections and failures by address.
type limiter struct {
	maxUnauth int
	perAddr   int
	now       func() time.Time

	mu      sync.Mutex
	unauth  int
	pending []*slot       // connections admitted and not logged in, oldest first
	held    int           // connections waiting in admit for a place
	freed   chan struct{} // closed, and replaced, whenever a place frees up
	closed  chan struct{} // closed when the server shuts down
	closing sync.Once
	addrs   map[string]*addrState
}

// slot is the place of one connection that has not logged in yet.
type slot struct {
	host  string
	evict func() // closes the connection, to make room for a newer one
	done  bool   // released: logged in, closed or evicted
}

// addrState is what the limiter knows about one source address.
type addrState struct {
	unauth int       // connections from it not logged in yet
	tokens float64   // failures it may still have before it is slowed
	at     time.Time // when tokens was last refilled
	slowed bool      // its failures are being held back
}

func newLimiter(cfg Config) *limiter {
	return &limiter{
		maxUnauth: cfg.MaxUnauthenticated,
		perAddr:   min(perAddrUnauthenticated, cfg.MaxUnauthenticated),
		now:       cfg.Now,
		freed:     make(chan struct{}),
		closed:    make(chan struct{}),
		addrs:     map[string]*addrState{},
	}
}

// close lets every held connection go (refused): the pause is over.
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
	now := l.now()
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

// pruneLocked forgets addresses with nothing pending, and then, if the
// table is still full, everything: a flood of addresses must not grow
// memory without bound, and forgetting only makes the limits milder.
func (l *limiter) pruneLocked() {
	for h, st := range l.addrs {
		if st.unauth == 0 {
			delete(l.addrs, h)
		}
	}
	if len(l.addrs) >= maxTrackedAddrs {
		clear(l.addrs)
	}
}

// admit gives a new connection from host a place among those logging in.
// Over a cap, it holds the connection until a place frees up, for at most
// wait; when the queue of held connections is full too, it evicts the
// oldest connection that has not logged in and takes its place. evict
// closes the new connection, should it in turn become the oldest. A nil
// slot comes with the reason for the refusal.
func (l *limiter) admit(host string, wait time.Duration, evict func()) (*slot, string) {
	var expired <-chan time.Time
	var victim *slot
	defer func() {
		if victim != nil {
			victim.evict() // outside the lock: it closes a connection
		}
	}()
	l.mu.Lock()
	defer l.mu.Unlock()
	for {
		st := l.stateLocked(host)
		overAddr := st.unauth >= l.perAddr
		if l.unauth < l.maxUnauth && !overAddr {
			return l.takeLocked(host, st, evict), ""
		}
		why := "too many connections waiting to log in"
		if overAddr {
			why = "too many connections from this address waiting to log in"
		}
		if expired == nil && l.held >= heldPerCap*l.maxUnauth {
			// The queue is full: make room rather than refuse, so idle
			// connections cannot keep the real user out.
			from := ""
			if overAddr {
				from = host
			}
			if victim = l.oldestLocked(from); victim != nil {
				l.releaseLocked(victim)
				return l.takeLocked(host, l.stateLocked(host), evict), ""
			}
			return nil, why
		}
		if expired == nil {
			l.held++
			defer func() { l.held-- }()
			t := time.NewTimer(wait)
			defer t.Stop()
			expired = t.C
		}
		freed := l.freed
		l.mu.Unlock()
		select {
		case <-freed:
			l.mu.Lock()
		case <-expired:
			l.mu.Lock()
			return nil, why + " for " + wait.String()
		case <-l.closed:
			l.mu.Lock()
			return nil, "the pause is over"
		}
	}
}

func (l *limiter) takeLocked(host string, st *addrState, evict func()) *slot {
	l.unauth++
	st.unauth++
	sl := &slot{host: host, evict: evict}
	l.pending = append(l.pending, sl)
	return sl
}

// oldestLocked is the connection that has waited longest to log in, from
// host if it is not empty.
func (l *limiter) oldestLocked(host string) *slot {
	for _, sl := range l.pending {
		if host == "" || sl.host == host {
			return sl
		}
	}
	return nil
}

// release gives up the place of a connection admit let in: it logged in,
// or closed without. Held connections are woken to take the place. It may
// be called more than once.
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
	l.unauth--
	if st, ok := l.addrs[sl.host]; ok && st.unauth > 0 {
		st.unauth--
	}
	for i, p := range l.pending {
		if p == sl {
			l.pending = append(l.pending[:i], l.pending[i+1:]...)
			break
		}
	}
	close(l.freed)
	l.freed = make(chan struct{})
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
