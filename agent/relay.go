package agent

import (
	"context"
	"fmt"
	"net"

	"github.com/rs/zerolog"
	gossh "golang.org/x/crypto/ssh"

	"github.com/pitstopci/pitstop/internal/wire"
	"github.com/pitstopci/pitstop/relay"
	"github.com/pitstopci/pitstop/upterm"
)

// listen returns what the SSH server serves on: a local TCP listener, or
// in relay mode the relay's forward, plus a local listener only when
// cfg.Listen asks for one. In relay mode it fails, naming the relay, when
// the relay cannot be reached, refuses the agent or refuses the forward;
// nothing is left running then.
// host is the agent's host key; guests are the keys that may log in,
// which an uptermd is asked to admit.
func listen(ctx context.Context, cfg Config, host gossh.PublicKey, guests []gossh.PublicKey) (net.Listener, *relay.Relay, error) {
	if cfg.Relay == nil {
		ln, err := net.Listen("tcp", cfg.Listen)
		if err != nil {
			return nil, nil, fmt.Errorf("listen on %s: %w", cfg.Listen, err)
		}
		return ln, nil, nil
	}
	return relay.Listen(ctx, *cfg.Relay, relay.Options{
		Log:       relayLog(cfg),
		Now:       cfg.Now,
		HostKey:   host,
		LoginUser: cfg.LoginUser,
		Guests:    guests,
		Listen:    cfg.Listen,
		SSH:       gossh.Config{KeyExchanges: kexAlgorithms, Ciphers: cipherAlgorithms, MACs: macAlgorithms},
	})
}

// relayLog is the log for what concerns the relay.
func relayLog(cfg Config) zerolog.Logger {
	return cfg.Log.With().Str("relay", cfg.Relay.Address).Logger()
}

// throughRelay returns rd with its connection details replaced by those
// of the relay's forward: users go through the relay, so the address,
// command and known_hosts line are the relay's, not the runner's.
func throughRelay(rd Ready, a relay.Access) Ready {
	rd.Relay = a.Relay
	rd.Jump = a.Jump
	rd.ForwardedAt = a.ForwardedAt
	rd.Listen = a.Listen
	rd.Address = a.Address
	rd.Host = a.Host
	rd.Port = a.Port
	rd.SSHCommand = a.SSHCommand
	rd.KnownHosts = a.KnownHosts
	return rd
}

// followReady makes every later forward (after a reconnect) rewrite the
// ready file and print the new command, based on what Run first wrote;
// on GitHub Actions (actions) it also annotates the run with it, as Run
// did with the first.
func followReady(cfg Config, rl *relay.Relay, base Ready, times func() pauseTimes, actions bool) {
	log := relayLog(cfg)
	rl.Follow(base.ForwardedAt, func(a relay.Access) {
		rd := throughRelay(base, a)
		rd.Deadline = times().Deadline // pitstop extend may have moved it
		if cfg.ReadyFile != "" {
			if err := wire.WriteReady(cfg.ReadyFile, rd); err != nil {
				log.Warn().Err(err).Msg("could not rewrite the ready file")
			}
		}
		log.Info().Str("ssh_command", rd.SSHCommand).Str("relay_address", rd.Address).Msg("connect with: " + rd.SSHCommand)
		log.Info().Str("known_hosts", rd.KnownHosts).Msg("for strict host key checking, add to known_hosts: " + rd.KnownHosts)
		if actions {
			notice(cfg, rd)
		}
	})
}

// chooseRelay settles how the agent is reached when cfg leaves it open,
// and returns what to tell the log about it once there is one. A
// GitHub-hosted runner (hosted; see Job.hostedRunner) accepts no incoming
// connections, so with neither a relay nor a listen address given, the
// agent goes through upterm's public relay. Self-hosted runners and act
// (even run on a GitHub-hosted runner) keep listening directly.
// relay.None asks for a direct listener anywhere; on a GitHub-hosted
// runner that earns a warning.
func chooseRelay(cfg Config, hosted bool) (Config, func(zerolog.Logger)) {
	unreachable := func(log zerolog.Logger) {
		log.Warn().Msg("this is a GitHub-hosted runner, which accepts no incoming connections: nobody can reach the address printed below unless a tunnel carries it (leave relay unset to go through upterm's public relay)")
	}
	switch {
	case cfg.Relay != nil && cfg.Relay.Kind == relay.None:
		cfg.Relay = nil
		if hosted {
			return cfg, unreachable
		}
	case cfg.Relay == nil && hosted && cfg.Listen == "":
		cfg.Relay = &relay.Config{Kind: relay.Upterm, Address: upterm.PublicRelayAddr}
		return cfg, func(log zerolog.Logger) {
			log.Info().Str("relay", "upterm://"+upterm.PublicRelayAddr).Msg("GitHub-hosted runner: reached through upterm's public relay " + upterm.PublicRelayHost +
				", which carries the SSH session encrypted end to end with this agent (it cannot read it, type into it or pose as this agent, whose host key you check);" +
				" to use your own, set relay: upterm://HOST[:PORT] (an uptermd) or USER@HOST (an OpenSSH bastion)")
		}
	case cfg.Relay == nil && hosted:
		return cfg, unreachable
	}
	return cfg, func(zerolog.Logger) {}
}
