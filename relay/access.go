package relay

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/ssh/knownhosts"
)

// Access is how users reach the server through the relay, for one
// forward: the address, command and known_hosts line are the relay's,
// not the runner's.
type Access struct {
	// Relay names the relay: USER@HOST:PORT, or upterm://HOST:PORT.
	Relay string
	// Jump is what users pass to ssh -J.
	Jump string
	// ForwardedAt is when this forward was set up; a reconnect makes a
	// new one.
	ForwardedAt time.Time
	// Listen is the local listener's address (Options.Listen), or empty.
	Listen string
	// Address is what the relay listens on for users: HOST:PORT on its
	// loopback, a unix socket's path, or for an uptermd its own address.
	Address string
	// Host and Port are what the user's ssh dials behind the jump.
	Host string
	Port int
	// SSHCommand is the command to connect.
	SSHCommand string
	// KnownHosts is a known_hosts line for the server's host key under
	// the name the user's ssh checks it by.
	KnownHosts string
}

// Access says how users reach the server through the current forward.
func (r *Relay) Access() Access {
	return r.access(r.current())
}

// Follow calls fn with how users reach the server after every later
// forward, when the relay connection was lost and re-established; and at
// once when the forward changed since the one set up at since (the
// ForwardedAt of the Access the caller published).
func (r *Relay) Follow(since time.Time, fn func(Access)) {
	announce := func(ep endpoint) { fn(r.access(ep)) }
	r.mu.Lock()
	r.follow = announce
	changed := !r.ep.since.Equal(since)
	ep := r.ep
	r.mu.Unlock()
	if changed {
		// Reconnected between the caller's Access and now.
		announce(ep)
	}
}

// access describes the forward ep.
func (r *Relay) access(ep endpoint) Access {
	if r.upterm != nil {
		return r.accessUpterm(ep)
	}
	a := Access{Relay: r.name, Jump: r.cfg.Jump, ForwardedAt: ep.since, Host: "127.0.0.1"}
	if r.fan.addr != nil {
		a.Listen = r.fan.addr.String()
	}
	loginUser := r.opts.LoginUser
	if ep.socket != "" {
		// OpenSSH's -J and -W cannot reach a unix socket; a local port
		// forwarded to it can, and needs no shell on the relay.
		a.Address = ep.socket
		a.Port = socketLocalPort
		a.SSHCommand = fmt.Sprintf("ssh -f -N -o ExitOnForwardFailure=yes -L %d:%s %s && ssh -p %d %s@127.0.0.1",
			socketLocalPort, ep.socket, destination(r.cfg.Jump), socketLocalPort, loginUser)
	} else {
		a.Address = ep.String()
		a.Port = ep.port
		a.SSHCommand = fmt.Sprintf("ssh -J %s -p %d %s@127.0.0.1", r.cfg.Jump, ep.port, loginUser)
	}
	// With -J (or a local forward) the user's ssh checks the agent's key
	// under the address it was told to dial, [127.0.0.1]:PORT.
	a.KnownHosts = knownhosts.Line([]string{knownhosts.Normalize(net.JoinHostPort(a.Host, strconv.Itoa(a.Port)))}, r.opts.HostKey)
	return a
}

// destination turns a -J style [USER@]HOST[:PORT] into ssh's own
// arguments: "-p PORT USER@HOST", or the spec itself without a port.
func destination(jump string) string {
	user, hostport, hasUser := strings.Cut(jump, "@")
	if !hasUser {
		user, hostport = "", jump
	}
	host, port, err := net.SplitHostPort(hostport)
	if err != nil {
		return jump
	}
	if user != "" {
		host = user + "@" + host
	}
	if port == "22" {
		return host
	}
	return "-p " + port + " " + host
}
