//go:build unix

package main

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"github.com/pitstopci/pitstop/internal/testutil"
	"github.com/pitstopci/pitstop/internal/wire"
)

// benchActor is the user the agent takes for the one who triggered the
// run; the local API server publishes the bench's user key for it.
const benchActor = "octobench"

// lab is everything both servers share: a work directory, the client's
// key and configuration, and the stand-in GitHub API.
type lab struct {
	dir        string
	root       string // the module's directory
	bin        string // pitstop, built as `go build` does by default
	releaseBin string // pitstop, built as a release is
	user       string // login name on both servers
	ssh, sftp  string // the OpenSSH client programs
	scp        string
	userKey    string // private key file
	userPub    string // its authorized_keys line
	api        *httptest.Server
	apiURL     string
	sshConfig  string // ssh_config used by every client run
	knownHosts string
}

// newLab builds pitstop twice, makes the user key and starts the API.
func newLab(dir, root string) (*lab, error) {
	l := &lab{dir: dir, root: root}
	u, err := user.Current()
	if err != nil {
		return nil, fmt.Errorf("look up current user: %w", err)
	}
	l.user = u.Username
	for _, p := range []struct {
		dst     *string
		name    string
		install string
	}{{&l.ssh, "ssh", "openssh-client"}, {&l.sftp, "sftp", "openssh-client"}, {&l.scp, "scp", "openssh-client"}} {
		if *p.dst, err = exec.LookPath(p.name); err != nil {
			return nil, fmt.Errorf("find %s (apt-get install %s, or run task system): %w", p.name, p.install, err)
		}
	}
	l.bin = filepath.Join(dir, "pitstop")
	l.releaseBin = filepath.Join(dir, "pitstop-release")
	if err := l.build(l.bin); err != nil {
		return nil, err
	}
	if err := l.build(l.releaseBin, "-trimpath", "-ldflags=-s -w"); err != nil {
		return nil, err
	}
	if l.userKey, l.userPub, err = writeKey(dir, "user_ed25519"); err != nil {
		return nil, err
	}
	l.startAPI()
	l.knownHosts = filepath.Join(dir, "known_hosts")
	l.sshConfig = filepath.Join(dir, "ssh_config")
	// Everything that could differ between two runs of the client is
	// pinned, so the servers are the only difference. The key exchange is
	// one both servers offer (sshd would otherwise pick a post-quantum
	// hybrid the agent does not have with this client).
	conf := "Host *\n" +
		"  HostName 127.0.0.1\n" +
		"  User " + l.user + "\n" +
		"  IdentityFile " + l.userKey + "\n" +
		"  IdentitiesOnly yes\n" +
		"  IdentityAgent none\n" +
		"  UserKnownHostsFile " + l.knownHosts + "\n" +
		"  GlobalKnownHostsFile /dev/null\n" +
		"  StrictHostKeyChecking yes\n" +
		"  UpdateHostKeys no\n" +
		"  BatchMode yes\n" +
		"  ConnectTimeout 10\n" +
		"  ControlMaster no\n" +
		"  ControlPath none\n" +
		"  Compression no\n" +
		"  KexAlgorithms curve25519-sha256\n" +
		"  HostKeyAlgorithms ssh-ed25519\n" +
		"  LogLevel ERROR\n"
	if err := os.WriteFile(l.sshConfig, []byte(conf), 0o600); err != nil {
		return nil, fmt.Errorf("write ssh_config: %w", err)
	}
	return l, nil
}

func (l *lab) close() {
	if l.api != nil {
		l.api.Close()
	}
}

// build compiles ./cmd/pitstop into out with extra flags.
func (l *lab) build(out string, flags ...string) error {
	args := append([]string{"build", "-buildvcs=false", "-o", out}, flags...)
	cmd := exec.Command("go", append(args, "./cmd/pitstop")...)
	cmd.Dir = l.root
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("build pitstop %v: %w\n%s", flags, err, b)
	}
	return nil
}

// startAPI serves GET /users/{user}/keys as GitHub does, under a path
// prefix as on GitHub Enterprise Server, with the user key for benchActor.
func (l *lab) startAPI() {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v3/users/{user}/keys", func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("user") != benchActor {
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprint(w, `{"message":"Not Found"}`)
			return
		}
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		json.NewEncoder(w).Encode([]map[string]any{{"id": 1, "key": l.userPub}}) //nolint:errcheck // the agent reports a short answer
	})
	l.api = httptest.NewServer(mux)
	l.apiURL = l.api.URL + "/api/v3"
}

// writeKey writes a new ed25519 key pair as dir/name and dir/name.pub and
// returns the private key's path and the public key's authorized_keys line.
func writeKey(dir, name string) (string, string, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return "", "", fmt.Errorf("generate %s: %w", name, err)
	}
	block, err := gossh.MarshalPrivateKey(priv, name)
	if err != nil {
		return "", "", fmt.Errorf("marshal %s: %w", name, err)
	}
	sshPub, err := gossh.NewPublicKey(pub)
	if err != nil {
		return "", "", fmt.Errorf("wrap %s: %w", name, err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, pem.EncodeToMemory(block), 0o600); err != nil {
		return "", "", fmt.Errorf("write %s: %w", name, err)
	}
	line := strings.TrimSpace(string(gossh.MarshalAuthorizedKey(sshPub)))
	if err := os.WriteFile(path+".pub", []byte(line+"\n"), 0o644); err != nil {
		return "", "", fmt.Errorf("write %s.pub: %w", name, err)
	}
	return path, line, nil
}

// server is one of the two SSH servers under test.
type server struct {
	name string // "pitstop" or "sshd"
	port int
	cmd  *exec.Cmd
	log  string // file with its output
	done chan struct{}
	// readyAfter is, for an agent, the time from just before its start
	// to its ready file.
	readyAfter time.Duration
	// For an agent reached through a relay: what ssh -J takes, the host
	// name behind it, and the ssh_config for both hops.
	jump, alias, config string
	// control is its control socket, for pitstop status.
	control string
}

// pid is the process to watch: the agent itself, or sshd's listener.
func (s *server) pid() int { return s.cmd.Process.Pid }

// stop ends the server: SIGTERM, then SIGKILL if it lingers.
func (s *server) stop() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	s.cmd.Process.Signal(syscall.SIGTERM) //nolint:errcheck // it may have exited
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
		s.cmd.Process.Kill() //nolint:errcheck // stuck
		<-s.done
	}
}

// agentArgs are the flags of every agent the bench starts: it waits, and
// holds, long enough for the whole run.
func (l *lab) agentArgs(ready string) []string {
	return []string{"agent",
		"--listen", "127.0.0.1:0", "--advertise-host", "127.0.0.1",
		"--ready-file", ready,
		"--api-url", l.apiURL,
		"--wait-timeout", "3h", "--max-duration", "3h", "--reconnect-grace", "3h",
		"--log-format", "json",
	}
}

// agentEnv is the bench's environment outside any CI, with benchActor as
// the user who triggered the run.
func agentEnv() []string {
	env := []string{"GITHUB_ACTOR=" + benchActor}
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "GITHUB_") || strings.HasPrefix(k, "RUNNER_") || strings.HasPrefix(k, "PITSTOP_") ||
			k == "ACT" || k == "CI" {
			continue
		}
		env = append(env, kv)
	}
	return env
}

// startAgent runs `pitstop agent` and returns once its ready file exists.
func (l *lab) startAgent(name string) (*server, error) {
	ready := filepath.Join(l.dir, name+".ready.json")
	os.Remove(ready)
	s := &server{name: "pitstop", log: filepath.Join(l.dir, name+".log"), done: make(chan struct{})}
	logf, err := os.Create(s.log)
	if err != nil {
		return nil, fmt.Errorf("create agent log: %w", err)
	}
	defer logf.Close()
	s.cmd = exec.Command(l.bin, l.agentArgs(ready)...)
	s.cmd.Env = agentEnv()
	s.cmd.Stdout, s.cmd.Stderr = logf, logf
	started := time.Now()
	if err := s.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start agent: %w", err)
	}
	go func() { s.cmd.Wait(); close(s.done) }() //nolint:errcheck // its log says why
	if err := waitFile(ready, s.done, 30*time.Second); err != nil {
		s.stop()
		return nil, fmt.Errorf("agent: %w (log: %s)", err, tail(s.log))
	}
	s.readyAfter = time.Since(started)
	doc, err := wire.ReadReady(ready)
	if err != nil {
		s.stop()
		return nil, err
	}
	s.port = doc.Port
	return s, l.addKnownHost(doc.KnownHosts)
}

// waitFile polls for path every millisecond: the agent writes its ready
// file atomically, so once it exists it is complete.
func waitFile(path string, exited <-chan struct{}, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		if _, err := os.Stat(path); err == nil {
			return nil
		}
		select {
		case <-exited:
			return errors.New("exited before it was ready")
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not ready within %v", limit)
		}
		time.Sleep(time.Millisecond)
	}
}

func (l *lab) addKnownHost(line string) error {
	f, err := os.OpenFile(l.knownHosts, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("open known_hosts: %w", err)
	}
	defer f.Close()
	if _, err := fmt.Fprintln(f, line); err != nil {
		return fmt.Errorf("write known_hosts: %w", err)
	}
	return nil
}

// startSSHD runs OpenSSH's sshd on a free port of 127.0.0.1 with its own
// configuration, the same user key authorized, and returns once it greets.
func (l *lab) startSSHD() (*server, error) {
	// sshd re-executes itself and so needs its absolute path.
	const sshd = "/usr/sbin/sshd"
	if _, err := os.Stat(sshd); err != nil {
		return nil, fmt.Errorf("find sshd (apt-get install openssh-server, or run task system): %w", err)
	}
	if os.Geteuid() == 0 {
		// Its privilege separation directory, which the package creates
		// only at boot.
		if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
			return nil, fmt.Errorf("create /run/sshd: %w", err)
		}
	}
	hostKey, hostPub, err := writeKey(l.dir, "sshd_host_ed25519")
	if err != nil {
		return nil, err
	}
	ak := filepath.Join(l.dir, "authorized_keys")
	if err := os.WriteFile(ak, []byte(l.userPub+"\n"), 0o600); err != nil {
		return nil, fmt.Errorf("write authorized_keys: %w", err)
	}
	port, err := testutil.PickPort()
	if err != nil {
		return nil, err
	}
	sftpServer := "internal-sftp"
	if _, err := os.Stat("/usr/lib/openssh/sftp-server"); err == nil {
		sftpServer = "/usr/lib/openssh/sftp-server" // what Debian's own config runs
	}
	conf := strings.Join([]string{
		"Port " + strconv.Itoa(port),
		"ListenAddress 127.0.0.1",
		"HostKey " + hostKey,
		"AuthorizedKeysFile " + ak,
		"PidFile " + filepath.Join(l.dir, "sshd.pid"),
		// The bench's files live in a temp dir others may read.
		"StrictModes no",
		"UsePAM no",
		"PermitRootLogin prohibit-password",
		"PasswordAuthentication no",
		"KbdInteractiveAuthentication no",
		"PrintMotd no",
		"PrintLastLog no",
		"Subsystem sftp " + sftpServer,
	}, "\n") + "\n"
	cfg := filepath.Join(l.dir, "sshd_config")
	if err := os.WriteFile(cfg, []byte(conf), 0o600); err != nil {
		return nil, fmt.Errorf("write sshd_config: %w", err)
	}
	if out, err := exec.Command(sshd, "-t", "-f", cfg).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("sshd -t: %w\n%s", err, out)
	}
	s := &server{name: "sshd", port: port, log: filepath.Join(l.dir, "sshd.log"), done: make(chan struct{})}
	logf, err := os.Create(s.log)
	if err != nil {
		return nil, fmt.Errorf("create sshd log: %w", err)
	}
	defer logf.Close()
	s.cmd = exec.Command(sshd, "-D", "-e", "-f", cfg)
	s.cmd.Stdout, s.cmd.Stderr = logf, logf
	if err := s.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start sshd: %w", err)
	}
	go func() { s.cmd.Wait(); close(s.done) }() //nolint:errcheck // its log says why
	if err := waitGreeting(port, s.done); err != nil {
		s.stop()
		return nil, fmt.Errorf("sshd: %w (log: %s)", err, tail(s.log))
	}
	return s, l.addKnownHost(fmt.Sprintf("[127.0.0.1]:%d %s", port, hostPub))
}

// waitGreeting waits until the port answers with an SSH banner.
func waitGreeting(port int, exited <-chan struct{}) error {
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	deadline := time.Now().Add(10 * time.Second)
	for {
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.SetDeadline(time.Now().Add(2 * time.Second)) //nolint:errcheck // a failed read retries
			line, _ := bufio.NewReader(c).ReadString('\n')
			c.Close()
			if strings.HasPrefix(line, "SSH-2.0-") {
				return nil
			}
		}
		select {
		case <-exited:
			return errors.New("exited before it answered")
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no answer on %s within 10s", addr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// tail is the end of a log file, for error messages.
func tail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return strings.TrimSpace(string(b))
}

// sshCmd is the OpenSSH client for srv with cipher forced (none when
// cipher is "": the client's and the server's defaults decide), running
// the remote command (the login shell if it is "") with the options
// before it ("-tt").
func (l *lab) sshCmd(ctx context.Context, srv *server, cipher, remote string, opts ...string) *exec.Cmd {
	opts = append(cipherFlag(cipher), opts...)
	args := append([]string{"-F", l.sshConfig, "-p", strconv.Itoa(srv.port)}, opts...)
	host := "127.0.0.1"
	if srv.jump != "" {
		args = append([]string{"-F", srv.config, "-J", srv.jump}, opts...)
		host = srv.alias
	}
	args = append(args, host)
	if remote != "" { // none: the login shell
		args = append(args, remote)
	}
	cmd := exec.CommandContext(ctx, l.ssh, args...)
	cmd.Env = os.Environ()
	return cmd
}

// cipherFlag is the OpenSSH clients' option forcing cipher, if any.
func cipherFlag(cipher string) []string {
	if cipher == "" {
		return nil
	}
	return []string{"-c", cipher}
}

// run runs cmd and returns its stdout, with stderr in the error.
func run(cmd *exec.Cmd) (string, error) {
	var stdout, stderr strings.Builder
	if cmd.Stdout == nil {
		cmd.Stdout = &stdout
	}
	cmd.Stderr = &stderr
	err := cmd.Run()
	if err != nil {
		return stdout.String(), fmt.Errorf("%s: %w: %s", strings.Join(cmd.Args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}

// discard is /dev/null opened for writing, so that a client's output goes
// nowhere without passing through this process.
func discard() (*os.File, error) {
	f, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", os.DevNull, err)
	}
	return f, nil
}

// command is exec.CommandContext with this process's environment.
func command(ctx context.Context, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = os.Environ()
	return cmd
}
