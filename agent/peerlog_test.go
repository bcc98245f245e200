package agent

import (
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"github.com/pitstopci/pitstop/agent/audit"
)

func TestPreLoginBudget(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	b := newPreLoginBudget(func() time.Time { return now })
	for i := range preLoginBurst {
		if ok, _ := b.take(); !ok {
			t.Fatalf("line %d refused within the burst", i+1)
		}
	}
	for range 5 {
		if ok, _ := b.take(); ok {
			t.Fatal("a line past the burst was allowed")
		}
	}
	now = now.Add(preLoginRefill)
	if ok, dropped := b.take(); !ok || dropped != 5 {
		t.Errorf("after a refill: %v, %d dropped; want true, 5", ok, dropped)
	}
	if ok, _ := b.take(); ok {
		t.Error("one refill allowed two lines")
	}
}

// TestPreLoginLogBudget: strangers offering many keys get no more than
// the budget's lines into the log, and the next line logged says how many
// were dropped.
func TestPreLoginLogBudget(t *testing.T) {
	h := startAgent(t, nil)
	start := time.Now()
	const conns, keysEach = 14, DefaultMaxAuthTries
	var wg sync.WaitGroup
	for i := range conns {
		var signers []gossh.Signer
		for range keysEach {
			_, priv, err := ed25519.GenerateKey(rand.Reader)
			if err != nil {
				t.Fatal(err)
			}
			s, err := gossh.NewSignerFromKey(priv)
			if err != nil {
				t.Fatal(err)
			}
			signers = append(signers, s)
		}
		// One address each, so that no address runs out of its failure
		// budget and is slowed down.
		from := fmt.Sprintf("127.0.0.%d", 1+i)
		wg.Go(func() {
			d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: 5 * time.Second}
			c, err := d.Dial("tcp", h.ready.Address)
			if err != nil {
				t.Error(err)
				return
			}
			defer c.Close()
			if cc, _, _, err := gossh.NewClientConn(c, h.ready.Address, h.clientConfig(gossh.PublicKeys(signers...))); err == nil {
				cc.Close()
				t.Error("a stranger logged in")
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	count := func() (n int) {
		for _, e := range h.logs.entries(t) {
			if e["event"] == audit.KeyRefused || e["message"] == "connection failed before login" {
				n++
			}
		}
		return n
	}
	caused := conns * (keysEach + 1)
	if n, most := count(), preLoginBurst+int(elapsed/preLoginRefill)+1; n > most || n < preLoginBurst {
		t.Errorf("%d pre-login lines for %d events in %v; want at least the burst, %d, and at most %d", n, caused, elapsed, preLoginBurst, most)
	}
	// After a refill, the next line says how many were dropped.
	time.Sleep(preLoginRefill + 100*time.Millisecond)
	stranger := newTestUser(t, "stranger")
	if _, err := h.dial(stranger); err == nil {
		t.Fatal("the stranger logged in")
	}
	var dropped float64
	for _, e := range h.logs.entries(t) {
		if d, ok := e["dropped_lines"].(float64); ok {
			dropped += d
		}
	}
	if dropped == 0 {
		t.Errorf("no line says how many were dropped:\n%s", h.logs)
	}
}
