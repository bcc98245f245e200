package main

import (
	"flag"
	"strings"
	"time"

	"github.com/pitstopci/pitstop/agent"
)

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
	fs.StringVar(&o.key, "relay-key", "", "private key `file` the agent logs in to the relay with (default: the key text in $PITSTOP_RELAY_KEY, which the action uses so the key is never on disk)")
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
