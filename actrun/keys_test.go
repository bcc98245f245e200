package actrun

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pitstopci/pitstop/internal/testutil"
)

func newPublicKey(t *testing.T, comment string) string {
	return testutil.SSHAuthorizedKey(t) + " " + comment
}

func TestLocalKeys(t *testing.T) {
	home := t.TempDir()
	ssh := filepath.Join(home, ".ssh")
	if err := os.Mkdir(ssh, 0o700); err != nil {
		t.Fatal(err)
	}
	a, b, c := newPublicKey(t, "a@laptop"), newPublicKey(t, "b@laptop"), newPublicKey(t, "in-agent")
	files := map[string]string{
		"id_ed25519.pub": a + "\n",
		"work.pub":       "# a comment\n\n" + b + "\n",
		"junk.pub":       "not a key\n",
		"id_ed25519":     "PRIVATE, never read\n",
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(ssh, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	agent := func() ([]byte, error) { return []byte(a + "\n" + c + "\n"), nil } // a again: dropped

	got, err := LocalKeys(home, agent)
	if err != nil {
		t.Fatal(err)
	}
	want := a + "\n" + b + "\n" + c + "\n"
	if string(got) != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}

	// An agent that fails is not an error when files have keys.
	failing := func() ([]byte, error) { return nil, errors.New("no agent") }
	if got, err := LocalKeys(home, failing); err != nil || strings.Count(string(got), "\n") != 2 {
		t.Errorf("failing agent: got %q, %v; want the two file keys", got, err)
	}
	// Keys from the agent alone are enough.
	if got, err := LocalKeys(t.TempDir(), agent); err != nil || strings.Count(string(got), "\n") != 2 {
		t.Errorf("agent only: got %q, %v; want the two agent keys", got, err)
	}
}

func TestLocalKeysNone(t *testing.T) {
	home := t.TempDir()
	_, err := LocalKeys(home, func() ([]byte, error) { return nil, errors.New("no agent") })
	if !errors.Is(err, ErrNoLocalKeys) {
		t.Fatalf("got %v, want ErrNoLocalKeys", err)
	}
	if !strings.Contains(err.Error(), "ssh-keygen -t ed25519") || !strings.Contains(err.Error(), home) {
		t.Errorf("error should say where it looked and how to make a key: %v", err)
	}
}

func TestSSHAgentKeysWithoutAgent(t *testing.T) {
	if _, err := SSHAgentKeys([]string{"PATH=/usr/bin:/bin"})(); err == nil {
		t.Fatal("no SSH_AUTH_SOCK: want an error")
	}
}
