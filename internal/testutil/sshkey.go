package testutil

import (
	"crypto/ed25519"
	"crypto/rand"
	"os"
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

// SSHSigner is the private key in the file path (as ssh-keygen writes
// it, without a passphrase), for tests that log in or serve with it.
func SSHSigner(t testing.TB, path string) ssh.Signer {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s, err := ssh.ParsePrivateKey(b)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return s
}
