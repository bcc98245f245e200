package testutil

import (
	"crypto/ed25519"
	"crypto/rand"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"
)

// SSHPublicKey is a fresh ed25519 public key, for tests that need a
// host key to name (an audience, a known_hosts line) but not to serve.
func SSHPublicKey(t testing.TB) ssh.PublicKey {
	t.Helper()
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	k, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// SSHAuthorizedKey is a fresh ed25519 public key as an authorized_keys
// line without a comment, for tests that admit a key they never use.
func SSHAuthorizedKey(t testing.TB) string {
	t.Helper()
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(SSHPublicKey(t))))
}
