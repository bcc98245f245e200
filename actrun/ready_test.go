package actrun

import (
	"reflect"
	"testing"

	"github.com/pitstopci/pitstop/internal/wire"
)

func TestSSHCommand(t *testing.T) {
	tests := []struct {
		ready      wire.Ready
		knownHosts string
		wantArgs   []string
		wantLine   string
	}{
		{
			ready:      wire.Ready{Address: "127.0.0.1:40123", User: "dev"},
			knownHosts: "/tmp/pitstop-act-1/known_hosts",
			wantArgs: []string{"-p", "40123", "-o", "StrictHostKeyChecking=yes",
				"-o", "UserKnownHostsFile=/tmp/pitstop-act-1/known_hosts", "-o", "GlobalKnownHostsFile=/dev/null", "dev@127.0.0.1"},
			wantLine: "ssh -p 40123 -o StrictHostKeyChecking=yes -o UserKnownHostsFile=/tmp/pitstop-act-1/known_hosts -o GlobalKnownHostsFile=/dev/null dev@127.0.0.1",
		},
		{
			// Port 22 needs no -p; no user means the runner's usual name;
			// a path with a space is quoted for the shell.
			ready:      wire.Ready{Address: "[::1]:22"},
			knownHosts: "/Users/Jo Doe/tmp/known_hosts",
			wantArgs: []string{"-o", "StrictHostKeyChecking=yes",
				"-o", "UserKnownHostsFile=/Users/Jo Doe/tmp/known_hosts", "-o", "GlobalKnownHostsFile=/dev/null", "runner@::1"},
			wantLine: "ssh -o StrictHostKeyChecking=yes -o 'UserKnownHostsFile=/Users/Jo Doe/tmp/known_hosts' -o GlobalKnownHostsFile=/dev/null runner@::1",
		},
	}
	for _, tt := range tests {
		if got := SSHArgs(&tt.ready, tt.knownHosts); !reflect.DeepEqual(got, tt.wantArgs) {
			t.Errorf("SSHArgs(%+v):\n got %q\nwant %q", tt.ready, got, tt.wantArgs)
		}
		if got := SSHCommand(&tt.ready, tt.knownHosts); got != tt.wantLine {
			t.Errorf("SSHCommand(%+v):\n got %s\nwant %s", tt.ready, got, tt.wantLine)
		}
	}
}

func TestShellQuote(t *testing.T) {
	for in, want := range map[string]string{
		"plain-word_1.2:/x=y@z": "plain-word_1.2:/x=y@z",
		"":                      "''",
		"a b":                   "'a b'",
		"it's":                  `'it'\''s'`,
		"$HOME":                 "'$HOME'",
	} {
		if got := shellQuote(in); got != want {
			t.Errorf("shellQuote(%q) = %s, want %s", in, got, want)
		}
	}
}
