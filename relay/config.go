package relay

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/rs/zerolog"
	gossh "golang.org/x/crypto/ssh"
)

// Kind is how the agent is reached when it cannot be dialed.
type Kind string

// The kinds of relay.
const (
	// OpenSSH is an OpenSSH server the team runs: the agent logs in
	// and asks for a remote forward. The zero value.
	OpenSSH Kind = ""
	// Upterm is an uptermd, upterm's relay: the public one or the
	// team's own. The agent registers as an upterm host; users jump
	// through the relay to the agent's own SSH server.
	Upterm Kind = "upterm"
	// None listens directly even where a relay would be the
	// default (GitHub-hosted runners), for runners that are reachable.
	None Kind = "none"
)

// Defaults for the zero values of Config.
const (
	DefaultKeepalive    = 15 * time.Second
	DefaultKeepaliveMax = 3
	DefaultDialTimeout  = 20 * time.Second
	DefaultMaxBackoff   = 30 * time.Second
)

// socketLocalPort is the local port in the connect command printed
// for a unix socket forward: OpenSSH's -J cannot reach a socket, so users
// forward a local port to it first.
const socketLocalPort = 2222

// Config makes the agent reachable through an OpenSSH server it
// dials, instead of through a local listener. The zero value of every
// field but Address and Key or KeyFile (for an uptermd, Address only)
// means its default.
type Config struct {
	// Kind is the kind of relay: an OpenSSH server (the zero value), an
	// uptermd (Upterm), or none (None). See Kind.
	Kind Kind
	// Address is the relay's sshd as USER@HOST[:PORT]; the port defaults
	// to 22. USER is the account the agent logs in as, best a dedicated
	// one that may only forward ports. For an uptermd it is HOST[:PORT].
	Address string
	// Key is the private key the agent logs in to the relay with
	// (OpenSSH or PEM format, no passphrase), e.g. from a CI secret passed
	// in the environment, so that no copy of it lands on disk. When set,
	// KeyFile is not read.
	Key []byte
	// KeyFile holds the private key, as Key, when Key is not given. It is
	// read once, at start.
	KeyFile string
	// KnownHostsFile holds the relay's host key in known_hosts format
	// (what ssh-keyscan prints). Required unless InsecureIgnoreHostKey,
	// or for the public upterm relay, whose published key ships pinned.
	KnownHostsFile string
	// InsecureIgnoreHostKey accepts any host key the relay shows. Whoever
	// can intercept the agent's connection can then pose as the relay and
	// hand out a different address; the users' sessions stay protected by
	// the agent's own host key, which they check.
	InsecureIgnoreHostKey bool
	// Port is the TCP port asked for on the relay's loopback. Default 0:
	// the relay picks a free one.
	Port int
	// Socket, when set, asks the relay for a unix socket at this path
	// (streamlocal-forward@openssh.com) instead of a TCP port. File
	// permissions on the relay then decide who may connect.
	Socket string
	// Jump is what users pass to ssh -J, [USER@]HOST[:PORT], when it is
	// not Address (users log in to the bastion with their own accounts).
	// Default: Address.
	Jump string
	// Keepalive is how often the agent checks that the relay answers.
	// Default 15s.
	Keepalive time.Duration
	// KeepaliveMax unanswered keepalives in a row mean the relay is gone;
	// the agent then reconnects. Default 3.
	KeepaliveMax int
	// DialTimeout bounds one attempt to connect and log in. Default 20s.
	DialTimeout time.Duration
	// MaxBackoff caps the wait between reconnect attempts. Default 30s.
	MaxBackoff time.Duration
}

// Options is what the relay needs from the SSH server it carries
// connections to. The relay knows nothing else of that server.
type Options struct {
	// Log receives what the relay logs: connecting, reconnecting, missed
	// keepalives. The caller adds the fields that name the relay.
	Log zerolog.Logger
	// Now stamps each forward (Access.ForwardedAt). Default time.Now.
	Now func() time.Time
	// HostKey is the server's host key, which users check: Access's
	// known_hosts line is for it, and for an uptermd it names the host.
	HostKey gossh.PublicKey
	// LoginUser is the user name in the connect command.
	LoginUser string
	// Guests are the keys that may log in, which an uptermd is asked to
	// admit. An OpenSSH relay admits whoever can log in to it.
	Guests []gossh.PublicKey
	// Listen, when set, is a local TCP address served as well, through
	// the same listener, for users who can reach the runner.
	Listen string
	// SSH holds the algorithms offered to the relay (KeyExchanges,
	// Ciphers, MACs); empty means x/crypto's defaults.
	SSH gossh.Config
}

// parseRelayAddress splits USER@HOST[:PORT].
func parseRelayAddress(s string) (user, hostport string, err error) {
	user, host, ok := strings.Cut(s, "@")
	if !ok || user == "" || host == "" {
		return "", "", fmt.Errorf("relay address %q is not USER@HOST[:PORT]", s)
	}
	port := "22"
	if h, p, err := net.SplitHostPort(host); err == nil {
		host, port = h, p
	} else if strings.HasPrefix(host, "[") && strings.HasSuffix(host, "]") {
		host = host[1 : len(host)-1]
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return "", "", fmt.Errorf("relay address %q has an invalid port %q", s, port)
	}
	if host == "" || strings.ContainsAny(host, "/ ") {
		return "", "", fmt.Errorf("relay address %q has an invalid host", s)
	}
	return user, net.JoinHostPort(host, port), nil
}

// withDefaults fills in the zero fields.
func (rc Config) withDefaults() (Config, error) {
	if rc.Keepalive < 0 || rc.DialTimeout < 0 || rc.MaxBackoff < 0 || rc.KeepaliveMax < 0 {
		return rc, errors.New("relay durations and counts must not be negative")
	}
	if rc.Keepalive == 0 {
		rc.Keepalive = DefaultKeepalive
	}
	if rc.KeepaliveMax == 0 {
		rc.KeepaliveMax = DefaultKeepaliveMax
	}
	if rc.DialTimeout == 0 {
		rc.DialTimeout = DefaultDialTimeout
	}
	if rc.MaxBackoff == 0 {
		rc.MaxBackoff = DefaultMaxBackoff
	}
	if rc.Port < 0 || rc.Port > 65535 {
		return rc, fmt.Errorf("relay port %d is out of range", rc.Port)
	}
	if rc.Jump == "" {
		rc.Jump = rc.Address
	}
	return rc, nil
}
