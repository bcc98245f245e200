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
//     perAddrUnauthenticated from one address, may be waiting to log in;
//     more are closed at once, so a flood from one address leaves room
//     for everyone else;
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
	// maxTrackedAddrs bounds the per-address table; idle entries are
	// dropped first.
	maxTrackedAddrs = 4096
)

// limiter counts unauthenticated connections and failures by address.
type limiter struct {
	maxUnauth int
	perAddr   int
	now       func() time.Time

	mu     sync.Mutex
	unauth int
	addrs  map[string]*addrState
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
		addrs:     map[string]*addrState{},
	}
}

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

// admit counts a new connection from host, or says why it is refused.
func (l *limiter) admit(host string) (ok bool, why string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	st := l.stateLocked(host)
	switch {
	case l.unauth >= l.maxUnauth:
		return false, "too many connections waiting to log in"
	case st.unauth >= l.perAddr:
		return false, "too many connections from this address waiting to log in"
	}
	l.unauth++
	st.unauth++
	return true, ""
}

// release ends the count of a connection admit let in: it logged in, or
// closed without.
func (l *limiter) release(host string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.unauth--
	if st, ok := l.addrs[host]; ok && st.unauth > 0 {
		st.unauth--
	}
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
