//go:build unix

package integration

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"github.com/pitstopci/pitstop/internal/testutil"
	"github.com/pitstopci/pitstop/internal/wire"
)

const sshAuditInstall = "apt-get install ssh-audit (or: task system)"

// TestSSHAuditFindsNoFailures audits the running agent's algorithms with
// the real ssh-audit: no line may be a failure. The post-quantum hybrid
// and kex-strict are unknown to Debian's ssh-audit 2.5 and show as
// warnings, which is expected.
func TestSSHAuditFindsNoFailures(t *testing.T) {
	audit := tool(t, "ssh-audit", sshAuditInstall)
	user := newKeyPair(t, "user")
	keys := filepath.Join(t.TempDir(), "keys.pub")
	if err := os.WriteFile(keys, []byte(user.public+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	a := startRelayAgent(t, "--listen", "127.0.0.1:0", "--authorized-keys", keys, "--wait-timeout", "2m")
	r := a.readReady(t, 30*time.Second, nil)

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, audit, "-n", "-p", strconv.Itoa(r.Port), "127.0.0.1")
	out, err := cmd.CombinedOutput()
	// Exit codes of ssh-audit 2.5 (ssh_audit/exitcodes.py): 0 good,
	// 1 connection error, 2 warnings, 3 failures.
	if code := cmd.ProcessState.ExitCode(); code != 0 && code != 2 {
		t.Errorf("ssh-audit exited %d (%v)\n%s", code, err, out)
	}
	var fails, warns []string
	for line := range strings.Lines(string(out)) {
		switch {
		case strings.Contains(line, "[fail]"):
			fails = append(fails, strings.TrimSpace(line))
		case strings.Contains(line, "[warn]"):
			warns = append(warns, strings.TrimSpace(line))
		}
	}
	if len(fails) > 0 {
		t.Errorf("ssh-audit reports failures:\n%s", strings.Join(fails, "\n"))
	}
	// The audit must have seen the algorithms, or "no failures" means
	// nothing.
	for _, want := range []string{"(kex) curve25519-sha256", "(enc) aes256-gcm@openssh.com",
		"(mac) hmac-sha2-256-etm@openssh.com", "(key) ssh-ed25519"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("ssh-audit did not list %q:\n%s", want, out)
		}
	}
	t.Logf("ssh-audit: %d failures, %d warnings: %s", len(fails), len(warns), strings.Join(warns, "; "))
}

// fakeAPI is the GitHub API as the agent uses it: published keys, and
// repository permissions for octo-org/app.
func fakeAPI(t *testing.T, keys map[string]string, perms map[string]string) string {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v3/users/{user}/keys", func(w http.ResponseWriter, r *http.Request) {
		k, ok := keys[r.PathValue("user")]
		if !ok {
			http.Error(w, `{"message":"Not Found"}`, http.StatusNotFound)
			return
		}
		json.NewEncoder(w).Encode([]map[string]any{{"id": 1, "key": k}}) //nolint:errcheck // test server
	})
	mux.HandleFunc("GET /api/v3/repos/octo-org/app/collaborators/{user}/permission", func(w http.ResponseWriter, r *http.Request) {
		p, ok := perms[r.PathValue("user")]
		if !ok {
			http.Error(w, `{"message":"Not Found"}`, http.StatusNotFound)
			return
		}
		json.NewEncoder(w).Encode(map[string]any{"permission": p, "role_name": p}) //nolint:errcheck // test server
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv.URL + "/api/v3"
}

// TestAgentRefusesWhoMayNotDebug runs the agent as the action does on a
// GitHub run (a token in PITSTOP_GITHUB_TOKEN) for a read-only user, a
// pull_request_target run and a fork's pull request: each exits 1 before
// listening, with a message that says who, where and what to do.
func TestAgentRefusesWhoMayNotDebug(t *testing.T) {
	bob := newKeyPair(t, "bob")
	api := fakeAPI(t, map[string]string{"bob": bob.public}, map[string]string{"bob": "read"})
	events := filepath.Join(sourceRoot, "agent", "testdata", "events")
	base := withEnv(agentEnv(), map[string]string{
		"GITHUB_ACTIONS": "true", "RUNNER_ENVIRONMENT": "github-hosted", "GITHUB_ACTOR": "bob",
		"GITHUB_REPOSITORY": "octo-org/app", "GITHUB_API_URL": api, "PITSTOP_GITHUB_TOKEN": "ghs_token",
		"GITHUB_EVENT_NAME": "push", "GITHUB_EVENT_PATH": filepath.Join(events, "push.json"),
	})
	tests := []struct {
		name  string
		env   map[string]string
		unset []string // variables of base to leave out
		args  []string // more flags
		want  []string
	}{
		{"read-only user", nil, nil, nil, []string{`user "bob" has read permission on octo-org/app`, "needs write or more"}},
		{"pull_request_target", map[string]string{"GITHUB_EVENT_NAME": "pull_request_target",
			"GITHUB_EVENT_PATH": filepath.Join(events, "pull_request_target.json")},
			nil, nil, []string{"pull_request_target", "allow-untrusted-prs: true"}},
		{"fork pull request", map[string]string{"GITHUB_EVENT_NAME": "pull_request",
			"GITHUB_EVENT_PATH": filepath.Join(events, "pull_request_fork.json")},
			nil, nil, []string{"pull request #42 comes from the fork mallory/app", "allow-untrusted-prs: true"}},
		// Gitea and Forgejo runners are built on act and look like it;
		// keys given directly do not make a fork's pull request safe.
		{"fork pull request on a runner built on act", map[string]string{"ACT": "true", "GITHUB_EVENT_NAME": "pull_request",
			"GITHUB_EVENT_PATH": filepath.Join(events, "pull_request_fork.json")},
			[]string{"RUNNER_ENVIRONMENT"}, []string{"--authorized-keys-data", bob.public},
			[]string{"pull request #42 comes from the fork mallory/app", "allow-untrusted-prs: true"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ready := filepath.Join(t.TempDir(), "ready.json")
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, pitstopBin, append([]string{"agent", "--listen", "127.0.0.1:0", "--ready-file", ready,
				"--wait-timeout", "2s"}, tt.args...)...)
			cmd.Env = withEnv(base, tt.env, tt.unset...)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			err := cmd.Run()
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() != 1 {
				t.Fatalf("exit: %v, want 1\n%s", err, stderr.String())
			}
			for _, w := range append(tt.want, "refusing to pause") {
				if !strings.Contains(stderr.String(), w) {
					t.Errorf("stderr does not say %q:\n%s", w, stderr.String())
				}
			}
			if strings.Contains(stderr.String(), "ghs_token") {
				t.Errorf("the token is in the output:\n%s", stderr.String())
			}
			if _, err := os.Stat(ready); err == nil {
				t.Error("a ready file was written although the agent refused")
			}
		})
	}
}

// TestAuditLogFileWithOpenSSH: --audit-log gets one JSON line per event
// of a real session: a refused key, then a login running one command.
func TestAuditLogFileWithOpenSSH(t *testing.T) {
	ssh := tool(t, "ssh", sshInstall)
	user, stranger := newKeyPair(t, "user"), newKeyPair(t, "stranger")
	dir := t.TempDir()
	keys, audit := filepath.Join(dir, "keys.pub"), filepath.Join(dir, "audit.jsonl")
	if err := os.WriteFile(keys, []byte(user.public+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	a := startRelayAgent(t, "--listen", "127.0.0.1:0", "--authorized-keys", keys, "--audit-log", audit, "--wait-timeout", "2m")
	r := a.readReady(t, 30*time.Second, nil)
	kh := filepath.Join(dir, "known_hosts")
	if err := os.WriteFile(kh, []byte(r.KnownHosts+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	login := func(key keyPair, command string) error {
		cmd := exec.Command(ssh, "-F", "/dev/null", "-o", "StrictHostKeyChecking=yes", "-o", "UserKnownHostsFile="+kh,
			"-o", "IdentitiesOnly=yes", "-o", "IdentityAgent=none", "-o", "BatchMode=yes", "-i", key.private,
			"-p", strconv.Itoa(r.Port), "runner@127.0.0.1", command)
		cmd.Env = agentEnv()
		out, err := cmd.CombinedOutput()
		if err != nil {
			return fmt.Errorf("%w: %s", err, out)
		}
		return nil
	}
	if err := login(stranger, "true"); err == nil {
		t.Fatal("the stranger got in")
	}
	if err := login(user, "exit 0"); err != nil {
		t.Fatalf("login: %v\n%s", err, a.stderr)
	}
	want := "key_refused login session_start session_end logout"
	var got []string
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		got = got[:0]
		f, err := os.Open(audit)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			var e struct {
				Event          string `json:"event"`
				KeyFingerprint string `json:"key_fingerprint"`
				RemoteAddr     string `json:"remote_addr"`
			}
			if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
				t.Fatalf("audit line is not a JSON object: %q", sc.Text())
			}
			if e.KeyFingerprint == "" || e.RemoteAddr == "" {
				t.Errorf("audit line without key fingerprint or remote address: %s", sc.Text())
			}
			got = append(got, e.Event)
		}
		f.Close()
		if strings.Join(got, " ") == want || time.Now().After(deadline) {
			break
		}
	}
	if strings.Join(got, " ") != want {
		t.Errorf("audit events %q, want %q\n%s", got, want, a.stderr)
	}
	// The job log names the refused key by its fingerprint.
	if !hasLogLine(a.stderr.String(), "event=key_refused", "key_fingerprint="+gossh.FingerprintSHA256(stranger.key)) {
		t.Errorf("the job log does not show the refused key's fingerprint:\n%s", a.stderr)
	}
}

// TestActionSecurityInputs: agent.sh passes the inputs for who may debug,
// forwarding and the audit log on as flags, and none of them reaches the
// agent's environment (or, through it, the sessions).
func TestActionSecurityInputs(t *testing.T) {
	action := actionCopy(t)
	state := t.TempDir()
	log := filepath.Join(t.TempDir(), "agent.log")
	fake := filepath.Join(state, "pitstop")
	script := "#!/bin/sh\nprintf '%s\\n' \"$@\" > " + log + "\nenv | grep -E '^PITSTOP_' | sort >> " + log + "\n"
	if err := os.WriteFile(fake, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	out, err, _ := runScript(t, filepath.Join(action, "agent.sh"), map[string]string{
		"PITSTOP_BIN": fake, "PITSTOP_STATE": state,
		// action.yml sets every input's variable, empty or not.
		"PITSTOP_AUTHORIZED_USERS": "", "PITSTOP_AUTHORIZED_KEYS": "",
		"PITSTOP_MIN_PERMISSION":          "maintain",
		"PITSTOP_ALLOW_UNTRUSTED_PRS":     "false",
		"PITSTOP_ALLOW_LOCAL_FORWARDING":  "true",
		"PITSTOP_ALLOW_REMOTE_FORWARDING": "true",
		"PITSTOP_ALLOW_AGENT_FORWARDING":  "false",
		"PITSTOP_AUDIT_LOG":               "/tmp/audit $(id).jsonl",
	})
	if err != nil {
		t.Fatalf("agent.sh: %v\n%s", err, out)
	}
	b, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Join([]string{
		"agent", "--ready-file", filepath.Join(state, "ready.json"),
		"--min-permission", "maintain", "--audit-log", "/tmp/audit $(id).jsonl",
		"--allow-untrusted-prs=false", "--allow-local-forwarding=true",
		"--allow-remote-forwarding=true", "--allow-agent-forwarding=false",
	}, "\n") + "\n"
	if string(b) != want {
		t.Errorf("the agent was run as:\n%s\nwant:\n%s", b, want)
	}
}

// TestSessionCannotReadAgentSecrets: sessions run as the agent's own Unix
// user, yet a logged-in user cannot read the token from the agent's
// /proc/PID/environ, which would otherwise be theirs to read; the session
// itself and pitstop status (the control socket) keep working. The agent
// runs as nobody when the tests run as root, whom /proc lets read
// anything.
func TestSessionCannotReadAgentSecrets(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("/proc/PID/environ and PR_SET_DUMPABLE are Linux's")
	}
	ssh := tool(t, "ssh", sshInstall)
	const token = "ghs_SessionMustNotSeeThis"
	// A tree the agent's user can use: the binary, a workspace, the ready
	// file. t.TempDir is private to the user running the tests.
	dir, err := os.MkdirTemp("", "pitstop-secrets-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "pitstop")
	b, err := os.ReadFile(pitstopBin)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, b, 0o755); err != nil {
		t.Fatal(err)
	}
	user := newKeyPair(t, "user")
	ready := filepath.Join(dir, "ready.json")
	stderr := &testutil.Buffer{}
	cmd := exec.Command(bin, "agent", "--listen", "127.0.0.1:0", "--authorized-keys-data", user.public,
		"--ready-file", ready, "--wait-timeout", "2m")
	cmd.Dir = dir
	cmd.Env = withEnv(agentEnv(), map[string]string{"PITSTOP_GITHUB_TOKEN": token, "GITHUB_WORKSPACE": dir, "HOME": dir})
	cmd.Stderr = stderr
	if os.Geteuid() == 0 {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }() //nolint:errcheck // the exit status is not the point
	t.Cleanup(func() { stopProcess(cmd, exited) })

	var r *wire.Ready
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		var err error
		if r, err = wire.LoadReady(ready); err == nil {
			break
		} else if !errors.Is(err, wire.ErrNotReady) {
			t.Fatal(err)
		}
		select {
		case <-exited:
			t.Fatalf("the agent exited before it was ready\n%s", stderr)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no ready file within 30s\n%s", stderr)
		}
	}
	kh := filepath.Join(t.TempDir(), "known_hosts")
	if err := os.WriteFile(kh, []byte(r.KnownHosts+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// $PPID is the agent: the session's shell is its child.
	script := `echo "ppid=$PPID"; env=$(tr '\0' '\n' </proc/$PPID/environ); echo "environ=$?"; ` +
		`printf '%s\n' "$env" | grep '^PITSTOP_'; ` +
		`tr '\0' '\n' </proc/$$/environ | grep -c '^GITHUB_WORKSPACE='; pitstop status; echo "status=$?"`
	session := exec.Command(ssh, "-F", "/dev/null", "-o", "StrictHostKeyChecking=yes", "-o", "UserKnownHostsFile="+kh,
		"-o", "IdentitiesOnly=yes", "-o", "IdentityAgent=none", "-o", "BatchMode=yes", "-i", user.private,
		"-p", strconv.Itoa(r.Port), "runner@127.0.0.1", script)
	session.Env = agentEnv()
	out, err := session.CombinedOutput()
	if err != nil {
		t.Fatalf("session: %v\n%s\n%s", err, out, stderr)
	}
	got := string(out)
	if !strings.Contains(got, fmt.Sprintf("ppid=%d\n", cmd.Process.Pid)) {
		t.Fatalf("the session's parent is not the agent (pid %d):\n%s", cmd.Process.Pid, got)
	}
	if strings.Contains(got, token) {
		t.Errorf("a session read the token from the agent's /proc/PID/environ:\n%s", got)
	}
	if !strings.Contains(got, "Permission denied") || strings.Contains(got, "environ=0") {
		t.Errorf("reading the agent's environ did not fail with permission denied:\n%s", got)
	}
	// The session's own process is unaffected (children are dumpable
	// again after execve), and the control socket still answers.
	testutil.Contains(t, "session output", got, "\n1\n", "is paused", "connections: 1", "status=0")
}

// TestActionAuthorizedUsersAreNotGlobbed: authorized-users is split into
// names as written; a "*" must reach the agent as "*" (which refuses it
// as no user name), not as the names of the files in the step's working
// directory.
func TestActionAuthorizedUsersAreNotGlobbed(t *testing.T) {
	action := actionCopy(t)
	state := t.TempDir()
	log := filepath.Join(t.TempDir(), "agent.log")
	fake := filepath.Join(state, "pitstop")
	if err := os.WriteFile(fake, []byte("#!/bin/sh\nprintf '%s\\n' \"$@\" > "+log+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	// The scripts run in this package's directory, which has files for
	// a glob to match.
	if m, _ := filepath.Glob("*"); len(m) == 0 {
		t.Fatal("no files in the working directory for a glob to match")
	}
	out, err, _ := runScript(t, filepath.Join(action, "agent.sh"), map[string]string{
		"PITSTOP_BIN": fake, "PITSTOP_STATE": state,
		"PITSTOP_AUTHORIZED_USERS": "alice, *\n\tbob,,carol ?", "PITSTOP_AUTHORIZED_KEYS": "",
	})
	if err != nil {
		t.Fatalf("agent.sh: %v\n%s", err, out)
	}
	b, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Join([]string{
		"agent", "--ready-file", filepath.Join(state, "ready.json"),
		"--github-user", "alice", "--github-user", "*", "--github-user", "bob", "--github-user", "carol", "--github-user", "?",
	}, "\n") + "\n"
	if string(b) != want {
		t.Errorf("the agent was run as:\n%s\nwant:\n%s", b, want)
	}
}
