package testutil

import (
	"crypto/ed25519"
	"crypto/rand"
	"os"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"
)

// NewSSHSigner is a fresh ed25519 key, as the agent's host key is, for
// tests that serve or log in with a key of their own.
func NewSSHSigner(t testing.TB) ssh.Signer {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// SSHPublicKey is a fresh ed25519 public key, for tests that need a
// host key to name (an audience, a known_hosts line) but not to serve.
func SSHPublicKey(t testing.TB) ssh.PublicKey {
	t.Helper()
	return NewSSHSigner(t).PublicKey()
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
