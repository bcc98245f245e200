package agent

import (
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"github.com/pitstopci/pitstop/internal/testutil"
)

// TestChooseRelay: with nothing said, a GitHub-hosted runner goes through
// upterm's public relay and says so; elsewhere the agent listens
// directly; relay none on a GitHub-hosted runner warns that nobody can
// reach it.
func TestChooseRelay(t *testing.T) {
	hosted := []string{"RUNNER_ENVIRONMENT=github-hosted"}
	self := []string{"RUNNER_ENVIRONMENT=self-hosted"}
	for _, tt := range []struct {
		name  string
		cfg   Config
		relay RelayKind // "-" for none
		log   string
	}{
		{"hosted, nothing given", Config{Env: hosted}, RelayUpterm, "reached through upterm's public relay uptermd.upterm.dev"},
		{"self-hosted", Config{Env: self}, "-", ""},
		{"act", Config{Env: []string{"ACT=true"}}, "-", ""},
		{"act on a hosted runner", Config{Env: []string{"ACT=true", "RUNNER_ENVIRONMENT=github-hosted"}}, "-", ""},
		{"hosted, none", Config{Env: hosted, Relay: &RelayConfig{Kind: RelayNone}}, "-", "nobody can reach the address"},
		{"self-hosted, none", Config{Env: self, Relay: &RelayConfig{Kind: RelayNone}}, "-", ""},
		{"hosted, listen given", Config{Env: hosted, Listen: "127.0.0.1:0"}, "-", "nobody can reach the address"},
		{"hosted, own relay", Config{Env: hosted, Relay: &RelayConfig{Kind: RelayUpterm, Address: "relay.example.com"}}, RelayUpterm, ""},
	} {
		cfg, note := chooseRelay(tt.cfg)
		var buf testutil.Buffer
		note(zerolog.New(&buf))
		switch {
		case tt.relay == "-" && cfg.Relay != nil:
			t.Errorf("%s: relay %+v, want none", tt.name, cfg.Relay)
		case tt.relay != "-" && (cfg.Relay == nil || cfg.Relay.Kind != tt.relay):
			t.Errorf("%s: relay %+v, want kind %q", tt.name, cfg.Relay, tt.relay)
		}
		if (tt.log == "") != (buf.String() == "") || !strings.Contains(buf.String(), tt.log) {
			t.Errorf("%s: logged %q, want %q", tt.name, buf.String(), tt.log)
		}
	}
}

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
	host, err := newHostKey()
	if err != nil {
		t.Fatal(err)
	}
	alias := uptermHostAlias(host.PublicKey())
	if !strings.HasPrefix(alias, "pitstop-") || len(alias) != len("pitstop-")+10 || alias != uptermHostAlias(host.PublicKey()) {
		t.Fatalf("alias %q", alias)
	}
	for hostport, jump := range map[string]string{
		"uptermd.upterm.dev:22":  "S:Tk9ERQ==@uptermd.upterm.dev",
		"relay.example.com:2222": "S:Tk9ERQ==@relay.example.com:2222",
		"[2001:db8::1]:2222":     "S:Tk9ERQ==@[2001:db8::1]:2222",
	} {
		r := &relay{hostport: hostport, name: "upterm://" + hostport, fan: &fanIn{}}
		rd := r.throughUpterm(Ready{}, relayEndpoint{session: "S:Tk9ERQ=="}, host.PublicKey(), "runner")
		if want := "ssh -J " + jump + " runner@" + alias; rd.SSHCommand != want || rd.Jump != jump {
			t.Errorf("%s: command %q, jump %q; want %q", hostport, rd.SSHCommand, rd.Jump, want)
		}
		if !strings.HasPrefix(rd.KnownHosts, alias+" ssh-ed25519 ") || rd.Relay != "upterm://"+hostport {
			t.Errorf("%s: known_hosts %q, relay %q", hostport, rd.KnownHosts, rd.Relay)
		}
		if s := summaryStart(Config{Label: "job"}, rd); !strings.Contains(s, "Through the relay `upterm://"+hostport+"`") || !strings.Contains(s, rd.SSHCommand) {
			t.Errorf("%s: summary %q", hostport, s)
		}
	}
	if s := summaryStart(Config{Label: "job"}, Ready{SSHCommand: "ssh -p 2 runner@h"}); strings.Contains(s, "relay") {
		t.Errorf("a direct pause's summary mentions a relay: %q", s)
	}
}
