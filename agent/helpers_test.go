package agent

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	gossh "golang.org/x/crypto/ssh"

	"github.com/pitstopci/pitstop/agent/clock"
	"github.com/pitstopci/pitstop/agent/control"
	"github.com/pitstopci/pitstop/agent/term"
	"github.com/pitstopci/pitstop/internal/ghfake"
	"github.com/pitstopci/pitstop/internal/testutil"
)

// TestMain lets the test binary stand in for the pitstop command inside
// sessions (through a symlink named "pitstop" in Config.BinDir), so tests
// run "pitstop continue" in a session the way users do.
func TestMain(m *testing.M) {
	// On Windows, consoles' programs start through this binary.
	term.RunConsoleHelper(os.Args)
	if filepath.Base(os.Args[0]) == "pitstop" {
		os.Exit(fakePitstop(os.Args[1:]))
	}
	os.Exit(m.Run())
}

// fakePitstop is the control half of the pitstop command line, built on
// the same client functions cmd/pitstop uses.
func fakePitstop(args []string) int {
	ctx := context.Background()
	socket := os.Getenv(control.SocketEnv)
	var st control.Status
	var err error
	switch {
	case len(args) == 1 && args[0] == "continue":
		st, err = control.Continue(ctx, socket)
	case len(args) == 2 && args[0] == "extend":
		var d time.Duration
		if d, err = time.ParseDuration(args[1]); err == nil {
			st, err = control.Extend(ctx, socket, d)
		}
	case len(args) == 1 && args[0] == "status":
		st, err = control.QueryStatus(ctx, socket)
	case len(args) >= 1 && args[0] == "attach":
		return fakeAttach(ctx, socket, args[1:])
	default:
		err = fmt.Errorf("usage: pitstop continue|extend D|status|attach [ID] [--read-only]")
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "pitstop:", err)
		return 1
	}
	json.NewEncoder(os.Stdout).Encode(st) //nolint:errcheck // test helper
	return 0
}

// fakeAttach is "pitstop attach [ID] [--read-only]".
func fakeAttach(ctx context.Context, socket string, args []string) int {
	var o control.AttachOptions
	o.From, _ = strconv.Atoi(os.Getenv(TerminalEnv))
	for _, a := range args {
		if a == "--read-only" {
			o.ReadOnly = true
		} else if o.Terminal, _ = strconv.Atoi(a); o.Terminal == 0 {
			fmt.Fprintf(os.Stderr, "pitstop: %q is not a terminal ID\n", a)
			return 2
		}
	}
	if err := control.RunAttach(ctx, socket, o, os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "pitstop:", err)
		return 1
	}
	return 0
}

// testUser is someone with an SSH key pair.
type testUser struct {
	name    string
	signer  gossh.Signer
	keyFile string // private key in OpenSSH format, for /usr/bin/ssh
}

func newTestUser(t *testing.T, name string) testUser {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := gossh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	block, err := gossh.MarshalPrivateKey(priv, name)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), name+"_ed25519")
	if err := os.WriteFile(file, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	return testUser{name: name, signer: signer, keyFile: file}
}

// authorizedLine is the user's public key as an authorized_keys line.
func (u testUser) authorizedLine() string {
	return strings.TrimSpace(string(gossh.MarshalAuthorizedKey(u.signer.PublicKey())))
}

// newFakeGitHub starts a fake GitHub API with users' keys published.
func newFakeGitHub(t *testing.T, users ...testUser) *ghfake.Server {
	t.Helper()
	f := ghfake.New(t, ghfake.Options{})
	for _, u := range users {
		f.AddKey(u.name, u.authorizedLine())
	}
	return f
}

// syncBuffer holds the agent's JSON log, safe for the logger's concurrent
// writes.
type syncBuffer struct{ testutil.Buffer }

// lines returns the JSON log entries.
func (b *syncBuffer) entries(t *testing.T) []map[string]any {
	t.Helper()
	return testutil.JSONLines(t, b.String())
}

// checkGoroutines fails the test if goroutines started during it are
// still running once its cleanups ran. Register it first: cleanups run
// last-in first-out, so it then runs after everything else.
func checkGoroutines(t *testing.T) {
	before := runtime.NumGoroutine()
	t.Cleanup(func() {
		if !eventually(5*time.Second, func() bool { return runtime.NumGoroutine() <= before }) {
			buf := make([]byte, 1<<20)
			n := runtime.Stack(buf, true)
			t.Errorf("goroutine leak: %d before the test, %d after\n%s", before, runtime.NumGoroutine(), buf[:n])
		}
	})
}

// harness is a running agent under test.
type harness struct {
	t         *testing.T
	cfg       Config
	ready     Ready
	logs      *syncBuffer
	done      chan error
	cancel    context.CancelFunc
	workspace string
	binDir    string // Config.BinDir, holding a "pitstop" that is this test binary
	stepBin   string // a PATH entry the step's environment has first, as from GITHUB_PATH
	summary   string // GITHUB_STEP_SUMMARY
	notices   *syncBuffer
	gh        *ghfake.Server
	alice     testUser // the triggering user
	// clock, when a test sets it with useFakeClock in startAgent's edit,
	// is the pause's time: its timeouts fire only when the test advances
	// it.
	clock *clock.Fake
}

// stepEnv is a real-looking GitHub Actions step environment.
func stepEnv(h *harness) []string {
	return []string{
		"PATH=" + h.stepBin + string(os.PathListSeparator) + os.Getenv("PATH"),
		"HOME=" + os.Getenv("HOME"),
		"GITHUB_ACTIONS=true",
		"RUNNER_ENVIRONMENT=github-hosted",
		"GITHUB_ACTOR=alice",
		"GITHUB_API_URL=" + h.gh.URL(),
		"GITHUB_SERVER_URL=https://github.example",
		"GITHUB_WORKFLOW=CI",
		"GITHUB_JOB=build",
		"GITHUB_WORKSPACE=" + h.workspace,
		"GITHUB_ENV=" + filepath.Join(h.workspace, "..", "env"),
		"GITHUB_PATH=" + filepath.Join(h.workspace, "..", "path"),
		"GITHUB_OUTPUT=" + filepath.Join(h.workspace, "..", "output"),
		"GITHUB_STEP_SUMMARY=" + h.summary,
		"FROM_GITHUB_ENV=set by an earlier step",
		"INPUT_GITHUB-TOKEN=input-secret",
		"PITSTOP_GITHUB_TOKEN=token-secret",
	}
}

// startAgent runs an agent for alice (whose key the fake GitHub serves)
// on 127.0.0.1 with test-sized timeouts, and waits until it is ready.
// edit may change the configuration first.
func startAgent(t *testing.T, edit func(*harness)) *harness {
	t.Helper()
	checkGoroutines(t)
	root := t.TempDir()
	h := &harness{
		t:         t,
		logs:      &syncBuffer{},
		notices:   &syncBuffer{},
		done:      make(chan error, 1),
		workspace: filepath.Join(root, "work", "repo"),
		binDir:    filepath.Join(root, "pitstop-bin"),
		stepBin:   filepath.Join(root, "step-bin"),
		summary:   filepath.Join(root, "summary.md"),
		alice:     newTestUser(t, "alice"),
	}
	for _, d := range []string{h.workspace, h.binDir, h.stepBin} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(exe, filepath.Join(h.binDir, "pitstop")); err != nil {
		t.Fatal(err)
	}
	h.gh = newFakeGitHub(t, h.alice)
	h.cfg = Config{
		Listen:         "127.0.0.1:0",
		Env:            stepEnv(h),
		BinDir:         h.binDir,
		ReadyFile:      filepath.Join(root, "ready.json"),
		WaitTimeout:    30 * time.Second,
		MaxDuration:    30 * time.Second,
		ReconnectGrace: 30 * time.Second,
		LookupTimeout:  5 * time.Second,
		Log:            zerolog.New(h.logs).With().Timestamp().Logger(),
		Annotations:    h.notices,
	}
	if edit != nil {
		edit(h)
	}
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	go func() { h.done <- Run(ctx, h.cfg) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-h.done:
		case <-time.After(10 * time.Second):
			t.Errorf("Run did not return within 10s of cancellation\nlog:\n%s", h.logs)
		}
	})
	var data []byte
	var runErr error
	returned := false
	if !eventually(10*time.Second, func() bool {
		if data, err = os.ReadFile(h.cfg.ReadyFile); err == nil {
			return true
		}
		select {
		case runErr = <-h.done:
			h.done <- runErr // for the cleanup
			returned = true
		default:
		}
		return returned
	}) {
		t.Fatalf("no ready file after 10s\nlog:\n%s", h.logs)
	}
	if returned {
		t.Fatalf("Run returned before it was ready: %v\nlog:\n%s", runErr, h.logs)
	}
	if err := json.Unmarshal(data, &h.ready); err != nil {
		t.Fatalf("ready file: %v\n%s", err, data)
	}
	return h
}

// waitEnd waits for Run to return and checks it returned nil (exit 0)
// for the given reason, within limit. Run returns once the clients have
// hung up, or after clientHangUp: tests close an x/crypto client whose
// sessions are over first, as OpenSSH does by itself.
func (h *harness) waitEnd(want EndReason, limit time.Duration) {
	h.t.Helper()
	select {
	case err := <-h.done:
		h.done <- err // for the cleanup
		if err != nil {
			h.t.Fatalf("Run returned %v; every normal end must return nil\nlog:\n%s", err, h.logs)
		}
	case <-time.After(limit):
		h.t.Fatalf("the pause did not end within %v (want %s)\nlog:\n%s", limit, want, h.logs)
	}
	if got := h.reason(); got != want {
		h.t.Fatalf("the pause ended with %q, want %q\nlog:\n%s", got, want, h.logs)
	}
}

// stillRunning fails the test if Run returns within d.
func (h *harness) stillRunning(d time.Duration) {
	h.t.Helper()
	select {
	case err := <-h.done:
		h.done <- err
		h.t.Fatalf("the pause ended early (%v, reason %q)\nlog:\n%s", err, h.reason(), h.logs)
	case <-time.After(d):
	}
}

// eventually is testutil.Eventually: the one place where the agent's
// tests sleep.
func eventually(within time.Duration, cond func() bool) bool {
	return testutil.Eventually(within, cond)
}

// waitStatus waits until the agent's status (from the control socket)
// satisfies cond, and returns it; what says what is awaited.
func (h *harness) waitStatus(what string, cond func(control.Status) bool) control.Status {
	h.t.Helper()
	var st control.Status
	var err error
	if !eventually(5*time.Second, func() bool {
		st, err = control.QueryStatus(context.Background(), h.ready.ControlSocket)
		return err == nil && cond(st)
	}) {
		h.t.Fatalf("%s: not within 5s (status %+v, error %v)\nlog:\n%s", what, st, err, h.logs)
	}
	return st
}

// useFakeClock, called from startAgent's edit, keeps the pause's time on
// a fake clock, h.clock, with the default timeouts (h.cfg says them): they
// run out only as the test advances the clock.
//
// Keepalives are off: a test that advances the clock by an hour at once
// fires every keepalive of that hour before any client could answer one,
// and real clients would be closed. keepalive_test.go turns them on.
func (h *harness) useFakeClock() {
	h.clock = useFakeClock(&h.cfg)
	h.cfg.WaitTimeout, h.cfg.MaxDuration, h.cfg.ReconnectGrace = DefaultWaitTimeout, DefaultMaxDuration, DefaultReconnectGrace
	h.cfg.ClientAliveInterval = -1
}

// waitDropped waits until the agent has counted the last connection's
// drop: it then waits the reconnect grace, which h.clock is advanced past.
func (h *harness) waitDropped() {
	h.t.Helper()
	st := h.waitStatus("the drop is counted", func(st control.Status) bool { return st.Connections == 0 && !st.WaitingUntil.IsZero() })
	if h.clock != nil {
		if want := h.clock.Now().Add(h.cfg.ReconnectGrace); !st.WaitingUntil.Equal(want) {
			h.t.Errorf("waiting for a reconnect until %v, want %v (the grace from now)", st.WaitingUntil, want)
		}
	}
}

// reason is the end reason the agent logged.
func (h *harness) reason() EndReason {
	for _, e := range h.logs.entries(h.t) {
		if r, ok := e["reason"].(string); ok {
			return EndReason(r)
		}
	}
	return ""
}

// logged reports whether some log entry has message msg.
func (h *harness) logged(msg string) bool {
	for _, e := range h.logs.entries(h.t) {
		if e["message"] == msg {
			return true
		}
	}
	return false
}

func (h *harness) hostKey() gossh.PublicKey {
	h.t.Helper()
	k, _, _, _, err := gossh.ParseAuthorizedKey([]byte(h.ready.HostKey))
	if err != nil {
		h.t.Fatal(err)
	}
	return k
}

// clientConfig is an x/crypto client config that pins the host key.
func (h *harness) clientConfig(auth ...gossh.AuthMethod) *gossh.ClientConfig {
	return &gossh.ClientConfig{
		User:            "runner",
		Auth:            auth,
		HostKeyCallback: gossh.FixedHostKey(h.hostKey()),
		Timeout:         5 * time.Second,
	}
}

// dial logs in as u with x/crypto/ssh.
func (h *harness) dial(u testUser) (*gossh.Client, error) {
	return gossh.Dial("tcp", h.ready.Address, h.clientConfig(gossh.PublicKeys(u.signer)))
}

func (h *harness) mustDial(u testUser) *gossh.Client {
	h.t.Helper()
	c, err := h.dial(u)
	if err != nil {
		h.t.Fatalf("log in as %s: %v\nlog:\n%s", u.name, err, h.logs)
	}
	h.t.Cleanup(func() { c.Close() })
	return c
}

// newSession opens a session on c or fails the test; the caller closes it.
func newSession(t *testing.T, c *gossh.Client) *gossh.Session {
	t.Helper()
	s, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// run runs command in a new exec session and returns its output and
// exit status.
func run(t *testing.T, c *gossh.Client, command string) (stdout, stderr string, status int) {
	t.Helper()
	s, err := c.NewSession()
	if err != nil {
		t.Fatalf("new session: %v", err)
	}
	defer s.Close()
	var out, errOut bytes.Buffer
	s.Stdout, s.Stderr = &out, &errOut
	err = s.Run(command)
	var exitErr *gossh.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exitErr):
		status = exitErr.ExitStatus()
	default:
		t.Fatalf("run %q: %v (stderr %q)", command, err, errOut.String())
	}
	return out.String(), errOut.String(), status
}

// openSSH returns the path of the OpenSSH client; it is part of the test
// suite's requirements, not optional.
func openSSH(t *testing.T) string {
	t.Helper()
	const path = "/usr/bin/ssh"
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("OpenSSH client not found at %s (%v); install it: apt-get install -y openssh-client", path, err)
	}
	return path
}

// sshArgs are the OpenSSH arguments to log in as the holder of keyFile,
// with strict host key checking against the ready file's known_hosts line
// and nothing from the machine's own configuration.
func (h *harness) sshArgs(keyFile string, extra ...string) []string {
	h.t.Helper()
	args := append(h.sshOptions(keyFile), "-p", strconv.Itoa(h.ready.Port), "runner@"+h.ready.Host)
	return append(args, extra...)
}

// sshOptions are the options of sshArgs without the port and the
// destination, which scp and sftp spell differently.
func (h *harness) sshOptions(keyFile string) []string {
	h.t.Helper()
	kh := filepath.Join(h.t.TempDir(), "known_hosts")
	if err := os.WriteFile(kh, []byte(h.ready.KnownHosts+"\n"), 0o600); err != nil {
		h.t.Fatal(err)
	}
	return []string{
		"-F", "/dev/null",
		"-o", "StrictHostKeyChecking=yes",
		"-o", "UserKnownHostsFile=" + kh,
		"-o", "GlobalKnownHostsFile=/dev/null",
		"-o", "IdentitiesOnly=yes",
		"-o", "IdentityAgent=none",
		"-o", "BatchMode=yes",
		"-o", "ConnectTimeout=5",
		"-i", keyFile,
	}
}

// useFakeClock makes cfg keep time by a new fake clock, the pause's timers
// and Now alike, and returns it.
func useFakeClock(cfg *Config) *clock.Fake {
	c := clock.NewFake()
	cfg.testClock, cfg.Now = c, c.Now
	return c
}
