package main

import (
	"errors"
	"strings"
	"testing"

	"github.com/pitstopci/pitstop/relay"
)

// TestRelayKeyFromEnvironment: --relay-key names a file; without it the
// key's text comes from PITSTOP_RELAY_KEY, as the action passes it, so no
// copy of the key has to be written to disk.
func TestRelayKeyFromEnvironment(t *testing.T) {
	const keyText = "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n"
	config := func(env map[string]string, args ...string) (string, []byte, error) {
		t.Helper()
		io, _, _ := testIO(env, "")
		o, parse := agentFlags(io)
		if _, err := parse(append([]string{"--relay", "pitstop@bastion", "--relay-known-hosts", "kh"}, args...)); err != nil {
			t.Fatal(err)
		}
		cfg, err := o.config(io)
		if err != nil || cfg.Relay == nil {
			return "", nil, err
		}
		return cfg.Relay.KeyFile, cfg.Relay.Key, nil
	}
	if file, key, err := config(map[string]string{"PITSTOP_RELAY_KEY": keyText}); err != nil || file != "" || string(key) != keyText {
		t.Errorf("from the environment: file %q, key %q, %v; want the variable's text", file, key, err)
	}
	if file, key, err := config(map[string]string{"PITSTOP_RELAY_KEY": keyText}, "--relay-key", "relay_ed25519"); err != nil ||
		file != "relay_ed25519" || key != nil {
		t.Errorf("with --relay-key: file %q, key %q, %v; want the flag to win", file, key, err)
	}
	_, _, err := config(map[string]string{"PITSTOP_RELAY_KEY": " \n"})
	var usage *usageError
	if !errors.As(err, &usage) || !strings.Contains(err.Error(), "PITSTOP_RELAY_KEY") {
		t.Errorf("neither a file nor a key: %v, want a usage error naming PITSTOP_RELAY_KEY", err)
	}
}

// TestRelayKinds: --relay names the kind of relay; each kind takes only
// the flags that apply to it.
func TestRelayKinds(t *testing.T) {
	for _, tt := range []struct {
		args      []string
		env       map[string]string
		kind      relay.Kind
		addr, err string
		keyFile   string // the relay key's file, when there is one
		key       string // or its text
	}{
		{args: nil, kind: "", addr: ""},
		{args: []string{"--relay", "none"}, kind: relay.None},
		{args: []string{"--relay", "upterm"}, kind: relay.Upterm, addr: "uptermd.upterm.dev:22"},
		{args: []string{"--relay", "upterm://upterm.example.com:2222", "--relay-known-hosts", "kh"}, kind: relay.Upterm, addr: "upterm.example.com:2222"},
		{args: []string{"--relay", "ssh://pitstop@bastion:2222", "--relay-known-hosts", "kh", "--relay-key", "k"}, kind: relay.OpenSSH, addr: "pitstop@bastion:2222"},
		{args: []string{"--relay", "upterm://upterm.example.com"}, err: "needs --relay-known-hosts"},
		// A self-hosted uptermd with --authorized-keys admits only the
		// hosts whose keys it lists: the relay key is one.
		{args: []string{"--relay", "upterm://upterm.example.com", "--relay-known-hosts", "kh", "--relay-key", "k"}, kind: relay.Upterm, addr: "upterm.example.com", keyFile: "k"},
		{args: []string{"--relay", "upterm"}, env: map[string]string{"PITSTOP_RELAY_KEY": "x"}, kind: relay.Upterm, addr: "uptermd.upterm.dev:22", key: "x"},
		{args: []string{"--relay", "upterm", "--relay-jump", "j"}, err: "--relay-jump is for OpenSSH relays"},
		{args: []string{"--relay", "none", "--relay-known-hosts", "kh"}, err: "--relay-known-hosts needs --relay upterm"},
		{args: []string{"--relay", "upterm://me@host"}, err: "want upterm://HOST[:PORT]"},
	} {
		io, _, _ := testIO(tt.env, "")
		o, parse := agentFlags(io)
		if _, err := parse(tt.args); err != nil {
			t.Fatal(err)
		}
		cfg, err := o.config(io)
		if tt.err != "" {
			var usage *usageError
			if !errors.As(err, &usage) || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("%v: %v, want a usage error saying %q", tt.args, err, tt.err)
			}
			continue
		}
		switch {
		case err != nil:
			t.Errorf("%v: %v", tt.args, err)
		case tt.args == nil && cfg.Relay != nil:
			t.Errorf("no --relay: %+v, want none set (the agent picks by the runner)", cfg.Relay)
		case tt.args != nil && (cfg.Relay == nil || cfg.Relay.Kind != tt.kind || cfg.Relay.Address != tt.addr):
			t.Errorf("%v: %+v, want kind %q at %q", tt.args, cfg.Relay, tt.kind, tt.addr)
		case cfg.Relay != nil && (cfg.Relay.KeyFile != tt.keyFile || string(cfg.Relay.Key) != tt.key) && tt.kind == relay.Upterm:
			t.Errorf("%v: relay key file %q, key %q; want %q, %q", tt.args, cfg.Relay.KeyFile, cfg.Relay.Key, tt.keyFile, tt.key)
		}
	}
}
