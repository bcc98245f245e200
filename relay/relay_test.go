package relay

import (
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/pitstopci/pitstop/internal/testutil"
)

func TestParseRelayAddress(t *testing.T) {
	for _, tt := range []struct{ in, user, hostport, err string }{
		{"pitstop@bastion.example.com", "pitstop", "bastion.example.com:22", ""},
		{"pitstop@bastion.example.com:2222", "pitstop", "bastion.example.com:2222", ""},
		{"me@[2001:db8::1]:2222", "me", "[2001:db8::1]:2222", ""},
		{"me@[2001:db8::1]", "me", "[2001:db8::1]:22", ""},
		{"bastion.example.com", "", "", "not USER@HOST[:PORT]"},
		{"@bastion", "", "", "not USER@HOST[:PORT]"},
		{"me@bastion:0", "", "", "invalid port"},
		{"me@bastion:ssh", "", "", "invalid port"},
		{"me@/tmp/x", "", "", "invalid host"},
	} {
		user, hostport, err := parseRelayAddress(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("%q: error %v, want one saying %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil || user != tt.user || hostport != tt.hostport {
			t.Errorf("%q: %q, %q, %v; want %q, %q", tt.in, user, hostport, err, tt.user, tt.hostport)
		}
	}
}

func TestDestination(t *testing.T) {
	for in, want := range map[string]string{
		"pitstop@bastion:2222": "-p 2222 pitstop@bastion",
		"pitstop@bastion:22":   "pitstop@bastion",
		"bastion:2222":         "-p 2222 bastion",
		"pitstop@bastion":      "pitstop@bastion",
	} {
		if got := destination(in); got != want {
			t.Errorf("destination(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestKnownAlgorithms: the agent asks the relay for the kinds of host key
// the known_hosts file has, so a relay that also has other kinds of keys
// shows the one that can be checked.
func TestKnownAlgorithms(t *testing.T) {
	signer := testutil.NewSSHSigner(t)
	file := filepath.Join(t.TempDir(), "known_hosts")
	line := knownhosts.Line([]string{knownhosts.Normalize("bastion:2222")}, signer.PublicKey())
	if err := os.WriteFile(file, []byte(line+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	check, err := knownhosts.New(file)
	if err != nil {
		t.Fatal(err)
	}
	if got := knownAlgorithms(check, "bastion:2222"); !slices.Equal(got, []string{gossh.KeyAlgoED25519}) {
		t.Errorf("known algorithms %v, want only %s", got, gossh.KeyAlgoED25519)
	}
	if got := knownAlgorithms(check, "elsewhere:22"); got != nil {
		t.Errorf("for an unknown host: %v, want nil (x/crypto's defaults)", got)
	}
}

// TestFanIn: connections from any source come out of Accept; once closed,
// Accept fails, connections still arriving are closed, and the local
// listeners are closed with it.
func TestFanIn(t *testing.T) {
	local, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &fanIn{conns: make(chan net.Conn), done: make(chan struct{}), addr: local.Addr(), closers: []io.Closer{local}}
	a, b := net.Pipe()
	defer b.Close()
	go f.push(a)
	got, err := f.Accept()
	if err != nil || got != a {
		t.Fatalf("Accept: %v, %v", got, err)
	}
	if f.Addr() != local.Addr() {
		t.Errorf("Addr %v, want the local listener's %v", f.Addr(), local.Addr())
	}
	f.Close()
	f.Close() // twice is fine
	if _, err := f.Accept(); err == nil {
		t.Error("Accept after Close succeeded")
	}
	c, d := net.Pipe()
	defer d.Close()
	if f.push(c) {
		t.Error("push after Close was accepted")
	}
	d.SetReadDeadline(time.Now().Add(time.Second))
	if _, err := d.Read(make([]byte, 1)); err == nil {
		t.Error("a connection pushed after Close was left open")
	}
	if _, err := local.Accept(); err == nil {
		t.Error("the local listener is still open")
	}
}
