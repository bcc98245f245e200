package main

import (
	"flag"
	"strings"
	"time"

	"github.com/pitstopci/pitstop/agent"
)

// relayHelp is the part of "pitstop agent --help" about relays.
const relayHelp = `
Behind NAT (GitHub-hosted runners accept no incoming connections), the agent
can dial an OpenSSH server you run instead, a bastion, and ask it to forward
a port on its loopback to the agent: --relay USER@HOST[:PORT] with
--relay-key FILE (the agent's key for the relay; without it, the key text is
read from PITSTOP_RELAY_KEY, which the action uses so the key is never
written to disk) and --relay-known-hosts FILE (the relay's host key, e.g.
from ssh-keyscan). Users then connect with
  ssh -J USER@HOST -p PORT runner@127.0.0.1
as printed; their session is end-to-end encrypted with the agent. A relay
that cannot be reached or refuses the agent is an error (exit 1) before the
pause begins; a relay that goes away later is reconnected to, and the new
command printed. No local port is opened unless --listen is given.

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
	fs.StringVar(&o.address, "relay", "", "reach the agent through the OpenSSH server at `USER@HOST[:PORT]` (a bastion) instead of a local port")
	fs.StringVar(&o.key, "relay-key", "", "private key `file` the agent logs in to the relay with")
	fs.StringVar(&o.knownHosts, "relay-known-hosts", "", "known_hosts `file` holding the relay's host key")
	fs.BoolVar(&o.insecure, "relay-insecure-ignore-host-key", false, "do not check the relay's host key (insecure: anyone in the path can pose as the relay)")
	fs.StringVar(&o.socket, "relay-socket", "", "ask the relay for a unix socket at this `path` instead of a TCP port")
	fs.IntVar(&o.port, "relay-port", 0, "TCP `port` to ask for on the relay's loopback (default: the relay picks)")
	fs.StringVar(&o.jump, "relay-jump", "", "the `[USER@]HOST[:PORT]` users pass to ssh -J (default: the --relay address)")
	fs.DurationVar(&o.keepalive, "relay-keepalive", agent.DefaultRelayKeepalive, "check that the relay answers every `duration`; 3 missed answers in a row mean reconnect")
}

// config returns the relay configuration, nil without --relay. envKey
// is PITSTOP_RELAY_KEY, the key's text, used when --relay-key is not
// given.
func (o *relayOptions) config(envKey string) (*agent.RelayConfig, error) {
	if o.address == "" {
		for flag, set := range map[string]bool{
			"--relay-key": o.key != "", "--relay-known-hosts": o.knownHosts != "", "--relay-socket": o.socket != "",
			"--relay-jump": o.jump != "", "--relay-port": o.port != 0, "--relay-insecure-ignore-host-key": o.insecure,
		} {
			if set {
				return nil, usagef("%s needs --relay USER@HOST[:PORT]", flag)
			}
		}
		return nil, nil
	}
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
