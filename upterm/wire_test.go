package upterm

import (
	"encoding/hex"
	"reflect"
	"testing"
)

// TestWireRoundTrip: what is marshaled unmarshals to the same message.
func TestWireRoundTrip(t *testing.T) {
	req := CreateSessionRequest{HostUser: "runner", HostPublicKeys: [][]byte{[]byte("ssh-ed25519 AAAA host")},
		ClientAuthorizedKeys: [][]byte{[]byte("ssh-ed25519 AAAA a"), []byte("ssh-rsa AAAA b")}}
	var got CreateSessionRequest
	if err := got.Unmarshal(req.Marshal()); err != nil || !reflect.DeepEqual(got, req) {
		t.Errorf("request: %+v, %v", got, err)
	}
	ar := AuthRequest{ClientVersion: "SSH-2.0-OpenSSH_9.2", RemoteAddr: "192.0.2.1:5000", AuthorizedKey: []byte("ssh-ed25519 AAAA")}
	var gotAR AuthRequest
	if err := gotAR.Unmarshal(ar.Marshal()); err != nil || !reflect.DeepEqual(gotAR, ar) {
		t.Errorf("auth request: %+v, %v", gotAR, err)
	}
}

// TestWireDecodesUptermBytes: bytes as protobuf encodes upterm's
// CreateSessionResponse, with the newer field 4 (a bool) that this
// package does not know, which it skips.
func TestWireDecodesUptermBytes(t *testing.T) {
	// sessionID "abc" (1), nodeAddr "10.0.0.1:22" (2), ssh_user "abc:x" (3), sessionKeyRedial true (4).
	b, _ := hex.DecodeString("0a03616263120b31302e302e302e313a32321a056162633a782001")
	var r CreateSessionResponse
	if err := r.Unmarshal(b); err != nil {
		t.Fatal(err)
	}
	if r != (CreateSessionResponse{SessionID: "abc", NodeAddr: "10.0.0.1:22", SSHUser: "abc:x"}) {
		t.Errorf("decoded %+v", r)
	}
	if err := r.Unmarshal(b[:len(b)-1]); err == nil {
		t.Error("a truncated message decoded")
	}
	if err := r.Unmarshal([]byte{0x0a, 0x09, 'a'}); err == nil {
		t.Error("a field longer than the message decoded")
	}
}

// TestLegacySSHUser: relays that do not say the guests' login get
// upterm's embedded-routing form.
func TestLegacySSHUser(t *testing.T) {
	if got := legacySSHUser("IqKsfoiclsNnxqztDKoj", "10.0.49.166:22"); got != "IqKsfoiclsNnxqztDKoj:MTAuMC40OS4xNjY6MjI=" {
		t.Errorf("got %q", got)
	}
	if got := legacySSHUser("abc", ""); got != "abc" {
		t.Errorf("got %q", got)
	}
}
