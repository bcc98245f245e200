package agent

import (
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"github.com/pitstopci/pitstop/agent/audit"
	"github.com/pitstopci/pitstop/agent/clock"
	"github.com/pitstopci/pitstop/agent/control"
)

// probeConn is the one method of a connection keepalive uses: answer
// says whether the client answers, and every answer is a read, as on the
// wire.
type probeConn struct {
	gossh.Conn
	reads  *atomic.Uint64
	answer bool
	sent   atomic.Int32
	block  chan struct{} // closed when the test ends, for silent clients
}

func (c *probeConn) SendRequest(name string, wantReply bool, _ []byte) (bool, []byte, error) {
	c.sent.Add(1)
	if name != keepaliveRequest || !wantReply {
		return false, nil, errors.New("not a keepalive asking for a reply")
	}
	if !c.answer {
		<-c.block
		return false, nil, io.EOF
	}
	c.reads.Add(1)
	return false, nil, nil
}

// newTestKeepalive watches c on clk, every minute, three requests at most.
func newTestKeepalive(t *testing.T, clk *clock.Fake, c *probeConn) (k *keepalive, lost *atomic.Value, answered chan struct{}) {
	lost = &atomic.Value{}
	answered = make(chan struct{}, 1)
	c.block = make(chan struct{})
	t.Cleanup(func() { close(c.block) })
	k = &keepalive{clk: clk, interval: time.Minute, countMax: 3, reads: c.reads,
		conn:     func() gossh.Conn { return c },
		lost:     func(silent string) { lost.Store(silent) },
		answered: func() { answered <- struct{}{} },
	}
	return k, lost, answered
}

func TestKeepaliveClosesASilentClientAfterCountMaxRequests(t *testing.T) {
	clk := clock.NewFake()
	c := &probeConn{reads: &atomic.Uint64{}}
	k, lost, _ := newTestKeepalive(t, clk, c)
	k.start()
	// Three intervals: three requests are due, but x/crypto sends one
	// global request at a time, so the first is still the one waiting.
	for i := 0; i < 3; i++ {
		clk.Advance(time.Minute)
		if got := lost.Load(); got != nil {
			t.Fatalf("closed after %d intervals (%v); want after 4", i+1, got)
		}
	}
	if !eventually(5*time.Second, func() bool { return c.sent.Load() == 1 }) {
		t.Fatalf("%d requests sent, want 1 still waiting", c.sent.Load())
	}
	clk.Advance(time.Minute)
	if got, _ := lost.Load().(string); got != "4m0s" {
		t.Fatalf("after 4 silent intervals: lost = %q, want closed, silent for 4m0s", got)
	}
	// Nothing more once it is closed.
	clk.Advance(time.Hour)
	if c.sent.Load() != 1 {
		t.Errorf("requests sent after the connection was closed: %d", c.sent.Load())
	}
}

func TestKeepaliveLeavesAnAnsweringClient(t *testing.T) {
	clk := clock.NewFake()
	c := &probeConn{reads: &atomic.Uint64{}, answer: true}
	k, lost, answered := newTestKeepalive(t, clk, c)
	k.start()
	for i := 0; i < 10; i++ {
		clk.Advance(time.Minute)
		select {
		case <-answered:
		case <-time.After(5 * time.Second):
			t.Fatalf("interval %d: no request was answered", i+1)
		}
	}
	if got := lost.Load(); got != nil {
		t.Fatalf("an answering client was closed: %v", got)
	}
	k.stop()
	clk.Advance(time.Hour)
	if n := c.sent.Load(); n != 10 {
		t.Errorf("%d requests sent; want 10, and none after stop", n)
	}
}

func TestKeepaliveAsksNothingOfABusyClient(t *testing.T) {
	clk := clock.NewFake()
	c := &probeConn{reads: &atomic.Uint64{}}
	k, lost, _ := newTestKeepalive(t, clk, c)
	k.start()
	for i := 0; i < 10; i++ {
		c.reads.Add(1) // the client sent something this interval
		clk.Advance(time.Minute)
	}
	if c.sent.Load() != 0 || lost.Load() != nil {
		t.Fatalf("a client heard from every interval: %d requests, lost %v", c.sent.Load(), lost.Load())
	}
	// Silent from here: four intervals to be closed, counted afresh.
	clk.Advance(3 * time.Minute)
	if lost.Load() != nil {
		t.Fatal("closed before four silent intervals")
	}
	clk.Advance(time.Minute)
	if lost.Load() == nil {
		t.Fatal("not closed after four silent intervals")
	}
}

// freezer is a TCP proxy to the agent that can go silent in both
// directions while keeping both connections open: a client whose machine
// vanished, or a relay that never says its guest left.
type freezer struct {
	ln     net.Listener
	mu     sync.Mutex
	frozen bool
}

func newFreezer(t *testing.T, target string) *freezer {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &freezer{ln: ln}
	var conns []net.Conn
	var connsMu sync.Mutex
	t.Cleanup(func() {
		ln.Close()
		connsMu.Lock()
		for _, c := range conns {
			c.Close()
		}
		connsMu.Unlock()
	})
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			connsMu.Lock()
			conns = append(conns, c, up)
			connsMu.Unlock()
			go f.pipe(up, c)
			go f.pipe(c, up)
		}
	}()
	return f
}

// pipe copies until frozen; what arrives afterwards is dropped.
func (f *freezer) pipe(dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		f.mu.Lock()
		frozen := f.frozen
		f.mu.Unlock()
		if n > 0 && !frozen {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func (f *freezer) freeze() {
	f.mu.Lock()
	f.frozen = true
	f.mu.Unlock()
}

// TestVanishedClientStartsTheGraceAndItsTerminalWaits: a client that
// stops answering is closed by the keepalives, which the agent counts as
// a drop: the reconnect grace starts and the next login gets the same
// shell back.
func TestVanishedClientStartsTheGraceAndItsTerminalWaits(t *testing.T) {
	h := startAgent(t, func(h *harness) {
		h.useFakeClock()
		h.cfg.ClientAliveInterval = DefaultClientAliveInterval
	})
	f := newFreezer(t, h.ready.Address)
	c, err := gossh.Dial("tcp", f.ln.Addr().String(), h.clientConfig(gossh.PublicKeys(h.alice.signer)))
	if err != nil {
		t.Fatalf("log in through the proxy: %v\nlog:\n%s", err, h.logs)
	}
	defer c.Close()
	sh := ptyShell(t, c, 24, 80)
	sh.out.waitFor(t, "you are in job")
	io.WriteString(sh.in, "echo shell=$$\n") //nolint:errcheck // checked by the wait
	first := sh.out.waitFor(t, "shell=")
	f.freeze()

	// Bytes the client sent just before it vanished may still be read
	// after the first intervals, and count as hearing from it once: at
	// most twice the silent span, then.
	frozen := h.clock.Now()
	for i := 0; i < 2*(DefaultClientAliveCountMax+1); i++ {
		h.clock.Advance(DefaultClientAliveInterval)
	}
	// The drop is counted once the connection's goroutines are done,
	// which may be while the clock still moves: the grace counts from
	// then, no sooner than four silent intervals after the freeze.
	earliest := frozen.Add(time.Duration(DefaultClientAliveCountMax+1) * DefaultClientAliveInterval).Add(h.cfg.ReconnectGrace)
	st := h.waitStatus("the drop is counted", func(st control.Status) bool { return st.Connections == 0 && !st.WaitingUntil.IsZero() })
	if st.WaitingUntil.Before(earliest) || st.WaitingUntil.After(h.clock.Now().Add(h.cfg.ReconnectGrace)) {
		t.Errorf("waiting for a reconnect until %v; want the grace from the drop, %v at the earliest", st.WaitingUntil, earliest)
	}
	if !h.audited(audit.Logout, map[string]any{"reason": "the client answered no keepalive for 1m0s"}) {
		t.Errorf("no logout for unanswered keepalives in the log:\n%s", h.logs)
	}

	c2 := h.mustDial(h.alice)
	sh2 := ptyShell(t, c2, 24, 80)
	h.waitStatus("the reconnect took the dropped terminal back", func(st control.Status) bool {
		return st.Connections == 1 && st.WaitingUntil.IsZero() && len(st.Terminals) == 1 && len(st.Terminals[0].Clients) == 1
	})
	io.WriteString(sh2.in, "echo again=$$\n") //nolint:errcheck // checked by the wait
	out := sh2.out.waitFor(t, "again=")
	pid := first[strings.Index(first, "shell=")+len("shell="):]
	pid = strings.Fields(pid)[0]
	if !strings.Contains(out, "again="+pid) {
		t.Errorf("the reconnect got another shell; first was %s, now:\n%s", pid, out)
	}
}

// TestKeepalivesOff: a negative interval turns them off.
func TestKeepalivesOff(t *testing.T) {
	h := startAgent(t, func(h *harness) {
		h.useFakeClock()
		h.cfg.ClientAliveInterval = -1
	})
	f := newFreezer(t, h.ready.Address)
	c, err := gossh.Dial("tcp", f.ln.Addr().String(), h.clientConfig(gossh.PublicKeys(h.alice.signer)))
	if err != nil {
		t.Fatalf("log in through the proxy: %v", err)
	}
	defer c.Close()
	run(t, c, "true")
	f.freeze()
	h.clock.Advance(time.Hour - time.Second)
	if st := h.waitStatus("status", func(control.Status) bool { return true }); st.Connections != 1 {
		t.Errorf("with keepalives off, a silent client was closed: %d connections", st.Connections)
	}
}
