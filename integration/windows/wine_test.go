//go:build linux

package windows

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pitstopci/pitstop/internal/testutil"
)

// wine64 is Debian's wine loader, installed by .ci/wine-setup.
const wine64 = "/usr/lib/wine/wine64"

// bins are built once by TestMain: GOOS=windows pitstop.exe and probe.exe.
var bins struct{ dir, pitstop, probe string }

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "pitstop-wine-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	bins.dir = dir
	bins.pitstop = filepath.Join(dir, "pitstop.exe")
	bins.probe = filepath.Join(dir, "probe.exe")
	for out, pkg := range map[string]string{bins.pitstop: "../../cmd/pitstop", bins.probe: "./testdata/probe"} {
		cmd := exec.Command("go", "build", "-o", out, pkg)
		cmd.Env = append(os.Environ(), "GOOS=windows", "GOARCH=amd64", "CGO_ENABLED=0")
		if b, err := cmd.CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "build %s for windows: %v\n%s", pkg, err, b)
			os.Exit(1)
		}
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// winePrefix is the prefix .ci/wine-setup prepared.
func winePrefix(t *testing.T) string {
	t.Helper()
	p := os.Getenv("PITSTOP_WINEPREFIX")
	if p == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			t.Fatal(err)
		}
		p = filepath.Join(home, ".cache", "pitstop", "wine")
	}
	dll := filepath.Join(p, "drive_c", "windows", "system32", "bcryptprimitives.dll")
	if _, err := os.Stat(wine64); err != nil {
		t.Fatalf("wine is not installed (%v): run .ci/wine-setup", err)
	}
	if _, err := os.Stat(dll); err != nil {
		t.Fatalf("the wine prefix has no ProcessPrng shim (%v): run .ci/wine-setup", err)
	}
	return p
}

// winPath is a Linux path as wine's programs see it: on drive Z:.
func winPath(p string) string { return `Z:` + strings.ReplaceAll(p, "/", `\`) }

// agent is a pitstop.exe agent running under wine.
type agent struct {
	t         *testing.T
	cmd       *exec.Cmd
	log       *testutil.Buffer
	done      chan struct{}
	dir       string // the job's temporary files: keys, ready file, GITHUB_ENV
	workspace string // GITHUB_WORKSPACE
	key       string // the private key that may log in
	port      int
}

// startAgent starts pitstop.exe agent under wine with args added, a
// workspace and a step environment, and waits until it listens.
func startAgent(t *testing.T, args ...string) *agent {
	t.Helper()
	return startAgentEnv(t, nil, args...)
}

// startAgentEnv is startAgent with env added to wine's environment.
func startAgentEnv(t *testing.T, env []string, args ...string) *agent {
	t.Helper()
	prefix := winePrefix(t)
	dir := t.TempDir()
	a := &agent{t: t, dir: dir, workspace: filepath.Join(dir, "ws"), key: filepath.Join(dir, "id")}
	if err := os.Mkdir(a.workspace, 0o755); err != nil {
		t.Fatal(err)
	}
	if b, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", a.key).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v\n%s", err, b)
	}
	for _, f := range []string{"github_env", "github_path"} {
		if err := os.WriteFile(filepath.Join(dir, f), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ready := filepath.Join(dir, "ready.json")
	argv := append([]string{bins.pitstop, "agent", "--listen", "127.0.0.1:0",
		"--authorized-keys", winPath(a.key + ".pub"), "--ready-file", winPath(ready),
		"--wait-timeout", "2m", "--reconnect-grace", "2m"}, args...)
	a.cmd = exec.Command(wine64, argv...)
	a.cmd.Env = append(os.Environ(), "WINEPREFIX="+prefix, "WINEDEBUG=-all",
		"WINEDLLOVERRIDES=bcryptprimitives=n,b",
		"GITHUB_WORKSPACE="+winPath(a.workspace),
		"GITHUB_ENV="+winPath(filepath.Join(dir, "github_env")),
		"GITHUB_PATH="+winPath(filepath.Join(dir, "github_path")))
	a.cmd.Env = append(a.cmd.Env, env...)
	a.log = &testutil.Buffer{}
	a.cmd.Stdout, a.cmd.Stderr = a.log, a.log
	if err := a.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	a.done = make(chan struct{})
	go func() { a.cmd.Wait(); close(a.done) }() //nolint:errcheck // the log says why
	t.Cleanup(func() {
		a.cmd.Process.Kill() //nolint:errcheck // it may have ended
		<-a.done
		if t.Failed() {
			t.Logf("agent log:\n%s", a.log)
		}
	})
	// The ready file is written once the agent listens; wine's first
	// start of a prefix can take a while.
	deadline := time.Now().Add(90 * time.Second)
	for {
		b, err := os.ReadFile(ready)
		var r struct{ Port int }
		if err == nil && json.Unmarshal(b, &r) == nil && r.Port != 0 {
			a.port = r.Port
			return a
		}
		select {
		case <-a.done:
			t.Fatalf("the agent exited before it listened:\n%s", a.log)
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("no ready file after 90s:\n%s", a.log)
		}
	}
}

// sshArgs are the OpenSSH client's options to log in to the agent.
func (a *agent) sshArgs(extra ...string) []string {
	return append([]string{"-i", a.key, "-o", "IdentitiesOnly=yes", "-o", "StrictHostKeyChecking=no",
		"-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR", "-o", "BatchMode=yes"}, extra...)
}

// clientTimeout bounds each run of a client (ssh, scp, sftp, a test
// binary under wine) by these tests: one that hangs fails its test, with
// what it printed, not the whole package at its timeout.
const clientTimeout = 3 * time.Minute

// command is exec.Command, killed once clientTimeout has passed.
func command(t *testing.T, name string, args ...string) *exec.Cmd {
	ctx, cancel := context.WithTimeout(context.Background(), clientTimeout)
	t.Cleanup(cancel)
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.WaitDelay = 5 * time.Second // a child holding the output open
	return cmd
}

// ssh runs the OpenSSH client against the agent with args after the host.
func (a *agent) ssh(args ...string) (string, int) {
	a.t.Helper()
	argv := append(a.sshArgs("-p", fmt.Sprint(a.port), "runner@127.0.0.1"), args...)
	out, err := command(a.t, "ssh", argv...).CombinedOutput()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		a.t.Fatalf("ssh: %v", err)
	}
	return string(out), code
}

// waitEnd waits for the agent to end, as the pause's end makes it.
func (a *agent) waitEnd(within time.Duration) {
	a.t.Helper()
	select {
	case <-a.done:
	case <-time.After(within):
		a.t.Fatalf("the agent still runs %s later:\n%s", within, a.log)
	}
}
