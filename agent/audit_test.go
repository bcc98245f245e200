package agent

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"github.com/pitstopci/pitstop/agent/audit"
)

// TestAuditLogOneLinePerEvent: a refused key, then a login running one
// command, give exactly their five events, one JSON line each, with who
// and from where, and nothing secret.
func TestAuditLogOneLinePerEvent(t *testing.T) {
	auditFile := filepath.Join(t.TempDir(), "audit.jsonl")
	h := startAgent(t, func(h *harness) {
		h.cfg.AuditLog = auditFile
		h.cfg.Token = "ghs_secrettoken"
		h.cfg.Env = append(h.cfg.Env, "GITHUB_REPOSITORY="+testRepo)
		h.gh.ServePermissions(testRepo, map[string]string{"alice": "admin"})
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

	want := []string{audit.KeyRefused, audit.Login, audit.SessionStart, audit.SessionEnd, audit.Logout}
	var entries []map[string]any
	for deadline := time.Now().Add(5 * time.Second); ; {
		entries = auditEntries(t, auditFile)
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
	data, err := os.ReadFile(auditFile)
	if err != nil {
		t.Fatal(err)
	}
	keyMaterial := strings.Fields(h.alice.authorizedLine())[1]
	for _, secret := range []string{"ghs_secrettoken", keyMaterial, "42-content"} {
		if strings.Contains(string(data), secret) || strings.Contains(h.logs.String(), secret) {
			t.Errorf("the audit trail or the job log holds %q", secret)
		}
	}
	if fi, err := os.Stat(auditFile); err != nil || fi.Mode().Perm() != 0o600 {
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

// auditEvents is what the job log says of the audit trail: its entries
// that are events.
func auditEvents(t *testing.T, h *harness) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, e := range h.logs.entries(t) {
		if e["event"] != nil {
			out = append(out, e)
		}
	}
	return out
}

// countEvents counts the entries whose event is event.
func countEvents(entries []map[string]any, event string) int {
	n := 0
	for _, e := range entries {
		if e["event"] == event {
			n++
		}
	}
	return n
}

// waitEvents waits until the job log and the audit file each hold at
// least want[event] of every event, and returns both.
func waitEvents(t *testing.T, h *harness, auditFile string, want map[string]int) (job, file []map[string]any) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; {
		job, file = auditEvents(t, h), auditEntries(t, auditFile)
		done := true
		for ev, n := range want {
			if countEvents(job, ev) < n || countEvents(file, ev) < n {
				done = false
			}
		}
		if done {
			return job, file
		}
		if time.Now().After(deadline) {
			t.Fatalf("want at least %v in both logs\njob log:\n%s\naudit file:\n%s", want, h.logs, readFile(t, auditFile))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// sameEvents fails the test unless job and file hold the same events
// with the same fields, in any order: the two logs are written one after
// the other, so events of different goroutines may come in another order
// in each, and the time may have moved on in between.
func sameEvents(t *testing.T, job, file []map[string]any) {
	t.Helper()
	canon := func(entries []map[string]any) []string {
		var out []string
		for _, e := range entries {
			c := maps.Clone(e)
			delete(c, "time")
			b, err := json.Marshal(c) // with its keys sorted
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, string(b))
		}
		slices.Sort(out)
		return out
	}
	j, f := canon(job), canon(file)
	if !slices.Equal(j, f) {
		t.Errorf("the job log and the audit file differ\njob log:\n%s\naudit file:\n%s", strings.Join(j, "\n"), strings.Join(f, "\n"))
	}
}

// noDuplicateKeys fails the test if a line of log has a key twice, as
// it would if two events' fields ran into one another.
func noDuplicateKeys(t *testing.T, name, log string) {
	t.Helper()
	sc := bufio.NewScanner(strings.NewReader(log))
	for sc.Scan() {
		dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
			t.Fatalf("%s: line is not a JSON object: %q", name, sc.Text())
		}
		seen := map[string]bool{}
		for dec.More() {
			tok, err := dec.Token()
			if err != nil {
				t.Fatalf("%s: %q: %v", name, sc.Text(), err)
			}
			key, _ := tok.(string)
			if seen[key] {
				t.Errorf("%s: key %q twice in %q", name, key, sc.Text())
			}
			seen[key] = true
			var v json.RawMessage
			if err := dec.Decode(&v); err != nil {
				t.Fatalf("%s: %q: %v", name, sc.Text(), err)
			}
		}
	}
}

// forwardGET fetches / from the HTTP server at addr through a local
// forward (direct-tcpip) of c.
func forwardGET(t *testing.T, c *gossh.Client, addr string) string {
	t.Helper()
	fc, err := c.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("forward to %s: %v", addr, err)
	}
	defer fc.Close()
	if _, err := io.WriteString(fc, "GET / HTTP/1.0\r\nHost: job\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(fc)
	if err != nil {
		t.Fatalf("through the forward: %v", err)
	}
	return string(b)
}

// TestAuditJobLogAndFileAgree: a login, a command, file transfers with
// OpenSSH's scp (over sftp, and legacy), a forward and the logouts give
// the same events with the same fields in the job log and in the audit
// file, each naming who and from where.
func TestAuditJobLogAndFileAgree(t *testing.T) {
	openSSH(t)
	scp := openSSHTool(t, "scp")
	_, svc := jobService(t)
	auditFile := filepath.Join(t.TempDir(), "audit.jsonl")
	home := t.TempDir()
	h := startAgent(t, func(h *harness) {
		h.cfg.AuditLog = auditFile
		h.cfg.Env = setEnv(h.cfg.Env, "HOME", home)
	})

	c := h.mustDial(h.alice)
	if out, _, status := run(t, c, "echo in"); out != "in\n" || status != 0 {
		t.Fatalf("exec: %q, status %d", out, status)
	}
	local := t.TempDir()
	if err := os.WriteFile(filepath.Join(local, "blob"), []byte("some bytes\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	opts := append(h.sshOptions(h.alice.keyFile), "-P", strconv.Itoa(h.ready.Port))
	remote := "runner@" + h.ready.Host
	runTool(t, h, local, scp, append(slices.Clone(opts), "blob", remote+":up")...)
	runTool(t, h, local, scp, append(slices.Clone(opts), "-O", remote+":"+filepath.Join(home, "up"), "down")...)
	if body := forwardGET(t, c, svc); !strings.HasSuffix(body, "hello from the job") {
		t.Errorf("through the forward: %q", body)
	}
	c.Close()

	// Three connections: this one and scp's two.
	job, file := waitEvents(t, h, auditFile, map[string]int{
		audit.Login: 3, audit.Logout: 3, audit.SessionStart: 3, audit.SessionEnd: 3,
		audit.Transfer: 2, audit.Forward: 1, audit.ForwardEnd: 1,
	})
	sameEvents(t, job, file)
	for _, e := range file {
		if e["github_user"] != "alice" || e["key_fingerprint"] != h.alice.fingerprint() || e["remote_addr"] == nil {
			t.Errorf("event without who and from where: %v", e)
		}
	}
	for _, want := range []struct {
		event  string
		fields map[string]any
	}{
		{audit.SessionStart, map[string]any{"session_kind": "exec", "command": "echo in", "pty": false}},
		{audit.SessionEnd, map[string]any{"session_kind": "exec", "exit_status": float64(0)}},
		{audit.SessionStart, map[string]any{"session_kind": "sftp"}},
		{audit.Transfer, map[string]any{"protocol": "sftp", "direction": "upload", "path": filepath.Join(home, "up"), "bytes": float64(11)}},
		{audit.Transfer, map[string]any{"protocol": "scp", "direction": "download"}},
		{audit.Forward, map[string]any{"forward": "local", "destination": svc}},
		{audit.ForwardEnd, map[string]any{"forward": "local", "destination": svc}},
	} {
		if !hasEvent(file, want.event, want.fields) {
			t.Errorf("no %s event with %v in the audit file", want.event, want.fields)
		}
	}
	noDuplicateKeys(t, "audit file", readFile(t, auditFile))
}

// TestAuditConcurrentConnections: events of connections logging at the
// same time keep their own fields: every event of a connection names the
// user and key of its login, every session one connection, and no line
// holds a field twice, in the job log as in the audit file.
func TestAuditConcurrentConnections(t *testing.T) {
	_, svc := jobService(t)
	auditFile := filepath.Join(t.TempDir(), "audit.jsonl")
	bob := newTestUser(t, "bob")
	h := startAgent(t, func(h *harness) {
		withBob(bob)(h)
		h.cfg.AuditLog = auditFile
	})
	const each = 4 // connections per user
	var wg sync.WaitGroup
	errs := make(chan error, 2*each)
	for i := range 2 * each {
		u := h.alice
		if i%2 == 1 {
			u = bob
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- concurrentUse(h, u, svc)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	n := 2 * each
	job, file := waitEvents(t, h, auditFile, map[string]int{
		audit.Login: n, audit.Logout: n, audit.SessionStart: 2 * n, audit.SessionEnd: 2 * n, audit.ForwardEnd: n,
	})
	sameEvents(t, job, file)
	noDuplicateKeys(t, "job log", h.logs.String())
	noDuplicateKeys(t, "audit file", readFile(t, auditFile))

	// Who each connection is, by its address, from its login.
	type who struct{ user, fingerprint string }
	fps := map[string]string{"alice": h.alice.fingerprint(), "bob": bob.fingerprint()}
	conns := map[string]who{}
	for _, e := range file {
		if e["event"] == audit.Login {
			user, _ := e["github_user"].(string)
			if e["key_fingerprint"] != fps[user] {
				t.Errorf("login with a fingerprint not %s's: %v", user, e)
			}
			conns[e["remote_addr"].(string)] = who{user, e["key_fingerprint"].(string)}
		}
	}
	if len(conns) != n {
		t.Fatalf("%d addresses logged in, want %d", len(conns), n)
	}
	sessions := map[float64]string{}
	for _, e := range file {
		addr, _ := e["remote_addr"].(string)
		w, ok := conns[addr]
		if !ok || e["github_user"] != w.user || e["key_fingerprint"] != w.fingerprint {
			t.Errorf("event whose fields are not those of its connection's login: %v", e)
		}
		if id, ok := e["session_id"].(float64); ok {
			if a, seen := sessions[id]; seen && a != addr {
				t.Errorf("session %v logged from %s and %s", id, a, addr)
			}
			sessions[id] = addr
		}
	}
	if len(sessions) != 2*n {
		t.Errorf("%d sessions in the audit file, want %d", len(sessions), 2*n)
	}
}

// concurrentUse logs in as u, runs two commands and uses a forward.
func concurrentUse(h *harness, u testUser, svc string) error {
	c, err := h.dial(u)
	if err != nil {
		return fmt.Errorf("log in as %s: %w", u.name, err)
	}
	defer c.Close()
	for i := range 2 {
		s, err := c.NewSession()
		if err != nil {
			return err
		}
		out, err := s.Output(fmt.Sprintf("echo %s-%d", u.name, i))
		s.Close()
		if err != nil || string(out) != fmt.Sprintf("%s-%d\n", u.name, i) {
			return fmt.Errorf("%s's command: %q, %v", u.name, out, err)
		}
	}
	fc, err := c.Dial("tcp", svc)
	if err != nil {
		return fmt.Errorf("%s's forward: %w", u.name, err)
	}
	defer fc.Close()
	if _, err := io.WriteString(fc, "GET / HTTP/1.0\r\nHost: job\r\n\r\n"); err != nil {
		return err
	}
	if b, err := io.ReadAll(fc); err != nil || !strings.HasSuffix(string(b), "hello from the job") {
		return fmt.Errorf("%s's forward: %q, %v", u.name, b, err)
	}
	return nil
}

// TestAuditDirectKeyNamedBySource: a key given directly is named the
// same way in every event of its connection, as the login names it: by
// its source (key_source, the file's path), with its fingerprint and
// address. The comment, which pitstop status shows, names nobody in the
// audit trail: anyone can write any comment.
func TestAuditDirectKeyNamedBySource(t *testing.T) {
	bob := newTestUser(t, "bob")
	src := filepath.Join(t.TempDir(), "authorized_keys")
	auditFile := filepath.Join(t.TempDir(), "audit.jsonl")
	h := startAgent(t, func(h *harness) {
		h.cfg.AuditLog = auditFile
		h.cfg.AuthorizedKeys = []KeyText{{Source: src, Text: bob.authorizedLine() + " bob@laptop\n"}}
	})
	c := h.mustDial(bob)
	if _, _, status := run(t, c, "true"); status != 0 {
		t.Fatalf("exec: status %d", status)
	}
	sh := ptyShell(t, c, 24, 80)
	defer sh.Close()

	job, file := waitEvents(t, h, auditFile, map[string]int{audit.Login: 1, audit.SessionStart: 2, audit.TermStart: 1})
	who := func(e map[string]any) map[string]any {
		out := map[string]any{}
		for _, k := range []string{"key_source", "github_user", "key_fingerprint", "remote_addr"} {
			if v, ok := e[k]; ok {
				out[k] = v
			}
		}
		return out
	}
	for name, entries := range map[string][]map[string]any{"job log": job, "audit file": file} {
		var login map[string]any
		for _, e := range entries {
			if e["event"] == audit.Login {
				login = who(e)
			}
		}
		if login["key_source"] != src || login["key_fingerprint"] != bob.fingerprint() || login["remote_addr"] == nil || login["github_user"] != nil {
			t.Errorf("%s: the login names %v, want key_source %s, the key's fingerprint and the address", name, login, src)
		}
		n := 0
		for _, e := range entries {
			if e["event"] != audit.SessionStart && e["event"] != audit.TermStart {
				continue
			}
			n++
			if got := who(e); !maps.Equal(got, login) {
				t.Errorf("%s: %s names %v, want what the login names, %v", name, e["event"], got, login)
			}
		}
		if n != 3 {
			t.Errorf("%s: %d session_start and terminal_start events, want 3", name, n)
		}
	}
}
