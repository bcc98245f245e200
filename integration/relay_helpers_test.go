//go:build unix

package integration

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"github.com/pitstopci/pitstop/internal/testutil"
	"github.com/pitstopci/pitstop/internal/wire"
)

// The relay tests run a real OpenSSH sshd on 127.0.0.1 as the relay (a
// bastion), configured the way docs/bastion.md says, and the
// real pitstop binary and ssh client around it.

// readmeRelay is the relay setup docs/bastion.md gives: the
// sshd_config block, and the authorized_keys options of the agent's line
// and of a user's line. The tests configure their sshd with exactly these,
// so the walkthrough cannot drift from what was tested.
type readmeRelay struct {
	sshdConfig            []string
	agentOptions, userOpt string
}

func readRelayReadme(t *testing.T) readmeRelay {
	t.Helper()
	lines := docLines(t, "docs/bastion.md")
	var r readmeRelay
	in, block := false, ""
	for _, line := range lines {
		switch {
		case block == "" && strings.HasPrefix(line, "#"):
			in = line == "# Your own OpenSSH bastion"
		case !in:
		case block == "" && strings.HasPrefix(line, "```"):
			block = strings.TrimPrefix(line, "```")
		case block != "" && line == "```":
			block = ""
		case block == "sshd_config":
			r.sshdConfig = append(r.sshdConfig, strings.TrimSpace(line))
		case block == "text" && strings.Contains(line, "permitlisten") && r.agentOptions == "":
			r.agentOptions = strings.Fields(line)[0]
		case block == "text" && strings.Contains(line, "permitopen") && r.userOpt == "":
			r.userOpt = strings.Fields(line)[0]
		}
	}
	if len(r.sshdConfig) < 2 || !strings.HasPrefix(r.sshdConfig[0], "Match User ") || r.agentOptions == "" || r.userOpt == "" {
		t.Fatalf("docs/bastion.md lacks its sshd_config block or authorized_keys lines: %+v", r)
	}
	return r
}

// socketUserOptions is the user's line without permitopen, which also
// limits unix socket paths and cannot name one (docs/bastion.md says so).
func socketUserOptions(userOptions string) string {
	return strings.Replace(userOptions, `permitopen="127.0.0.1:*",`, "", 1)
}

// keyPair is an ed25519 key in the files ssh and pitstop read.
type keyPair struct {
	private string // file, OpenSSH format
	public  string // authorized_keys line
	key     gossh.PublicKey
}

func newKeyPair(t *testing.T, name string) keyPair {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := gossh.MarshalPrivateKey(priv, name)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(file, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	signer, err := gossh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	line := strings.TrimSpace(string(gossh.MarshalAuthorizedKey(signer.PublicKey()))) + " " + name
	return keyPair{private: file, public: line, key: signer.PublicKey()}
}

// relayHost is a real sshd acting as the relay.
type relayHost struct {
	t       *testing.T
	dir     string
	port    int
	config  string
	hostKey keyPair
	cmd     *exec.Cmd
	log     *testutil.Buffer
}

// startRelay starts sshd on a free port with docs/bastion.md's settings,
// authorizedKeys as root's authorized_keys, and extra config lines.
func startRelay(t *testing.T, authorizedKeys []string, extra ...string) *relayHost {
	t.Helper()
	sshd := tool(t, "sshd", "apt-get install openssh-server", "/usr/sbin/sshd")
	// sshd refuses to start as root without its privilege separation
	// directory, which the package creates only at boot.
	if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
		t.Fatalf("create sshd's privilege separation directory: %v", err)
	}
	r := &relayHost{t: t, dir: t.TempDir(), port: testutil.FreePort(t), log: &testutil.Buffer{}}
	r.hostKey = newKeyPair(t, "relay_host_ed25519")
	ak := filepath.Join(r.dir, "authorized_keys")
	if err := os.WriteFile(ak, []byte(strings.Join(authorizedKeys, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	lines := []string{
		"ListenAddress 127.0.0.1",
		"Port " + strconv.Itoa(r.port),
		"HostKey " + r.hostKey.private,
		"PidFile none",
		// The test's files live in a world-readable temp dir.
		"StrictModes no",
		"UsePAM no",
		"PermitRootLogin prohibit-password",
		"PasswordAuthentication no",
		"KbdInteractiveAuthentication no",
	}
	// docs/bastion.md's block, for root instead of a dedicated user, with the
	// test's authorized_keys, and extra first (sshd takes the first value
	// it reads for an option).
	match := readRelayReadme(t).sshdConfig
	lines = append(lines, "Match User root")
	lines = append(lines, extra...)
	for _, l := range match[1:] {
		if strings.HasPrefix(l, "AuthorizedKeysFile ") {
			l = "AuthorizedKeysFile " + ak
		}
		lines = append(lines, l)
	}
	data := strings.Join(lines, "\n") + "\n"
	r.config = filepath.Join(r.dir, "sshd_config")
	if err := os.WriteFile(r.config, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(sshd, "-t", "-f", r.config).CombinedOutput(); err != nil {
		t.Fatalf("sshd -t: %v\n%s\n%s", err, out, data)
	}
	r.start()
	t.Cleanup(r.kill)
	return r
}

// start runs sshd and waits until it greets.
func (r *relayHost) start() {
	r.t.Helper()
	r.cmd = exec.Command("/usr/sbin/sshd", "-D", "-e", "-f", r.config)
	r.cmd.Stdout, r.cmd.Stderr = r.log, r.log
	if err := r.cmd.Start(); err != nil {
		r.t.Fatalf("start sshd: %v", err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", r.address(), time.Second)
		if err == nil {
			c.SetDeadline(time.Now().Add(2 * time.Second))
			line, _ := bufio.NewReader(c).ReadString('\n')
			c.Close()
			if strings.HasPrefix(line, "SSH-2.0-") {
				return
			}
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("sshd did not answer on %s within 10s\n%s", r.address(), r.log)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (r *relayHost) address() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(r.port)) }

// knownHosts is the known_hosts line for the relay, as ssh-keyscan
// prints it.
func (r *relayHost) knownHosts() string {
	return "[127.0.0.1]:" + strconv.Itoa(r.port) + " " + strings.TrimSpace(string(gossh.MarshalAuthorizedKey(r.hostKey.key)))
}

// processes are sshd and every process it started (sshd puts each
// connection in its own session, so a process group would miss them).
func (r *relayHost) processes() []int {
	if r.cmd == nil || r.cmd.Process == nil {
		return nil
	}
	var all []int
	for _, p := range testutil.ProcessTree(r.cmd.Process.Pid) {
		all = append(all, p.PID)
	}
	return all
}

func (r *relayHost) signal(sig syscall.Signal) {
	for _, pid := range r.processes() {
		syscall.Kill(pid, sig) //nolint:errcheck // it may have exited
	}
}

// kill ends sshd and every connection it carries, as a crash would.
func (r *relayHost) kill() {
	if r.cmd == nil {
		return
	}
	r.signal(syscall.SIGKILL)
	r.cmd.Wait() //nolint:errcheck // killed
	r.cmd = nil
}

// agentRun is a running pitstop agent.
type agentRun struct {
	cmd    *exec.Cmd
	ready  string // ready file
	stdout *testutil.Buffer
	stderr *testutil.Buffer
	done   chan struct{}
	err    error
	start  time.Time
}

// agentEnv is an environment outside any CI: the agent admits only the
// keys it is given, whatever CI runs these tests.
func agentEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "GITHUB_") || strings.HasPrefix(k, "RUNNER_") || k == "ACT" || k == "CI" {
			continue
		}
		env = append(env, kv)
	}
	return env
}

// startRelayAgent runs pitstop agent with args plus a ready file.
func startRelayAgent(t *testing.T, args ...string) *agentRun {
	t.Helper()
	return startRelayAgentEnv(t, nil, args...)
}

// startRelayAgentEnv is startRelayAgent with variables added to
// agentEnv.
func startRelayAgentEnv(t *testing.T, env map[string]string, args ...string) *agentRun {
	t.Helper()
	a := &agentRun{ready: filepath.Join(t.TempDir(), "ready.json"), stdout: &testutil.Buffer{}, stderr: &testutil.Buffer{}, done: make(chan struct{})}
	a.cmd = exec.Command(pitstopBin, append([]string{"agent", "--ready-file", a.ready}, args...)...)
	a.cmd.Env = withEnv(agentEnv(), env)
	a.cmd.Stdout, a.cmd.Stderr = a.stdout, a.stderr
	a.start = time.Now()
	if err := a.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { a.err = a.cmd.Wait(); close(a.done) }()
	t.Cleanup(func() {
		a.cmd.Process.Signal(syscall.SIGTERM) //nolint:errcheck // it may have exited
		select {
		case <-a.done:
		case <-time.After(15 * time.Second):
			a.cmd.Process.Kill() //nolint:errcheck // stuck
			t.Errorf("the agent did not exit within 15s of SIGTERM\n%s", a.stderr)
		}
	})
	return a
}

// waitExit waits for the agent to exit and returns its exit code.
func (a *agentRun) waitExit(t *testing.T, limit time.Duration) int {
	t.Helper()
	select {
	case <-a.done:
	case <-time.After(limit):
		t.Fatalf("the agent did not exit within %v\n%s", limit, a.stderr)
	}
	var exit *exec.ExitError
	if errors.As(a.err, &exit) {
		return exit.ExitCode()
	}
	if a.err != nil {
		t.Fatal(a.err)
	}
	return 0
}

// readReady waits until the ready file exists and satisfies ok.
func (a *agentRun) readReady(t *testing.T, limit time.Duration, ok func(wire.Ready) bool) wire.Ready {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		r, err := wire.LoadReady(a.ready)
		if err == nil && (ok == nil || ok(*r)) {
			return *r
		}
		if err != nil && !errors.Is(err, wire.ErrNotReady) {
			t.Fatal(err)
		}
		select {
		case <-a.done:
			t.Fatalf("the agent exited (%v) before it was ready\n%s", a.err, a.stderr)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no (new) ready file within %v\n%s", limit, a.stderr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// userSSH runs the printed ssh command (through the relay, with -J) as
// the holder of key, with strict host key checking at both hops: the
// relay's key and the agent's line from the ready file. An ssh_config
// rather than -o options, because ssh passes -F, but not -o or -i, on to
// the jump hop.
func userSSH(t *testing.T, ctx context.Context, r wire.Ready, relay *relayHost, key keyPair, command ...string) *exec.Cmd {
	t.Helper()
	dir := t.TempDir()
	kh := filepath.Join(dir, "known_hosts")
	if err := os.WriteFile(kh, []byte(relay.knownHosts()+"\n"+r.KnownHosts+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "ssh_config")
	conf := fmt.Sprintf("Host *\n  IdentityFile %s\n  IdentitiesOnly yes\n  IdentityAgent none\n  UserKnownHostsFile %s\n"+
		"  GlobalKnownHostsFile /dev/null\n  StrictHostKeyChecking yes\n  BatchMode yes\n  ConnectTimeout 5\n", key.private, kh)
	if err := os.WriteFile(cfg, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	words := strings.Fields(r.SSHCommand)
	if len(words) == 0 || words[0] != "ssh" {
		t.Fatalf("ssh_command %q does not start with ssh", r.SSHCommand)
	}
	args := append([]string{"-F", cfg}, words[1:]...)
	cmd := exec.CommandContext(ctx, tool(t, "ssh", "apt-get install openssh-client"), append(args, command...)...)
	cmd.Env = agentEnv()
	return cmd
}

// relaySetup is a relay, the agent's key on it, the actor whose key the
// agent admits, and a stranger who may use the relay but not the agent.
type relaySetup struct {
	relay                     *relayHost
	agentKey, actor, stranger keyPair
	knownHosts                string // file with the relay's host key
}

func newRelaySetup(t *testing.T, extra ...string) *relaySetup {
	t.Helper()
	return newRelaySetupFor(t, "", extra...)
}

// newRelaySetupFor is newRelaySetup with other authorized_keys options
// for the users.
func newRelaySetupFor(t *testing.T, userOptions string, extra ...string) *relaySetup {
	t.Helper()
	s := &relaySetup{agentKey: newKeyPair(t, "agent_relay"), actor: newKeyPair(t, "alice"), stranger: newKeyPair(t, "mallory")}
	if userOptions == "" {
		userOptions = readRelayReadme(t).userOpt
	}
	s.relay = startRelay(t, []string{
		readRelayReadme(t).agentOptions + " " + s.agentKey.public,
		userOptions + " " + s.actor.public,
		userOptions + " " + s.stranger.public,
	}, extra...)
	s.knownHosts = filepath.Join(t.TempDir(), "relay_known_hosts")
	if err := os.WriteFile(s.knownHosts, []byte(s.relay.knownHosts()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return s
}

// agentArgs are the flags for an agent reached through s.relay that
// admits the actor.
func (s *relaySetup) agentArgs(t *testing.T, extra ...string) []string {
	t.Helper()
	return relayAgentArgs(t, s.actor, []string{"--relay", "root@" + s.relay.address(), "--relay-key", s.agentKey.private, "--relay-known-hosts", s.knownHosts}, extra...)
}

// relayAgentArgs are the flags for an agent reached through a relay,
// which relay names, that admits actor alone, with time to spare for
// slow machines; extra come last.
func relayAgentArgs(t *testing.T, actor keyPair, relay []string, extra ...string) []string {
	t.Helper()
	actorKeys := filepath.Join(t.TempDir(), "actor.pub")
	if err := os.WriteFile(actorKeys, []byte(actor.public+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	args := append(slices.Clip(relay), "--authorized-keys", actorKeys, "--wait-timeout", "5m", "--max-duration", "10m", "--reconnect-grace", "5m")
	return append(args, extra...)
}
