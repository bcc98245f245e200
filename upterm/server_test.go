package upterm

import (
	"crypto/rand"
	"net"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/pitstopci/pitstop/internal/testutil"
)

type connMeta struct{ user string }

func (m connMeta) User() string          { return m.user }
func (m connMeta) SessionID() []byte     { return nil }
func (m connMeta) ClientVersion() []byte { return []byte("SSH-2.0-uptermd") }
func (m connMeta) ServerVersion() []byte { return []byte(HostServerVersion) }
func (m connMeta) RemoteAddr() net.Addr  { return &net.TCPAddr{} }
func (m connMeta) LocalAddr() net.Addr   { return &net.TCPAddr{} }

// guestCert is the certificate a relay signed by authority would log in
// with for guest, valid from..until.
func guestCert(t *testing.T, authority ssh.Signer, guest ssh.PublicKey, from, until time.Time) ssh.PublicKey {
	t.Helper()
	ar := AuthRequest{ClientVersion: "SSH-2.0-OpenSSH_9.2", RemoteAddr: "192.0.2.7:40000", AuthorizedKey: ssh.MarshalAuthorizedKey(guest)}
	cert := &ssh.Certificate{Key: authority.PublicKey(), CertType: ssh.UserCert, KeyId: "x", ValidPrincipals: []string{"sess:node"},
		ValidAfter: uint64(from.Unix()), ValidBefore: uint64(until.Unix()), //nolint:gosec // after 1970
		Permissions: ssh.Permissions{Extensions: map[string]string{AuthRequestExtension: string(ar.Marshal())}}}
	if err := cert.SignCert(rand.Reader, authority); err != nil {
		t.Fatal(err)
	}
	return cert
}

// TestCheckRelayLogin: the host's server believes only certificates from
// the relay it checked, valid now, for the user logging in, naming a key
// it authorized.
func TestCheckRelayLogin(t *testing.T) {
	relay, forger, actor, stranger := testutil.NewSSHSigner(t), testutil.NewSSHSigner(t), testutil.NewSSHSigner(t), testutil.NewSSHSigner(t)
	s := &Session{RelayKey: relay.PublicKey(), host: &Host{AuthorizedKeys: []ssh.PublicKey{actor.PublicKey()}}}
	now := time.Now()
	ok := guestCert(t, relay, actor.PublicKey(), now.Add(-time.Minute), now.Add(time.Minute))
	perms, err := s.checkRelayLogin(connMeta{"sess:node"}, ok)
	if err != nil || perms.Extensions[extGuestAddr] != "192.0.2.7:40000" {
		t.Fatalf("the relay's certificate for the actor: %v, %v", perms, err)
	}
	for _, tt := range []struct {
		name, user string
		key        ssh.PublicKey
		want       string
	}{
		{"plain key", "sess:node", relay.PublicKey(), "not a certificate"},
		{"another authority", "sess:node", guestCert(t, forger, actor.PublicKey(), now.Add(-time.Minute), now.Add(time.Minute)), "not by the relay"},
		{"expired", "sess:node", guestCert(t, relay, actor.PublicKey(), now.Add(-time.Hour), now.Add(-time.Minute)), "expired"},
		{"another user", "other:node", ok, "principal"},
		{"stranger's key", "sess:node", guestCert(t, relay, stranger.PublicKey(), now.Add(-time.Minute), now.Add(time.Minute)), "did not authorize"},
	} {
		if _, err := s.checkRelayLogin(connMeta{tt.user}, tt.key); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v, want an error saying %q", tt.name, err, tt.want)
		}
	}
}
