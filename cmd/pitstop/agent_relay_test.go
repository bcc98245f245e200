package main

import (
	"errors"
	"strings"
	"testing"
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
