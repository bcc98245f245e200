package relay

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"

	gossh "golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/pitstopci/pitstop/upterm"
)

// A relay with Upterm: uptermd terminates the SSH connection the
// agent makes to it, so what travels inside that connection is readable
// there. The upterm package allows only direct-tcpip on it, and what
// those channels carry is an ordinary SSH connection from the user to
// this agent's server, checked against the agent's host key: the relay
// carries only its ciphertext.

// newUptermRelay prepares a relay of kind Upterm; opts.Guests are the
// keys the relay is asked to admit.
func newUptermRelay(rc Config, opts Options) (*Relay, error) {
	rc, err := rc.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("configure relay: %w", err)
	}
	hostport, err := uptermAddress(rc.Address)
	if err != nil {
		return nil, err
	}
	log := opts.Log
	r := &Relay{cfg: rc, opts: opts, log: log, hostport: hostport, name: "upterm://" + hostport, now: opts.Now}
	cb, err := r.uptermHostKeyCheck()
	if err != nil {
		return nil, err
	}
	// A relay key is what lets the agent in to an uptermd that admits
	// only the hosts it knows (--authorized-keys); without one, a fresh
	// key per session.
	signer, err := rc.loginKey()
	if err != nil {
		return nil, err
	}
	if signer != nil {
		log.Info().Str("relay_key_fingerprint", gossh.FingerprintSHA256(signer.PublicKey())).Msg("logging in to the relay " + r.name + " with the relay key")
	}
	r.upterm = &upterm.Host{
		Signer:          signer,
		Addr:            hostport,
		HostKeyCallback: cb,
		AuthorizedKeys:  opts.Guests,
		Timeout:         rc.DialTimeout,
		Config:          opts.SSH,
		Refused: func(what string) {
			r.log.Warn().Str("refused", what).Msg("refused what the relay asked for: only direct-tcpip to this agent's SSH server goes through it")
		},
	}
	r.ctx, r.cancel = context.WithCancel(context.Background())
	r.fan = &fanIn{conns: make(chan net.Conn), done: make(chan struct{})}
	if rc.InsecureIgnoreHostKey {
		log.Warn().Msgf("not checking the host key of the relay %s (insecure): whoever can intercept the connection can pose as the relay; the sessions stay protected by this agent's own host key", r.name)
	}
	return r, nil
}

// uptermAddress checks HOST[:PORT] and adds the default port, 22.
func uptermAddress(s string) (string, error) {
	host, port := s, "22"
	if h, p, err := net.SplitHostPort(s); err == nil {
		host, port = h, p
	} else if strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]") {
		host = s[1 : len(s)-1]
	}
	if _, err := parsePort(port); err != nil || host == "" || strings.ContainsAny(host, "@/ ") {
		return "", fmt.Errorf("upterm relay address %q is not HOST[:PORT]", s)
	}
	return net.JoinHostPort(host, port), nil
}

func parsePort(p string) (int, error) {
	n, err := strconv.Atoi(p)
	if err != nil || n < 1 || n > 65535 {
		return 0, fmt.Errorf("invalid port %q", p)
	}
	return n, nil
}

// isPublicUpterm says whether hostport is upterm's public relay, whose
// key ships pinned.
func isPublicUpterm(hostport string) bool {
	return strings.EqualFold(hostport, upterm.PublicRelayAddr)
}

// uptermHostKeyCheck pins the relay's key: the published one for the
// public relay, else the known_hosts file. It records what was seen, for
// messages.
func (r *Relay) uptermHostKeyCheck() (gossh.HostKeyCallback, error) {
	var check gossh.HostKeyCallback
	switch {
	case r.cfg.InsecureIgnoreHostKey:
		check = func(string, net.Addr, gossh.PublicKey) error { return nil }
	case r.cfg.KnownHostsFile != "":
		cb, err := upterm.KnownHosts(r.cfg.KnownHostsFile)
		if err != nil {
			return nil, fmt.Errorf("read relay known_hosts: %w", err)
		}
		check = cb
	case isPublicUpterm(r.hostport):
		check = upterm.PinnedKeys(upterm.ParsePublicRelayKey())
	default:
		return nil, fmt.Errorf("relay %s: no known_hosts file to check its host key against (--relay-known-hosts FILE, e.g. from ssh-keyscan -p PORT HOST; or --relay-insecure-ignore-host-key)", r.name)
	}
	return func(host string, remote net.Addr, key gossh.PublicKey) error {
		err := check(host, remote, key)
		r.mu.Lock()
		r.hostKeyFP, r.keyErr = upterm.Fingerprint(key), err
		r.mu.Unlock()
		return err
	}, nil
}

// connectUpterm registers a session with the uptermd. What users dial
// is the session; the inner connections come out of the session's
// Accept.
func (r *Relay) connectUpterm(ctx context.Context) (*gossh.Client, endpoint, net.Listener, error) {
	s, err := r.upterm.Dial(ctx)
	if err != nil {
		return nil, endpoint{}, nil, r.explainUpterm(err)
	}
	ep := endpoint{session: s.SSHUser, since: r.now()}
	return s.Client, ep, s, nil
}

// explainUpterm turns a failed registration into a message that names
// the relay and says what to try.
func (r *Relay) explainUpterm(err error) error {
	fp, keyErr := r.seenHostKey()
	var step *upterm.StepError
	var ke *knownhosts.KeyError
	var mismatch *upterm.KeyMismatchError
	direct := "; if this runner can be reached directly, set relay: none"
	switch {
	case keyErr != nil && (errors.As(keyErr, &mismatch) || errors.As(keyErr, &ke)):
		if r.cfg.KnownHostsFile != "" {
			return fmt.Errorf("upterm relay %s showed host key %s, which is not the one %s pins for it: someone may be intercepting the connection, or the relay's key changed (then update relay-known-hosts)", r.name, fp, r.cfg.KnownHostsFile)
		}
		return fmt.Errorf("upterm relay %s showed host key %s, which is not the key upterm publishes for it (%s, shipped with pitstop): someone may be intercepting the connection, or upterm changed its key (then pin the new one, once checked, with relay-known-hosts)",
			r.name, fp, gossh.FingerprintSHA256(upterm.ParsePublicRelayKey()))
	case keyErr != nil:
		return fmt.Errorf("check the host key of the upterm relay %s: %w", r.name, keyErr)
	case errors.As(err, &step) && step.Step == "log in" && strings.Contains(step.Err.Error(), "unable to authenticate"):
		if r.upterm.Signer != nil {
			return fmt.Errorf("upterm relay %s refused the relay key %s: check that its public half is in the file the uptermd was started with as --authorized-keys", r.name, gossh.FingerprintSHA256(r.upterm.Signer.PublicKey()))
		}
		return fmt.Errorf("upterm relay %s refused this agent's login: an uptermd started with --authorized-keys admits only the host keys listed there; give the agent one of them as relay-key (--relay-key, PITSTOP_RELAY_KEY)", r.name)
	case errors.As(err, &step) && step.Step == "log in":
		return fmt.Errorf("upterm relay %s: could not log in: %w (check that HOST:PORT is an uptermd's SSH port; try again later, or run your own: relay: upterm://HOST%s)", r.name, step.Err, direct)
	case errors.As(err, &step):
		return fmt.Errorf("upterm relay %s did not let this agent %s: %w (try again later, or run your own uptermd: relay: upterm://HOST%s)", r.name, step.Step, step.Err, direct)
	}
	return fmt.Errorf("could not reach the upterm relay %s: %w (check the runner's outbound network, or run your own uptermd: relay: upterm://HOST%s)", r.name, err, direct)
}

// logRelayPin tells users how to pin the public relay's own key for
// the -J hop too. Not needed for the session's safety (the agent's key
// is what protects it), but it spares them a first-use prompt.
func (r *Relay) logRelayPin() {
	if !isPublicUpterm(r.hostport) || r.cfg.KnownHostsFile != "" || r.cfg.InsecureIgnoreHostKey {
		return
	}
	line := strings.TrimSpace(upterm.PublicRelayKnownHosts)
	r.log.Info().Str("relay_known_hosts", line).Msg("to check the relay's own key on the -J hop too, add to known_hosts: " + line)
}

// uptermHostAlias is the name users' ssh gives the agent behind the
// relay: -J passes it to the relay without resolving it, and the
// known_hosts line is for it. One per host key, so runs never collide in
// a user's known_hosts.
func uptermHostAlias(host gossh.PublicKey) string {
	sum := sha256.Sum256(host.Marshal())
	return "pitstop-" + hex.EncodeToString(sum[:5])
}

// accessUpterm describes the upterm session ep: users jump through the
// relay, logged in as the session, to the agent's own server, whose key
// they check.
func (r *Relay) accessUpterm(ep endpoint) Access {
	jumpHost, jumpPort, _ := net.SplitHostPort(r.hostport)
	jump := ep.session + "@" + jumpHost
	if strings.Contains(jumpHost, ":") {
		jump = ep.session + "@[" + jumpHost + "]"
	}
	if jumpPort != "22" {
		jump += ":" + jumpPort
	}
	alias := uptermHostAlias(r.opts.HostKey)
	a := Access{Relay: r.name, Jump: jump, ForwardedAt: ep.since}
	if r.fan.addr != nil {
		a.Listen = r.fan.addr.String()
	}
	a.Address = r.hostport
	a.Host = alias
	a.Port = 22
	a.SSHCommand = fmt.Sprintf("ssh -J %s %s@%s", jump, r.opts.LoginUser, alias)
	a.KnownHosts = knownhosts.Line([]string{alias}, r.opts.HostKey)
	return a
}
