package upterm

import (
	"bytes"
	"errors"
	"fmt"
	"net"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// The public relay upterm runs.
const (
	// PublicRelayHost is the public relay's host name.
	PublicRelayHost = "uptermd.upterm.dev"
	// PublicRelayAddr is where hosts reach it.
	PublicRelayAddr = PublicRelayHost + ":22"
	// PublicRelayKey is the public relay's host key, as upterm publishes
	// it in its repository (etc/known_hosts/uptermd.upterm.dev, an
	// @cert-authority line): the relay presents a host certificate signed
	// by this key, or the key itself.
	PublicRelayKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAICiecex8Dq718eSe1CCLgLvDmI7AagvCtax7brPFWkh4"
)

// PublicRelayKnownHosts is a known_hosts file's text that pins the public
// relay for OpenSSH: the certificate authority line upterm publishes.
const PublicRelayKnownHosts = "@cert-authority " + PublicRelayHost + " " + PublicRelayKey + "\n"

// PinnedKeys returns a host key callback that accepts exactly keys: one
// of them shown as a plain host key, or a host certificate one of them
// signed that is valid now and names the host dialed.
func PinnedKeys(keys ...ssh.PublicKey) ssh.HostKeyCallback {
	known := func(k ssh.PublicKey) bool {
		for _, p := range keys {
			if bytes.Equal(p.Marshal(), k.Marshal()) {
				return true
			}
		}
		return false
	}
	checker := &ssh.CertChecker{
		IsHostAuthority: func(auth ssh.PublicKey, _ string) bool { return known(auth) },
		HostKeyFallback: func(_ string, _ net.Addr, key ssh.PublicKey) error {
			if !known(key) {
				return &KeyMismatchError{Key: key}
			}
			return nil
		},
	}
	return func(hostname string, remote net.Addr, key ssh.PublicKey) error {
		err := checker.CheckHostKey(hostname, remote, key)
		if err != nil {
			if _, ok := err.(*KeyMismatchError); !ok {
				return &KeyMismatchError{Key: key, Err: err}
			}
		}
		return err
	}
}

// KnownHosts returns a host key callback that checks the relay's key
// against known_hosts files. A host certificate passes when the files
// trust its signer, either as an @cert-authority or as the host's own key
// (what ssh-keyscan prints for uptermd, whose certificates are signed by
// its host key).
func KnownHosts(files ...string) (ssh.HostKeyCallback, error) {
	check, err := knownhosts.New(files...)
	if err != nil {
		return nil, err
	}
	return func(hostname string, remote net.Addr, key ssh.PublicKey) error {
		err := check(hostname, remote, key)
		cert, isCert := key.(*ssh.Certificate)
		if err == nil || !isCert {
			return err
		}
		if check(hostname, remote, cert.SignatureKey) != nil {
			return &KeyMismatchError{Key: key, Err: err}
		}
		// The certificate's principals and options are the relay's
		// text, which CertChecker's errors quote.
		// The signer is the host's known key: the certificate must still
		// be one for this host, valid now.
		certCheck := &ssh.CertChecker{
			IsHostAuthority: func(auth ssh.PublicKey, _ string) bool {
				return bytes.Equal(auth.Marshal(), cert.SignatureKey.Marshal())
			},
		}
		if err := certCheck.CheckHostKey(hostname, remote, key); err != nil {
			return peerError{err}
		}
		return nil
	}, nil
}

// KeyMismatchError is a relay host key the pins do not allow.
type KeyMismatchError struct {
	Key ssh.PublicKey // what the relay showed
	Err error         // the check's own words, if any
}

func (e *KeyMismatchError) Error() string {
	msg := fmt.Sprintf("host key %s is not the relay's pinned key", Fingerprint(e.Key))
	if e.Err != nil {
		// CertChecker's errors quote the certificate's principals.
		msg += " (" + RelayText(e.Err) + ")"
	}
	return msg
}

// Unwrap returns the check's own error.
func (e *KeyMismatchError) Unwrap() error { return e.Err }

// Fingerprint is the SHA256 fingerprint of key, or of the signer of a
// certificate, which is what people compare.
func Fingerprint(key ssh.PublicKey) string {
	if cert, ok := key.(*ssh.Certificate); ok {
		return ssh.FingerprintSHA256(cert.SignatureKey) + " (certificate)"
	}
	return ssh.FingerprintSHA256(key)
}

// ParsePublicRelayKey is PublicRelayKey, parsed.
func ParsePublicRelayKey() ssh.PublicKey {
	k, _, _, _, err := ssh.ParseAuthorizedKey([]byte(PublicRelayKey))
	if err != nil {
		panic(errors.New("upterm: PublicRelayKey does not parse: " + err.Error()))
	}
	return k
}
