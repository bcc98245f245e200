package upterm

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/pitstopci/pitstop/internal/wire"
)

// handshakeTimeout bounds the relay's login to the host's server, which
// the relay makes at once when a guest arrives.
const handshakeTimeout = 20 * time.Second

// Extensions of the permissions of a relay login, for the channels.
const (
	extGuestAddr = "guest-addr"
)

// serveRelayConn is the host's SSH server for one connection the relay
// made through the tunnel, on behalf of one guest. It admits only the
// relay's certificate and, on that connection, only direct-tcpip.
func (s *Session) serveRelayConn(c net.Conn) {
	cfg := &ssh.ServerConfig{
		ServerVersion:     HostServerVersion,
		Config:            s.host.Config,
		PublicKeyCallback: s.checkRelayLogin,
		// Nothing but the relay's certificate logs in.
		NoClientAuth: false,
		MaxAuthTries: 6,
	}
	cfg.AddHostKey(s.signer)
	// The channel carrying c has no deadlines: a timer stands in.
	timer := time.AfterFunc(handshakeTimeout, func() { c.Close() })
	conn, chans, reqs, err := ssh.NewServerConn(bufferReads(c), cfg)
	timer.Stop()
	if err != nil {
		c.Close()
		// The error may quote the relay's algorithms, or its
		// certificate's principals and critical options.
		s.refused("a login from the relay: " + RelayText(err))
		return
	}
	defer conn.Close()
	go func() {
		for r := range reqs {
			// keepalives, no-more-sessions and the like: nothing to do,
			// and nothing is granted.
			if r.WantReply {
				r.Reply(false, nil) //nolint:errcheck // the connection may be gone
			}
		}
	}()
	guest := guestAddr(conn.Permissions.Extensions[extGuestAddr])
	login := &relayLogin{conn: conn}
	for nc := range chans {
		if nc.ChannelType() != DirectTCPIP {
			s.refused(fmt.Sprintf("a \"%s\" channel (only direct-tcpip is allowed through the relay)", wire.PeerText(nc.ChannelType(), wire.MaxPeerName)))
			nc.Reject(ssh.Prohibited, "only direct-tcpip channels are allowed") //nolint:errcheck // the connection may be gone
			continue
		}
		ch, creqs, err := nc.Accept()
		if err != nil {
			continue
		}
		login.add()
		inner := &channelConn{Channel: ch, r: bufio.NewReaderSize(ch, readBuffer), local: s.Addr(), remote: guest,
			release: login.done, gone: make(chan struct{})}
		// A direct-tcpip channel takes no requests; they end when both
		// sides have closed it.
		go func() {
			ssh.DiscardRequests(creqs)
			close(inner.gone)
		}()
		select {
		case s.conns <- inner:
		case <-s.done:
			inner.Close()
		}
	}
}

// checkRelayLogin admits the relay's user certificate for a guest:
// signed by the key the host checked when it dialed the relay, valid now,
// for this user, and naming a guest key the host asked the relay to
// admit. Anything else is refused.
func (s *Session) checkRelayLogin(meta ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
	cert, ok := key.(*ssh.Certificate)
	if !ok {
		return nil, errors.New("not a certificate")
	}
	if cert.CertType != ssh.UserCert {
		return nil, errors.New("not a user certificate")
	}
	if s.RelayKey == nil || !bytes.Equal(cert.SignatureKey.Marshal(), s.RelayKey.Marshal()) {
		return nil, fmt.Errorf("certificate signed by %s, not by the relay", ssh.FingerprintSHA256(cert.SignatureKey))
	}
	var checker ssh.CertChecker
	if err := checker.CheckCert(meta.User(), cert); err != nil {
		return nil, err
	}
	ext, ok := cert.Extensions[AuthRequestExtension]
	if !ok {
		return nil, errors.New("certificate names no guest")
	}
	var ar AuthRequest
	if err := ar.Unmarshal([]byte(ext)); err != nil {
		return nil, fmt.Errorf("certificate's guest: %w", err)
	}
	guest, _, _, _, err := ssh.ParseAuthorizedKey(ar.AuthorizedKey)
	if err != nil {
		return nil, fmt.Errorf("certificate's guest key: %w", err)
	}
	if len(s.host.AuthorizedKeys) > 0 {
		found := false
		for _, k := range s.host.AuthorizedKeys {
			found = found || bytes.Equal(k.Marshal(), guest.Marshal())
		}
		if !found {
			return nil, fmt.Errorf("the relay let in key %s, which the host did not authorize", ssh.FingerprintSHA256(guest))
		}
	}
	return &ssh.Permissions{Extensions: map[string]string{extGuestAddr: ar.RemoteAddr}}, nil
}

// guestAddr is the guest's address as the relay reported it, a TCP
// address when it parses (the agent's per-address limits key on it).
func guestAddr(s string) net.Addr {
	if host, port, err := net.SplitHostPort(s); err == nil {
		if ip := net.ParseIP(host); ip != nil {
			p, _ := strconv.Atoi(port)
			return &net.TCPAddr{IP: ip, Port: p}
		}
	}
	return &net.TCPAddr{IP: net.IPv4zero}
}

// readBuffer is how much a relayed connection reads from its channel at
// once. An SSH transport reads 4 KiB at a time, and every read of a
// channel takes its locks and counts towards a window adjustment (older
// x/crypto sent one for every read): a larger buffer in between takes a
// channel's data in fewer, larger reads.
const readBuffer = 64 << 10

// bufferReads wraps c so that its reads take up to readBuffer at once.
func bufferReads(c net.Conn) net.Conn {
	return &bufferedConn{Conn: c, r: bufio.NewReaderSize(c, readBuffer)}
}

type bufferedConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *bufferedConn) Read(p []byte) (int, error) { return c.r.Read(p) }

// relayLogin is one login of the relay to the host's server, made for
// one guest, and the inner connections open on it. uptermd keeps such a
// login open after its guest left, sending nothing, until the host's whole
// connection to it ends. So once the host has closed the last inner
// connection on it (its user left, or stopped answering keepalives), the
// host closes the login itself: otherwise each guest would leave one
// behind, with its buffers, for as long as the session lasts.
type relayLogin struct {
	conn ssh.Conn
	mu   sync.Mutex
	open int
}

func (l *relayLogin) add() {
	l.mu.Lock()
	l.open++
	l.mu.Unlock()
}

func (l *relayLogin) done() {
	l.mu.Lock()
	l.open--
	last := l.open == 0
	l.mu.Unlock()
	if last {
		l.conn.Close() //nolint:errcheck // it may be gone already
	}
}

// channelConn is a direct-tcpip channel as a net.Conn.
type channelConn struct {
	ssh.Channel
	r             *bufio.Reader // reads of the channel, see readBuffer
	local, remote net.Addr
	release       func()        // the connection is closed: its relayLogin may go
	gone          chan struct{} // closed once both sides closed the channel
	once          sync.Once
}

// closeWait is how long Close waits for the relay to answer the close of
// a channel before it closes the relay's login anyway.
const closeWait = 10 * time.Second

func (c *channelConn) Read(p []byte) (int, error) { return c.r.Read(p) }

// Close closes the channel and, once the relay answered that, releases
// the relay's login it came on: what was written before reaches the
// guest first. A relay whose guest left (uptermd) answers nothing, and
// may take no more data on the login, so closing the channel, a message
// inside the login, could wait for ever; after closeWait the login is
// closed anyway. Its close goes outside the login, and ends the channel.
func (c *channelConn) Close() error {
	c.once.Do(func() {
		go c.Channel.Close() //nolint:errcheck // returns once sent, or once the login is gone
		go func() {
			t := time.NewTimer(closeWait)
			defer t.Stop()
			select {
			case <-c.gone:
			case <-t.C:
			}
			c.release()
		}()
	})
	return nil
}

// Abort closes the connection at once, without waiting for the relay to
// answer: for a guest known to be gone (it stopped answering keepalives),
// whose relay may never answer.
func (c *channelConn) Abort() {
	c.once.Do(func() {
		c.release()
		go c.Channel.Close() //nolint:errcheck // returns once sent, or once the login is gone
	})
}

func (c *channelConn) LocalAddr() net.Addr  { return c.local }
func (c *channelConn) RemoteAddr() net.Addr { return c.remote }

var errNoDeadline = errors.New("upterm: deadlines are not supported on relayed connections")

func (c *channelConn) SetDeadline(time.Time) error      { return errNoDeadline }
func (c *channelConn) SetReadDeadline(time.Time) error  { return errNoDeadline }
func (c *channelConn) SetWriteDeadline(time.Time) error { return errNoDeadline }
