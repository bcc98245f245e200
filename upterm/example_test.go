package upterm_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"net"

	"golang.org/x/crypto/ssh"

	"github.com/pitstopci/pitstop/internal/uptermtest"
	"github.com/pitstopci/pitstop/upterm"
)

// A host registers with a relay and serves what guests send through it.
// Here the relay is the test relay and the guest a Go client; in use the
// relay is an uptermd and the guest runs ssh -J SSHUSER@relay, and what
// Accept returns goes to an SSH server of the host's own.
func Example() {
	relay, err := uptermtest.Listen(uptermtest.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer relay.Close()
	guestKey, _ := ssh.ParsePrivateKey([]byte(exampleGuestKey))

	h := &upterm.Host{
		Addr:            relay.Addr,
		HostKeyCallback: upterm.PinnedKeys(relay.Key.PublicKey()),
		AuthorizedKeys:  []ssh.PublicKey{guestKey.PublicKey()},
	}
	s, err := h.Dial(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	defer s.Client.Close()
	defer s.Close()
	go func() {
		c, err := s.Accept()
		if err != nil {
			return
		}
		fmt.Fprintln(c, "hello from the host")
		c.Close()
	}()

	g, err := ssh.Dial("tcp", relay.Addr, &ssh.ClientConfig{
		User: s.SSHUser, Auth: []ssh.AuthMethod{ssh.PublicKeys(guestKey)},
		HostKeyCallback: ssh.FixedHostKey(relay.Key.PublicKey()), HostKeyAlgorithms: []string{ssh.KeyAlgoED25519},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer g.Close()
	var c net.Conn
	if c, err = g.Dial("tcp", "pitstop:22"); err != nil {
		log.Fatal(err)
	}
	b, _ := io.ReadAll(c)
	fmt.Print(string(b))
	// Output: hello from the host
}

// A throwaway ed25519 key for the example.
const exampleGuestKey = `-----BEGIN OPENSSH PRIVATE KEY-----
b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW
QyNTUxOQAAACDSq7B1Zn7Rm169kr+JWxYyLzJbsZc7Hca1o+Xu/y0XgwAAAJCOHnIwjh5y
MAAAAAtzc2gtZWQyNTUxOQAAACDSq7B1Zn7Rm169kr+JWxYyLzJbsZc7Hca1o+Xu/y0Xgw
AAAEC8twBnuTNxh0on/qglEPTTOHjF4X2fz1U3tXUwZhHsUNKrsHVmftGbXr2Sv4lbFjIv
MluxlzsdxrWj5e7/LReDAAAAB2V4YW1wbGUBAgMEBQY=
-----END OPENSSH PRIVATE KEY-----`
