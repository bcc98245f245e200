//go:build unix

package integration

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"github.com/pitstopci/pitstop/agent/control"
	"github.com/pitstopci/pitstop/internal/testutil"
	"github.com/pitstopci/pitstop/internal/uptermtest"
	"github.com/pitstopci/pitstop/internal/wire"
)

// The upterm tests run the real pitstop binary against the test relay in
// internal/uptermtest, which speaks uptermd's side of upterm's protocol
// and, like uptermd, terminates SSH, recording everything it decrypts.
// Users are the real OpenSSH client, jumping through the relay with -J.

// uptermSetup is a test relay, the actor the agent admits and a stranger.
type uptermSetup struct {
	relay           *uptermtest.Relay
	actor, stranger keyPair
	knownHosts      string // file with the relay's host key
}

func newUptermSetup(t *testing.T, opts uptermtest.Options) *uptermSetup {
	t.Helper()
	s := &uptermSetup{relay: uptermtest.Start(t, opts), actor: newKeyPair(t, "alice"), stranger: newKeyPair(t, "mallory")}
	s.knownHosts = filepath.Join(t.TempDir(), "relay_known_hosts")
	if err := os.WriteFile(s.knownHosts, []byte(s.relay.KnownHosts()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return s
}

// agentArgs are the flags for an agent reached through s.relay that
// admits the actor.
func (s *uptermSetup) agentArgs(t *testing.T, extra ...string) []string {
	t.Helper()
	return relayAgentArgs(t, s.actor, []string{"--relay", "upterm://" + s.relay.Addr, "--relay-known-hosts", s.knownHosts}, extra...)
}

// uptermSSH runs the printed command (ssh -J through the relay) as the
// holder of key, with strict host key checking at both hops, through an
// ssh_config that -J passes on to the jump (see userSSH). words replaces
// "ssh" at the start of the printed command, e.g. with scp's.
func uptermSSH(t *testing.T, ctx context.Context, r wire.Ready, s *uptermSetup, key keyPair, command ...string) *exec.Cmd {
	t.Helper()
	cfg := uptermSSHConfig(t, r, s, key)
	words := strings.Fields(r.SSHCommand)
	if len(words) == 0 || words[0] != "ssh" {
		t.Fatalf("ssh_command %q does not start with ssh", r.SSHCommand)
	}
	cmd := exec.CommandContext(ctx, tool(t, "ssh", "apt-get install openssh-client"), append(append([]string{"-F", cfg}, words[1:]...), command...)...)
	cmd.Env = agentEnv()
	return cmd
}

func uptermSSHConfig(t *testing.T, r wire.Ready, s *uptermSetup, key keyPair) string {
	t.Helper()
	dir := t.TempDir()
	kh := filepath.Join(dir, "known_hosts")
	if err := os.WriteFile(kh, []byte(s.relay.KnownHosts()+"\n"+r.KnownHosts+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "ssh_config")
	conf := fmt.Sprintf("Host *\n  IdentityFile %s\n  IdentitiesOnly yes\n  IdentityAgent none\n  UserKnownHostsFile %s\n"+
		"  GlobalKnownHostsFile /dev/null\n  StrictHostKeyChecking yes\n  BatchMode yes\n  ConnectTimeout 5\n", key.private, kh)
	if err := os.WriteFile(cfg, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// TestUptermEndToEnd: through a relay that terminates SSH, the actor runs
// a command, copies files with scp and sftp, and types in a shell; a
// marker typed there never appears in what the relay decrypted, though
// the relay did decrypt the inner connection's version exchange (so the
// recording is real). A stranger is stopped at the relay.
func TestUptermEndToEnd(t *testing.T) {
	s := newUptermSetup(t, uptermtest.Options{})
	a := startRelayAgent(t, s.agentArgs(t)...)
	r := a.readReady(t, 30*time.Second, nil)
	t.Logf("ready %v after start: %s", time.Since(a.start).Round(time.Millisecond), r.SSHCommand)

	// The session's login ends in "=", as the public relay's do (base64
	// of the node's address): ssh must take it as it is.
	if r.Relay != "upterm://"+s.relay.Addr || !strings.HasSuffix(r.Jump, "=@"+s.relay.Addr) {
		t.Errorf("relay %q, jump %q; want upterm://%s and SESSION@%s", r.Relay, r.Jump, s.relay.Addr, s.relay.Addr)
	}
	want := fmt.Sprintf("ssh -J %s %s@%s", r.Jump, r.User, r.Host)
	if r.SSHCommand != want || !strings.HasPrefix(r.Host, "pitstop-") {
		t.Errorf("ssh_command %q, want %q with a pitstop-HASH host", r.SSHCommand, want)
	}
	if !strings.HasPrefix(r.KnownHosts, r.Host+" ssh-ed25519 ") {
		t.Errorf("known_hosts %q: want a line for %s, the host ssh checks behind -J", r.KnownHosts, r.Host)
	}
	if ports := listeningPorts(t, r.PID); len(ports) > 0 {
		t.Errorf("the agent listens on TCP ports %v; through a relay it must not", ports)
	}
	waitLog(t, a, "connect with: "+want, 5*time.Second)

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := uptermSSH(t, ctx, r, s, s.actor, `echo through-upterm; pwd; echo "conn=[$SSH_CONNECTION]"`).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "through-upterm") {
		t.Fatalf("the actor through the relay: %v\n%s\nagent log:\n%s", err, out, a.stderr)
	}
	// Four fields, as scripts that split it expect: the guest as the
	// relay saw it, and no address for the agent's end, which is none.
	if !regexp.MustCompile(`conn=\[127\.0\.0\.1 [0-9]+ 0\.0\.0\.0 0\]`).Match(out) {
		t.Errorf("SSH_CONNECTION through the relay is not four well-formed fields:\n%s", out)
	}

	// scp and sftp, through the same jump.
	dir := t.TempDir()
	src := filepath.Join(dir, "up.txt")
	os.WriteFile(src, []byte("file-through-upterm\n"), 0o600)
	cfg := uptermSSHConfig(t, r, s, s.actor)
	remote := filepath.Join(t.TempDir(), "up.txt")
	scp := exec.CommandContext(ctx, tool(t, "scp", "apt-get install openssh-client"), "-F", cfg, "-J", r.Jump, src, r.User+"@"+r.Host+":"+remote)
	if out, err := scp.CombinedOutput(); err != nil {
		t.Fatalf("scp through the relay: %v\n%s", err, out)
	}
	if b, err := os.ReadFile(remote); err != nil || string(b) != "file-through-upterm\n" {
		t.Fatalf("scp wrote %q, %v", b, err)
	}
	back := filepath.Join(dir, "back.txt")
	sftp := exec.CommandContext(ctx, tool(t, "sftp", "apt-get install openssh-client"), "-F", cfg, "-J", r.Jump, "-b", "-", r.User+"@"+r.Host)
	sftp.Stdin = strings.NewReader("get " + remote + " " + back + "\n")
	if out, err := sftp.CombinedOutput(); err != nil {
		t.Fatalf("sftp through the relay: %v\n%s", err, out)
	}
	if b, err := os.ReadFile(back); err != nil || string(b) != "file-through-upterm\n" {
		t.Fatalf("sftp fetched %q, %v", b, err)
	}

	// A stranger is stopped at the relay, which the agent told whom to admit.
	out, err = uptermSSH(t, ctx, r, s, s.stranger, "echo should-not-run").CombinedOutput()
	if err == nil || strings.Contains(string(out), "should-not-run") {
		t.Errorf("a stranger got through: %v\n%s", err, out)
	}
	if got := s.relay.Refusals(); len(got) == 0 || got[len(got)-1] != gossh.FingerprintSHA256(s.stranger.key) {
		t.Errorf("relay refusals %v; want the stranger's key refused at the edge", got)
	}

	// Typed in a shell on a pty, echoed back: the relay never sees it.
	marker := "marker-" + fmt.Sprint(time.Now().UnixNano())
	shell := uptermSSH(t, ctx, r, s, s.actor, "-tt")
	shell.Stdin = strings.NewReader("echo " + marker + "\nexit\n")
	out, err = shell.CombinedOutput()
	if err != nil || !strings.Contains(string(out), marker) {
		t.Fatalf("a shell through the relay: %v\n%s", err, out)
	}
	seen := s.relay.Decrypted()
	if bytes.Contains(seen, []byte(marker)) || bytes.Contains(seen, []byte("through-upterm")) || bytes.Contains(seen, []byte("file-through-upterm")) {
		t.Errorf("the relay decrypted the session's plaintext")
	}
	if !bytes.Contains(seen, []byte("[channel direct-tcpip")) || !bytes.Contains(seen, []byte("SSH-2.0-")) || len(seen) < 10000 {
		t.Errorf("the relay's recording holds %d bytes without the inner version exchange: it recorded nothing real", len(seen))
	}
	if code := a.waitExit(t, 15*time.Second); code != 0 {
		t.Fatalf("the agent exited %d after the shell ended, want 0\n%s", code, a.stderr)
	}
}

// TestUptermStrangerRefusedByTheAgent: a relay that lets a stranger in,
// and names the actor's key to the agent, still does not get them a
// session: the agent checks the user's own key on the inner connection.
func TestUptermStrangerRefusedByTheAgent(t *testing.T) {
	s := newUptermSetup(t, uptermtest.Options{LetStrangersIn: true})
	a := startRelayAgent(t, s.agentArgs(t)...)
	r := a.readReady(t, 30*time.Second, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := uptermSSH(t, ctx, r, s, s.stranger, "echo should-not-run").CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 255 || !strings.Contains(string(out), "Permission denied (publickey)") ||
		strings.Contains(string(out), "should-not-run") {
		t.Errorf("a stranger let in by the relay: %v\n%s\nwant the agent's Permission denied (publickey)", err, out)
	}
	waitLog(t, a, "event=key_refused", 10*time.Second)
}

// TestUptermImpostor: a relay that answers the jump itself, posing as the
// agent with another host key, is refused by the user's ssh, which checks
// the agent's key from the printed known_hosts line.
func TestUptermImpostor(t *testing.T) {
	s := newUptermSetup(t, uptermtest.Options{})
	a := startRelayAgent(t, s.agentArgs(t)...)
	r := a.readReady(t, 30*time.Second, nil)
	s.relay.Impersonate(testutil.SSHSigner(t, newKeyPair(t, "impostor").private))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := uptermSSH(t, ctx, r, s, s.actor, "echo should-not-run").CombinedOutput()
	if err == nil || strings.Contains(string(out), "should-not-run") ||
		!strings.Contains(string(out), "REMOTE HOST IDENTIFICATION HAS CHANGED") || !strings.Contains(string(out), "Host key verification failed") {
		t.Errorf("ssh through an impostor relay: %v\n%s\nwant it to refuse the changed host key", err, out)
	}
}

// TestUptermFailsFast: a relay the agent cannot use stops it within 30
// seconds, exit 1, with a message naming the relay and what to try, and
// no ready file: nobody is told to connect.
func TestUptermFailsFast(t *testing.T) {
	good := newUptermSetup(t, uptermtest.Options{})
	refusing := newUptermSetup(t, uptermtest.Options{RefuseCreate: "too many sessions from this address"})
	mute := newUptermSetup(t, uptermtest.Options{Mute: true})
	// A relay that names the session with a workflow command.
	hostile := newUptermSetup(t, uptermtest.Options{SSHUser: "x##[error]forged\n::error::forged"})
	wrongKnownHosts := filepath.Join(t.TempDir(), "wrong_known_hosts")
	impostor := newUptermSetup(t, uptermtest.Options{})
	os.WriteFile(wrongKnownHosts, []byte(strings.Replace(impostor.relay.KnownHosts(), impostor.relay.Addr[strings.LastIndex(impostor.relay.Addr, ":"):],
		good.relay.Addr[strings.LastIndex(good.relay.Addr, ":"):], 1)+"\n"), 0o600)
	// Something that is not SSH at all, as a wrong port might answer.
	notSSH := startNotSSH(t)
	deadAddr := fmt.Sprintf("127.0.0.1:%d", testutil.FreePort(t))
	for _, tt := range []struct {
		name  string
		addr  string
		kh    string
		want  string
		limit time.Duration
	}{
		{"unreachable", deadAddr, good.knownHosts, "could not reach the upterm relay upterm://" + deadAddr + ": connect: dial tcp", 10 * time.Second},
		{"wrong host key", good.relay.Addr, wrongKnownHosts, "upterm relay upterm://" + good.relay.Addr + " showed host key " + gossh.FingerprintSHA256(good.relay.Key.PublicKey()) + " (certificate), which is not the one " + wrongKnownHosts + " pins for it", 10 * time.Second},
		{"create-session refused", refusing.relay.Addr, refusing.knownHosts,
			"upterm relay upterm://" + refusing.relay.Addr + " did not let this agent create a session: refused: too many sessions from this address", 10 * time.Second},
		{"not SSH", notSSH, good.knownHosts, "upterm relay upterm://" + notSSH + ": could not log in: ssh: handshake failed", 10 * time.Second},
		{"hostile session name", hostile.relay.Addr, hostile.knownHosts,
			"upterm relay upterm://" + hostile.relay.Addr + " did not let this agent create a session: the relay gave an unusable SSH user", 10 * time.Second},
		{"silent", mute.relay.Addr, mute.knownHosts, "upterm relay upterm://" + mute.relay.Addr + ": could not log in: ssh: handshake failed", 30 * time.Second},
	} {
		t.Run(tt.name, func(t *testing.T) {
			keys := filepath.Join(t.TempDir(), "keys.pub")
			os.WriteFile(keys, []byte(good.actor.public+"\n"), 0o600)
			a := startRelayAgent(t, "--relay", "upterm://"+tt.addr, "--relay-known-hosts", tt.kh, "--authorized-keys", keys, "--wait-timeout", "10m")
			if code := a.waitExit(t, tt.limit+5*time.Second); code != 1 {
				t.Fatalf("exit %d, want 1\n%s", code, a.stderr)
			}
			took := time.Since(a.start)
			wants := []string{tt.want}
			if tt.name != "wrong host key" {
				wants = append(wants, "relay: none") // for runners that can be reached directly
			}
			for _, want := range wants {
				if !strings.Contains(a.stderr.String(), want) {
					t.Errorf("stderr does not say %q:\n%s", want, a.stderr)
				}
			}
			for _, line := range strings.Split(a.stderr.String()+a.stdout.String(), "\n") {
				if strings.Contains(line, "##[") || strings.HasPrefix(strings.TrimSpace(line), "::") {
					t.Errorf("a workflow command in the output: %q", line)
				}
			}
			if _, err := os.Stat(a.ready); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("a ready file was written (%v): nobody may be told to connect", err)
			}
			if took > tt.limit {
				t.Errorf("took %v to fail, more than %v", took, tt.limit)
			}
			t.Logf("failed in %v: %s", took.Round(time.Millisecond), lastLine(a.stderr.String()))
		})
	}
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// startNotSSH listens and answers every connection with an HTTP error.
func startNotSSH(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Write([]byte("HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n")) //nolint:errcheck // best effort
			c.Close()
		}
	}()
	return ln.Addr().String()
}

// TestUptermDefaultOnGitHubHosted: on a GitHub-hosted runner with no relay
// given, the agent goes through upterm's public relay and says so. Where
// that relay cannot be reached (as here, with no outside network) it
// fails within 30 seconds naming it; it never prints a direct address as
// if it could be reached.
func TestUptermDefaultOnGitHubHosted(t *testing.T) {
	keys := filepath.Join(t.TempDir(), "keys.pub")
	os.WriteFile(keys, []byte(newKeyPair(t, "alice").public+"\n"), 0o600)
	a := startRelayAgentEnv(t, map[string]string{"RUNNER_ENVIRONMENT": "github-hosted"}, "--authorized-keys", keys, "--wait-timeout", "1m")
	waitLog(t, a, "reached through upterm's public relay uptermd.upterm.dev", 10*time.Second)
	select {
	case <-a.done:
		if code := a.waitExit(t, time.Second); code != 1 {
			t.Fatalf("exit %d, want 1\n%s", code, a.stderr)
		}
		if took := time.Since(a.start); took > 30*time.Second {
			t.Errorf("took %v to fail; the limit is 30s", took)
		}
		if !strings.Contains(a.stderr.String(), "upterm relay upterm://uptermd.upterm.dev:22") {
			t.Errorf("the failure does not name the relay:\n%s", a.stderr)
		}
		if _, err := os.Stat(a.ready); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("a ready file was written (%v)", err)
		}
	case <-time.After(35 * time.Second):
		// The relay answered: the command must go through it.
		r := a.readReady(t, time.Second, nil)
		if !strings.HasPrefix(r.SSHCommand, "ssh -J ") || !strings.Contains(r.SSHCommand, "@uptermd.upterm.dev ") {
			t.Errorf("ssh_command %q: on a GitHub-hosted runner it must go through the relay", r.SSHCommand)
		}
	}
	if strings.Contains(a.stderr.String(), "connect with: ssh -p ") {
		t.Errorf("a direct address was printed as if it could be reached:\n%s", a.stderr)
	}
}

// TestUptermReconnects: the relay drops the agent mid-pause, then
// restarts with some downtime; each time the agent registers again (with
// backoff while the relay is down), rewrites the ready file and prints
// the new command; the pause and its deadline go on, and the actor gets
// in with the new command.
func TestUptermReconnects(t *testing.T) {
	s := newUptermSetup(t, uptermtest.Options{})
	a := startRelayAgent(t, s.agentArgs(t, "--relay-keepalive", "500ms")...)
	first := a.readReady(t, 30*time.Second, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if out, err := uptermSSH(t, ctx, first, s, s.actor, "echo before").CombinedOutput(); err != nil {
		t.Fatalf("before the drop: %v\n%s\n%s", err, out, a.stderr)
	}
	// The deadline as the first connection set it (the whole
	// max-duration from then): the relay's drops must not move it.
	st, err := control.QueryStatus(ctx, first.ControlSocket)
	if err != nil {
		t.Fatal(err)
	}
	first.Deadline = st.Deadline
	s.relay.DropHosts()
	waitLog(t, a, "lost the connection to the relay upterm://"+s.relay.Addr, 10*time.Second)
	second := a.readReady(t, 30*time.Second, func(r wire.Ready) bool { return r.ForwardedAt.After(first.ForwardedAt) })
	if second.SSHCommand == first.SSHCommand || second.Host != first.Host {
		t.Errorf("after the drop: %q (was %q); want a new session for the same agent", second.SSHCommand, first.SSHCommand)
	}
	if !second.Deadline.Equal(first.Deadline) {
		t.Errorf("the deadline moved from %v to %v: the pause must go on as it was", first.Deadline, second.Deadline)
	}
	waitLog(t, a, "reconnected to the relay upterm://"+s.relay.Addr, 5*time.Second)
	waitLog(t, a, "connect with: "+second.SSHCommand, 5*time.Second)
	out, err := uptermSSH(t, ctx, second, s, s.actor, "echo after-the-drop").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "after-the-drop") {
		t.Fatalf("after the drop: %v\n%s\n%s", err, out, a.stderr)
	}

	// A restart: the relay is down for a while, so attempts fail and back
	// off, then it is back at the same address with the same key.
	addr, key := s.relay.Addr, s.relay.Key
	s.relay.Close()
	waitLog(t, a, "could not reconnect to the relay", 10*time.Second)
	s.relay = uptermtest.Start(t, uptermtest.Options{Addr: addr, Key: key})
	third := a.readReady(t, 60*time.Second, func(r wire.Ready) bool { return r.ForwardedAt.After(second.ForwardedAt) })
	if !third.Deadline.Equal(first.Deadline) {
		t.Errorf("the deadline moved from %v to %v after the restart", first.Deadline, third.Deadline)
	}
	// Outside GitHub Actions, no workflow command: the runner is not
	// there to read it.
	if strings.Contains(a.stdout.String(), "::notice") {
		t.Errorf("a ::notice outside GitHub Actions:\n%s", a.stdout)
	}
	out, err = uptermSSH(t, ctx, third, s, s.actor, "echo after-the-restart; pitstop continue").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "after-the-restart") {
		t.Fatalf("after the restart: %v\n%s\n%s", err, out, a.stderr)
	}
	if code := a.waitExit(t, 15*time.Second); code != 0 {
		t.Fatalf("exit %d after pitstop continue, want 0\n%s", code, a.stderr)
	}
}

// TestUptermRelaySideRefused: logging in to the relay as the session, as
// a plain upterm guest would, gets no shell and runs no command: the
// agent's side of the relay's connection allows only direct-tcpip, and
// logs what it refused.
func TestUptermRelaySideRefused(t *testing.T) {
	s := newUptermSetup(t, uptermtest.Options{})
	a := startRelayAgent(t, s.agentArgs(t)...)
	r := a.readReady(t, 30*time.Second, nil)
	cfg := uptermSSHConfig(t, r, s, s.actor)
	user, hostport, _ := strings.Cut(r.Jump, "@")
	host, port, _ := net.SplitHostPort(hostport)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, tool(t, "ssh", "apt-get install openssh-client"), "-F", cfg, "-p", port, user+"@"+host, "echo should-not-run")
	out, err := cmd.CombinedOutput()
	if err == nil || strings.Contains(string(out), "should-not-run") || !strings.Contains(string(out), "administratively prohibited") {
		t.Errorf("a command on the relay's side: %v\n%s\nwant the session channel refused", err, out)
	}
	waitLog(t, a, `refused what the relay asked for`, 10*time.Second)
	// The relay reads the refusal on its own goroutine: it may come after
	// the agent's log line.
	refused := func() bool {
		seen := s.relay.Decrypted()
		return bytes.Contains(seen, []byte(`[channel session`)) && bytes.Contains(seen, []byte("refused by the host"))
	}
	if !testutil.Eventually(10*time.Second, refused) {
		t.Errorf("the relay did not see its session channel refused:\n%s", s.relay.Decrypted())
	}
}
