package upterm

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/pitstopci/pitstop/internal/wire"
)

// Names of upterm's protocol, from upterm's upterm/const.go.
const (
	// HostClientVersion is the SSH version string by which uptermd tells
	// a host from a guest.
	HostClientVersion = "SSH-2.0-upterm-host-client"
	// HostServerVersion is what the host's SSH server announces to the
	// relay.
	HostServerVersion = "SSH-2.0-upterm-host-server"
	// CreateSessionRequestType is the global request that registers a
	// session.
	CreateSessionRequestType = "upterm-create-session@upterm.dev"
	// AuthRequestExtension is the user certificate extension in which the
	// relay names the guest.
	AuthRequestExtension = "upterm-auth-request"
	// DirectTCPIP is the one channel type a Session lets through.
	DirectTCPIP = "direct-tcpip"
)

// DefaultTimeout bounds Host.Dial when Host.Timeout is zero.
const DefaultTimeout = 20 * time.Second

// Host registers with an uptermd relay as an upterm host. The zero value
// of every field but Addr and HostKeyCallback means its default.
type Host struct {
	// Addr is the relay's HOST:PORT, e.g. "uptermd.upterm.dev:22".
	Addr string
	// HostKeyCallback checks the relay's host key, plain or certified
	// (see PinnedKeys and KnownHosts). Required: the relay's key is also
	// the authority the host believes about guests.
	HostKeyCallback ssh.HostKeyCallback
	// User is the host user reported to the relay. Default "pitstop".
	User string
	// Signer is the key the host logs in to the relay with, which is also
	// the host key of the server the relay dials back. Default: a fresh
	// key per session, which a public relay admits. An uptermd started
	// with --authorized-keys admits only the host keys it lists.
	Signer ssh.Signer
	// AuthorizedKeys are the guests' keys the relay is asked to admit; no
	// other key gets past it. Empty leaves the relay open to any key,
	// which the caller's own server must then refuse.
	AuthorizedKeys []ssh.PublicKey
	// Timeout bounds Dial: connecting, the handshake, creating the
	// session and the reverse tunnel. Default DefaultTimeout.
	Timeout time.Duration
	// Config holds the algorithms of the connection to the relay.
	Config ssh.Config
	// Refused, if set, is told about everything the relay asked for and
	// did not get, in a few words: for logging.
	Refused func(what string)
}

// Session is one registration with the relay: its connection, the
// session guests reach, and a net.Listener of the inner connections
// guests open with direct-tcpip.
type Session struct {
	// ID is the session ID the relay gave.
	ID string
	// NodeAddr is the relay node that holds the session, as it says.
	NodeAddr string
	// SSHUser is what guests log in to the relay as.
	SSHUser string
	// RelayKey is the key the relay's host key check accepted: the plain
	// key, or the signer of its host certificate. Only user certificates
	// it signed are believed.
	RelayKey ssh.PublicKey
	// Client is the connection to the relay. Close ends the session;
	// Wait returns when the relay is gone.
	Client *ssh.Client

	host   *Host
	tunnel net.Listener
	signer ssh.Signer
	conns  chan net.Conn
	done   chan struct{}
	once   sync.Once
	wg     sync.WaitGroup
}

// Dial connects to the relay, creates a session and its reverse tunnel.
// It fails, naming the step, if the relay cannot be reached within
// Timeout, shows a host key the callback refuses, or refuses a step.
func (h *Host) Dial(ctx context.Context) (*Session, error) {
	if h.HostKeyCallback == nil {
		return nil, errors.New("upterm: no host key callback for the relay")
	}
	timeout := h.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	user := h.User
	if user == "" {
		user = "pitstop"
	}
	// A fresh key per session, unless the caller has one the relay
	// admits: it logs in to the relay and is the host key of the server
	// the relay dials back. It proves nothing to users; their own
	// connection is checked against the caller's key.
	signer := h.Signer
	if signer == nil {
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return nil, fmt.Errorf("generate key: %w", err)
		}
		if signer, err = ssh.NewSignerFromKey(priv); err != nil {
			return nil, fmt.Errorf("generate key: %w", err)
		}
	}
	s := &Session{host: h, signer: signer, conns: make(chan net.Conn), done: make(chan struct{})}
	check := func(hostname string, remote net.Addr, key ssh.PublicKey) error {
		if err := h.HostKeyCallback(hostname, remote, key); err != nil {
			return err
		}
		s.RelayKey = key
		if cert, ok := key.(*ssh.Certificate); ok {
			s.RelayKey = cert.SignatureKey
		}
		return nil
	}
	cc := &ssh.ClientConfig{
		User:            user,
		Auth:            []ssh.AuthMethod{ssh.PublicKeys(signer)},
		HostKeyCallback: check,
		// Certificates first, as upterm's host asks: uptermd then shows
		// its host certificate, which names the host it serves.
		HostKeyAlgorithms: []string{
			ssh.CertAlgoED25519v01, ssh.CertAlgoRSASHA512v01, ssh.CertAlgoRSASHA256v01,
			ssh.KeyAlgoED25519, ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256,
		},
		ClientVersion: HostClientVersion,
		Timeout:       timeout,
		Config:        h.Config,
	}

	// One deadline for every step up to a working tunnel, from the name
	// lookup on, so a relay that accepts and then says nothing fails as
	// fast as one that is down; ctx ends it early.
	deadline := time.Now().Add(timeout)
	d := net.Dialer{Deadline: deadline}
	conn, err := d.DialContext(ctx, "tcp", h.Addr)
	if err != nil {
		return nil, fmt.Errorf("connect: %w", err)
	}
	conn.SetDeadline(deadline) //nolint:errcheck // TCP conns support deadlines
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	c, chans, reqs, err := ssh.NewClientConn(conn, h.Addr, cc)
	if err != nil {
		conn.Close()
		// x/crypto's handshake errors quote the relay's algorithm lists.
		return nil, &StepError{Step: "log in", Err: peerError{err}}
	}
	s.Client = ssh.NewClient(c, chans, reqs)
	fail := func(step string, err error) (*Session, error) {
		s.Client.Close()
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		return nil, &StepError{Step: step, Err: err}
	}

	req := CreateSessionRequest{HostUser: user, HostPublicKeys: [][]byte{ssh.MarshalAuthorizedKey(signer.PublicKey())}}
	for _, k := range h.AuthorizedKeys {
		req.ClientAuthorizedKeys = append(req.ClientAuthorizedKeys, ssh.MarshalAuthorizedKey(k))
	}
	ok, body, err := s.Client.SendRequest(CreateSessionRequestType, true, req.Marshal())
	switch {
	case err != nil:
		return fail("create a session", err)
	case !ok:
		msg := strings.TrimSpace(string(body))
		if msg == "" {
			msg = "no reason given"
		}
		return fail("create a session", fmt.Errorf("refused: %s", wire.PeerText(msg, wire.MaxPeerError)))
	}
	var resp CreateSessionResponse
	if err := resp.Unmarshal(body); err != nil {
		return fail("create a session", fmt.Errorf("unexpected answer: %w", err))
	}
	if err := checkName("session ID", resp.SessionID, maxSessionID, false); err != nil {
		return fail("create a session", err)
	}
	if len(resp.NodeAddr) > maxSSHUser {
		return fail("create a session", fmt.Errorf("the relay gave a node address of %d bytes, more than %d", len(resp.NodeAddr), maxSSHUser))
	}
	s.ID, s.NodeAddr, s.SSHUser = resp.SessionID, resp.NodeAddr, resp.SSHUser
	if s.SSHUser == "" {
		s.SSHUser = legacySSHUser(resp.SessionID, resp.NodeAddr)
	}
	if err := checkName("SSH user", s.SSHUser, maxSSHUser, true); err != nil {
		return fail("create a session", err)
	}
	if s.tunnel, err = s.Client.ListenUnix(s.ID); err != nil {
		return fail("open the reverse tunnel", err)
	}
	conn.SetDeadline(time.Time{}) //nolint:errcheck // as above
	s.wg.Add(1)
	go s.serveTunnel()
	return s, nil
}

// Limits on what the relay names a session with. The session ID and the
// SSH user end up in the connect command, the ready file, the notice, the
// job summary and the check run: they are the relay's text, and only
// names made of these characters, and no longer, are taken. uptermd's are
// 20 letters and digits, and SESSION:BASE64URL(NODE).
const (
	maxSessionID = 64
	maxSSHUser   = 256
	nameChars    = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-"
)

// checkName refuses a session ID or SSH user that is empty, longer than
// max, or holds other characters than nameChars and, with colon, one ':'
// (SESSION:NODE) and base64's '='.
func checkName(what, s string, max int, colon bool) error {
	ok := s != "" && len(s) <= max
	for i := 0; ok && i < len(s); i++ {
		c := s[i]
		ok = strings.IndexByte(nameChars, c) >= 0 || colon && (c == '=' || c == ':' && strings.Count(s, ":") == 1)
	}
	if ok {
		return nil
	}
	allowed := "letters, digits, '.', '_' and '-'"
	if colon {
		allowed += ", '=' and one ':'"
	}
	return fmt.Errorf("the relay gave an unusable %s (1 to %d of %s): %s", what, max, allowed, wire.PeerText(s, wire.MaxPeerName))
}

// peerError is an error whose message holds the relay's text (algorithm
// lists, certificate principals and options): its message is escaped as
// peer text, and errors.Is and errors.As still see the cause.
type peerError struct{ err error }

func (e peerError) Error() string { return RelayText(e.err) }

// RelayText is err's message escaped and capped as peer text, for errors
// that quote what a relay sent. Unlike wire.PeerError it keeps an EOF as
// it is: here it is the relay, not a client, that closed the connection.
func RelayText(err error) string {
	if err == nil {
		return ""
	}
	return wire.PeerText(strings.ToValidUTF8(err.Error(), "?"), wire.MaxPeerError)
}
func (e peerError) Unwrap() error { return e.err }

// legacySSHUser is the guests' login on relays that do not say it:
// upterm's "embedded" routing, SESSION:base64(NODE).
func legacySSHUser(id, node string) string {
	if node == "" {
		return id
	}
	return id + ":" + base64.URLEncoding.EncodeToString([]byte(node))
}

// StepError is a failed step of Dial.
type StepError struct {
	Step string // "log in", "create a session", "open the reverse tunnel"
	Err  error
}

func (e *StepError) Error() string { return e.Step + ": " + e.Err.Error() }

// Unwrap returns the cause.
func (e *StepError) Unwrap() error { return e.Err }

// Accept returns the next inner connection: the payload of a
// direct-tcpip channel a guest opened through the relay.
func (s *Session) Accept() (net.Conn, error) {
	select {
	case c := <-s.conns:
		return c, nil
	case <-s.done:
		return nil, net.ErrClosed
	}
}

// Close stops accepting: the tunnel is closed, so the relay can send no
// more guests. Connections already accepted go on until Client is closed.
func (s *Session) Close() error {
	s.once.Do(func() {
		close(s.done)
		s.tunnel.Close()
	})
	return nil
}

// Addr is the session, as the relay's guests name it.
func (s *Session) Addr() net.Addr { return sessionAddr(s.SSHUser) }

type sessionAddr string

func (a sessionAddr) Network() string { return "upterm" }
func (a sessionAddr) String() string  { return string(a) }

func (s *Session) refused(what string) {
	if s.host.Refused != nil {
		s.host.Refused(what)
	}
}

// serveTunnel serves SSH on every connection the relay sends through the
// tunnel.
func (s *Session) serveTunnel() {
	defer s.wg.Done()
	for {
		c, err := s.tunnel.Accept()
		if err != nil {
			return
		}
		go s.serveRelayConn(c)
	}
}
