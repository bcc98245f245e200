package uptermtest

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/pitstopci/pitstop/upterm"
)

// serveGuest carries one guest's connection to the host of its session:
// it dials the host back through the host's forward, logs in with a
// certificate naming the guest, and forwards channels and global
// requests, recording what it decrypts.
func (r *Relay) serveGuest(conn *ssh.ServerConn, chans <-chan ssh.NewChannel, reqs <-chan *ssh.Request) {
	r.mu.Lock()
	s := r.sessions[sessionOf(conn.User())]
	fake := r.impersonate
	r.guests++
	r.mu.Unlock()
	if s == nil {
		return
	}
	if fake != nil {
		go ssh.DiscardRequests(reqs)
		r.impersonateHost(fake, chans)
		return
	}
	up, err := r.dialHost(conn, s)
	if err != nil {
		r.rec("[relay: could not reach the host: %v]\n", err)
		go ssh.DiscardRequests(reqs)
		for nc := range chans {
			nc.Reject(ssh.ConnectionFailed, "upstream unavailable") //nolint:errcheck // test relay
		}
		return
	}
	defer up.Close()
	// wg counts the channels being forwarded; once the host is gone no
	// more are (closing), so that wg.Wait never races with wg.Add.
	var wg sync.WaitGroup
	var mu sync.Mutex
	closing := false
	go func() {
		conn.Wait() //nolint:errcheck // either end closing ends both
		up.Close()
	}()
	go func() {
		up.Wait() //nolint:errcheck // as above
		mu.Lock()
		closing = true
		mu.Unlock()
		// What the host sent before it left is still being copied.
		wg.Wait()
		conn.Close()
	}()
	go func() {
		for req := range reqs {
			ok, payload, err := up.SendRequest(req.Type, req.WantReply, req.Payload)
			r.rec("[global request %s %q]\n", req.Type, req.Payload)
			if req.WantReply {
				req.Reply(ok && err == nil, payload) //nolint:errcheck // may be gone
			}
		}
	}()
	for nc := range chans {
		mu.Lock()
		if closing {
			mu.Unlock()
			nc.Reject(ssh.ConnectionFailed, "the host is gone") //nolint:errcheck // test relay
			continue
		}
		wg.Add(1)
		mu.Unlock()
		go func() {
			defer wg.Done()
			r.forwardChannel(up, nc)
		}()
	}
	wg.Wait()
}

// dialHost opens the forwarded-streamlocal channel to the session's host
// and logs in to the host's server as uptermd does.
func (r *Relay) dialHost(guest *ssh.ServerConn, s *session) (ssh.Conn, error) {
	payload := ssh.Marshal(struct{ Path, Reserved string }{s.id, ""})
	ch, reqs, err := s.host.OpenChannel("forwarded-streamlocal@openssh.com", payload)
	if err != nil {
		return nil, err
	}
	go ssh.DiscardRequests(reqs)
	auth := upterm.AuthRequest{
		ClientVersion: string(guest.ClientVersion()),
		RemoteAddr:    guest.RemoteAddr().String(),
		AuthorizedKey: []byte(guest.Permissions.Extensions["key"]),
	}
	now := time.Now()
	cert := &ssh.Certificate{
		Key:             r.Key.PublicKey(),
		CertType:        ssh.UserCert,
		KeyId:           string(guest.SessionID()),
		ValidPrincipals: []string{guest.User()},
		ValidAfter:      uint64(now.Add(-time.Minute).Unix()), //nolint:gosec // after 1970
		ValidBefore:     uint64(now.Add(time.Minute).Unix()),  //nolint:gosec // as above
		Permissions:     ssh.Permissions{Extensions: map[string]string{upterm.AuthRequestExtension: string(auth.Marshal())}},
	}
	if r.opts.CertPrincipals != nil {
		cert.ValidPrincipals = r.opts.CertPrincipals
	}
	cert.CriticalOptions = r.opts.CertCriticalOptions
	if err := cert.SignCert(rand.Reader, r.Key); err != nil {
		ch.Close()
		return nil, err
	}
	certSigner, err := ssh.NewCertSigner(cert, r.Key)
	if err != nil {
		ch.Close()
		return nil, err
	}
	cfg := &ssh.ClientConfig{
		User: guest.User(),
		Auth: []ssh.AuthMethod{ssh.PublicKeys(certSigner)},
		HostKeyCallback: func(_ string, _ net.Addr, key ssh.PublicKey) error {
			for _, k := range s.hostKeys {
				if bytes.Equal(k.Marshal(), key.Marshal()) {
					return nil
				}
			}
			return errors.New("ssh: host key mismatch")
		},
		Timeout: 20 * time.Second,
	}
	carrier, err := r.carry(ch)
	if err != nil {
		ch.Close()
		return nil, err
	}
	c, chans, reqs2, err := ssh.NewClientConn(carrier, s.id, cfg)
	if err != nil {
		ch.Close()
		return nil, err
	}
	go func() {
		for nc := range chans {
			nc.Reject(ssh.Prohibited, "not forwarded to guests by this relay") //nolint:errcheck // test relay
		}
	}()
	go ssh.DiscardRequests(reqs2)
	return c, nil
}

// carry is the connection the relay logs in to the host on, through ch.
// With CloseBoth it is ch itself, closed with it. Otherwise it is one end
// of a unix socket copied to and from ch as uptermd copies its session
// socket (server/sshhandler.go): a plain io.Copy each way, no buffer of
// its own. Closing it ends the copies, and ch is left open with nothing
// sent, until the host's connection goes.
func (r *Relay) carry(ch ssh.Channel) (net.Conn, error) {
	if r.opts.CloseBoth {
		return newChanConn(ch), nil
	}
	login, far, err := socketPair()
	if err != nil {
		return nil, err
	}
	go func() {
		io.Copy(ch, far) //nolint:errcheck // ends when the login closes; ch gets no EOF
	}()
	go func() {
		io.Copy(far, ch) //nolint:errcheck // ends at the first write after the login closed
		far.Close()
	}()
	return login, nil
}

// socketPair is both ends of a unix socket, as uptermd dials for each
// guest: buffered by the kernel, where net.Pipe would hand over every
// write in step. The socket's directory is private and gone once both
// ends are connected.
func socketPair() (net.Conn, net.Conn, error) {
	dir, err := os.MkdirTemp("", "uptermtest")
	if err != nil {
		return nil, nil, err
	}
	defer os.RemoveAll(dir)
	ln, err := net.Listen("unix", filepath.Join(dir, "s"))
	if err != nil {
		return nil, nil, err
	}
	defer ln.Close()
	a, err := net.Dial("unix", ln.Addr().String())
	if err != nil {
		return nil, nil, err
	}
	b, err := ln.Accept()
	if err != nil {
		a.Close()
		return nil, nil, err
	}
	return a, b, nil
}

// forwardChannel opens the guest's channel on the host's side and copies
// both ways, recording data and requests.
func (r *Relay) forwardChannel(up ssh.Conn, nc ssh.NewChannel) {
	r.rec("[channel %s %q]\n", nc.ChannelType(), nc.ExtraData())
	hc, hreqs, err := up.OpenChannel(nc.ChannelType(), nc.ExtraData())
	if err != nil {
		var oce *ssh.OpenChannelError
		if errors.As(err, &oce) {
			nc.Reject(oce.Reason, oce.Message) //nolint:errcheck // may be gone
		} else {
			nc.Reject(ssh.ConnectionFailed, err.Error()) //nolint:errcheck // may be gone
		}
		r.rec("[channel %s refused by the host: %v]\n", nc.ChannelType(), err)
		return
	}
	gc, greqs, err := nc.Accept()
	if err != nil {
		hc.Close()
		return
	}
	var wg sync.WaitGroup
	wg.Add(4)
	copyDir := func(dst, src ssh.Channel, done chan<- struct{}) {
		defer wg.Done()
		defer close(done)
		var inner sync.WaitGroup
		inner.Add(1)
		go func() {
			defer inner.Done()
			io.Copy(dst.Stderr(), io.TeeReader(src.Stderr(), recorder{r})) //nolint:errcheck // ends with the channel
		}()
		io.Copy(dst, io.TeeReader(src, recorder{r})) //nolint:errcheck // as above
		inner.Wait()
		if dst == hc && !r.opts.CloseBoth {
			return // uptermd sends the host no EOF
		}
		dst.CloseWrite() //nolint:errcheck // may be closed
	}
	// A side's requests end when it closes its channel; the other side is
	// closed once what that side sent before has been copied, as uptermd
	// does, so no data is cut off.
	fwdReqs := func(dst ssh.Channel, reqs <-chan *ssh.Request, copied <-chan struct{}) {
		defer wg.Done()
		for req := range reqs {
			r.rec("[request %s %q]\n", req.Type, req.Payload)
			ok, err := dst.SendRequest(req.Type, req.WantReply, req.Payload)
			if req.WantReply {
				req.Reply(ok && err == nil, nil) //nolint:errcheck // may be gone
			}
		}
		<-copied
		if dst == hc && !r.opts.CloseBoth {
			return // nor closes the host's channel
		}
		dst.Close()
	}
	fromHost, fromGuest := make(chan struct{}), make(chan struct{})
	go copyDir(hc, gc, fromGuest)
	go copyDir(gc, hc, fromHost)
	go fwdReqs(hc, greqs, fromGuest)
	go fwdReqs(gc, hreqs, fromHost)
	wg.Wait()
}

// impersonateHost answers direct-tcpip channels with an SSH server of its
// own, as a relay posing as the host would.
func (r *Relay) impersonateHost(key ssh.Signer, chans <-chan ssh.NewChannel) {
	for nc := range chans {
		if nc.ChannelType() != upterm.DirectTCPIP {
			nc.Reject(ssh.Prohibited, "no") //nolint:errcheck // test relay
			continue
		}
		ch, reqs, err := nc.Accept()
		if err != nil {
			continue
		}
		go ssh.DiscardRequests(reqs)
		go func() {
			cfg := &ssh.ServerConfig{NoClientAuth: true, ServerVersion: "SSH-2.0-OpenSSH_9.2"}
			cfg.AddHostKey(key)
			c, chans, reqs, err := ssh.NewServerConn(newChanConn(ch), cfg)
			if err != nil {
				r.rec("[impersonation failed: %v]\n", err)
				ch.Close()
				return
			}
			r.rec("[impersonation succeeded]\n")
			go ssh.DiscardRequests(reqs)
			for nc := range chans {
				nc.Reject(ssh.Prohibited, "impostor") //nolint:errcheck // test relay
			}
			c.Close()
		}()
	}
}

// chanConn is a channel as a net.Conn, for the SSH connections the relay
// runs inside channels. Reads go through a buffer, as the host's do (see
// upterm's readBuffer): an SSH transport reads 4 KiB at a time.
type chanConn struct {
	ssh.Channel
	r *bufio.Reader
}

func newChanConn(ch ssh.Channel) *chanConn {
	return &chanConn{Channel: ch, r: bufio.NewReaderSize(ch, 64<<10)}
}

func (c *chanConn) Read(p []byte) (int, error) { return c.r.Read(p) }

func (c *chanConn) LocalAddr() net.Addr                { return &net.TCPAddr{} }
func (c *chanConn) RemoteAddr() net.Addr               { return &net.TCPAddr{} }
func (c *chanConn) SetDeadline(t time.Time) error      { return fmt.Errorf("no deadlines") }
func (c *chanConn) SetReadDeadline(t time.Time) error  { return fmt.Errorf("no deadlines") }
func (c *chanConn) SetWriteDeadline(t time.Time) error { return fmt.Errorf("no deadlines") }
