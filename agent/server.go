package agent

import (
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/gliderlabs/ssh"
	"github.com/rs/zerolog"

	"github.com/pitstopci/pitstop/agent/access"
	"github.com/pitstopci/pitstop/agent/audit"
	"github.com/pitstopci/pitstop/agent/forward"
	"github.com/pitstopci/pitstop/agent/limits"
	"github.com/pitstopci/pitstop/agent/term"
	"github.com/pitstopci/pitstop/internal/wire"
	"github.com/pitstopci/pitstop/relay"
	gossh "golang.org/x/crypto/ssh"
)

// Algorithms, set explicitly rather than taken from x/crypto's defaults,
// which include the NIST-curve key exchanges and SHA-1 MACs that audits
// (ssh-audit) fail. What is left is what current OpenSSH prefers.
var (
	kexAlgorithms = []string{
		gossh.KeyExchangeMLKEM768X25519, // post-quantum hybrid, OpenSSH 9.9+
		gossh.KeyExchangeCurve25519,     // x/crypto adds the @libssh.org alias
		gossh.KeyExchangeDH16SHA512,     // 4096-bit group, for clients without curve25519
	}
	// The ciphers depend on the CPU (ciphers.go).
	cipherAlgorithms = cipherOffer(hostCPU)
	// MACs matter only with CTR, which some offers do not have.
	macAlgorithms = []string{
		gossh.HMACSHA256ETM,
		gossh.HMACSHA512ETM,
	}
	// Signature algorithms a client may log in with: not ssh-rsa (RSA
	// with SHA-1) nor ssh-dss (DSA, SHA-1 too), which OpenSSH 8.8 and
	// later refuse as well. RSA keys still log in with SHA-2.
	userAuthAlgorithms = []string{
		gossh.KeyAlgoED25519,
		gossh.KeyAlgoSKED25519,
		gossh.KeyAlgoECDSA256,
		gossh.KeyAlgoECDSA384,
		gossh.KeyAlgoECDSA521,
		gossh.KeyAlgoSKECDSA256,
		gossh.KeyAlgoRSASHA256,
		gossh.KeyAlgoRSASHA512,
	}
)

// serverVersion is the version line the server sends, before the
// connection is let into the key exchange (agent/limits).
const serverVersion = "SSH-2.0-pitstop"

// ctxKeyAuth holds the access.Key that passed PublicKeyHandler;
// ctxKeyConn the connection's *connState.
type ctxKey string

const (
	ctxKeyAuth ctxKey = "pitstop-auth"
	ctxKeyConn ctxKey = "pitstop-conn"
)

// newHostKey makes the fresh per-run host key.
func newHostKey() (gossh.Signer, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate host key: %w", err)
	}
	signer, err := gossh.NewSignerFromKey(priv)
	if err != nil {
		return nil, fmt.Errorf("wrap host key: %w", err)
	}
	return signer, nil
}

// server is the agent's SSH server and everything that lives as long as
// it. startServer (run.go) makes it complete; nothing is set afterwards.
type server struct {
	cfg      Config
	log      zerolog.Logger
	ring     *access.Keyring
	pause    *pause
	srv      *ssh.Server
	shell    string   // program for shells and exec
	env      []string // sessions' base environment
	rcFile   string   // bash rc for interactive shells
	socket   string   // control socket path, for sessions' PITSTOP_SOCKET
	ln       net.Listener
	serveErr chan error
	audit    *audit.Trail
	limits   *limits.Limiter
	budget   *preLoginBudget // lines peers cause before they log in

	hostKey   gossh.PublicKey
	workspace string // GITHUB_WORKSPACE, where sessions start
	home      string // HOME, where sftp starts
	dir       string // the private directory of socket and rcFile
	ctl       *controlServer
	rl        *relay.Relay // nil without a relay
	stopped   bool         // for Run's goroutine alone

	mu       sync.Mutex
	closing  bool
	nextID   int
	sessions map[int]*liveSession
	terms    term.Terminals // shells on a pty, which outlive their sessions
	conns    map[*connState]*connInfo
	logins   []string // "user from address", the user as markdown text, for the step summary
	raw      map[*trackedConn]struct{}
	sessWG   sync.WaitGroup // session handlers
	connWG   sync.WaitGroup // logged-in connections
	rawWG    sync.WaitGroup // gliderlabs' connection goroutines
}

// connInfo is an authenticated connection, for the log and status.
type connInfo struct {
	user, fingerprint, remote string
	name                      string // who the user is to people: access.Key.Name
	forge                     bool   // user is a forge user, not a key file
	since                     time.Time
	audit                     audit.Log // its events, with who logged in from where
}

// sshServer is the gliderlabs server, wired to s.
func (s *server) sshServer(signer gossh.Signer) *ssh.Server {
	fwd := &forward.Forwarder{
		Local:   !s.cfg.NoLocalForwarding,
		Remote:  s.cfg.AllowRemoteForwarding,
		Closing: s.isClosing,
		Audit:   s.ctxAudit,
	}
	srv := &ssh.Server{
		Version:     strings.TrimPrefix(serverVersion, "SSH-2.0-"),
		HostSigners: []ssh.Signer{signer},
		Handler:     s.handleSession,
		// Setting PublicKeyHandler is what keeps gliderlabs from turning
		// on NoClientAuth, which would admit anyone. No password or
		// keyboard-interactive handler is set, so x/crypto refuses those
		// methods, and "none" too.
		PublicKeyHandler:       s.authorize,
		ServerConfigCallback:   s.serverConfig,
		ConnCallback:           s.trackConn,
		SessionRequestCallback: func(ssh.Session, string) bool { return !s.isClosing() },
		ConnectionFailedCallback: func(c net.Conn, err error) {
			// The error may quote what the peer sent (its algorithms).
			if ok, dropped := s.budget.take(); ok {
				e := s.log.Debug().Str("remote_addr", c.RemoteAddr().String()).Str("error", wire.PeerError(err))
				if dropped > 0 {
					// The lines held back before this one are counted
					// here, as on every other pre-login line.
					e = e.Int("dropped_lines", dropped)
				}
				e.Msg("connection failed before login")
			}
		},
		ChannelHandlers: map[string]ssh.ChannelHandler{
			"session": s.sessionChannel,
		},
		// A subsystem handler must register its session like
		// handleSession does (so status lists it and the end of the
		// pause stops it) and send the exit status before closing its
		// own server, or scp reports failure although the file arrived.
		SubsystemHandlers: map[string]ssh.SubsystemHandler{
			"sftp": s.handleSFTP,
		},
	}
	fwd.Serve(srv)
	return srv
}

// serverConfig sets the algorithms; gliderlabs adds host keys and
// callbacks to what this returns.
func (s *server) serverConfig(ctx ssh.Context) *gossh.ServerConfig {
	return &gossh.ServerConfig{
		Config: gossh.Config{
			KeyExchanges: kexAlgorithms,
			Ciphers:      cipherAlgorithms,
			MACs:         macAlgorithms,
		},
		MaxAuthTries:            s.cfg.MaxAuthTries,
		PublicKeyAuthAlgorithms: userAuthAlgorithms,
		// Called once the key exchange is done: the connection is making
		// progress, and is no longer closed to make room (agent/limits).
		PreAuthConnCallback: func(gossh.ServerPreAuthConn) {
			if cs, _ := ctx.Value(ctxKeyConn).(*connState); cs != nil {
				s.limits.Keyed(cs.slot)
			}
		},
		AuthLogCallback: func(conn gossh.ConnMetadata, method string, err error) {
			// An attempt is activity; "none" is not, as it does not count
			// towards MaxAuthTries and could be repeated for ever.
			if cs, _ := ctx.Value(ctxKeyConn).(*connState); cs != nil && err != nil && method != "none" {
				s.limits.Keyed(cs.slot)
			}
			switch {
			case err == nil:
				// Only now, with the signature checked, is it a login.
				s.loginProven(ctx)
			case method == "publickey" && isAlgorithmRefusal(err):
				s.preLogin(s.preLoginAudit(ctx), audit.KeyRefused, "refused a signature algorithm: ssh-rsa (RSA with SHA-1) and ssh-dss (DSA) are not accepted, "+
					"as in OpenSSH 8.8 and later; RSA keys log in with rsa-sha2-256 or rsa-sha2-512", "error", wire.PeerError(err))
			case method == "none", method == "publickey":
				// "none" is every client's first probe; refused keys
				// are logged by authorize.
			default:
				// Someone trying a password is worth seeing in the job
				// log; the method's name is the peer's text.
				s.preLogin(s.preLoginAudit(ctx), audit.MethodRefused, "refused a login method other than public key", "method", wire.PeerText(method, wire.MaxPeerName))
				s.penalize(ctx, conn.RemoteAddr())
			}
		},
	}
}

// isAlgorithmRefusal reports whether err is x/crypto's refusal of a
// signature algorithm outside PublicKeyAuthAlgorithms.
func isAlgorithmRefusal(err error) bool {
	msg := err.Error()
	return strings.HasPrefix(msg, "ssh: algorithm ") && strings.HasSuffix(msg, " not accepted")
}

// preLogin writes to al, a connection's audit log before login, an
// audit event caused by a peer that has not logged in, within the
// pre-login budget (peerlog.go): anyone who can reach the port can cause
// these.
func (s *server) preLogin(al audit.Log, event, msg string, kv ...any) {
	ok, dropped := s.budget.take()
	if !ok {
		return
	}
	if dropped > 0 {
		kv = append(kv, "dropped_lines", dropped)
	}
	al.Info(event, msg, kv...)
}

// preLoginAudit is the audit log of ctx's connection before login: its
// address.
func (s *server) preLoginAudit(ctx ssh.Context) audit.Log {
	if cs, _ := ctx.Value(ctxKeyConn).(*connState); cs != nil {
		return cs.audit
	}
	// Not a connection trackConn admitted; it admits every one.
	return s.audit.Root().With("remote_addr", fmt.Sprint(ctx.RemoteAddr()))
}

// ctxAudit is the audit log of the connection ctx belongs to: with who
// logged in once one has, with only its address before.
func (s *server) ctxAudit(ctx ssh.Context) audit.Log {
	if cs, _ := ctx.Value(ctxKeyConn).(*connState); cs != nil {
		s.mu.Lock()
		info := cs.info
		s.mu.Unlock()
		if info != nil {
			return info.audit
		}
	}
	return s.preLoginAudit(ctx)
}

// authorize is the public-key check: the key must be in the keyring.
func (s *server) authorize(ctx ssh.Context, key ssh.PublicKey) bool {
	fp := gossh.FingerprintSHA256(key)
	ak, ok := s.ring.Lookup(key)
	if !ok {
		s.preLogin(s.preLoginAudit(ctx), audit.KeyRefused, "refused a key that may not log in", "key_fingerprint", fp, "key_type", key.Type())
		s.penalize(ctx, ctx.RemoteAddr())
		return false
	}
	// The client may still fail to prove it holds the private key; the
	// login is only logged once it has (loginProven).
	ctx.SetValue(ctxKeyAuth, ak)
	if cs, _ := ctx.Value(ctxKeyConn).(*connState); cs != nil {
		s.limits.Vouched(cs.slot)
	}
	return true
}

// ownerKey is the audit field that names whose key logged in: a forge
// user, or the file or text the key came from.
func ownerKey(forge bool) string {
	if forge {
		return "github_user"
	}
	return "key_source"
}

func (s *server) isClosing() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closing
}

// start serves the control socket, and SSH on s.ln until stop.
func (s *server) start() {
	s.ctl.serve()
	go func() { s.serveErr <- s.srv.Serve(s.ln) }()
}

// shutdown tells every session why the pause ended, stops their
// programs, waits for them to send their exit statuses, and then closes
// every connection and waits for all goroutines. It returns once nothing
// of the server is left running, or after timeout.
func (s *server) shutdown(reason EndReason, timeout time.Duration) {
	s.mu.Lock()
	s.closing = true
	s.limits.Close()
	live := make([]*liveSession, 0, len(s.sessions))
	for _, ls := range s.sessions {
		live = append(live, ls)
	}
	s.mu.Unlock()

	deadline := time.Now().Add(timeout)
	// stop has closed s.ln already: nobody new logs in now.
	for _, ls := range live {
		ls.end(reason)
	}
	s.terms.HangUpAll() // detached ones too
	waitTimeout(&s.sessWG, time.Until(deadline))
	// Let clients hang up themselves: one that gets its exit status and
	// then a reset connection reports failure (OpenSSH exits 255).
	waitTimeout(&s.connWG, min(clientHangUp, time.Until(deadline)))

	s.srv.Close() //nolint:errcheck // closing connections that may already be gone
	s.mu.Lock()
	for c := range s.raw {
		c.Conn.Close() // not c.Close: that is gliderlabs' signal that it is done
	}
	s.mu.Unlock()
	waitTimeout(&s.rawWG, time.Until(deadline))
	waitTimeout(&s.connWG, time.Until(deadline))
	select {
	case <-s.serveErr:
	case <-time.After(time.Until(deadline)):
	}
}

// clientHangUp is how long shutdown waits for clients to close their
// connections once their sessions ended, before closing them itself.
const clientHangUp = time.Second

// waitTimeout waits for wg, at most d. A goroutine stuck past d is left
// behind rather than holding the job: letting the job go on matters more.
func waitTimeout(wg *sync.WaitGroup, d time.Duration) bool {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
		return true
	case <-time.After(max(d, 0)):
		return false
	}
}
