package agent

import (
	"net"
	"strings"
	"testing"

	"github.com/rs/zerolog"
	gossh "golang.org/x/crypto/ssh"

	"github.com/pitstopci/pitstop/agent/access"
	"github.com/pitstopci/pitstop/internal/testutil"
	"github.com/pitstopci/pitstop/relay"
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
		relay relay.Kind // "-" for none
		log   string
	}{
		{"hosted, nothing given", Config{Env: hosted}, relay.Upterm, "reached through upterm's public relay uptermd.upterm.dev"},
		{"self-hosted", Config{Env: self}, "-", ""},
		{"act", Config{Env: []string{"ACT=true"}}, "-", ""},
		{"act on a hosted runner", Config{Env: []string{"ACT=true", "RUNNER_ENVIRONMENT=github-hosted"}}, "-", ""},
		{"hosted, none", Config{Env: hosted, Relay: &relay.Config{Kind: relay.None}}, "-", "nobody can reach the address"},
		{"self-hosted, none", Config{Env: self, Relay: &relay.Config{Kind: relay.None}}, "-", ""},
		{"hosted, listen given", Config{Env: hosted, Listen: "127.0.0.1:0"}, "-", "nobody can reach the address"},
		{"hosted, own relay", Config{Env: hosted, Relay: &relay.Config{Kind: relay.Upterm, Address: "relay.example.com"}}, relay.Upterm, ""},
	} {
		cfg, note := chooseRelay(tt.cfg, ReadJob(tt.cfg.Env).hostedRunner)
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

// TestSummaryThroughRelay: a pause reached through a relay takes the
// relay's command into the ready file and the summary, which names the
// relay and what it can see; a direct pause's summary mentions no relay.
func TestSummaryThroughRelay(t *testing.T) {
	host, err := newHostKey()
	if err != nil {
		t.Fatal(err)
	}
	direct, err := newReady(Config{LoginUser: "runner", AdvertiseHost: "203.0.113.7"}, &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 2},
		host.PublicKey(), "/tmp/control.sock", &access.Keyring{}, access.Plan{}, pauseTimes{})
	if err != nil {
		t.Fatal(err)
	}
	if s := summaryStart(Config{Label: "job"}, direct); strings.Contains(s, "relay") || !strings.Contains(s, direct.SSHCommand) {
		t.Errorf("a direct pause's summary: %q", s)
	}
	a := relay.Access{Relay: "upterm://relay.example.com:2222", Jump: "S:Tk9ERQ==@relay.example.com:2222", Address: "relay.example.com:2222",
		Host: "pitstop-0123456789", Port: 22, SSHCommand: "ssh -J S:Tk9ERQ==@relay.example.com:2222 runner@pitstop-0123456789",
		KnownHosts: "pitstop-0123456789 " + strings.TrimSpace(string(gossh.MarshalAuthorizedKey(host.PublicKey())))}
	rd := throughRelay(direct, a)
	if rd.Relay != a.Relay || rd.Jump != a.Jump || rd.Address != a.Address || rd.Host != a.Host || rd.Port != a.Port ||
		rd.SSHCommand != a.SSHCommand || rd.KnownHosts != a.KnownHosts || rd.Listen != "" {
		t.Errorf("through the relay: %+v, want the relay's %+v", rd, a)
	}
	if rd.HostKeyFingerprint != direct.HostKeyFingerprint || rd.ControlSocket != direct.ControlSocket {
		t.Errorf("through the relay, the agent's own details changed: %+v", rd)
	}
	s := summaryStart(Config{Label: "job"}, rd)
	if !strings.Contains(s, "Through the relay `upterm://relay.example.com:2222`") || !strings.Contains(s, a.SSHCommand) || strings.Contains(s, direct.SSHCommand) {
		t.Errorf("summary through the relay: %q", s)
	}
}
