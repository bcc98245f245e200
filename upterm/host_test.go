package upterm_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/pitstopci/pitstop/internal/testutil"
	"github.com/pitstopci/pitstop/internal/uptermtest"
	"github.com/pitstopci/pitstop/upterm"
)

// refusals collects what a Session refused.
type refusals struct {
	mu   sync.Mutex
	list []string
}

func (r *refusals) add(s string) { r.mu.Lock(); r.list = append(r.list, s); r.mu.Unlock() }
func (r *refusals) has(sub string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, s := range r.list {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

func dialHost(t testing.TB, relay *uptermtest.Relay, authorized ...ssh.PublicKey) (*upterm.Session, *refusals) {
	t.Helper()
	ref := &refusals{}
	h := &upterm.Host{Addr: relay.Addr, HostKeyCallback: upterm.PinnedKeys(relay.Key.PublicKey()), AuthorizedKeys: authorized, Refused: ref.add}
	s, err := h.Dial(context.Background())
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() { s.Close(); s.Client.Close() })
	return s, ref
}

func guest(t testing.TB, relay *uptermtest.Relay, user string, key ssh.Signer) (*ssh.Client, error) {
	t.Helper()
	c, err := ssh.Dial("tcp", relay.Addr, &ssh.ClientConfig{
		User: user, Auth: []ssh.AuthMethod{ssh.PublicKeys(key)},
		HostKeyCallback: ssh.FixedHostKey(relay.Key.PublicKey()), Timeout: 10 * time.Second,
		HostKeyAlgorithms: []string{ssh.KeyAlgoED25519},
	})
	if err == nil {
		t.Cleanup(func() { c.Close() })
	}
	return c, err
}

// TestSessionCarriesDirectTCPIP: a guest the host authorized reaches the
// session through the relay; its direct-tcpip channel comes out of Accept
// as a connection, both ways; the relay saw the bytes (they are not
// encrypted again here), which is what it would see of an inner SSH
// connection.
func TestSessionCarriesDirectTCPIP(t *testing.T) {
	relay := uptermtest.Start(t, uptermtest.Options{})
	actor := testutil.NewSSHSigner(t)
	s, _ := dialHost(t, relay, actor.PublicKey())
	if s.ID == "" || !strings.HasPrefix(s.SSHUser, s.ID+":") {
		t.Fatalf("session %q, ssh user %q", s.ID, s.SSHUser)
	}
	if !bytes.Equal(s.RelayKey.Marshal(), relay.Key.PublicKey().Marshal()) {
		t.Errorf("relay key %s, want the relay's", ssh.FingerprintSHA256(s.RelayKey))
	}
	g, err := guest(t, relay, s.SSHUser, actor)
	if err != nil {
		t.Fatalf("the actor at the relay: %v", err)
	}
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := s.Accept()
		if err == nil {
			accepted <- c
		}
	}()
	c, err := g.Dial("tcp", "pitstop:22")
	if err != nil {
		t.Fatalf("direct-tcpip through the relay: %v", err)
	}
	defer c.Close()
	var inner net.Conn
	select {
	case inner = <-accepted:
	case <-time.After(10 * time.Second):
		t.Fatal("no inner connection came out of Accept")
	}
	defer inner.Close()
	go func() { io.Copy(inner, inner) }() //nolint:errcheck // echo until closed
	if _, err := c.Write([]byte("ping-through-relay")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, len("ping-through-relay"))
	if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "ping-through-relay" {
		t.Fatalf("echo %q, %v", buf, err)
	}
	if !bytes.Contains(relay.Decrypted(), []byte("ping-through-relay")) {
		t.Error("the test relay did not record what it carried")
	}
	if inner.RemoteAddr().Network() != "tcp" || !strings.HasPrefix(inner.RemoteAddr().String(), "127.0.0.1:") {
		t.Errorf("inner connection's remote address %v, want the guest's as the relay saw it", inner.RemoteAddr())
	}
}

// TestSessionRefusesWhatIsNotDirectTCPIP: the relay decrypts the outer
// connection, so anything on it but direct-tcpip is refused: a shell, a
// command, other channel types, global requests.
func TestSessionRefusesWhatIsNotDirectTCPIP(t *testing.T) {
	relay := uptermtest.Start(t, uptermtest.Options{})
	actor := testutil.NewSSHSigner(t)
	s, ref := dialHost(t, relay, actor.PublicKey())
	g, err := guest(t, relay, s.SSHUser, actor)
	if err != nil {
		t.Fatal(err)
	}
	if sess, err := g.NewSession(); err == nil {
		out, err := sess.CombinedOutput("id")
		t.Errorf("a session on the relay's side was opened; exec gave %q, %v", out, err)
	}
	if _, _, err := g.OpenChannel("x11", nil); err == nil {
		t.Error("an x11 channel on the relay's side was opened")
	}
	if ok, _, err := g.SendRequest("tcpip-forward", true, ssh.Marshal(struct {
		Addr string
		Port uint32
	}{"127.0.0.1", 0})); ok || err != nil {
		t.Errorf("a remote forward on the relay's side: granted %v, err %v", ok, err)
	}
	for _, what := range []string{`"session" channel`, `"x11" channel`} {
		if !ref.has(what) {
			t.Errorf("the refusal of a %s was not reported; reported: %v", what, ref.list)
		}
	}
}

// TestStrangerStoppedAtTheEdge: the host gives the relay its authorized
// keys, so another key does not get past the relay.
func TestStrangerStoppedAtTheEdge(t *testing.T) {
	relay := uptermtest.Start(t, uptermtest.Options{})
	s, _ := dialHost(t, relay, testutil.NewSSHSigner(t).PublicKey())
	stranger := testutil.NewSSHSigner(t)
	if _, err := guest(t, relay, s.SSHUser, stranger); err == nil {
		t.Fatal("a stranger's key got past the relay")
	}
	if got := relay.Refusals(); len(got) != 1 || got[0] != ssh.FingerprintSHA256(stranger.PublicKey()) {
		t.Errorf("relay refusals %v, want the stranger's key", got)
	}
}

// TestDialFailures: every failed step says which, fast.
func TestDialFailures(t *testing.T) {
	other := testutil.NewSSHSigner(t)
	t.Run("wrong host key", func(t *testing.T) {
		relay := uptermtest.Start(t, uptermtest.Options{})
		h := &upterm.Host{Addr: relay.Addr, HostKeyCallback: upterm.PinnedKeys(other.PublicKey())}
		_, err := h.Dial(context.Background())
		var km *upterm.KeyMismatchError
		if !errors.As(err, &km) {
			t.Fatalf("err %v, want a KeyMismatchError", err)
		}
	})
	t.Run("create-session refused", func(t *testing.T) {
		relay := uptermtest.Start(t, uptermtest.Options{RefuseCreate: "too many sessions"})
		h := &upterm.Host{Addr: relay.Addr, HostKeyCallback: upterm.PinnedKeys(relay.Key.PublicKey())}
		_, err := h.Dial(context.Background())
		if err == nil || err.Error() != "create a session: refused: too many sessions" {
			t.Fatalf("err %v", err)
		}
	})
	t.Run("silent relay", func(t *testing.T) {
		relay := uptermtest.Start(t, uptermtest.Options{Mute: true})
		h := &upterm.Host{Addr: relay.Addr, HostKeyCallback: upterm.PinnedKeys(relay.Key.PublicKey()), Timeout: 500 * time.Millisecond}
		_, err := h.Dial(context.Background())
		var se *upterm.StepError
		if !errors.As(err, &se) || se.Step != "log in" {
			t.Fatalf("err %v, want a failed login", err)
		}
	})
}

// TestKnownHosts: a known_hosts file with the relay's plain key (what
// ssh-keyscan prints) accepts its host certificate too; another key is
// refused.
func TestKnownHosts(t *testing.T) {
	relay := uptermtest.Start(t, uptermtest.Options{})
	file := filepath.Join(t.TempDir(), "known_hosts")
	if err := os.WriteFile(file, []byte(relay.KnownHosts()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cb, err := upterm.KnownHosts(file)
	if err != nil {
		t.Fatal(err)
	}
	h := &upterm.Host{Addr: relay.Addr, HostKeyCallback: cb}
	s, err := h.Dial(context.Background())
	if err != nil {
		t.Fatalf("Dial with the relay's plain key pinned: %v", err)
	}
	s.Client.Close()

	impostor := uptermtest.Start(t, uptermtest.Options{})
	h.Addr = impostor.Addr
	other := filepath.Join(t.TempDir(), "known_hosts")
	line := strings.Replace(relay.KnownHosts(), relay.Addr[strings.LastIndex(relay.Addr, ":"):], impostor.Addr[strings.LastIndex(impostor.Addr, ":"):], 1)
	if err := os.WriteFile(other, []byte(line+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if h.HostKeyCallback, err = upterm.KnownHosts(other); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Dial(context.Background()); err == nil {
		t.Fatal("a relay with another key was accepted")
	}
}

// TestPublicRelayKey: the shipped pin parses, and is the key upterm
// publishes (the fingerprint is the one docs/relay.md gives, so people can
// compare it with ssh-keyscan's).
func TestPublicRelayKey(t *testing.T) {
	k := upterm.ParsePublicRelayKey()
	if got, want := ssh.FingerprintSHA256(k), "SHA256:9ajV8JqMe6jJE/s3TYjb/9xw7T0pfJ2+gADiBIJWDPE"; got != want {
		t.Errorf("fingerprint %s, want %s", got, want)
	}
	if upterm.PublicRelayKnownHosts != "@cert-authority uptermd.upterm.dev "+upterm.PublicRelayKey+"\n" {
		t.Errorf("known_hosts text %q", upterm.PublicRelayKnownHosts)
	}
}

// TestSessionCarriesBulkWhole: bytes written to an inner connection and
// closed at once all reach the guest, in order: nothing is cut off when
// a side closes.
func TestSessionCarriesBulkWhole(t *testing.T) {
	relay := uptermtest.Start(t, uptermtest.Options{NoRecord: true})
	actor := testutil.NewSSHSigner(t)
	s, _ := dialHost(t, relay, actor.PublicKey())
	g, err := guest(t, relay, s.SSHUser, actor)
	if err != nil {
		t.Fatal(err)
	}
	const size = 8 << 20
	pattern := func(i int) byte { return byte(i*7 + i/251) }
	go func() {
		c, err := s.Accept()
		if err != nil {
			return
		}
		buf := make([]byte, size)
		for i := range buf {
			buf[i] = pattern(i)
		}
		c.Write(buf) //nolint:errcheck // checked on the other side
		c.Close()
	}()
	c, err := g.Dial("tcp", "pitstop:22")
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(c)
	if err != nil || len(got) != size {
		t.Fatalf("read %d bytes, %v; want %d", len(got), err, size)
	}
	for i, b := range got {
		if b != pattern(i) {
			t.Fatalf("byte %d is %d, want %d", i, b, pattern(i))
		}
	}
}
