package relay

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"
	gossh "golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/pitstopci/pitstop/upterm"
)

// Relay mode: the agent dials an OpenSSH server the team runs (a bastion),
// asks it for a remote forward on its loopback, and serves SSH on the
// connections that come back through that forward. Nothing of ours runs on
// the relay, no port on the runner needs to be reachable, and the user's
// session stays end-to-end encrypted with the agent: the relay only
// carries an SSH connection inside an SSH channel.

// endpoint is where the relay listens for users, for one forward.
type endpoint struct {
	port    int    // TCP port on the relay's loopback; 0 for a socket
	socket  string // unix socket path on the relay
	session string // for an uptermd, the session's SSH user there
	since   time.Time
}

func (ep endpoint) String() string {
	if ep.session != "" {
		return "session " + ep.session
	}
	if ep.socket != "" {
		return ep.socket
	}
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(ep.port))
}

// Relay is the agent's connection to the relay, kept up for the whole
// pause. Its listener, a fanIn, is what the SSH server serves on. Its
// methods say how users reach the server through it.
type Relay struct {
	cfg      Config
	opts     Options
	log      zerolog.Logger
	user     string // login on the relay
	hostport string // the relay's HOST:PORT
	name     string // USER@HOST:PORT, for messages
	client   *gossh.ClientConfig
	fan      *fanIn
	now      func() time.Time
	upterm   *upterm.Host // set for an uptermd

	ctx    context.Context // ends with Close
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu        sync.Mutex
	ep        endpoint
	hostKeyFP string         // the relay's host key, once seen
	keyErr    error          // why the host key check failed, if it did
	follow    func(endpoint) // told about every new forward
}

// Listen connects to the relay cfg describes and returns what the SSH
// server serves on: the relay's forward, plus a local listener when
// opts.Listen asks for one. It fails, naming the relay, when the relay
// cannot be reached, refuses the agent or refuses the forward; nothing is
// left running then. Otherwise the connection is kept up, and replaced
// when lost, until Close.
func Listen(ctx context.Context, cfg Config, opts Options) (net.Listener, *Relay, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	var r *Relay
	var err error
	if cfg.Kind == Upterm {
		r, err = newUptermRelay(cfg, opts)
	} else {
		r, err = newRelay(cfg, opts)
	}
	if err != nil {
		return nil, nil, err
	}
	c, ep, fwd, err := r.connect(ctx)
	if err != nil {
		r.cancel()
		return nil, nil, err
	}
	r.setEndpoint(ep)
	if opts.Listen != "" {
		ln, err := net.Listen("tcp", opts.Listen)
		if err != nil {
			fwd.Close()
			c.Close()
			r.cancel()
			return nil, nil, fmt.Errorf("listen on %s: %w", opts.Listen, err)
		}
		r.fan.addr = ln.Addr()
		r.fan.closers = append(r.fan.closers, ln)
		r.wg.Add(1)
		go r.pump(ln)
	}
	r.log.Info().Str("relay_address", ep.String()).Str("relay_host_key_fingerprint", r.hostKeyFP).
		Msgf("connected to the relay %s; it forwards %s to this agent", r.name, ep)
	if r.upterm != nil {
		r.logRelayPin()
	}
	r.wg.Add(1)
	go r.run(c, fwd)
	return r.fan, r, nil
}

// loginKey is the key the agent logs in to the relay with, from Key or
// KeyFile; nil if neither is given.
func (rc Config) loginKey() (gossh.Signer, error) {
	pem, keyName := rc.Key, "(given directly)"
	switch {
	case len(pem) > 0:
	case rc.KeyFile == "":
		return nil, nil
	default:
		keyName = rc.KeyFile
		var err error
		if pem, err = os.ReadFile(rc.KeyFile); err != nil {
			return nil, fmt.Errorf("read relay key: %w", err)
		}
	}
	signer, err := gossh.ParsePrivateKey(pem)
	if err != nil {
		var pp *gossh.PassphraseMissingError
		if errors.As(err, &pp) {
			return nil, fmt.Errorf("relay key %s is protected by a passphrase; the agent needs one without (keep it in a CI secret instead)", keyName)
		}
		return nil, fmt.Errorf("parse relay key %s: %w", keyName, err)
	}
	return signer, nil
}

func newRelay(rc Config, opts Options) (*Relay, error) {
	rc, err := rc.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("configure relay: %w", err)
	}
	user, hostport, err := parseRelayAddress(rc.Address)
	if err != nil {
		return nil, err
	}
	log := opts.Log
	r := &Relay{cfg: rc, opts: opts, log: log, user: user, hostport: hostport, name: user + "@" + hostport, now: opts.Now}
	signer, err := rc.loginKey()
	if err != nil {
		return nil, err
	}
	if signer == nil {
		return nil, fmt.Errorf("relay %s: no key to log in with (--relay-key FILE or PITSTOP_RELAY_KEY)", r.name)
	}
	hostKeys, algos, err := r.hostKeyCheck()
	if err != nil {
		return nil, err
	}
	r.client = &gossh.ClientConfig{
		User:              user,
		Auth:              []gossh.AuthMethod{gossh.PublicKeys(signer)},
		HostKeyCallback:   hostKeys,
		HostKeyAlgorithms: algos,
		Timeout:           rc.DialTimeout,
		ClientVersion:     "SSH-2.0-pitstop",
		Config:            opts.SSH,
	}
	r.ctx, r.cancel = context.WithCancel(context.Background())
	r.fan = &fanIn{conns: make(chan net.Conn), done: make(chan struct{})}
	if rc.InsecureIgnoreHostKey {
		log.Warn().Msgf("not checking the host key of the relay %s (insecure): whoever can intercept the connection can pose as the relay; pass a known_hosts file instead", r.name)
	}
	r.log.Info().Str("relay_key_fingerprint", gossh.FingerprintSHA256(signer.PublicKey())).Msg("logging in to the relay " + r.name)
	return r, nil
}

// hostKeyCheck builds the host key callback, and the host key algorithms
// to ask for: those of the keys known for the relay, so a relay with
// several keys shows one the file has.
func (r *Relay) hostKeyCheck() (gossh.HostKeyCallback, []string, error) {
	record := func(key gossh.PublicKey, err error) error {
		r.mu.Lock()
		r.hostKeyFP, r.keyErr = gossh.FingerprintSHA256(key), err
		r.mu.Unlock()
		return err
	}
	if r.cfg.InsecureIgnoreHostKey {
		return func(_ string, _ net.Addr, key gossh.PublicKey) error { return record(key, nil) }, nil, nil
	}
	if r.cfg.KnownHostsFile == "" {
		return nil, nil, fmt.Errorf("relay %s: no known_hosts file to check its host key against (--relay-known-hosts FILE, e.g. from ssh-keyscan; or --relay-insecure-ignore-host-key)", r.name)
	}
	check, err := knownhosts.New(r.cfg.KnownHostsFile)
	if err != nil {
		return nil, nil, fmt.Errorf("read relay known_hosts: %w", err)
	}
	cb := func(host string, remote net.Addr, key gossh.PublicKey) error {
		return record(key, check(host, remote, key))
	}
	return cb, knownAlgorithms(check, r.hostport), nil
}

// knownAlgorithms lists the host key algorithms of the keys check knows
// for hostport, in x/crypto's order of preference; nil if none.
func knownAlgorithms(check gossh.HostKeyCallback, hostport string) []string {
	// Asking about a key nobody has yields a KeyError listing the keys
	// the file holds for the host.
	_, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		return nil
	}
	probe, err := gossh.NewSignerFromKey(priv)
	if err != nil {
		return nil
	}
	addr, _ := net.ResolveTCPAddr("tcp", hostport)
	if addr == nil {
		addr = &net.TCPAddr{}
	}
	var ke *knownhosts.KeyError
	if !errors.As(check(hostport, addr, probe.PublicKey()), &ke) || len(ke.Want) == 0 {
		return nil
	}
	have := map[string]bool{}
	for _, k := range ke.Want {
		have[k.Key.Type()] = true
	}
	var algos []string
	for _, a := range gossh.SupportedAlgorithms().HostKeys {
		if have[a] || (have[gossh.KeyAlgoRSA] && (a == gossh.KeyAlgoRSASHA256 || a == gossh.KeyAlgoRSASHA512)) {
			algos = append(algos, a)
		}
	}
	return algos
}

// connect dials the relay, logs in and asks for the forward.
func (r *Relay) connect(ctx context.Context) (*gossh.Client, endpoint, net.Listener, error) {
	if r.upterm != nil {
		return r.connectUpterm(ctx)
	}
	c, err := r.dial(ctx)
	if err != nil {
		return nil, endpoint{}, nil, err
	}
	ep, fwd, err := r.forward(c)
	if err != nil {
		c.Close()
		return nil, endpoint{}, nil, err
	}
	return c, ep, fwd, nil
}

func (r *Relay) dial(ctx context.Context) (*gossh.Client, error) {
	d := net.Dialer{Timeout: r.cfg.DialTimeout}
	conn, err := d.DialContext(ctx, "tcp", r.hostport)
	if err != nil {
		return nil, fmt.Errorf("connect to the relay %s: %w", r.name, err)
	}
	// The handshake takes no context: bound it by a deadline, and cut it
	// short when ctx ends.
	conn.SetDeadline(time.Now().Add(r.cfg.DialTimeout)) //nolint:errcheck // a TCP conn supports deadlines
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	sc, chans, reqs, err := gossh.NewClientConn(conn, r.hostport, r.client)
	stop()
	if err != nil {
		conn.Close()
		return nil, r.explain(err)
	}
	conn.SetDeadline(time.Time{}) //nolint:errcheck // as above
	return gossh.NewClient(sc, chans, reqs), nil
}

// seenHostKey returns the fingerprint of the host key the relay showed
// last, and why it was refused, if it was. The host key callback records
// them from the handshake's goroutine; a failed login is explained from
// them here.
func (r *Relay) seenHostKey() (fp string, keyErr error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.hostKeyFP, r.keyErr
}

// explain turns a failed login into a message that says what to fix.
func (r *Relay) explain(err error) error {
	fp, keyErr := r.seenHostKey()
	var ke *knownhosts.KeyError
	var revoked *knownhosts.RevokedError
	switch {
	case errors.As(keyErr, &revoked):
		return fmt.Errorf("relay %s showed host key %s, which %s marks as revoked", r.name, fp, r.cfg.KnownHostsFile)
	case errors.As(keyErr, &ke) && len(ke.Want) == 0:
		return fmt.Errorf("relay %s showed host key %s, which is not in %s; if that is the relay's key, add it (ssh-keyscan -p PORT HOST), or pass --relay-insecure-ignore-host-key", r.name, fp, r.cfg.KnownHostsFile)
	case errors.As(keyErr, &ke):
		return fmt.Errorf("relay %s showed host key %s, but %s:%d has a different key for it (%s): someone may be intercepting the connection, or the relay's key changed",
			r.name, fp, ke.Want[0].Filename, ke.Want[0].Line, gossh.FingerprintSHA256(ke.Want[0].Key))
	case keyErr != nil:
		return fmt.Errorf("check the host key of the relay %s: %s", r.name, upterm.RelayText(keyErr))
	case strings.Contains(err.Error(), "unable to authenticate"):
		return fmt.Errorf("relay %s refused the agent's key (check that the relay key's public half is in %s's authorized_keys there): %s", r.name, r.user, upterm.RelayText(err))
	}
	// Handshake errors quote the relay's algorithm lists: its text.
	return fmt.Errorf("log in to the relay %s: %s", r.name, upterm.RelayText(err))
}

// forward asks the relay to listen for users. On a reconnect the port of
// the last forward is asked for first, so the command users have keeps
// working; if it is taken, the relay picks another.
func (r *Relay) forward(c *gossh.Client) (endpoint, net.Listener, error) {
	ep := endpoint{socket: r.cfg.Socket, since: r.now()}
	if ep.socket != "" {
		ln, err := c.ListenUnix(ep.socket)
		if err != nil {
			return ep, nil, fmt.Errorf("relay %s refused to listen on the socket %s (it needs AllowStreamLocalForwarding, and StreamLocalBindUnlink yes to replace a stale socket): %w", r.name, ep.socket, err)
		}
		return ep, ln, nil
	}
	loopback := net.IPv4(127, 0, 0, 1)
	r.mu.Lock()
	port := r.ep.port
	r.mu.Unlock()
	var ln net.Listener
	var err error
	if port != 0 && port != r.cfg.Port {
		ln, err = c.ListenTCP(&net.TCPAddr{IP: loopback, Port: port})
	}
	if ln == nil {
		ln, err = c.ListenTCP(&net.TCPAddr{IP: loopback, Port: r.cfg.Port})
	}
	if err != nil {
		return ep, nil, fmt.Errorf("relay %s refused to forward port %d on its loopback (it needs AllowTcpForwarding remote or yes, and a permitlisten that allows it): %w", r.name, r.cfg.Port, err)
	}
	ep.port = ln.Addr().(*net.TCPAddr).Port
	return ep, ln, nil
}

func (r *Relay) setEndpoint(ep endpoint) {
	r.mu.Lock()
	r.ep = ep
	r.mu.Unlock()
}

// current is the current forward.
func (r *Relay) current() endpoint {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.ep
}

// run keeps the relay connection up until Close: it serves the forward,
// and when the connection is lost, reconnects with backoff and tells
// follow the new address. Once the pause is over (the fanIn is closed) a
// lost connection is not replaced.
func (r *Relay) run(c *gossh.Client, fwd net.Listener) {
	defer r.wg.Done()
	for {
		err := r.serve(c, fwd)
		c.Close()
		if r.ctx.Err() != nil || r.fan.closed() {
			return
		}
		// A disconnect message is the relay's text.
		r.log.Warn().Str("error", upterm.RelayText(err)).Msgf("lost the connection to the relay %s; reconnecting (the pause goes on)", r.name)
		var ep endpoint
		if c, ep, fwd = r.reconnect(); c == nil {
			return
		}
		r.setEndpoint(ep)
		r.mu.Lock()
		follow := r.follow
		r.mu.Unlock()
		r.log.Info().Str("relay_address", ep.String()).Msgf("reconnected to the relay %s; it forwards %s to this agent", r.name, ep)
		if follow != nil {
			follow(ep)
		}
	}
}

// serve pumps the forward's connections into the fanIn and checks the
// relay answers, until the connection is lost or the relay is closed. It
// returns why the connection ended.
func (r *Relay) serve(c *gossh.Client, fwd net.Listener) error {
	dead := make(chan error, 1)
	stop := make(chan struct{})
	r.wg.Add(3)
	go func() {
		defer r.wg.Done()
		err := c.Wait()
		if err == nil {
			err = errors.New("the relay closed the connection")
		}
		dead <- err
	}()
	go r.pump(fwd)
	go r.keepalive(c, stop)
	defer close(stop)
	accepting := r.fan.done
	for {
		select {
		case err := <-dead:
			fwd.Close()
			return err
		case <-r.ctx.Done():
			fwd.Close()
			return nil
		case <-accepting:
			// The pause is over: no new connections, but the ones
			// through this forward keep going until the server is done.
			fwd.Close()
			accepting = nil
		}
	}
}

// pump hands ln's connections to the SSH server until ln is closed.
func (r *Relay) pump(ln net.Listener) {
	defer r.wg.Done()
	for {
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		if !r.fan.push(conn) {
			return
		}
	}
}

// keepalive sends keepalive@openssh.com requests, as OpenSSH's
// ServerAliveInterval does, and closes c when KeepaliveMax in a row go
// unanswered: a relay that vanished without closing the TCP connection
// (a reboot, a dropped NAT mapping) is noticed and replaced.
func (r *Relay) keepalive(c *gossh.Client, stop <-chan struct{}) {
	defer r.wg.Done()
	t := time.NewTicker(r.cfg.Keepalive)
	defer t.Stop()
	replies := make(chan error, 1)
	pending, missed := false, 0
	for {
		select {
		case <-stop:
			return
		case err := <-replies:
			pending = false
			if err != nil {
				return // the connection is closing; serve sees it
			}
			missed = 0
			continue
		case <-t.C:
		}
		if pending {
			missed++
			if missed >= r.cfg.KeepaliveMax {
				r.log.Warn().Int("missed", missed).Msgf("the relay %s stopped answering keepalives", r.name)
				c.Close()
				return
			}
			continue
		}
		pending = true
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			// Any answer counts, even a refusal: the relay is alive.
			_, _, err := c.SendRequest("keepalive@openssh.com", true, nil)
			replies <- err
		}()
	}
}

// reconnect tries until it is back or the relay is closed, waiting
// longer after each failure, up to MaxBackoff. It returns a nil client
// when it gave up.
func (r *Relay) reconnect() (*gossh.Client, endpoint, net.Listener) {
	wait := time.Second
	for attempt := 1; ; attempt++ {
		c, ep, fwd, err := r.connect(r.ctx)
		if err == nil {
			return c, ep, fwd
		}
		if r.ctx.Err() != nil || r.fan.closed() {
			return nil, ep, nil
		}
		// Jitter, so agents sharing a relay do not retry in step.
		d := wait/2 + rand.N(wait/2+1)
		r.log.Warn().Str("error", upterm.RelayText(err)).Int("attempt", attempt).Str("retry_in", d.Round(time.Millisecond).String()).Msg("could not reconnect to the relay")
		select {
		case <-time.After(d):
		case <-r.ctx.Done():
			return nil, ep, nil
		case <-r.fan.done:
			return nil, ep, nil
		}
		wait = min(2*wait, r.cfg.MaxBackoff)
	}
}

// Close ends the relay connection and waits for its goroutines. Call it
// only once the SSH server is shut down: the users' connections run
// through it. A nil Relay may be closed, and Close always returns nil.
func (r *Relay) Close() error {
	if r == nil {
		return nil
	}
	r.fan.Close() //nolint:errcheck // never fails
	r.cancel()
	r.wg.Wait()
	return nil
}
