package agent

import (
	"fmt"
	"net"
	"strconv"
	"strings"

	gossh "golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// throughRelay returns rd with its connection details replaced by those
// of the relay forward ep: users go through the relay, so the address,
// command and known_hosts line are the relay's, not the runner's.
func (r *relay) throughRelay(rd Ready, ep relayEndpoint, host gossh.PublicKey, loginUser string) Ready {
	if r.upterm != nil {
		return r.throughUpterm(rd, ep, host, loginUser)
	}
	rd.Relay = r.name
	rd.Jump = r.cfg.Jump
	rd.ForwardedAt = ep.since
	rd.Listen = ""
	if r.fan.addr != nil {
		rd.Listen = r.fan.addr.String()
	}
	rd.Host = "127.0.0.1"
	if ep.socket != "" {
		// OpenSSH's -J and -W cannot reach a unix socket; a local port
		// forwarded to it can, and needs no shell on the relay.
		rd.Address = ep.socket
		rd.Port = RelaySocketLocalPort
		rd.SSHCommand = fmt.Sprintf("ssh -f -N -o ExitOnForwardFailure=yes -L %d:%s %s && ssh -p %d %s@127.0.0.1",
			RelaySocketLocalPort, ep.socket, destination(r.cfg.Jump), RelaySocketLocalPort, loginUser)
	} else {
		rd.Address = ep.String()
		rd.Port = ep.port
		rd.SSHCommand = fmt.Sprintf("ssh -J %s -p %d %s@127.0.0.1", r.cfg.Jump, ep.port, loginUser)
	}
	// With -J (or a local forward) the user's ssh checks the agent's key
	// under the address it was told to dial, [127.0.0.1]:PORT.
	rd.KnownHosts = knownhosts.Line([]string{knownhosts.Normalize(net.JoinHostPort(rd.Host, strconv.Itoa(rd.Port)))}, host)
	return rd
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

// followReady makes every later forward (after a reconnect) rewrite the
// ready file and print the new command, based on what Run first wrote.
func (r *relay) followReady(cfg Config, base Ready, host gossh.PublicKey, times func() pauseTimes) {
	announce := func(ep relayEndpoint) {
		rd := r.throughRelay(base, ep, host, cfg.LoginUser)
		rd.Deadline = times().Deadline // pitstop extend may have moved it
		if cfg.ReadyFile != "" {
			if err := writeReady(cfg.ReadyFile, rd); err != nil {
				r.log.Warn().Err(err).Msg("could not rewrite the ready file")
			}
		}
		r.log.Info().Str("ssh_command", rd.SSHCommand).Str("relay_address", rd.Address).Msg("connect with: " + rd.SSHCommand)
		r.log.Info().Str("known_hosts", rd.KnownHosts).Msg("for strict host key checking, add to known_hosts: " + rd.KnownHosts)
		notice(cfg, rd)
	}
	r.mu.Lock()
	r.follow = announce
	changed := !r.ep.since.Equal(base.ForwardedAt)
	ep := r.ep
	r.mu.Unlock()
	if changed {
		// Reconnected between the first ready file and now.
		announce(ep)
	}
}
