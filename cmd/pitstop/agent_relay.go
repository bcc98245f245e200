package main

import (
	"flag"
	"strings"
	"time"

	"github.com/pitstopci/pitstop/relay"
	"github.com/pitstopci/pitstop/upterm"
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
	fs.StringVar(&o.address, "relay", "", "reach the agent through `RELAY`: upterm, upterm://HOST[:PORT], USER@HOST[:PORT] (an OpenSSH bastion) or none (default: upterm on GitHub-hosted runners, else none)")
	fs.StringVar(&o.key, "relay-key", "", "private key `file` the agent logs in to the relay with: a bastion, or an uptermd started with --authorized-keys (default: the key text in $PITSTOP_RELAY_KEY, which the action uses so the key is never on disk)")
	fs.StringVar(&o.knownHosts, "relay-known-hosts", "", "known_hosts `file` holding the relay's host key")
	fs.BoolVar(&o.insecure, "relay-insecure-ignore-host-key", false, "do not check the relay's host key (insecure: anyone in the path can pose as the relay)")
	fs.StringVar(&o.socket, "relay-socket", "", "ask the relay for a unix socket at this `path` instead of a TCP port")
	fs.IntVar(&o.port, "relay-port", 0, "TCP `port` to ask for on the relay's loopback (default: the relay picks)")
	fs.StringVar(&o.jump, "relay-jump", "", "the `[USER@]HOST[:PORT]` users pass to ssh -J (default: the --relay address)")
	fs.DurationVar(&o.keepalive, "relay-keepalive", relay.DefaultKeepalive, "check that the relay answers every `duration`; 3 missed answers in a row mean reconnect")
}

// config returns the relay configuration, nil without --relay (the
// agent then picks by the runner). envKey is PITSTOP_RELAY_KEY, the key's
// text, used when --relay-key is not given.
func (o *relayOptions) config(envKey string) (*relay.Config, error) {
	switch {
	case o.address == "" || o.address == string(relay.None):
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
		return &relay.Config{Kind: relay.None}, nil
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
	rc := &relay.Config{
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
func (o *relayOptions) uptermConfig(envKey string) (*relay.Config, error) {
	addr := strings.TrimPrefix(o.address, "upterm://")
	public := o.address == "upterm"
	if public {
		addr = upterm.PublicRelayAddr
	}
	for flag, set := range map[string]bool{
		"--relay-socket": o.socket != "", "--relay-jump": o.jump != "", "--relay-port": o.port != 0,
	} {
		if set {
			return nil, usagef("%s is for OpenSSH relays (USER@HOST); an upterm relay needs none", flag)
		}
	}
	switch {
	case addr == "" || strings.ContainsAny(addr, "@/ "):
		return nil, usagef("--relay %q: want upterm://HOST[:PORT]", o.address)
	case o.knownHosts != "" && o.insecure:
		return nil, usagef("--relay-known-hosts and --relay-insecure-ignore-host-key exclude each other")
	case !public && o.knownHosts == "" && !o.insecure && !strings.EqualFold(addr, upterm.PublicRelayHost) && !strings.EqualFold(addr, upterm.PublicRelayAddr):
		return nil, usagef("--relay %s needs --relay-known-hosts FILE to check the relay's host key (ssh-keyscan -p PORT HOST prints it), or --relay-insecure-ignore-host-key", o.address)
	case o.keepalive <= 0:
		return nil, usagef("--relay-keepalive must be positive, not %v", o.keepalive)
	}
	// A relay key is optional here: an uptermd started with
	// --authorized-keys admits only the host keys listed there.
	rc := &relay.Config{
		Kind:                  relay.Upterm,
		Address:               addr,
		KeyFile:               o.key,
		KnownHostsFile:        o.knownHosts,
		InsecureIgnoreHostKey: o.insecure,
		Keepalive:             o.keepalive,
	}
	if o.key == "" && strings.TrimSpace(envKey) != "" {
		rc.Key = []byte(envKey)
	}
	return rc, nil
}
