package wire

import (
	"encoding/json"
	"testing"
	"time"
)

// TestCheckRunInfoRoundTrip: the check run's text, encoded as the agent
// does and decoded as the CLI does, gives the same value, run attempt
// included.
func TestCheckRunInfoRoundTrip(t *testing.T) {
	want := CheckRunInfo{
		RunID: "123", Job: "build", RunAttempt: "2", Label: "build (ubuntu-latest)",
		Address: "203.0.113.7:40123", User: "runner", SSHCommand: "ssh -p 40123 runner@203.0.113.7",
		KnownHosts: "[203.0.113.7]:40123 ssh-ed25519 AAAA", HostKeyFingerprint: "SHA256:abc",
		Jump: "pitstop@relay.example", Deadline: time.Date(2026, 3, 1, 13, 0, 0, 0, time.UTC),
	}
	text, err := json.MarshalIndent(want, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	var got CheckRunInfo
	if err := json.Unmarshal(text, &got); err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Errorf("read back:\n got %+v\nwant %+v", got, want)
	}
	var m map[string]any
	if err := json.Unmarshal(text, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"run_id", "job", "run_attempt", "label", "address", "user", "ssh_command", "known_hosts", "host_key_fingerprint", "jump", "deadline"} {
		if _, ok := m[k]; !ok {
			t.Errorf("no %q in %s", k, text)
		}
	}
}
