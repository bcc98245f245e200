package actrun

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestReadReady(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "ready.json")

	if _, err := ReadReady(path); !errors.Is(err, errNotReady) {
		t.Fatalf("missing file: got %v, want errNotReady", err)
	}
	for _, partial := range []string{`{"address": "127.0.0.1:4`, `{}`, `{"address":"127.0.0.1:40123"}`} {
		if err := os.WriteFile(path, []byte(partial), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := ReadReady(path); !errors.Is(err, errNotReady) {
			t.Errorf("%q: got %v, want errNotReady", partial, err)
		}
	}

	if err := os.WriteFile(path, []byte(`{"address":"no-port","known_hosts":"x"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadReady(path); err == nil || errors.Is(err, errNotReady) {
		t.Errorf("address without port: got %v, want a hard error", err)
	}

	full := `{"address":"127.0.0.1:40123","known_hosts":"[127.0.0.1]:40123 ssh-ed25519 AAAA","host_key_fingerprint":"SHA256:abc","user":"dev","extra":1}`
	if err := os.WriteFile(path, []byte(full), 0o600); err != nil {
		t.Fatal(err)
	}
	r, err := ReadReady(path)
	if err != nil {
		t.Fatal(err)
	}
	want := Ready{Address: "127.0.0.1:40123", KnownHosts: "[127.0.0.1]:40123 ssh-ed25519 AAAA", HostKeyFingerprint: "SHA256:abc", User: "dev"}
	if *r != want {
		t.Errorf("got %+v, want %+v", *r, want)
	}
}

func TestSSHCommand(t *testing.T) {
	tests := []struct {
		ready      Ready
		knownHosts string
		wantArgs   []string
		wantLine   string
	}{
		{
			ready:      Ready{Address: "127.0.0.1:40123", User: "dev"},
			knownHosts: "/tmp/pitstop-act-1/known_hosts",
			wantArgs: []string{"-p", "40123", "-o", "StrictHostKeyChecking=yes",
				"-o", "UserKnownHostsFile=/tmp/pitstop-act-1/known_hosts", "-o", "GlobalKnownHostsFile=/dev/null", "dev@127.0.0.1"},
			wantLine: "ssh -p 40123 -o StrictHostKeyChecking=yes -o UserKnownHostsFile=/tmp/pitstop-act-1/known_hosts -o GlobalKnownHostsFile=/dev/null dev@127.0.0.1",
		},
		{
			// Port 22 needs no -p; no user means the runner's usual name;
			// a path with a space is quoted for the shell.
			ready:      Ready{Address: "[::1]:22"},
			knownHosts: "/Users/Jo Doe/tmp/known_hosts",
			wantArgs: []string{"-o", "StrictHostKeyChecking=yes",
				"-o", "UserKnownHostsFile=/Users/Jo Doe/tmp/known_hosts", "-o", "GlobalKnownHostsFile=/dev/null", "runner@::1"},
			wantLine: "ssh -o StrictHostKeyChecking=yes -o 'UserKnownHostsFile=/Users/Jo Doe/tmp/known_hosts' -o GlobalKnownHostsFile=/dev/null runner@::1",
		},
	}
	for _, tt := range tests {
		if got := tt.ready.SSHArgs(tt.knownHosts); !reflect.DeepEqual(got, tt.wantArgs) {
			t.Errorf("SSHArgs(%+v):\n got %q\nwant %q", tt.ready, got, tt.wantArgs)
		}
		if got := tt.ready.SSHCommand(tt.knownHosts); got != tt.wantLine {
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
