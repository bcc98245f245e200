package integration

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"github.com/pitstopci/pitstop/internal/uptermtest"
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

func (s *uptermSetup) agentArgs(t *testing.T, extra ...string) []string {
	t.Helper()
	actorKeys := filepath.Join(t.TempDir(), "actor.pub")
	if err := os.WriteFile(actorKeys, []byte(s.actor.public+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return append([]string{
		"--relay", "upterm://" + s.relay.Addr, "--relay-known-hosts", s.knownHosts,
		"--authorized-keys", actorKeys, "--wait-timeout", "5m", "--max-duration", "10m", "--reconnect-grace", "5m",
	}, extra...)
}

// uptermSSH runs the printed command (ssh -J through the relay) as the
// holder of key, with strict host key checking at both hops, through an
// ssh_config that -J passes on to the jump (see userSSH). words replaces
// "ssh" at the start of the printed command, e.g. with scp's.
func uptermSSH(t *testing.T, ctx context.Context, r readyDoc, s *uptermSetup, key keyPair, command ...string) *exec.Cmd {
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

func uptermSSHConfig(t *testing.T, r readyDoc, s *uptermSetup, key keyPair) string {
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

	if r.Relay != "upterm://"+s.relay.Addr || !strings.HasSuffix(r.Jump, "@"+s.relay.Addr) {
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
	out, err := uptermSSH(t, ctx, r, s, s.actor, "echo through-upterm; pwd").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "through-upterm") {
		t.Fatalf("the actor through the relay: %v\n%s\nagent log:\n%s", err, out, a.stderr)
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

// newSignerFromPair reads k's private key.
func newSignerFromPair(t *testing.T, k keyPair) gossh.Signer {
	t.Helper()
	b, err := os.ReadFile(k.private)
	if err != nil {
		t.Fatal(err)
	}
	s, err := gossh.ParsePrivateKey(b)
	if err != nil {
		t.Fatal(err)
	}
	return s
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
	waitLog(t, a, "refused a key", 10*time.Second)
}

// TestUptermImpostor: a relay that answers the jump itself, posing as the
// agent with another host key, is refused by the user's ssh, which checks
// the agent's key from the printed known_hosts line.
func TestUptermImpostor(t *testing.T) {
	s := newUptermSetup(t, uptermtest.Options{})
	a := startRelayAgent(t, s.agentArgs(t)...)
	r := a.readReady(t, 30*time.Second, nil)
	s.relay.Impersonate(newSignerFromPair(t, newKeyPair(t, "impostor")))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := uptermSSH(t, ctx, r, s, s.actor, "echo should-not-run").CombinedOutput()
	if err == nil || strings.Contains(string(out), "should-not-run") ||
		!strings.Contains(string(out), "REMOTE HOST IDENTIFICATION HAS CHANGED") || !strings.Contains(string(out), "Host key verification failed") {
		t.Errorf("ssh through an impostor relay: %v\n%s\nwant it to refuse the changed host key", err, out)
	}
}
