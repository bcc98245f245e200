//go:build unix

package integration

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"github.com/pitstopci/pitstop/agent/control"
	"github.com/pitstopci/pitstop/internal/testutil"
	"github.com/pitstopci/pitstop/internal/wire"
)

// TestRelayEndToEnd: the agent opens no local port, dials the relay, and
// the actor gets in with the printed ssh -J command and strict host key
// checking at both hops; a stranger who may use the relay is still
// refused by the agent; pitstop continue, run through the relay, ends the
// pause with exit 0.
func TestRelayEndToEnd(t *testing.T) {
	s := newRelaySetup(t)
	a := startRelayAgent(t, s.agentArgs(t)...)
	r := a.readReady(t, 30*time.Second, nil)
	t.Logf("ready %v after start: %s", time.Since(a.start).Round(time.Millisecond), r.SSHCommand)

	if r.Relay != "root@"+s.relay.address() || r.Jump != "root@"+s.relay.address() {
		t.Errorf("relay %q, jump %q; want both root@%s", r.Relay, r.Jump, s.relay.address())
	}
	if r.Host != "127.0.0.1" || r.Address != net.JoinHostPort("127.0.0.1", strconv.Itoa(r.Port)) || r.Port == 0 {
		t.Errorf("address %q (host %q, port %d): want the relay's loopback", r.Address, r.Host, r.Port)
	}
	want := fmt.Sprintf("ssh -J root@%s -p %d %s@127.0.0.1", s.relay.address(), r.Port, r.User)
	if r.SSHCommand != want {
		t.Errorf("ssh_command %q, want %q", r.SSHCommand, want)
	}
	if !strings.HasPrefix(r.KnownHosts, fmt.Sprintf("[127.0.0.1]:%d ssh-ed25519 ", r.Port)) {
		t.Errorf("known_hosts %q: want a line for [127.0.0.1]:%d, the host ssh checks behind -J", r.KnownHosts, r.Port)
	}
	if r.Listen != "" {
		t.Errorf("listen %q: relay mode opens no local port unless --listen is given", r.Listen)
	}
	if ports := listeningPorts(t, r.PID); len(ports) > 0 {
		t.Errorf("the agent listens on TCP ports %v; in relay mode it must not", ports)
	}
	for _, msg := range []string{"connected to the relay root@" + s.relay.address(), "connect with: " + want} {
		if !strings.Contains(a.stderr.String(), msg) {
			t.Errorf("the log does not say %q:\n%s", msg, a.stderr)
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := userSSH(t, ctx, r, s.relay, s.actor, "echo through-the-relay; pwd").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "through-the-relay") {
		t.Fatalf("the actor through the relay: %v\n%s\nagent log:\n%s", err, out, a.stderr)
	}

	out, err = userSSH(t, ctx, r, s.relay, s.stranger, "echo should-not-run").CombinedOutput()
	var exit *exec.ExitError
	t.Logf("the stranger's ssh said:\n%s", out)
	if !errors.As(err, &exit) || exit.ExitCode() != 255 || !strings.Contains(string(out), "Permission denied (publickey)") ||
		strings.Contains(string(out), "should-not-run") {
		t.Errorf("a stranger with relay access: %v\n%s\nwant ssh to fail with Permission denied (publickey)", err, out)
	}
	// The agent's log reaches the test through a pipe, so the refusal may
	// land a moment after the stranger's ssh has given up.
	waitLog(t, a, "event=key_refused", 10*time.Second)

	// A login shell on a pty, through the relay, ends the pause when it exits.
	shell := userSSH(t, ctx, r, s.relay, s.actor, "-tt")
	shell.Stdin = strings.NewReader("tty && echo on-a-pty\nexit\n")
	out, err = shell.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "on-a-pty") || !strings.Contains(string(out), "/dev/pts/") {
		t.Fatalf("a shell through the relay: %v\n%s", err, out)
	}
	if code := a.waitExit(t, 15*time.Second); code != 0 {
		t.Fatalf("the agent exited %d after the shell ended, want 0\n%s", code, a.stderr)
	}
	if !strings.Contains(a.stderr.String(), "the last shell exited") {
		t.Errorf("the pause did not end because the shell exited:\n%s", a.stderr)
	}
}

// listeningPorts lists the TCP ports pid listens on, from its sockets'
// inodes and the kernel's socket tables.
func listeningPorts(t *testing.T, pid int) []int {
	t.Helper()
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		t.Fatalf("list the agent's files: %v", err)
	}
	inodes := map[string]bool{}
	for _, fd := range fds {
		link, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", pid, fd.Name()))
		if err == nil && strings.HasPrefix(link, "socket:[") {
			inodes[strings.TrimSuffix(strings.TrimPrefix(link, "socket:["), "]")] = true
		}
	}
	var ports []int
	for _, table := range []string{"tcp", "tcp6"} {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/net/%s", pid, table))
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n")[1:] {
			f := strings.Fields(line)
			// local_address is HEXIP:HEXPORT, st 0A is LISTEN, inode is field 9.
			if len(f) > 9 && f[3] == "0A" && inodes[f[9]] {
				_, hexPort, _ := strings.Cut(f[1], ":")
				p, _ := strconv.ParseUint(hexPort, 16, 16)
				ports = append(ports, int(p))
			}
		}
	}
	return ports
}

// TestRelayFailsFast: a relay the agent cannot use stops it at once, exit
// 1, with a message naming the relay and what is wrong, and no ready file:
// nobody is told to connect to a pause that is not there.
func TestRelayFailsFast(t *testing.T) {
	s := newRelaySetup(t)
	other := newKeyPair(t, "not_the_relay")
	wrongKnownHosts := filepath.Join(t.TempDir(), "wrong_known_hosts")
	os.WriteFile(wrongKnownHosts, []byte("[127.0.0.1]:"+strconv.Itoa(s.relay.port)+" "+strings.Fields(other.public)[0]+" "+strings.Fields(other.public)[1]+"\n"), 0o600)
	emptyKnownHosts := filepath.Join(t.TempDir(), "empty_known_hosts")
	os.WriteFile(emptyKnownHosts, []byte("# nothing yet\n"), 0o600)
	noForwarding := startRelay(t, []string{readRelayReadme(t).agentOptions + " " + s.agentKey.public}, "AllowTcpForwarding no")
	noForwardingHosts := filepath.Join(t.TempDir(), "known_hosts")
	os.WriteFile(noForwardingHosts, []byte(noForwarding.knownHosts()+"\n"), 0o600)
	dead := "root@127.0.0.1:" + strconv.Itoa(testutil.FreePort(t))

	relay := "root@" + s.relay.address()
	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"refused key", []string{"--relay", relay, "--relay-key", other.private, "--relay-known-hosts", s.knownHosts},
			"relay " + relay + " refused the agent's key"},
		{"changed host key", []string{"--relay", relay, "--relay-key", s.agentKey.private, "--relay-known-hosts", wrongKnownHosts},
			"relay " + relay + " showed host key " + gossh.FingerprintSHA256(s.relay.hostKey.key) + ", but " + wrongKnownHosts + ":1 has a different key"},
		{"unknown host key", []string{"--relay", relay, "--relay-key", s.agentKey.private, "--relay-known-hosts", emptyKnownHosts},
			"relay " + relay + " showed host key " + gossh.FingerprintSHA256(s.relay.hostKey.key) + ", which is not in " + emptyKnownHosts},
		{"dead port", []string{"--relay", dead, "--relay-key", s.agentKey.private, "--relay-known-hosts", s.knownHosts},
			"connect to the relay " + dead + ": dial tcp"},
		{"forwarding off", []string{"--relay", "root@" + noForwarding.address(), "--relay-key", s.agentKey.private, "--relay-known-hosts", noForwardingHosts},
			"relay root@" + noForwarding.address() + " refused to forward port 0"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			keys := filepath.Join(t.TempDir(), "keys.pub")
			os.WriteFile(keys, []byte(s.actor.public+"\n"), 0o600)
			a := startRelayAgent(t, append(tt.args, "--authorized-keys", keys, "--wait-timeout", "10m")...)
			if code := a.waitExit(t, 15*time.Second); code != 1 {
				t.Fatalf("exit %d, want 1\n%s", code, a.stderr)
			}
			took := time.Since(a.start)
			if !strings.Contains(a.stderr.String(), tt.want) {
				t.Errorf("stderr does not say %q:\n%s", tt.want, a.stderr)
			}
			if _, err := os.Stat(a.ready); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("a ready file was written (%v): nobody may be told to connect", err)
			}
			if took > 10*time.Second {
				t.Errorf("took %v to fail; a broken relay must fail fast", took)
			}
			t.Logf("failed in %v", took.Round(time.Millisecond))
		})
	}
}

// TestRelayInsecureHostKey: --relay-insecure-ignore-host-key connects to
// a relay whose key nobody checked, and says so in the log.
func TestRelayInsecureHostKey(t *testing.T) {
	s := newRelaySetup(t)
	args := s.agentArgs(t)
	for i, a := range args {
		if a == "--relay-known-hosts" {
			args = append(args[:i:i], append([]string{"--relay-insecure-ignore-host-key"}, args[i+2:]...)...)
			break
		}
	}
	a := startRelayAgent(t, args...)
	a.readReady(t, 30*time.Second, nil)
	// Logged before the ready file is written, but read through a pipe.
	waitLog(t, a, "not checking the host key of the relay root@"+s.relay.address()+" (insecure)", 10*time.Second)
}

// TestRelayKeyFromEnvironment: without --relay-key, the agent logs in to
// the relay with the key in PITSTOP_RELAY_KEY, as the action passes it,
// and the actor gets in through the relay.
func TestRelayKeyFromEnvironment(t *testing.T) {
	s := newRelaySetup(t)
	pemKey, err := os.ReadFile(s.agentKey.private)
	if err != nil {
		t.Fatal(err)
	}
	args := s.agentArgs(t)
	for i, a := range args {
		if a == "--relay-key" {
			args = append(args[:i:i], args[i+2:]...)
			break
		}
	}
	a := startRelayAgentEnv(t, map[string]string{"PITSTOP_RELAY_KEY": string(pemKey)}, args...)
	r := a.readReady(t, 30*time.Second, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := userSSH(t, ctx, r, s.relay, s.actor, "echo key-from-env; pitstop continue").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "key-from-env") {
		t.Fatalf("through the relay: %v\n%s\n%s", err, out, a.stderr)
	}
	if code := a.waitExit(t, 15*time.Second); code != 0 {
		t.Fatalf("exit %d after pitstop continue, want 0\n%s", code, a.stderr)
	}
}

// TestRelayReconnects: the relay dies twice during the pause, once with
// its connections closed (a crash, a restart) and once silently (frozen,
// as behind a dropped NAT mapping, found by keepalives). Each time the
// agent reconnects with backoff, rewrites the ready file and prints the
// command again; the pause and its deadline go on, and the actor gets in
// again and ends the pause.
func TestRelayReconnects(t *testing.T) {
	s := newRelaySetup(t)
	a := startRelayAgent(t, s.agentArgs(t, "--relay-keepalive", "500ms")...)
	first := a.readReady(t, 30*time.Second, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	if out, err := userSSH(t, ctx, first, s.relay, s.actor, "echo before").CombinedOutput(); err != nil {
		t.Fatalf("before the relay died: %v\n%s\n%s", err, out, a.stderr)
	}
	// The deadline as the first connection set it (the whole
	// max-duration from then): the relay's deaths must not move it.
	st, err := control.QueryStatus(ctx, first.ControlSocket)
	if err != nil {
		t.Fatal(err)
	}
	first.Deadline = st.Deadline

	// A crash: connections close at once. Down for a few seconds, so some
	// reconnect attempts fail and back off.
	s.relay.kill()
	waitLog(t, a, "lost the connection to the relay", 10*time.Second)
	waitLog(t, a, "could not reconnect to the relay", 10*time.Second)
	s.relay.start()
	second := a.readReady(t, 60*time.Second, func(r wire.Ready) bool { return r.ForwardedAt.After(first.ForwardedAt) })
	if !second.Deadline.Equal(first.Deadline) {
		t.Errorf("the deadline moved from %v to %v: the pause must go on as it was", first.Deadline, second.Deadline)
	}
	if second.SSHCommand != fmt.Sprintf("ssh -J root@%s -p %d %s@127.0.0.1", s.relay.address(), second.Port, second.User) {
		t.Errorf("new ssh_command %q", second.SSHCommand)
	}
	waitLog(t, a, "reconnected to the relay", 5*time.Second)
	waitLog(t, a, "connect with: "+second.SSHCommand, 5*time.Second)
	if out, err := userSSH(t, ctx, second, s.relay, s.actor, "echo after-a-crash").CombinedOutput(); err != nil || !strings.Contains(string(out), "after-a-crash") {
		t.Fatalf("after the relay came back: %v\n%s\n%s", err, out, a.stderr)
	}

	// Frozen: nothing closes, only keepalives can tell.
	s.relay.signal(syscall.SIGSTOP)
	waitLog(t, a, "stopped answering keepalives", 15*time.Second)
	s.relay.kill()
	s.relay.start()
	third := a.readReady(t, 60*time.Second, func(r wire.Ready) bool { return r.ForwardedAt.After(second.ForwardedAt) })
	out, err := userSSH(t, ctx, third, s.relay, s.actor, "echo after-a-freeze; pitstop continue").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "after-a-freeze") {
		t.Fatalf("after the frozen relay was replaced: %v\n%s\n%s", err, out, a.stderr)
	}
	if code := a.waitExit(t, 15*time.Second); code != 0 {
		t.Fatalf("exit %d after pitstop continue, want 0\n%s", code, a.stderr)
	}
}

// waitLog waits until the agent's log contains s.
func waitLog(t *testing.T, a *agentRun, s string, limit time.Duration) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !strings.Contains(a.stderr.String(), s) {
		if time.Now().After(deadline) {
			t.Fatalf("the log did not say %q within %v:\n%s", s, limit, a.stderr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestRelaySocket: with --relay-socket the relay listens on a unix socket
// (streamlocal-forward@openssh.com); the printed command forwards a local
// port to it, which works with the same restricted relay account.
func TestRelaySocket(t *testing.T) {
	// permitopen also limits the paths of unix sockets, and has no syntax
	// for them: users who reach a socket have none.
	s := newRelaySetupFor(t, socketUserOptions(readRelayReadme(t).userOpt))
	sock := filepath.Join(t.TempDir(), "pitstop.sock")
	a := startRelayAgent(t, s.agentArgs(t, "--relay-socket", sock)...)
	r := a.readReady(t, 30*time.Second, nil)
	jump := fmt.Sprintf("-p %d root@127.0.0.1", s.relay.port)
	want := fmt.Sprintf("ssh -f -N -o ExitOnForwardFailure=yes -L 2222:%s %s && ssh -p 2222 %s@127.0.0.1", sock, jump, r.User)
	if r.Address != sock || r.SSHCommand != want {
		t.Fatalf("address %q, ssh_command %q; want %q, %q", r.Address, r.SSHCommand, sock, want)
	}
	if fi, err := os.Stat(sock); err != nil || fi.Mode()&os.ModeSocket == 0 {
		t.Fatalf("no socket at %s: %v", sock, err)
	}

	// Run the printed forward in the foreground (not -f, so the test can
	// stop it) on a free local port rather than 2222, which may be taken.
	local := testutil.FreePort(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	fwdDoc := wire.Ready{SSHCommand: fmt.Sprintf("ssh -N -o ExitOnForwardFailure=yes -L %d:%s %s", local, sock, jump)}
	fwd := userSSH(t, ctx, fwdDoc, s.relay, s.actor)
	fwdOut := &testutil.Buffer{}
	fwd.Stdout, fwd.Stderr = fwdOut, fwdOut
	if err := fwd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { fwd.Process.Kill(); fwd.Wait() }() //nolint:errcheck // stopping it
	deadline := time.Now().Add(10 * time.Second)
	for {
		if c, err := net.Dial("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(local))); err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the local forward did not come up\n%s", fwdOut)
		}
		time.Sleep(50 * time.Millisecond)
	}
	r.KnownHosts = strings.Replace(r.KnownHosts, "[127.0.0.1]:2222", fmt.Sprintf("[127.0.0.1]:%d", local), 1)
	r.SSHCommand = fmt.Sprintf("ssh -p %d %s@127.0.0.1", local, r.User)
	out, err := userSSH(t, ctx, r, s.relay, s.actor, "echo through-the-socket").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "through-the-socket") {
		t.Fatalf("through the socket: %v\n%s\n%s\n%s", err, out, fwdOut, a.stderr)
	}
}

// TestActionRelayInputs: agent.sh masks every line of the relay key
// before anything else, hands the key to the agent in PITSTOP_RELAY_KEY
// (with LF line ends), and writes it to no file: nothing of it is on disk
// while the agent runs. The relay flags are passed on.
func TestActionRelayInputs(t *testing.T) {
	action := actionCopy(t)
	state := t.TempDir()
	logDir := t.TempDir()
	log, keyLog, lsLog := filepath.Join(logDir, "agent.log"), filepath.Join(logDir, "key"), filepath.Join(logDir, "ls")
	fake := filepath.Join(state, "pitstop")
	// The fake agent records, while it runs, its arguments, the key it was
	// given, and what the state directory holds.
	script := "#!/bin/sh\nprintf '%s\\n' \"$@\" > " + log + "\nprintf '%s' \"$PITSTOP_RELAY_KEY\" > " + keyLog +
		"\nls -A " + state + " > " + lsLog + "\n"
	if err := os.WriteFile(fake, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	key := newKeyPair(t, "relay")
	pemKey, err := os.ReadFile(key.private)
	if err != nil {
		t.Fatal(err)
	}
	// As pasted into a secret on Windows: CRLF line ends.
	secret := strings.ReplaceAll(string(pemKey), "\n", "\r\n")
	knownHosts := "[bastion.example.com]:2222 " + strings.Join(strings.Fields(newKeyPair(t, "host").public)[:2], " ")
	out, err, _ := runScript(t, filepath.Join(action, "agent.sh"), map[string]string{
		"PITSTOP_BIN": fake, "PITSTOP_STATE": state,
		// action.yml always sets every input's variable, empty when unused.
		"PITSTOP_AUTHORIZED_USERS": "", "PITSTOP_AUTHORIZED_KEYS": "",
		"PITSTOP_RELAY":             "pitstop@bastion.example.com:2222",
		"PITSTOP_RELAY_KEY":         secret,
		"PITSTOP_RELAY_KNOWN_HOSTS": knownHosts,
		"PITSTOP_RELAY_JUMP":        "bastion.example.com:2222",
	})
	if err != nil {
		t.Fatalf("agent.sh: %v\n%s", err, out)
	}
	var masks []string
	for _, line := range strings.Split(strings.TrimSpace(string(pemKey)), "\n") {
		masks = append(masks, "::add-mask::"+line)
	}
	if got := strings.TrimSpace(out); got != strings.Join(masks, "\n") {
		t.Errorf("agent.sh printed:\n%s\nwant exactly one mask per line of the key:\n%s", got, strings.Join(masks, "\n"))
	}
	b, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	khFile := filepath.Join(state, "relay_known_hosts")
	want := strings.Join([]string{
		"agent", "--ready-file", filepath.Join(state, "ready.json"),
		"--relay", "pitstop@bastion.example.com:2222", "--relay-jump", "bastion.example.com:2222",
		"--relay-known-hosts", khFile,
	}, "\n") + "\n"
	if string(b) != want {
		t.Errorf("the agent was run as:\n%s\nwant:\n%s", b, want)
	}
	if k, err := os.ReadFile(keyLog); err != nil || string(k) != string(pemKey) {
		t.Errorf("PITSTOP_RELAY_KEY in the agent's environment: %q, %v; want the key with LF line ends", k, err)
	}
	// During the pause the state directory holds no copy of the key.
	if ls, err := os.ReadFile(lsLog); err != nil || string(ls) != "pitstop\nrelay_known_hosts\n" {
		t.Errorf("while the agent ran, the state directory held %q (%v); want only pitstop and relay_known_hosts", ls, err)
	}
	filepath.WalkDir(state, func(path string, d fs.DirEntry, err error) error { //nolint:errcheck // checked inside
		if err == nil && !d.IsDir() {
			if b, _ := os.ReadFile(path); bytes.Contains(b, []byte("PRIVATE KEY")) {
				t.Errorf("%s holds the relay key", path)
			}
		}
		return nil
	})
	if kh, err := os.ReadFile(khFile); err != nil || string(kh) != knownHosts+"\n" {
		t.Errorf("relay known_hosts: %q, %v", kh, err)
	}
}
