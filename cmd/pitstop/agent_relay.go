package main

import (
	"flag"
	"strings"
	"time"

	"github.com/pitstopci/pitstop/agent"
	"github.com/pitstopci/pitstop/upterm"
)

// relayHelp is the part of "pitstop agent --help" about relays.
const relayHelp = `
Reaching a runner that accepts no incoming connections (GitHub-hosted
runners): --relay names how, one of
  upterm                 upterm's public relay, uptermd.upterm.dev (its
                         published host key is pinned); the default on
                         GitHub-hosted runners (RUNNER_ENVIRONMENT=github-hosted)
  upterm://HOST[:PORT]   your own uptermd; --relay-known-hosts FILE pins it
  USER@HOST[:PORT]       an OpenSSH server you run (a bastion); also
                         ssh://USER@HOST[:PORT]
  none                   listen directly, as on self-hosted runners and act
Through an uptermd, users jump to the agent's own SSH server:
  ssh -J SESSION@uptermd.upterm.dev runner@pitstop-HASH
as printed; the relay carries only that connection's ciphertext, checked
against the agent's host key. Through a bastion, the agent logs in with
--relay-key FILE (without it, the key text is read from PITSTOP_RELAY_KEY,
which the action uses so the key is never written to disk) and
--relay-known-hosts FILE (the relay's host key, e.g. from ssh-keyscan), and
asks it to forward a port on its loopback; users connect with
  ssh -J USER@HOST -p PORT runner@127.0.0.1
A relay that cannot be reached or refuses the agent is an error (exit 1)
before the pause begins; a relay that goes away later is reconnected to,
and the new command printed. No local port is opened unless --listen is
given.

  $ pitstop agent --relay upterm
  $ pitstop agent --relay upterm://upterm.example.com:2222 --relay-known-hosts upterm.known_hosts
  $ pitstop agent --relay pitstop@bastion.example.com --relay-key relay_ed25519 --relay-known-hosts bastion.known_hosts
`

// relayOptions are the --relay-* flags.
type relayOptions struct {
	address, key, knownHosts string
	insecure                 bool
	socket, jump             string
	port                     int
	keepalive                time.Duration
}

func (o *relayOptions) register(fs *flag.FlagSet) {
	fs.StringVar(&o.address, "relay", "", "reach the agent through `RELAY`: upterm, upterm://HOST[:PORT], USER@HOST[:PORT] (an OpenSSH bastion) or none (default: upterm on GitHub-hosted runners, else none)")
	fs.StringVar(&o.key, "relay-key", "", "private key `file` the agent logs in to the relay with")
	fs.StringVar(&o.knownHosts, "relay-known-hosts", "", "known_hosts `file` holding the relay's host key")
	fs.BoolVar(&o.insecure, "relay-insecure-ignore-host-key", false, "do not check the relay's host key (insecure: anyone in the path can pose as the relay)")
	fs.StringVar(&o.socket, "relay-socket", "", "ask the relay for a unix socket at this `path` instead of a TCP port")
	fs.IntVar(&o.port, "relay-port", 0, "TCP `port` to ask for on the relay's loopback (default: the relay picks)")
	fs.StringVar(&o.jump, "relay-jump", "", "the `[USER@]HOST[:PORT]` users pass to ssh -J (default: the --relay address)")
	fs.DurationVar(&o.keepalive, "relay-keepalive", agent.DefaultRelayKeepalive, "check that the relay answers every `duration`; 3 missed answers in a row mean reconnect")
}

// config returns the relay configuration, nil without --relay (the
// agent then picks by the runner). envKey is PITSTOP_RELAY_KEY, the key's
// text, used when --relay-key is not given.
func (o *relayOptions) config(envKey string) (*agent.RelayConfig, error) {
	switch {
	case o.address == "" || o.address == string(agent.RelayNone):
		for flag, set := range map[string]bool{
			"--relay-key": o.key != "", "--relay-known-hosts": o.knownHosts != "", "--relay-socket": o.socket != "",
			"--relay-jump": o.jump != "", "--relay-port": o.port != 0, "--relay-insecure-ignore-host-key": o.insecure,
		} {
			if set {
				return nil, usagef("%s needs --relay upterm, upterm://HOST[:PORT] or USER@HOST[:PORT]", flag)
			}
		}
		if o.address == "" {
			return nil, nil
		}
		return &agent.RelayConfig{Kind: agent.RelayNone}, nil
	case o.address == "upterm" || strings.HasPrefix(o.address, "upterm://"):
		return o.uptermConfig(envKey)
	}
	o.address = strings.TrimPrefix(o.address, "ssh://")
	switch {
	case o.key == "" && strings.TrimSpace(envKey) == "":
		return nil, usagef("--relay needs --relay-key FILE (or the key's text in PITSTOP_RELAY_KEY), the key the agent logs in to the relay with")
	case o.knownHosts == "" && !o.insecure:
		return nil, usagef("--relay needs --relay-known-hosts FILE to check the relay's host key (ssh-keyscan -p PORT HOST prints it), or --relay-insecure-ignore-host-key")
	case o.knownHosts != "" && o.insecure:
		return nil, usagef("--relay-known-hosts and --relay-insecure-ignore-host-key exclude each other")
	case o.socket != "" && o.port != 0:
		return nil, usagef("--relay-socket and --relay-port exclude each other")
	case o.port < 0 || o.port > 65535:
		return nil, usagef("--relay-port %d is out of range", o.port)
	case o.keepalive <= 0:
		return nil, usagef("--relay-keepalive must be positive, not %v", o.keepalive)
	}
	rc := &agent.RelayConfig{
		Address:               o.address,
		KeyFile:               o.key,
		KnownHostsFile:        o.knownHosts,
		InsecureIgnoreHostKey: o.insecure,
		Socket:                o.socket,
		Port:                  o.port,
		Jump:                  o.jump,
		Keepalive:             o.keepalive,
	}
	if o.key == "" {
		rc.Key = []byte(envKey)
	}
	return rc, nil
}

// uptermConfig is the configuration for --relay upterm[://HOST[:PORT]].
func (o *relayOptions) uptermConfig(envKey string) (*agent.RelayConfig, error) {
	addr := strings.TrimPrefix(o.address, "upterm://")
	public := o.address == "upterm"
	if public {
		addr = upterm.PublicRelayAddr
	}
	for flag, set := range map[string]bool{
		"--relay-key": o.key != "", "--relay-socket": o.socket != "", "--relay-jump": o.jump != "", "--relay-port": o.port != 0,
	} {
		if set {
			return nil, usagef("%s is for OpenSSH relays (USER@HOST); an upterm relay needs none", flag)
		}
	}
	switch {
	case strings.TrimSpace(envKey) != "":
		return nil, usagef("relay-key (PITSTOP_RELAY_KEY) is for OpenSSH relays (USER@HOST); an upterm relay needs none: leave it unset")
	case addr == "" || strings.ContainsAny(addr, "@/ "):
		return nil, usagef("--relay %q: want upterm://HOST[:PORT]", o.address)
	case o.knownHosts != "" && o.insecure:
		return nil, usagef("--relay-known-hosts and --relay-insecure-ignore-host-key exclude each other")
	case !public && o.knownHosts == "" && !o.insecure && !strings.EqualFold(addr, upterm.PublicRelayHost) && !strings.EqualFold(addr, upterm.PublicRelayAddr):
		return nil, usagef("--relay %s needs --relay-known-hosts FILE to check the relay's host key (ssh-keyscan -p PORT HOST prints it), or --relay-insecure-ignore-host-key", o.address)
	case o.keepalive <= 0:
		return nil, usagef("--relay-keepalive must be positive, not %v", o.keepalive)
	}
	return &agent.RelayConfig{
		Kind:                  agent.RelayUpterm,
		Address:               addr,
		KnownHostsFile:        o.knownHosts,
		InsecureIgnoreHostKey: o.insecure,
		Keepalive:             o.keepalive,
	}, nil
}
