package wire

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestReadyRoundTrip: what WriteReady writes, ReadReady reads back as
// the same value, with every field set; the file is readable by all.
func TestReadyRoundTrip(t *testing.T) {
	at := time.Date(2026, 3, 1, 12, 30, 5, 123456789, time.UTC)
	want := Ready{
		Address: "127.0.0.1:40123", Host: "127.0.0.1", Port: 40123, User: "runner",
		SSHCommand: "ssh -p 40123 runner@127.0.0.1", KnownHosts: "[127.0.0.1]:40123 ssh-ed25519 AAAA",
		HostKey: "ssh-ed25519 AAAA", HostKeyFingerprint: "SHA256:abc", Listen: "[::]:40123",
		ControlSocket: "/tmp/pitstop.sock", PID: 4242, AuthorizedUsers: []string{"octocat"},
		AuthorizedKeyFingerprints: []string{"SHA256:k1", "SHA256:k2"},
		StartedAt:                 at, WaitDeadline: at.Add(15 * time.Minute), Deadline: at.Add(time.Hour),
		Relay: "pitstop@relay.example:22", Jump: "pitstop@relay.example", ForwardedAt: at.Add(time.Second),
	}
	path := filepath.Join(t.TempDir(), "ready.json")
	if err := WriteReady(path, want); err != nil {
		t.Fatal(err)
	}
	got, err := ReadReady(path)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(*got, want) {
		t.Errorf("read back:\n got %+v\nwant %+v", *got, want)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o644 {
		t.Errorf("mode %v, want 0644", fi.Mode().Perm())
	}
	if entries, _ := os.ReadDir(filepath.Dir(path)); len(entries) != 1 {
		t.Errorf("the directory holds %d entries, want only the ready file", len(entries))
	}
}

// TestReadyFieldNames pins the JSON names: readers outside Go (the
// action's outputs, scripts) depend on them.
func TestReadyFieldNames(t *testing.T) {
	data, err := json.Marshal(Ready{})
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	var names []string
	for k := range m {
		names = append(names, k)
	}
	want := []string{"address", "authorized_key_fingerprints", "authorized_users", "control_socket", "deadline",
		"host", "host_key", "host_key_fingerprint", "known_hosts", "listen", "pid", "port", "ssh_command",
		"started_at", "user", "wait_deadline"}
	if got := sortedJoin(names); got != sortedJoin(want) {
		t.Errorf("fields of an empty ready file:\n got %s\nwant %s", got, sortedJoin(want))
	}
}

func TestReadReady(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "ready.json")

	if _, err := ReadReady(path); !errors.Is(err, ErrNotReady) {
		t.Fatalf("missing file: got %v, want ErrNotReady", err)
	}
	for _, partial := range []string{`{"address": "127.0.0.1:4`, `{}`, `{"address":"127.0.0.1:40123"}`} {
		if err := os.WriteFile(path, []byte(partial), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := ReadReady(path); !errors.Is(err, ErrNotReady) {
			t.Errorf("%q: got %v, want ErrNotReady", partial, err)
		}
	}

	if err := os.WriteFile(path, []byte(`{"address":"no-port","known_hosts":"x"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadReady(path); err == nil || errors.Is(err, ErrNotReady) {
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
	if !reflect.DeepEqual(*r, want) {
		t.Errorf("got %+v, want %+v", *r, want)
	}
}

// TestLoadReady: LoadReady takes any whole document, such as a relay's
// whose address is a socket's path, which ReadReady refuses to dial, and
// is not ready on a missing or partial file like ReadReady.
func TestLoadReady(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ready.json")
	if _, err := LoadReady(path); !errors.Is(err, ErrNotReady) {
		t.Fatalf("missing file: got %v, want ErrNotReady", err)
	}
	if err := os.WriteFile(path, []byte(`{"control_socket": "/tmp/p`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadReady(path); !errors.Is(err, ErrNotReady) {
		t.Errorf("partial file: got %v, want ErrNotReady", err)
	}
	want := Ready{Address: "/tmp/pitstop.sock", KnownHosts: "x", Relay: "root@127.0.0.1:22", ControlSocket: "/tmp/c.sock"}
	if err := WriteReady(path, want); err != nil {
		t.Fatal(err)
	}
	got, err := LoadReady(path)
	if err != nil || !reflect.DeepEqual(*got, want) {
		t.Errorf("LoadReady = %+v, %v; want %+v", got, err, want)
	}
	if _, err := ReadReady(path); err == nil {
		t.Error("ReadReady took a socket's path as an address to dial")
	}
}

func sortedJoin(s []string) string {
	c := slices.Clone(s)
	slices.Sort(c)
	return strings.Join(c, ",")
}
