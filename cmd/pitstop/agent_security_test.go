package main

import "testing"

func TestSecurityFlagsBecomeConfig(t *testing.T) {
	parse := func(args ...string) (*agentOptions, *IO) {
		t.Helper()
		io, _, _ := testIO(map[string]string{}, "")
		o, p := agentFlags(io)
		if _, err := p(args); err != nil {
			t.Fatal(err)
		}
		return o, io
	}
	o, io := parse()
	cfg, err := o.config(io)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.MinPermission != "write" || cfg.AllowUntrustedPRs || cfg.NoLocalForwarding || cfg.AllowRemoteForwarding ||
		cfg.AllowAgentForwarding || cfg.AuditLog != "" {
		t.Errorf("defaults: %+v", cfg)
	}
	o, io = parse("--min-permission", "maintain", "--allow-untrusted-prs", "--allow-local-forwarding=false",
		"--allow-remote-forwarding", "--allow-agent-forwarding", "--audit-log", "audit.jsonl")
	cfg, err = o.config(io)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.MinPermission != "maintain" || !cfg.AllowUntrustedPRs || !cfg.NoLocalForwarding || !cfg.AllowRemoteForwarding ||
		!cfg.AllowAgentForwarding || cfg.AuditLog != "audit.jsonl" {
		t.Errorf("set: %+v", cfg)
	}
}

func TestSecurityFlagUsageErrors(t *testing.T) {
	for _, args := range [][]string{{"--min-permission", "owner"}, {"--min-permission", "none"}, {"--allow-remote-forwarding=maybe"}} {
		io, _, errOut := testIO(map[string]string{}, "")
		if code := Main(append([]string{"agent"}, args...), io); code != exitUsage {
			t.Errorf("%v: exit %d, want %d\n%s", args, code, exitUsage, errOut)
		}
	}
}
