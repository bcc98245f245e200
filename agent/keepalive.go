package agent

import (
	"sync"
	"sync/atomic"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"github.com/pitstopci/pitstop/agent/clock"
)

// A client that vanishes (a laptop that sleeps, a network that drops, a
// SIGKILLed ssh) leaves its TCP connection open on the agent's side until
// the kernel gives up on it, which may be hours. Through a relay it may be
// never: uptermd keeps the agent's side of a guest's channel open, without
// an EOF, until the agent's whole connection to it ends. Until the agent
// sees the connection close, the pause counts the user as connected, the
// reconnect grace does not start and a dropped terminal is not free to be
// taken back. So, as OpenSSH's ClientAliveInterval and ClientAliveCountMax
// do, every logged-in connection that has been silent for an interval is
// asked for a reply, and one that has answered none of CountMax requests
// in a row is closed.

// keepaliveRequest is the global request OpenSSH's server sends: clients
// answer it (with a failure, as they know no such request), which is all
// that is asked of them.
const keepaliveRequest = "keepalive@openssh.com"

// Defaults of Config.ClientAliveInterval and ClientAliveCountMax: a
// vanished client is closed within about a minute.
const (
	DefaultClientAliveInterval = 15 * time.Second
	DefaultClientAliveCountMax = 3
)

// keepalive watches one logged-in connection.
type keepalive struct {
	clk      clock.Clock
	interval time.Duration
	countMax int
	reads    *atomic.Uint64      // bumped by every read from the client (trackedConn)
	conn     func() gossh.Conn   // nil until gliderlabs has made the connection
	lost     func(silent string) // closes the connection, saying for how long it was silent
	answered func()              // for tests: a request was answered

	mu      sync.Mutex
	t       clock.Timer
	stopped bool
	seen    uint64 // reads at the last tick
	missed  int    // requests sent since the client was last heard from
	probing atomic.Bool
}

// start arms the first tick.
func (k *keepalive) start() {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.seen = k.reads.Load()
	k.t = k.clk.AfterFunc(k.interval, k.tick)
}

// stop ends the watch; the connection is gone.
func (k *keepalive) stop() {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.stopped = true
	if k.t != nil {
		k.t.Stop()
	}
}

// tick runs once every interval. A client heard from since the last tick
// is alive; a silent one is sent a request, unless CountMax of them went
// unanswered already, in which case it is closed.
func (k *keepalive) tick() {
	k.mu.Lock()
	if k.stopped {
		k.mu.Unlock()
		return
	}
	if n := k.reads.Load(); n != k.seen {
		k.seen, k.missed = n, 0
	} else if k.missed >= k.countMax {
		k.stopped = true
		silent := k.interval * time.Duration(k.countMax+1)
		k.mu.Unlock()
		k.lost(silent.String())
		return
	} else if c := k.conn(); c != nil {
		// A connection not yet handed over by gliderlabs (only possible
		// right after login) is skipped rather than counted.
		k.missed++
		k.probe(c)
	}
	k.t = k.clk.AfterFunc(k.interval, k.tick)
	k.mu.Unlock()
}

// probe sends a request, unless one is still waiting for its answer:
// SendRequest blocks until the reply, and x/crypto sends the next request
// only after that anyway. The goroutine ends when the answer comes or the
// connection closes.
func (k *keepalive) probe(c gossh.Conn) {
	if !k.probing.CompareAndSwap(false, true) {
		return
	}
	go func() {
		_, _, err := c.SendRequest(keepaliveRequest, true, nil)
		// The request is over whatever came back: free the next tick to
		// send one before anything waits on this answer, so that an
		// answered tick is never followed by a skipped one.
		k.probing.Store(false)
		if err != nil {
			return
		}
		// The answer is the client heard from, but it must not pass for
		// activity at the next tick: a client that only answers is asked
		// again every interval, so one that stops is closed CountMax+1
		// intervals after its last answer.
		k.mu.Lock()
		k.seen, k.missed = k.reads.Load(), 0
		k.mu.Unlock()
		if k.answered != nil {
			k.answered()
		}
	}()
}
