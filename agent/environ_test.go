package agent

import (
	"net"
	"strings"
	"testing"
)

// namedAddr is an address that is no IP and port, as the agent's end of
// a connection through an upterm relay, named by the session's SSH user.
type namedAddr string

func (a namedAddr) Network() string { return "upterm" }
func (a namedAddr) String() string  { return string(a) }

// TestSSHConnectionHasFourFields: SSH_CONNECTION is always "client port
// server port", with an IP address and a port number in each pair, as
// scripts that split it expect.
func TestSSHConnectionHasFourFields(t *testing.T) {
	tcp := func(s string) net.Addr { a, _ := net.ResolveTCPAddr("tcp", s); return a }
	for _, tt := range []struct {
		remote, local net.Addr
		want          string
	}{
		{tcp("192.0.2.7:50123"), tcp("10.1.2.3:2222"), "192.0.2.7 50123 10.1.2.3 2222"},
		{tcp("[2001:db8::1]:50123"), tcp("[::1]:22"), "2001:db8::1 50123 ::1 22"},
		// Through an upterm relay: the guest as the relay saw it, and
		// the session, which is no address.
		{tcp("198.51.100.4:40000"), namedAddr("AbCd123:MTAuMC4wLjE6MjI="), "198.51.100.4 40000 0.0.0.0 0"},
		{namedAddr("a b:c d"), namedAddr("x:y:z"), "0.0.0.0 0 0.0.0.0 0"},
		{nil, nil, "0.0.0.0 0 0.0.0.0 0"},
	} {
		got := sshConnection(tt.remote, tt.local)
		if got != tt.want || len(strings.Fields(got)) != 4 {
			t.Errorf("sshConnection(%v, %v) = %q, want %q", tt.remote, tt.local, got, tt.want)
		}
	}
}
