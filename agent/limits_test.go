package agent

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"github.com/pitstopci/pitstop/agent/audit"
	"github.com/pitstopci/pitstop/agent/limits"
)

// TestRandomKeysThenTheRealUserGetsIn: dozens of random keys offered by
// the real OpenSSH client, from the same address as the real user, are
// all refused and logged; the real user still gets in: the address's
// spent budget holds back refusals, not logins.
func TestRandomKeysThenTheRealUserGetsIn(t *testing.T) {
	ssh := openSSH(t)
	h := startAgent(t, nil)
	const clients, keysEach = 6, 8
	var wg sync.WaitGroup
	fps := map[string]bool{}
	for c := range clients {
		args := []string{}
		for k := range keysEach {
			u := newTestUser(t, fmt.Sprintf("random%d-%d", c, k))
			fps[u.fingerprint()] = true
			args = append(args, "-i", u.keyFile)
		}
		full := append(append(h.sshOptions(args[1]), args...), "-p", fmt.Sprint(h.ready.Port), "runner@"+h.ready.Host, "true")
		wg.Add(1)
		go func() {
			defer wg.Done()
			out, err := exec.Command(ssh, full...).CombinedOutput()
			if err == nil || !strings.Contains(string(out), "Permission denied (publickey)") {
				t.Errorf("random keys: %v, %s; want Permission denied (publickey)", err, out)
			}
		}()
	}
	wg.Wait()
	refused := map[string]bool{}
	for _, e := range h.logs.entries(t) {
		if e["event"] == audit.KeyRefused {
			refused[e["key_fingerprint"].(string)] = true
		}
	}
	for fp := range fps {
		if !refused[fp] {
			t.Errorf("random key %s is not in the log as refused", fp)
		}
	}
	if len(fps) != clients*keysEach {
		t.Fatalf("%d distinct keys, want %d", len(fps), clients*keysEach)
	}
	if !h.logged("many failed logins from this address: slowing down its refusals") {
		t.Errorf("%d failures from one address did not slow it down:\n%s", len(fps), h.logs)
	}

	out, err := exec.Command(ssh, h.sshArgs(h.alice.keyFile, "echo in")...).CombinedOutput()
	if err != nil || string(out) != "in\n" {
		t.Fatalf("the real user after the random keys: %v, %q\nlog:\n%s", err, out, h.logs)
	}
}

// TestMaxAuthTries: a connection offering many keys is closed after
// MaxAuthTries refusals.
func TestMaxAuthTries(t *testing.T) {
	h := startAgent(t, func(h *harness) { h.cfg.MaxAuthTries = 4 })
	var signers []gossh.Signer
	for i := range 9 {
		signers = append(signers, newTestUser(t, fmt.Sprintf("k%d", i)).signer)
	}
	c, err := gossh.Dial("tcp", h.ready.Address, h.clientConfig(gossh.PublicKeys(append(signers, h.alice.signer)...)))
	if err == nil {
		c.Close()
		t.Fatal("logged in with alice's key after 9 refused ones, past MaxAuthTries 4")
	}
	n := 0
	for _, e := range h.logs.entries(t) {
		if e["event"] == audit.KeyRefused {
			n++
		}
	}
	if n != 4 {
		t.Errorf("%d keys refused on the connection, want 4 (MaxAuthTries)", n)
	}
	// A new connection is a new start.
	h.mustDial(h.alice)
}

// rawConn connects from the local address from (127.0.0.x), sends a
// client version line and reads the server's, without going on. It
// reports whether the server let it into the key exchange (sent its
// KEXINIT) within d.
func rawConn(t *testing.T, h *harness, from string, d time.Duration) (net.Conn, bool) {
	t.Helper()
	c := dialRaw(t, from, h.ready.Address)
	if _, err := c.Write([]byte("SSH-2.0-test\r\n")); err != nil {
		t.Fatal(err)
	}
	return c, placed(c, d) == "placed"
}

// keyedConn connects from the local address from, exchanges keys with
// x/crypto and then sits in authentication without offering anything:
// a connection making progress, for as long as the test runs.
func keyedConn(t *testing.T, h *harness, from string) (stop func()) {
	t.Helper()
	block := make(chan struct{})
	keyed := make(chan struct{})
	var once sync.Once
	done := func() { once.Do(func() { close(block) }) }
	cfg := h.clientConfig(gossh.PublicKeysCallback(func() ([]gossh.Signer, error) {
		close(keyed)
		<-block
		return nil, errors.New("closed by the test")
	}))
	c := dialRawTCP(t, from, h.ready.Address)
	go func() {
		if cc, _, _, err := gossh.NewClientConn(c, h.ready.Address, cfg); err == nil {
			cc.Close()
		}
	}()
	select {
	case <-keyed:
	case <-time.After(10 * time.Second):
		t.Fatalf("no key exchange from %s within 10s\n%s", from, h.logs)
	}
	t.Cleanup(func() { done(); c.Close() })
	return func() { done(); c.Close() }
}

// dialFrom logs u in from the local address from.
func (h *harness) dialFrom(from string, u testUser) (*gossh.Client, error) {
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: 5 * time.Second}
	conn, err := d.Dial("tcp", h.ready.Address)
	if err != nil {
		return nil, err
	}
	cc, chans, reqs, err := gossh.NewClientConn(conn, h.ready.Address, h.clientConfig(gossh.PublicKeys(u.signer)))
	if err != nil {
		conn.Close()
		return nil, err
	}
	return gossh.NewClient(cc, chans, reqs), nil
}

// dialAsync logs u in from the local address from in the background, and
// sends the outcome on the channel it returns (the client is closed).
func (h *harness) dialAsync(from string, u testUser) <-chan error {
	done := make(chan error, 1)
	go func() {
		c, err := h.dialFrom(from, u)
		if err == nil {
			c.Close()
		}
		done <- err
	}()
	return done
}

// waitQueued waits until n connections wait on h.clock in the queue for
// a place in the key exchange (place waits on a NewTimer timer), so that
// advancing the clock reaches them.
func (h *harness) waitQueued(n int) {
	h.t.Helper()
	if !eventually(10*time.Second, func() bool { return h.clock.Waiting() >= n }) {
		h.t.Fatalf("%d connections waiting for a place, want %d within 10s\n%s", h.clock.Waiting(), n, h.logs)
	}
}

// notYet fails the test if the dial behind done has finished: the
// fake clock stands just short of the time it waits for. The agent has a
// moment of real time to act on the advance, wrongly.
func (h *harness) notYet(done <-chan error, what string) {
	h.t.Helper()
	select {
	case err := <-done:
		h.t.Fatalf("%s: finished (error %v) before its time\n%s", what, err, h.logs)
	case <-time.After(200 * time.Millisecond):
	}
}

// outcome waits up to 10s for the dial behind done.
func (h *harness) outcome(done <-chan error, what string) error {
	h.t.Helper()
	select {
	case err := <-done:
		return err
	case <-time.After(10 * time.Second):
		h.t.Fatalf("%s: no outcome within 10s\n%s", what, h.logs)
		return nil
	}
}

// TestUnauthenticatedCaps: connections in the key exchange or in
// authentication are capped per address and in all; a flood from one
// address leaves room for others; a connection over a cap is held, not
// refused, and gets in when a place frees up. Connections that finished
// the key exchange are not closed for it after limits.StallAfter (the limiter's
// time is the fake clock's).
func TestUnauthenticatedCaps(t *testing.T) {
	const total = limits.PerAddr + 2
	h := startAgent(t, func(h *harness) {
		h.useFakeClock()
		h.cfg.MaxUnauthenticated = total
		h.cfg.LoginGraceTime = 20 * time.Second
	})
	var flood []func()
	for range limits.PerAddr {
		flood = append(flood, keyedConn(t, h, "127.0.0.1"))
	}
	// Over its address's cap: held before the key exchange, not refused,
	// and not given the place of a connection that is authenticating.
	over, _ := rawConn(t, h, "127.0.0.1", 0)
	h.waitQueued(1)
	h.clock.Advance(limits.StallAfter + 500*time.Millisecond)
	if got := placed(over, 200*time.Millisecond); got != "waiting" {
		t.Fatalf("a connection over its address's cap: %s, want it held", got)
	}
	// Another address still gets in, and the held one gets its turn as
	// soon as one of the flood goes.
	c, err := h.dialFrom("127.0.0.2", h.alice)
	if err != nil {
		t.Fatalf("alice from another address during the flood: %v\n%s", err, h.logs)
	}
	c.Close()
	flood[0]()
	if got := placed(over, 5*time.Second); got != "placed" {
		t.Fatalf("the held connection after a place freed up: %s, want the key exchange", got)
	}
}

// TestStalledPlaceGoesToTheQueue: a connection that holds a place in the
// key exchange without exchanging keys gives it up to the next in the
// queue after limits.StallAfter, so slow or idle connections from the user's own
// address cannot keep the user out. The limiter keeps the fake clock's
// time (TestAddressesTakeTurns sees stalls in real time).
func TestStalledPlaceGoesToTheQueue(t *testing.T) {
	h := startAgent(t, func(h *harness) {
		h.useFakeClock()
		h.cfg.MaxUnauthenticated = 2
		h.cfg.LoginGraceTime = 20 * time.Second
	})
	var stalled []net.Conn
	for i := range 2 {
		c, ok := rawConn(t, h, "127.0.0.1", 5*time.Second)
		if !ok {
			t.Fatalf("connection %d was not let in below the cap", i+1)
		}
		stalled = append(stalled, c)
	}
	alice := h.dialAsync("127.0.0.1", h.alice)
	h.waitQueued(1)
	h.clock.Advance(limits.StallAfter - time.Millisecond)
	h.notYet(alice, "alice, before the first connection had held its place for limits.StallAfter")
	h.clock.Advance(time.Millisecond)
	if err := h.outcome(alice, "alice once the connections had stalled"); err != nil {
		t.Fatalf("alice with both places taken by stalled connections: %v\n%s", err, h.logs)
	}
	if got := placed(stalled[0], 2*time.Second); got != "closed" {
		t.Errorf("the oldest stalled connection: %s, want it closed to make room", got)
	}
	if !h.audited(audit.ConnRefused, map[string]any{"reason": "evicted"}) {
		t.Errorf("the eviction is not in the log:\n%s", h.logs)
	}
}

// TestAddressesTakeTurns: a queue filled from one address does not hold
// up a connection from another; the next place that frees up goes to the
// address served longest ago.
func TestAddressesTakeTurns(t *testing.T) {
	h := startAgent(t, func(h *harness) {
		h.cfg.MaxUnauthenticated = 2
		h.cfg.LoginGraceTime = 20 * time.Second
	})
	for i := range 2 {
		if _, ok := rawConn(t, h, "127.0.0.1", 5*time.Second); !ok {
			t.Fatalf("connection %d was not let in below the cap", i+1)
		}
	}
	var queued []net.Conn
	for i := range 4 {
		c, ok := rawConn(t, h, "127.0.0.1", 50*time.Millisecond)
		if ok {
			t.Fatalf("queued connection %d got a place at once", i+1)
		}
		queued = append(queued, c)
	}
	c, err := h.dialFrom("127.0.0.2", h.alice)
	if err != nil {
		t.Fatalf("alice behind a queue from another address: %v\n%s", err, h.logs)
	}
	c.Close()
	// Under plain first come, first served all four would have had their
	// places before alice (two places, freed a second apart). Taking
	// turns, one got the other place freed with alice's, and one the place
	// alice left when she logged in.
	served := 0
	for _, q := range queued {
		if placed(q, 50*time.Millisecond) == "placed" {
			served++
		}
	}
	if served > 2 {
		t.Errorf("%d of the 4 connections queued from another address got a place by the time alice was in, want at most 2", served)
	}
}

// TestIdleConnectionsMakeRoom: with every connection the server keeps
// taken by idle ones (no version line), a newcomer takes the place of the
// oldest, and the real user gets in.
func TestIdleConnectionsMakeRoom(t *testing.T) {
	const total = 2
	h := startAgent(t, func(h *harness) {
		h.cfg.MaxUnauthenticated = total
		h.cfg.LoginGraceTime = 20 * time.Second
	})
	var idle []net.Conn
	for i := range limits.MaxConnsPerCap * total {
		idle = append(idle, dialRaw(t, fmt.Sprintf("127.0.0.%d", 1+i%3), h.ready.Address))
	}
	for i, c := range idle {
		if got := placed(c, 100*time.Millisecond); got != "waiting" {
			t.Fatalf("idle connection %d: %s, want it open and waiting", i+1, got)
		}
	}
	c, err := h.dialFrom("127.0.0.4", h.alice)
	if err != nil {
		t.Fatalf("alice with every connection taken by idle ones: %v\n%s", err, h.logs)
	}
	c.Close()
	if got := placed(idle[0], 2*time.Second); got != "closed" {
		t.Errorf("the oldest idle connection: %s, want it closed to make room", got)
	}
	if got := placed(idle[len(idle)-1], 100*time.Millisecond); got != "waiting" {
		t.Errorf("the newest idle connection: %s, want it left alone", got)
	}
}

// TestHeldConnectionGivesUp: a connection held over the cap is closed
// after half its login grace time, as is one that never sends its version
// line, and the log says why.
func TestHeldConnectionGivesUp(t *testing.T) {
	h := startAgent(t, func(h *harness) {
		h.cfg.MaxUnauthenticated = 1
		h.cfg.LoginGraceTime = 2 * time.Second
	})
	keyedConn(t, h, "127.0.0.1")
	silent := dialRaw(t, "127.0.0.3", h.ready.Address)
	held, _ := rawConn(t, h, "127.0.0.2", 500*time.Millisecond)
	if got := placed(held, 5*time.Second); got != "closed" {
		t.Fatalf("the held connection after half its grace time: %s, want it closed", got)
	}
	if got := placed(silent, 5*time.Second); got != "closed" {
		t.Fatalf("the silent connection after half its grace time: %s, want it closed", got)
	}
	for _, reason := range []string{"too many connections waiting to log in for 1s", "no version line"} {
		// The silent connection is closed first and logged after, by
		// the goroutine that was reading its version line.
		if !eventually(5*time.Second, func() bool { return h.audited(audit.ConnRefused, map[string]any{"reason": reason}) }) {
			t.Errorf("%q is not in the log:\n%s", reason, h.logs)
		}
	}
}

// dialRaw opens a TCP connection from the local address from, and reads
// the server's version line, which the server sends at once.
func dialRaw(t *testing.T, from, addr string) net.Conn {
	t.Helper()
	c := dialRawTCP(t, from, addr)
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	line := make([]byte, len(serverVersion)+2)
	_, err := io.ReadFull(c, line)
	c.SetReadDeadline(time.Time{})
	if err != nil || string(line) != serverVersion+"\r\n" {
		t.Fatalf("the server's version line: %q, %v", line, err)
	}
	return c
}

// placed waits up to d for what the server does next on c, whose version
// line was read: "placed" (it sent its key exchange packet), "closed" or
// "waiting". A connection that was placed before reads as placed until
// the server closes it.
func placed(c net.Conn, d time.Duration) string {
	c.SetReadDeadline(time.Now().Add(d))
	defer c.SetReadDeadline(time.Time{})
	n, err := c.Read(make([]byte, 1))
	switch {
	case n > 0:
		// Drain the rest of the packet, to tell a later close from
		// more data.
		c.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		if _, err := io.Copy(io.Discard, c); errors.Is(err, os.ErrDeadlineExceeded) {
			return "placed"
		}
		return "closed"
	case errors.Is(err, os.ErrDeadlineExceeded):
		return "waiting"
	default:
		return "closed"
	}
}

// TestLoginGraceTime: a connection that has not logged in within the
// login grace time is closed, and one that has is not. The grace time runs
// on the fake clock, so it passes only when the test says, however slow
// the machine.
func TestLoginGraceTime(t *testing.T) {
	h := startAgent(t, func(h *harness) {
		h.useFakeClock()
		h.cfg.LoginGraceTime = time.Minute
	})
	cl := h.mustDial(h.alice)
	c, ok := rawConn(t, h, "127.0.0.1", 5*time.Second)
	if !ok {
		t.Fatal("the connection was refused")
	}
	h.clock.Advance(50 * time.Second)
	if got := placed(c, 50*time.Millisecond); got != "waiting" {
		t.Fatalf("the idle connection is %s 50s into its 1m grace time, want waiting", got)
	}
	h.clock.Advance(10 * time.Second)
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.Copy(io.Discard, c); err != nil {
		t.Fatalf("the idle connection was not closed at the end of its grace time: %v", err)
	}
	if !h.audited(audit.ConnRefused, map[string]any{"reason": "login grace time"}) {
		t.Errorf("the closing is not in the log:\n%s", h.logs)
	}
	// The connection that logged in is not cut off by it.
	if out, _, status := run(t, cl, "echo still"); out != "still\n" || status != 0 {
		t.Errorf("after the grace time: %q, %d", out, status)
	}
}

// typingSigner is a key whose holder is slow to sign, as when ssh reads
// the key's passphrase after the server accepted the key.
type typingSigner struct {
	gossh.Signer
	signing chan struct{} // closed when Sign is called
	block   chan struct{}
}

func (s typingSigner) Sign(r io.Reader, data []byte) (*gossh.Signature, error) {
	close(s.signing)
	<-s.block
	return nil, errors.New("closed by the test")
}

// TestSilentAuthenticationGivesWay: a connection that exchanged keys and
// then says nothing gives its place to a queued one after limits.KeyedIdleAfter;
// one whose key was accepted, and that is slow to sign with it (its user
// typing a passphrase), keeps it. The limiter keeps the fake clock's time.
func TestSilentAuthenticationGivesWay(t *testing.T) {
	const grace = 2*limits.KeyedIdleAfter + 4*time.Second
	h := startAgent(t, func(h *harness) {
		h.useFakeClock()
		h.cfg.MaxUnauthenticated = 1
		h.cfg.LoginGraceTime = grace
	})
	keyedConn(t, h, "127.0.0.1")
	alice := h.dialAsync("127.0.0.2", h.alice)
	h.waitQueued(1)
	h.clock.Advance(limits.KeyedIdleAfter - time.Millisecond)
	h.notYet(alice, "alice, before the silent connection had been silent for limits.KeyedIdleAfter")
	h.clock.Advance(time.Millisecond)
	if err := h.outcome(alice, "alice once the silent connection had been silent for limits.KeyedIdleAfter"); err != nil {
		t.Fatalf("alice while a silent connection held the only place: %v\n%s", err, h.logs)
	}

	// Now one that offered alice's key and is slow to sign.
	ts := typingSigner{Signer: h.alice.signer, signing: make(chan struct{}), block: make(chan struct{})}
	defer close(ts.block)
	conn := dialRawTCP(t, "127.0.0.1", h.ready.Address)
	go func() {
		if cc, _, _, err := gossh.NewClientConn(conn, h.ready.Address, h.clientConfig(gossh.PublicKeys(ts))); err == nil {
			cc.Close()
		}
	}()
	select {
	case <-ts.signing:
	case <-time.After(10 * time.Second):
		t.Fatalf("the key was not accepted within 10s\n%s", h.logs)
	}
	alice = h.dialAsync("127.0.0.2", h.alice)
	h.waitQueued(1)
	h.clock.Advance(grace/2 - time.Millisecond)
	h.notYet(alice, "alice, queued behind a connection whose authorized key was being signed")
	h.clock.Advance(time.Millisecond)
	if err := h.outcome(alice, "alice, queued for half her grace time"); err == nil {
		t.Fatal("alice got the place of a connection whose authorized key was being signed")
	}
	if !h.audited(audit.ConnRefused, map[string]any{"reason": "too many connections waiting to log in for " + (grace / 2).String()}) {
		t.Errorf("the refusal is not in the log:\n%s", h.logs)
	}
}

// dialRawTCP opens a TCP connection from the local address from and
// leaves all of SSH to the caller.
func dialRawTCP(t *testing.T, from, addr string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: 5 * time.Second}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}
