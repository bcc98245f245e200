package forge

import (
	"crypto/ed25519"
	"crypto/rand"
	"runtime"
	"strings"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"github.com/pitstopci/pitstop/internal/ghfake"
)

// testUser is a forge user with a fresh ed25519 key.
type testUser struct {
	name   string
	signer gossh.Signer
}

func newTestUser(t *testing.T, name string) testUser {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := gossh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return testUser{name: name, signer: signer}
}

// authorizedLine is the user's public key as an authorized_keys line.
func (u testUser) authorizedLine() string {
	return strings.TrimSpace(string(gossh.MarshalAuthorizedKey(u.signer.PublicKey())))
}

// newFakeGitHub starts a fake GitHub API with users' keys published.
func newFakeGitHub(t *testing.T, users ...testUser) *ghfake.Server {
	t.Helper()
	f := ghfake.New(t, ghfake.Options{})
	for _, u := range users {
		f.AddKey(u.name, u.authorizedLine())
	}
	return f
}

// checkGoroutines fails the test if goroutines started during it are
// still running once its cleanups ran. Register it first: cleanups run
// last-in first-out, so it then runs after everything else.
func checkGoroutines(t *testing.T) {
	before := runtime.NumGoroutine()
	t.Cleanup(func() {
		deadline := time.Now().Add(5 * time.Second)
		for runtime.NumGoroutine() > before {
			if time.Now().After(deadline) {
				buf := make([]byte, 1<<20)
				n := runtime.Stack(buf, true)
				t.Errorf("goroutine leak: %d before the test, %d after\n%s", before, runtime.NumGoroutine(), buf[:n])
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
}
