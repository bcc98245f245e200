package agent

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"
)

func TestLimiterFailureBudget(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	l := newLimiter(Config{MaxUnauthenticated: DefaultMaxUnauthenticated, Now: func() time.Time { return now }})
	for i := range failureBurst {
		if d, _ := l.failed("192.0.2.1"); d != 0 {
			t.Fatalf("failure %d was held back %v; the budget is %d", i+1, d, failureBurst)
		}
	}
	d, first := l.failed("192.0.2.1")
	if d != failurePenalty || !first {
		t.Fatalf("past the budget: %v, first %v; want %v, true", d, first, failurePenalty)
	}
	if _, first := l.failed("192.0.2.1"); first {
		t.Error("the second held-back failure was reported as the first")
	}
	if d, _ := l.failed("192.0.2.2"); d != 0 {
		t.Errorf("another address was held back %v", d)
	}
	now = now.Add(3 * failureRefill)
	for i := range 3 {
		if d, _ := l.failed("192.0.2.1"); d != 0 {
			t.Errorf("after refilling 3, failure %d held back %v", i+1, d)
		}
	}
	if d, _ := l.failed("192.0.2.1"); d == 0 {
		t.Error("the refill gave more than it should")
	}
}

// TestRandomKeysThenTheRealUserGetsIn: dozens of random keys offered by
// the real OpenSSH client, from the same address as the real user, are
// all refused and logged; the real user still gets in at once.
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
		if e["event"] == evKeyRefused {
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

	start := time.Now()
	out, err := exec.Command(ssh, h.sshArgs(h.alice.keyFile, "echo in")...).CombinedOutput()
	if err != nil || string(out) != "in\n" {
		t.Fatalf("the real user after the random keys: %v, %q\nlog:\n%s", err, out, h.logs)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("the real user needed %v to get in", d)
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
		if e["event"] == evKeyRefused {
			n++
		}
	}
	if n != 4 {
		t.Errorf("%d keys refused on the connection, want 4 (MaxAuthTries)", n)
	}
	// A new connection is a new start.
	h.mustDial(h.alice)
}

// rawConn connects from the local address from (127.0.0.x) without
// logging in, and waits for the server's version line, which proves the
// server took the connection on.
func rawConn(t *testing.T, h *harness, from string) (net.Conn, bool) {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: 5 * time.Second}
	c, err := d.Dial("tcp", h.ready.Address)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	c.SetReadDeadline(time.Time{})
	return c, err == nil && strings.HasPrefix(line, "SSH-2.0-")
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

// TestUnauthenticatedCaps: connections that have not logged in are
// capped per address and in all; a flood from one address leaves room for
// others; a connection over a cap is held, not refused, and gets in when
// a place frees up; and when the queue of held connections is full, the
// oldest connection that has not logged in makes room for a newer one, so
// idle connections cannot keep the real user out.
func TestUnauthenticatedCaps(t *testing.T) {
	const total = perAddrUnauthenticated + 2
	h := startAgent(t, func(h *harness) {
		h.cfg.MaxUnauthenticated = total
		h.cfg.LoginGraceTime = 20 * time.Second
	})
	var flood []net.Conn
	for i := range perAddrUnauthenticated {
		c, ok := rawConn(t, h, "127.0.0.1")
		if !ok {
			t.Fatalf("connection %d was refused below the cap", i+1)
		}
		flood = append(flood, c)
	}
	// Over its address's cap: held before the key exchange, not refused.
	over := dialRaw(t, "127.0.0.1", h.ready.Address)
	if got := banner(over, 300*time.Millisecond); got != "waiting" {
		t.Fatalf("a connection over its address's cap: %s, want it held", got)
	}
	// Another address still gets in, and the held one gets its turn as
	// soon as one of the flood goes.
	c, err := h.dialFrom("127.0.0.2", h.alice)
	if err != nil {
		t.Fatalf("alice from another address during the flood: %v\n%s", err, h.logs)
	}
	c.Close()
	flood[0].Close()
	flood[0] = over
	if got := banner(over, 5*time.Second); got != "banner" {
		t.Fatalf("the held connection after a place freed up: %s, want the server's banner", got)
	}

	// Fill the total cap from a second address, then the queue of held
	// connections from a third.
	for range total - perAddrUnauthenticated {
		if _, ok := rawConn(t, h, "127.0.0.2"); !ok {
			t.Fatal("a second address was refused below the total cap")
		}
	}
	var queue []net.Conn
	for range heldPerCap * total {
		q := dialRaw(t, "127.0.0.3", h.ready.Address)
		queue = append(queue, q)
	}
	for i, q := range queue {
		if got := banner(q, 50*time.Millisecond); got != "waiting" {
			t.Fatalf("held connection %d: %s, want it held", i+1, got)
		}
	}
	// With everything full of idle connections, the real user still gets
	// in: the oldest idle connection makes room.
	c, err = h.dialFrom("127.0.0.4", h.alice)
	if err != nil {
		t.Fatalf("alice with every place taken by idle connections: %v\n%s", err, h.logs)
	}
	c.Close()
	if got := banner(flood[1], 2*time.Second); got != "closed" {
		t.Errorf("the oldest idle connection: %s, want it closed to make room", got)
	}
	if !h.logged("closed a connection that had not logged in, to make room for a newer one") {
		t.Errorf("the eviction is not in the log:\n%s", h.logs)
	}
}

// TestHeldConnectionGivesUp: a connection held over the cap is closed
// after half its login grace time, and the log says why.
func TestHeldConnectionGivesUp(t *testing.T) {
	h := startAgent(t, func(h *harness) {
		h.cfg.MaxUnauthenticated = 1
		h.cfg.LoginGraceTime = 2 * time.Second
	})
	first := dialRaw(t, "127.0.0.1", h.ready.Address)
	if got := banner(first, 5*time.Second); got != "banner" {
		t.Fatalf("the first connection: %s", got)
	}
	held := dialRaw(t, "127.0.0.2", h.ready.Address)
	if got := banner(held, 500*time.Millisecond); got != "waiting" {
		t.Fatalf("the second connection: %s, want it held", got)
	}
	if got := banner(held, 5*time.Second); got != "closed" {
		t.Fatalf("the held connection after half its grace time: %s, want it closed", got)
	}
	if !h.logged("closed a connection before login: too many connections waiting to log in for 1s") {
		t.Errorf("the refusal is not in the log:\n%s", h.logs)
	}
}

// dialRaw opens a TCP connection from the local address from.
func dialRaw(t *testing.T, from, addr string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: 5 * time.Second}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// banner waits up to d for the server's version line on c and says what
// happened: "banner", "closed" (the server closed c) or "waiting".
func banner(c net.Conn, d time.Duration) string {
	c.SetReadDeadline(time.Now().Add(d))
	defer c.SetReadDeadline(time.Time{})
	line, err := bufio.NewReader(c).ReadString('\n')
	switch {
	case err == nil && strings.HasPrefix(line, "SSH-2.0-"):
		return "banner"
	case errors.Is(err, os.ErrDeadlineExceeded):
		return "waiting"
	default:
		return "closed"
	}
}

func TestLoginGraceTime(t *testing.T) {
	h := startAgent(t, func(h *harness) { h.cfg.LoginGraceTime = 300 * time.Millisecond })
	c, ok := rawConn(t, h, "127.0.0.1")
	if !ok {
		t.Fatal("the connection was refused")
	}
	start := time.Now()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	var buf bytes.Buffer
	_, err := buf.ReadFrom(c)
	if err != nil {
		t.Fatalf("the idle connection was not closed: %v", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("closed after %v, want about the 300ms grace time", d)
	}
	if !h.logged("closed a connection that did not log in within 300ms") {
		t.Errorf("the closing is not in the log:\n%s", h.logs)
	}
	// A connection that logs in is not cut off by it.
	cl := h.mustDial(h.alice)
	time.Sleep(600 * time.Millisecond)
	if out, _, status := run(t, cl, "echo still"); out != "still\n" || status != 0 {
		t.Errorf("after the grace time: %q, %d", out, status)
	}
}
