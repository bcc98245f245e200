package relay

import (
	"strings"
	"testing"

	"github.com/pitstopci/pitstop/internal/testutil"
	"github.com/pitstopci/pitstop/upterm"
)

func TestUptermAddress(t *testing.T) {
	for in, want := range map[string]string{
		"uptermd.upterm.dev": "uptermd.upterm.dev:22", "relay.example.com:2222": "relay.example.com:2222",
		"[2001:db8::1]": "[2001:db8::1]:22", "me@relay": "", "relay:0": "", "": "",
	} {
		got, err := uptermAddress(in)
		if got != want || (want == "") != (err != nil) {
			t.Errorf("uptermAddress(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

// TestDescribeUpterm: the printed command jumps through the relay as the
// session, to a host name that is this run's own, with a known_hosts line
// for exactly that name; the port appears only when it is not 22.
func TestDescribeUpterm(t *testing.T) {
	host := testutil.NewSSHSigner(t)
	alias := uptermHostAlias(host.PublicKey())
	if !strings.HasPrefix(alias, "pitstop-") || len(alias) != len("pitstop-")+10 || alias != uptermHostAlias(host.PublicKey()) {
		t.Fatalf("alias %q", alias)
	}
	for hostport, jump := range map[string]string{
		"uptermd.upterm.dev:22":  "S:Tk9ERQ==@uptermd.upterm.dev",
		"relay.example.com:2222": "S:Tk9ERQ==@relay.example.com:2222",
		"[2001:db8::1]:2222":     "S:Tk9ERQ==@[2001:db8::1]:2222",
	} {
		r := &Relay{hostport: hostport, name: "upterm://" + hostport, fan: &fanIn{}, upterm: &upterm.Host{},
			opts: Options{HostKey: host.PublicKey(), LoginUser: "runner"}}
		r.setEndpoint(endpoint{session: "S:Tk9ERQ=="})
		a := r.Access()
		if want := "ssh -J " + jump + " runner@" + alias; a.SSHCommand != want || a.Jump != jump {
			t.Errorf("%s: command %q, jump %q; want %q", hostport, a.SSHCommand, a.Jump, want)
		}
		if !strings.HasPrefix(a.KnownHosts, alias+" ssh-ed25519 ") || a.Relay != "upterm://"+hostport {
			t.Errorf("%s: known_hosts %q, relay %q", hostport, a.KnownHosts, a.Relay)
		}
	}
}
