package agent

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"
	gossh "golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"

	"github.com/pitstopci/pitstop/agent/audit"
	"github.com/pitstopci/pitstop/internal/testutil"
)

// jobService is an HTTP server on the runner, as a job's dev server or
// database would be.
func jobService(t *testing.T) (*httptest.Server, string) {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "hello from the job")
	}))
	t.Cleanup(srv.Close)
	return srv, strings.TrimPrefix(srv.URL, "http://")
}

// getUntil fetches url until it answers (the forward is set up
// asynchronously), for at most 10s, and returns the body.
func getUntil(t *testing.T, url string) string {
	t.Helper()
	c := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	var body []byte
	var err error
	if !eventually(10*time.Second, func() bool {
		var resp *http.Response
		if resp, err = c.Get(url); err != nil {
			return false
		}
		body, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		return true
	}) {
		t.Fatalf("GET %s: %v", url, err)
	}
	return string(body)
}

// startSSH runs the OpenSSH client in the background until the test
// ends; stderr collects what it prints.
func startSSH(t *testing.T, args []string) (cmd *exec.Cmd, stderr *syncBuffer, done chan error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cmd = exec.CommandContext(ctx, openSSH(t), args...)
	stderr = &syncBuffer{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done = make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		cancel()
		<-done
		done <- nil
	})
	return cmd, stderr, done
}

// TestLocalForwardWithOpenSSH: "ssh -N -L" reaches a service on the
// runner. -N opens no session: the login still counts.
func TestLocalForwardWithOpenSSH(t *testing.T) {
	_, svc := jobService(t)
	auditFile := t.TempDir() + "/audit.jsonl"
	h := startAgent(t, func(h *harness) { h.cfg.AuditLog = auditFile })
	lport := testutil.FreePort(t)
	startSSH(t, h.sshArgs(h.alice.keyFile, "-N", "-o", "ExitOnForwardFailure=yes",
		"-L", fmt.Sprintf("127.0.0.1:%d:%s", lport, svc)))
	if body := getUntil(t, fmt.Sprintf("http://127.0.0.1:%d/", lport)); body != "hello from the job" {
		t.Errorf("through the forward: %q", body)
	}
	if !h.audited(audit.Login, map[string]any{"github_user": "alice"}) {
		t.Errorf("a login with -N is not in the log:\n%s", h.logs)
	}
	found := false
	for _, e := range auditEntries(t, auditFile) {
		if e["event"] == audit.Forward && e["forward"] == "local" && e["destination"] == svc && e["github_user"] == "alice" {
			found = true
		}
	}
	if !found {
		t.Errorf("the forward to %s is not in the audit log:\n%s", svc, h.logs)
	}
}

func TestLocalForwardCanBeTurnedOff(t *testing.T) {
	_, svc := jobService(t)
	h := startAgent(t, func(h *harness) { h.cfg.NoLocalForwarding = true })
	c := h.mustDial(h.alice)
	if conn, err := c.Dial("tcp", svc); err == nil {
		conn.Close()
		t.Fatal("a local forward was opened although local forwarding is off")
	}
	if !h.audited(audit.ForwardRefused, map[string]any{"forward": "local", "destination": svc, "github_user": "alice"}) {
		t.Errorf("the refusal is not in the log:\n%s", h.logs)
	}
}

var allocatedPort = regexp.MustCompile(`Allocated port (\d+) for remote forward`)

// TestRemoteForwardWithOpenSSH: "ssh -R" is refused by default; when
// allowed it listens on the runner's loopback only, even when the client
// asks for every interface.
func TestRemoteForwardWithOpenSSH(t *testing.T) {
	_, svc := jobService(t)
	t.Run("refused by default", func(t *testing.T) {
		h := startAgent(t, nil)
		_, stderr, done := startSSH(t, h.sshArgs(h.alice.keyFile, "-N", "-o", "ExitOnForwardFailure=yes", "-R", "0:"+svc))
		select {
		case err := <-done:
			done <- err
			if err == nil || !strings.Contains(stderr.String(), "remote port forwarding failed") {
				t.Errorf("ssh -R: %v, stderr %q; want a forwarding failure", err, stderr)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("ssh -R kept running although the forward must be refused\n%s", h.logs)
		}
		if !h.audited(audit.ForwardRefused, map[string]any{"forward": "remote", "github_user": "alice"}) {
			t.Errorf("the refusal is not in the log:\n%s", h.logs)
		}
	})
	t.Run("allowed", func(t *testing.T) {
		h := startAgent(t, func(h *harness) { h.cfg.AllowRemoteForwarding = true })
		_, stderr, _ := startSSH(t, h.sshArgs(h.alice.keyFile, "-N", "-o", "ExitOnForwardFailure=yes", "-R", "0.0.0.0:0:"+svc))
		var port string
		if !eventually(10*time.Second, func() bool {
			if m := allocatedPort.FindStringSubmatch(stderr.String()); m != nil {
				port = m[1]
			}
			return port != ""
		}) {
			t.Fatalf("no port allocated: %q\n%s", stderr, h.logs)
		}
		if body := getUntil(t, "http://127.0.0.1:"+port+"/"); body != "hello from the job" {
			t.Errorf("through the remote forward: %q", body)
		}
		if !h.audited(audit.Forward, map[string]any{"forward": "remote", "listen": "127.0.0.1:" + port}) {
			t.Errorf("the listener is not on loopback, or not in the log:\n%s", h.logs)
		}
	})
}

// TestAgentForwarding: "ssh -A" is refused unless allowed; allowed, the
// session's SSH_AUTH_SOCK leads to the client's agent.
func TestAgentForwarding(t *testing.T) {
	openSSHTool(t, "ssh-add") // run inside the session
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	keyring := agent.NewKeyring()
	if err := keyring.Add(agent.AddedKey{PrivateKey: priv, Comment: "laptop key"}); err != nil {
		t.Fatal(err)
	}
	signer, _ := gossh.NewSignerFromKey(priv)
	want := gossh.FingerprintSHA256(signer.PublicKey())

	for _, allowed := range []bool{false, true} {
		t.Run(fmt.Sprintf("allowed=%v", allowed), func(t *testing.T) {
			h := startAgent(t, func(h *harness) { h.cfg.AllowAgentForwarding = allowed })
			c := h.mustDial(h.alice)
			if err := agent.ForwardToAgent(c, keyring); err != nil {
				t.Fatal(err)
			}
			s := newSession(t, c)
			defer s.Close()
			err := agent.RequestAgentForwarding(s)
			if !allowed {
				if err == nil {
					t.Fatal("the agent forwarding request was accepted although it is off")
				}
				if !h.audited(audit.ForwardRefused, map[string]any{"forward": "agent", "github_user": "alice"}) {
					t.Errorf("the refusal is not in the log:\n%s", h.logs)
				}
				return
			}
			if err != nil {
				t.Fatalf("agent forwarding refused: %v", err)
			}
			out, err := s.CombinedOutput("ssh-add -l")
			if err != nil || !strings.Contains(string(out), want) {
				t.Errorf("ssh-add -l: %v\n%s\nwant %s", err, out, want)
			}
		})
	}
}

// TestCtrlCAndTERMWithOpenSSH: in a pty session, Ctrl-C interrupts the
// foreground program and not the shell, and TERM is the client's, as
// with sshd.
func TestCtrlCAndTERMWithOpenSSH(t *testing.T) {
	h := startAgent(t, nil)
	cmd, term, out := h.openSSHOnTerminal(&pty.Winsize{Rows: 24, Cols: 80}, "TERM=vt100")
	io.WriteString(term, "echo \"term=$TERM\"\n")
	if got := out.waitFor(t, "term=v"); !strings.Contains(got, "term=vt100") {
		t.Errorf("TERM in the session:\n%s", got)
	}
	// The program says when it runs, and is then the one that sleeps.
	io.WriteString(term, "sh -c 'echo \"RUN\"\"NING\"; exec sleep 30'; echo not-interrupted\n")
	out.waitFor(t, "RUNNING")
	io.WriteString(term, "\x03")
	io.WriteString(term, "echo \"st=$?\"\n")
	got := out.waitFor(t, "st=1")
	// The typed command line echoes "not-interrupted" too; only a line
	// of its own would be the program's output.
	if !strings.Contains(got, "st=130") || regexp.MustCompile(`(?m)^not-interrupted\r?$`).MatchString(got) {
		t.Errorf("Ctrl-C did not interrupt the foreground program with SIGINT:\n%s", got)
	}
	io.WriteString(term, "exit\n")
	if err := cmd.Wait(); err != nil {
		t.Errorf("the shell did not survive Ctrl-C: %v\n%s", err, out.buf.String())
	}
}

// TestSignalReachesExec: a signal request (RFC 4254 6.9) reaches an exec
// session's program.
func TestSignalReachesExec(t *testing.T) {
	h := startAgent(t, nil)
	c := h.mustDial(h.alice)
	s := newSession(t, c)
	defer s.Close()
	out := &syncBuffer{}
	s.Stdout = out
	if err := s.Start("echo started; sleep 30"); err != nil {
		t.Fatal(err)
	}
	if !eventually(5*time.Second, func() bool { return strings.Contains(out.String(), "started") }) {
		t.Fatalf("the command did not start: %q", out.String())
	}
	if err := s.Signal(gossh.SIGINT); err != nil {
		t.Fatal(err)
	}
	err := s.Wait()
	var exit *gossh.ExitError
	if !errors.As(err, &exit) || exit.ExitStatus() != 128+2 {
		t.Errorf("after SIGINT: %v, want exit status 130", err)
	}
}

// openSSHOnTerminal starts an interactive OpenSSH client (ssh -tt) as
// alice, on a terminal of its own of the given size, with env added to
// its environment. The terminal is closed when the test ends.
func (h *harness) openSSHOnTerminal(size *pty.Winsize, env ...string) (*exec.Cmd, *os.File, *lockedReader) {
	h.t.Helper()
	cmd := exec.Command(openSSH(h.t), h.sshArgs(h.alice.keyFile, "-tt")...)
	cmd.Env = append(cmd.Environ(), env...)
	term, err := pty.StartWithSize(cmd, size)
	if err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() { term.Close() })
	return cmd, term, newLockedReader(term)
}
