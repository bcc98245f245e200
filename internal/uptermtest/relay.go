// Package uptermtest is a test relay that speaks uptermd's side of upterm's
// protocol, as upterm's source defines it (server/sshd.go, server/sshproxy.go,
// server/cert.go): hosts register with "upterm-create-session@upterm.dev"
// and a streamlocal forward on the session ID; guests log in as the
// session's SSH user with a key the host authorized; the relay dials the
// host back through the forward and logs in with a user certificate it
// signs, carrying the guest's key in the "upterm-auth-request" extension.
//
// Like uptermd, it terminates SSH on both sides and forwards every channel
// a guest opens and every global request it sends. Like uptermd, it never
// tells the host that a guest left: the channel that carries the guest's
// login to the host stays open, without an EOF, until the host's own
// connection to the relay ends (uptermd copies both ways in a group whose
// interrupts close nothing; see its server/sshhandler.go). Options.CloseBoth
// closes both ends instead, as other relays may. Unlike uptermd, it
// records everything it decrypts, so tests can show what a relay operator
// could read.
package uptermtest

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/pitstopci/pitstop/upterm"
)

// Options change how the relay behaves, for fault tests.
type Options struct {
	// Key is the relay's host key, and the authority it signs guests'
	// certificates with. Default: a fresh ed25519 key.
	Key ssh.Signer
	// Addr is where to listen. Default 127.0.0.1:0.
	Addr string
	// RefuseCreate, when set, refuses every create-session request with
	// this message.
	RefuseCreate string
	// Mute accepts TCP connections and never answers, as a relay whose
	// process hangs would.
	Mute bool
	// LetStrangersIn admits any guest key, and names a key the host
	// authorized in the certificate it logs in to the host with: what a
	// relay out to get a stranger in would do. Only the host's own check
	// of the user's key is left to stop them.
	LetStrangersIn bool
	// NoRecord keeps nothing of what the relay decrypts, for benchmarks
	// that move gigabytes through it.
	NoRecord bool
	// SessionID and SSHUser, when set, are what the relay answers a
	// create-session request with, whatever they hold: a hostile relay's
	// names. Guests cannot log in to such a session.
	SessionID, SSHUser string
	// CertPrincipals and CertCriticalOptions, when set, replace what the
	// certificate the relay logs in to the host with carries.
	CertPrincipals      []string
	CertCriticalOptions map[string]string
	// AuthorizedHosts, when set, are the only keys hosts may log in
	// with, as uptermd's --authorized-keys; otherwise any key may.
	AuthorizedHosts []ssh.PublicKey
	// CloseBoth closes the host's side of a guest's connection when the
	// guest leaves, and sends EOF on its channels, which uptermd does not.
	CloseBoth bool
}

// ServerVersion is what the relay announces, as uptermd does: its name
// and version.
const ServerVersion = "SSH-2.0-uptermd-0.15.0"

// Relay is a running test relay.
type Relay struct {
	// Addr is where the relay listens, 127.0.0.1:PORT.
	Addr string
	// Key is its host key.
	Key ssh.Signer

	opts     Options
	ln       net.Listener
	hostKeys []ssh.Signer
	wg       sync.WaitGroup

	mu          sync.Mutex
	sessions    map[string]*session
	conns       map[net.Conn]bool
	hostConns   map[*ssh.ServerConn]bool
	impersonate ssh.Signer
	refusals    []string
	guests      int
	record      bytes.Buffer
}

type session struct {
	id         string
	host       *ssh.ServerConn
	hostKeys   []ssh.PublicKey
	authorized []ssh.PublicKey
	forwarded  bool
}

// Start starts a relay that stops when the test ends.
func Start(t testing.TB, opts Options) *Relay {
	t.Helper()
	r, err := Listen(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Close)
	return r
}

// Listen starts a relay; Close stops it.
func Listen(opts Options) (*Relay, error) {
	if opts.Key == nil {
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return nil, err
		}
		if opts.Key, err = ssh.NewSignerFromKey(priv); err != nil {
			return nil, err
		}
	}
	if opts.Addr == "" {
		opts.Addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", opts.Addr)
	if err != nil {
		return nil, err
	}
	r := &Relay{Addr: ln.Addr().String(), Key: opts.Key, opts: opts, ln: ln,
		sessions: map[string]*session{}, conns: map[net.Conn]bool{}, hostConns: map[*ssh.ServerConn]bool{}}
	// uptermd shows its plain key and a host certificate signed by it
	// for its host names (server/server.go), whichever the client asks for.
	host, _, _ := net.SplitHostPort(r.Addr)
	cert := &ssh.Certificate{Key: opts.Key.PublicKey(), CertType: ssh.HostCert, KeyId: "uptermd",
		ValidPrincipals: []string{host}, ValidBefore: ssh.CertTimeInfinity}
	if err := cert.SignCert(rand.Reader, opts.Key); err != nil {
		ln.Close()
		return nil, err
	}
	certSigner, err := ssh.NewCertSigner(cert, opts.Key)
	if err != nil {
		ln.Close()
		return nil, err
	}
	r.hostKeys = []ssh.Signer{opts.Key, certSigner}
	r.wg.Add(1)
	go r.serve()
	return r, nil
}

// KnownHosts is a known_hosts line for the relay, as ssh-keyscan prints it.
func (r *Relay) KnownHosts() string {
	host, port, _ := net.SplitHostPort(r.Addr)
	return knownHostsName(host, port) + " " + strings.TrimSpace(string(ssh.MarshalAuthorizedKey(r.Key.PublicKey())))
}

func knownHostsName(host, port string) string {
	if port == "22" {
		return host
	}
	return "[" + host + "]:" + port
}

// Decrypted is every byte the relay decrypted from guests' channels, both
// ways, with the types and payloads of channel requests.
func (r *Relay) Decrypted() []byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return bytes.Clone(r.record.Bytes())
}

// Refusals lists the guest logins the relay refused, by key fingerprint.
func (r *Relay) Refusals() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.refusals...)
}

// Guests counts the guests the relay let in.
func (r *Relay) Guests() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.guests
}

// Sessions counts the sessions hosts hold now.
func (r *Relay) Sessions() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.sessions)
}

// Impersonate makes the relay answer guests' direct-tcpip channels itself,
// with an SSH server showing key, instead of carrying them to the host:
// what a relay operator posing as the agent would do.
func (r *Relay) Impersonate(key ssh.Signer) {
	r.mu.Lock()
	r.impersonate = key
	r.mu.Unlock()
}

// DropHosts closes every host's connection, as a relay restart does.
func (r *Relay) DropHosts() {
	r.mu.Lock()
	var hosts []*ssh.ServerConn
	for c := range r.hostConns {
		hosts = append(hosts, c)
	}
	r.mu.Unlock()
	for _, c := range hosts {
		c.Close()
	}
}

// Close stops the relay and closes every connection.
func (r *Relay) Close() {
	r.ln.Close()
	r.mu.Lock()
	for c := range r.conns {
		c.Close()
	}
	r.mu.Unlock()
	r.wg.Wait()
}

func (r *Relay) serve() {
	defer r.wg.Done()
	for {
		c, err := r.ln.Accept()
		if err != nil {
			return
		}
		r.mu.Lock()
		r.conns[c] = true
		r.mu.Unlock()
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			defer func() {
				c.Close()
				r.mu.Lock()
				delete(r.conns, c)
				r.mu.Unlock()
			}()
			if r.opts.Mute {
				io.Copy(io.Discard, c) //nolint:errcheck // until closed
				return
			}
			r.handle(c)
		}()
	}
}

// handle tells hosts from guests by their client version, as uptermd does.
func (r *Relay) handle(c net.Conn) {
	cfg := &ssh.ServerConfig{
		ServerVersion: ServerVersion,
		PublicKeyCallback: func(meta ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
			if string(meta.ClientVersion()) == upterm.HostClientVersion {
				if r.opts.AuthorizedHosts == nil {
					return &ssh.Permissions{}, nil // the public relay admits any host key
				}
				for _, k := range r.opts.AuthorizedHosts {
					if bytes.Equal(k.Marshal(), key.Marshal()) {
						return &ssh.Permissions{}, nil
					}
				}
				return nil, fmt.Errorf("host key not authorized")
			}
			return r.admitGuest(meta, key)
		},
	}
	for _, k := range r.hostKeys {
		cfg.AddHostKey(k)
	}
	c.SetDeadline(time.Now().Add(20 * time.Second)) //nolint:errcheck // TCP
	conn, chans, reqs, err := ssh.NewServerConn(c, cfg)
	if err != nil {
		return
	}
	c.SetDeadline(time.Time{}) //nolint:errcheck // TCP
	defer conn.Close()
	if string(conn.ClientVersion()) == upterm.HostClientVersion {
		r.serveHost(conn, chans, reqs)
		return
	}
	r.serveGuest(conn, chans, reqs)
}

// sessionOf decodes a guest's login, SESSION:base64(NODE) or SESSION.
func sessionOf(user string) string {
	id, _, _ := strings.Cut(user, ":")
	return id
}

func (r *Relay) admitGuest(meta ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.sessions[sessionOf(meta.User())]
	if s == nil || !s.forwarded {
		return nil, fmt.Errorf("no session %q", meta.User())
	}
	if r.opts.LetStrangersIn && len(s.authorized) > 0 {
		key = s.authorized[0]
	} else if len(s.authorized) > 0 {
		ok := false
		for _, k := range s.authorized {
			ok = ok || bytes.Equal(k.Marshal(), key.Marshal())
		}
		if !ok {
			r.refusals = append(r.refusals, ssh.FingerprintSHA256(key))
			return nil, fmt.Errorf("key not authorized for session %q", s.id)
		}
	}
	return &ssh.Permissions{Extensions: map[string]string{"key": string(ssh.MarshalAuthorizedKey(key))}}, nil
}

func (r *Relay) serveHost(conn *ssh.ServerConn, chans <-chan ssh.NewChannel, reqs <-chan *ssh.Request) {
	r.mu.Lock()
	r.hostConns[conn] = true
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		delete(r.hostConns, conn)
		for id, s := range r.sessions {
			if s.host == conn {
				delete(r.sessions, id)
			}
		}
		r.mu.Unlock()
	}()
	go func() {
		for nc := range chans {
			nc.Reject(ssh.Prohibited, "hosts open no channels") //nolint:errcheck // test relay
		}
	}()
	for req := range reqs {
		ok, reply := r.hostRequest(conn, req)
		if req.WantReply {
			req.Reply(ok, reply) //nolint:errcheck // the host may be gone
		}
	}
}

func (r *Relay) hostRequest(conn *ssh.ServerConn, req *ssh.Request) (bool, []byte) {
	switch req.Type {
	case upterm.CreateSessionRequestType:
		if r.opts.RefuseCreate != "" {
			return false, []byte(r.opts.RefuseCreate)
		}
		var cr upterm.CreateSessionRequest
		if err := cr.Unmarshal(req.Payload); err != nil {
			return false, []byte(err.Error())
		}
		s := &session{id: newSessionID(), host: conn}
		for _, b := range cr.HostPublicKeys {
			k, _, _, _, err := ssh.ParseAuthorizedKey(b)
			if err != nil {
				return false, []byte("host key: " + err.Error())
			}
			s.hostKeys = append(s.hostKeys, k)
		}
		for _, b := range cr.ClientAuthorizedKeys {
			k, _, _, _, err := ssh.ParseAuthorizedKey(b)
			if err != nil {
				return false, []byte("client key: " + err.Error())
			}
			s.authorized = append(s.authorized, k)
		}
		r.mu.Lock()
		r.sessions[s.id] = s
		r.mu.Unlock()
		// The node holding the session, named in the guests' login as
		// upterm's embedded routing does. An internal address, as the
		// public relay's are; its base64 ends in "=", which the users'
		// ssh must take as part of a user name.
		const node = "10.0.0.1:22"
		resp := upterm.CreateSessionResponse{SessionID: s.id, NodeAddr: node,
			SSHUser: s.id + ":" + base64.URLEncoding.EncodeToString([]byte(node))}
		if r.opts.SessionID != "" {
			resp.SessionID = r.opts.SessionID
		}
		if r.opts.SSHUser != "" {
			resp.SSHUser = r.opts.SSHUser
		}
		return true, resp.Marshal()
	case "streamlocal-forward@openssh.com":
		var p struct{ Path string }
		if err := ssh.Unmarshal(req.Payload, &p); err != nil {
			return false, nil
		}
		r.mu.Lock()
		defer r.mu.Unlock()
		s := r.sessions[p.Path]
		if s == nil || s.host != conn {
			return false, nil
		}
		s.forwarded = true
		return true, nil
	case "cancel-streamlocal-forward@openssh.com":
		return true, nil
	}
	return false, nil
}

func newSessionID() string {
	const letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	b := make([]byte, 20)
	rand.Read(b) //nolint:errcheck // never fails
	for i := range b {
		b[i] = letters[int(b[i])%len(letters)]
	}
	return string(b)
}

func (r *Relay) rec(format string, args ...any) {
	r.mu.Lock()
	fmt.Fprintf(&r.record, format, args...)
	r.mu.Unlock()
}

// recorder appends what passes through it to the relay's record.
type recorder struct{ r *Relay }

func (w recorder) Write(p []byte) (int, error) {
	if w.r.opts.NoRecord {
		return len(p), nil
	}
	w.r.mu.Lock()
	w.r.record.Write(p)
	w.r.mu.Unlock()
	return len(p), nil
}
