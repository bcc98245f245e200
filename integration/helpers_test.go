//go:build unix

package integration

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"
	gossh "golang.org/x/crypto/ssh"

	"github.com/pitstopci/pitstop/internal/testutil"
)

// Set by TestMain before any test runs.
var (
	// pitstopBin is the pitstop binary built from this checkout.
	pitstopBin string
	// sourceRoot is the root of this checkout (the module directory).
	sourceRoot string
)

// buildPitstop builds ./cmd/pitstop into dir and sets pitstopBin and
// sourceRoot. -buildvcs=false: the tests run in checkouts without commits
// and with HOME changed, where VCS stamping fails.
func buildPitstop(dir string) error {
	root, err := filepath.Abs("..")
	if err != nil {
		return fmt.Errorf("find source root: %w", err)
	}
	bin := filepath.Join(dir, "pitstop")
	if runtime.GOOS == "windows" {
		bin += ".exe"
	}
	cmd := exec.Command("go", "build", "-buildvcs=false", "-o", bin, "./cmd/pitstop")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("build pitstop: %w\n%s", err, out)
	}
	pitstopBin, sourceRoot = bin, root
	return nil
}

// static holds the static build made by staticPitstop.
var static struct {
	once sync.Once
	bin  string
	err  error
}

// staticPitstop returns a pitstop built with CGO_ENABLED=0 for Linux, as
// an image without glibc (busybox, alpine) needs. It is built on first
// use, once per test binary, next to pitstopBin (TestMain removes both):
// only the container tests need it, and a build takes a while.
func staticPitstop(t *testing.T) string {
	t.Helper()
	static.once.Do(func() {
		dir := filepath.Join(filepath.Dir(pitstopBin), "static")
		if err := os.Mkdir(dir, 0o755); err != nil {
			static.err = err
			return
		}
		bin := filepath.Join(dir, "pitstop")
		cmd := exec.Command("go", "build", "-buildvcs=false", "-o", bin, "./cmd/pitstop")
		cmd.Dir = sourceRoot
		cmd.Env = withEnv(os.Environ(), map[string]string{"CGO_ENABLED": "0", "GOOS": "linux"})
		if out, err := cmd.CombinedOutput(); err != nil {
			static.err = fmt.Errorf("static build: %w\n%s", err, out)
			return
		}
		static.bin = bin
	})
	if static.err != nil {
		t.Fatal(static.err)
	}
	return static.bin
}

// tool returns the path of a program the tests run for real, or fails
// the test saying how to install it. A missing tool is never a skip.
func tool(t *testing.T, name, install string, also ...string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	for _, p := range also {
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
			return p
		}
	}
	t.Fatalf("%s is not installed (not on PATH); install it with: %s", name, install)
	return ""
}

// goEnv returns the values of Go environment variables as `go env` has
// them for this user, e.g. GOCACHE, so that a test that changes HOME can
// keep using the same caches.
func goEnv(t *testing.T, names ...string) map[string]string {
	t.Helper()
	out, err := exec.Command("go", append([]string{"env"}, names...)...).Output()
	if err != nil {
		t.Fatalf("go env: %v", err)
	}
	lines := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
	if len(lines) != len(names) {
		t.Fatalf("go env %v printed %d lines", names, len(lines))
	}
	m := map[string]string{}
	for i, n := range names {
		m[n] = lines[i]
	}
	return m
}

// withEnv returns env with each KEY=VALUE of set replacing any earlier
// value, and the variables in unset removed.
func withEnv(env []string, set map[string]string, unset ...string) []string {
	drop := map[string]bool{}
	for _, k := range unset {
		drop[k] = true
	}
	for k := range set {
		drop[k] = true
	}
	var out []string
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		if !drop[k] {
			out = append(out, kv)
		}
	}
	for k, v := range set {
		out = append(out, k+"="+v)
	}
	return out
}

// stopProcess ends a process a failing test leaves running: first with an
// interrupt, which pitstop act passes on to act so that the job is
// cancelled and act cleans up after itself, then, if that does not do, with
// a kill. exited is closed once the process has been waited for.
func stopProcess(cmd *exec.Cmd, exited <-chan struct{}) {
	select {
	case <-exited:
		return
	default:
	}
	_ = cmd.Process.Signal(os.Interrupt)
	select {
	case <-exited:
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		<-exited
	}
}

// writeKey writes a new ed25519 key pair as dir/name and dir/name.pub, in
// OpenSSH formats, and returns the private key's path.
func writeKey(t *testing.T, dir, name, comment string) string {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := gossh.MarshalPrivateKey(priv, comment)
	if err != nil {
		t.Fatal(err)
	}
	sshPub, err := gossh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	authorized := strings.TrimSpace(string(gossh.MarshalAuthorizedKey(sshPub))) + " " + comment + "\n"
	if err := os.WriteFile(path+".pub", []byte(authorized), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// actionCopy copies the action's scripts into a fresh tree laid out like
// the action's repository (DIR/agent/action/*.sh) and returns DIR/agent/action.
func actionCopy(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "agent", "action")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"install.sh", "agent.sh", "outputs.sh", "detached.sh", "hold.sh"} {
		b, err := os.ReadFile(filepath.Join(sourceRoot, "agent", "action", name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// runScript runs one of the action's scripts with bash and env (plus a
// GITHUB_OUTPUT file and a RUNNER_TEMP), and returns its combined output,
// exit error and the step outputs it wrote.
func runScript(t *testing.T, script string, env map[string]string) (string, error, map[string]string) {
	t.Helper()
	tmp := t.TempDir()
	outputs := filepath.Join(tmp, "github_output")
	base := map[string]string{"GITHUB_OUTPUT": outputs, "RUNNER_TEMP": tmp}
	for k, v := range env {
		base[k] = v
	}
	// The scripts act on every PITSTOP_* variable, so none may leak in from
	// the environment the tests run in (CI sets PITSTOP_WORKFLOW_CORPUS).
	var outer []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PITSTOP_") {
			outer = append(outer, kv)
		}
	}
	// sh, as action.yml runs them: the scripts must do with POSIX sh, which
	// is all a job container may have.
	cmd := exec.Command(tool(t, "sh", "apt-get install dash"), script)
	cmd.Env = withEnv(outer, base)
	out, err := cmd.CombinedOutput()
	got := map[string]string{}
	if b, rerr := os.ReadFile(outputs); rerr == nil {
		for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			if k, v, ok := strings.Cut(line, "="); ok {
				got[k] = v
			}
		}
	}
	return string(out), err, got
}

// onTerminal is a pitstop command whose stdin and stdout are a terminal
// (a pty), so it behaves as it does for a person at one, with its stderr
// kept apart.
type onTerminal struct {
	term           *os.File         // the terminal's other end: type here
	screen, stderr *testutil.Buffer // what it printed to each
	done           chan error       // receives cmd.Wait's result
}

// startOnTerminal starts cmd on a new terminal. When the test ends the
// terminal is closed and the command stopped; a failed test logs both of
// its outputs.
func startOnTerminal(t *testing.T, cmd *exec.Cmd) *onTerminal {
	t.Helper()
	r := &onTerminal{screen: &testutil.Buffer{}, stderr: &testutil.Buffer{}, done: make(chan error, 1)}
	cmd.Stderr = r.stderr
	term, err := pty.Start(cmd)
	if err != nil {
		t.Fatal(err)
	}
	r.term = term
	go func() { _, _ = io.Copy(r.screen, term) }()
	exited := make(chan struct{})
	go func() {
		r.done <- cmd.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		term.Close()
		stopProcess(cmd, exited)
		if t.Failed() {
			t.Logf("stderr:\n%s\nterminal:\n%s", r.stderr.String(), r.screen.String())
		}
	})
	return r
}
