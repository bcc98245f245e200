package agent

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestAuditLogOneLinePerEvent: a refused key, then a login running one
// command, give exactly their five events, one JSON line each, with who
// and from where, and nothing secret.
func TestAuditLogOneLinePerEvent(t *testing.T) {
	audit := filepath.Join(t.TempDir(), "audit.jsonl")
	h := startAgent(t, func(h *harness) {
		h.cfg.AuditLog = audit
		h.cfg.Token = "ghs_secrettoken"
		h.cfg.Env = append(h.cfg.Env, "GITHUB_REPOSITORY="+testRepo)
		servePermissions(h.gh, map[string]string{"alice": "admin"})
	})
	stranger := newTestUser(t, "stranger")
	if c, err := h.dial(stranger); err == nil {
		c.Close()
		t.Fatal("the stranger got in")
	}
	c := h.mustDial(h.alice)
	if _, _, status := run(t, c, "echo $((6*7))-content; exit 3"); status != 3 {
		t.Fatalf("status %d", status)
	}
	c.Close()

	want := []string{evKeyRefused, evLogin, evSessionStart, evSessionEnd, evLogout}
	var entries []map[string]any
	for deadline := time.Now().Add(5 * time.Second); ; {
		entries = auditEntries(t, audit)
		if len(entries) >= len(want) || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e["event"].(string))
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("audit events %q, want %q", got, want)
	}
	if e := entries[0]; e["key_fingerprint"] != stranger.fingerprint() || e["remote_addr"] == nil {
		t.Errorf("the refusal does not say which key from where: %v", e)
	}
	for _, e := range entries[1:] {
		if e["github_user"] != "alice" || e["key_fingerprint"] != h.alice.fingerprint() || e["remote_addr"] == nil {
			t.Errorf("event without who and from where: %v", e)
		}
	}
	if entries[2]["command"] != "echo $((6*7))-content; exit 3" || entries[2]["session_kind"] != "exec" {
		t.Errorf("session start: %v", entries[2])
	}
	if entries[3]["exit_status"] != float64(3) {
		t.Errorf("session end: %v", entries[3])
	}
	data, err := os.ReadFile(audit)
	if err != nil {
		t.Fatal(err)
	}
	keyMaterial := strings.Fields(h.alice.authorizedLine())[1]
	for _, secret := range []string{"ghs_secrettoken", keyMaterial, "42-content"} {
		if strings.Contains(string(data), secret) || strings.Contains(h.logs.String(), secret) {
			t.Errorf("the audit trail or the job log holds %q", secret)
		}
	}
	if fi, err := os.Stat(audit); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("audit file mode: %v, %v; want 0600", fi.Mode().Perm(), err)
	}
}

// audited reports whether the job log has the audit event event with
// every field of want (numbers as float64, as JSON decodes them).
func (h *harness) audited(event string, want map[string]any) bool {
	h.t.Helper()
	return hasEvent(h.logs.entries(h.t), event, want)
}

// hasEvent reports whether entries hold the event event with every
// field of want.
func hasEvent(entries []map[string]any, event string, want map[string]any) bool {
	for _, e := range entries {
		if e["event"] != event {
			continue
		}
		match := true
		for k, v := range want {
			if e[k] != v {
				match = false
			}
		}
		if match {
			return true
		}
	}
	return false
}
