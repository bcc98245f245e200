package integration

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
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

// syncBuffer collects the output of a running process for later checks.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
