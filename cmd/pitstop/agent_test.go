package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pitstopci/pitstop/agent"
	"github.com/pitstopci/pitstop/agent/control"
	"github.com/pitstopci/pitstop/internal/testutil"
	"github.com/pitstopci/pitstop/internal/wire"
)

func testIO(env map[string]string, stdin string) (*IO, *bytes.Buffer, *bytes.Buffer) {
	var out, errOut bytes.Buffer
	return &IO{
		In:     strings.NewReader(stdin),
		Out:    &out,
		Err:    &errOut,
		Getenv: func(k string) string { return env[k] },
	}, &out, &errOut
}

func TestAgentFlagsBecomeConfig(t *testing.T) {
	keyFile := filepath.Join(t.TempDir(), "keys.pub")
	fileKey, stdinKey, dataKey := testutil.SSHAuthorizedKey(t), testutil.SSHAuthorizedKey(t), testutil.SSHAuthorizedKey(t)
	if err := os.WriteFile(keyFile, []byte(fileKey+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	io, _, _ := testIO(map[string]string{"PITSTOP_GITHUB_TOKEN": "tok", "GITHUB_TOKEN": "other"}, stdinKey+"\n")
	o, parse := agentFlags(io)
	if _, err := parse([]string{
		"--listen", "127.0.0.1:2222", "--github-user", "alice,bob", "--github-user", "carol",
		"--authorized-keys", keyFile, "--authorized-keys", "-", "--authorized-keys-data", dataKey,
		"--wait-timeout", "5m", "--max-duration", "2h", "--reconnect-grace", "1m",
		"--keys-url", "https://gitlab.example/{user}.keys", "--ready-file", "r.json", "--label", "after step 4",
		"--job-timeout", "90m", "--client-alive-interval", "5s", "--client-alive-count-max", "2",
	}); err != nil {
		t.Fatal(err)
	}
	cfg, err := o.config(io)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(cfg.GitHubUsers, " "); got != "alice bob carol" {
		t.Errorf("users %q", got)
	}
	if len(cfg.AuthorizedKeys) != 3 || cfg.AuthorizedKeys[0].Source != keyFile || cfg.AuthorizedKeys[1].Source != "stdin" ||
		!strings.Contains(cfg.AuthorizedKeys[1].Text, stdinKey) || cfg.AuthorizedKeys[2].Text != dataKey {
		t.Errorf("authorized keys %+v", cfg.AuthorizedKeys)
	}
	if cfg.Token != "tok" {
		t.Errorf("token %q: PITSTOP_GITHUB_TOKEN comes first", cfg.Token)
	}
	if cfg.Listen != "127.0.0.1:2222" || cfg.WaitTimeout != 5*time.Minute || cfg.MaxDuration != 2*time.Hour ||
		cfg.ReconnectGrace != time.Minute || cfg.ReadyFile != "r.json" || cfg.Label != "after step 4" ||
		cfg.KeysURL != "https://gitlab.example/{user}.keys" || cfg.JobLimit != 90*time.Minute ||
		cfg.ClientAliveInterval != 5*time.Second || cfg.ClientAliveCountMax != 2 {
		t.Errorf("config %+v", cfg)
	}
}

// TestAgentKeepalivesOff: 0 turns them off, as in OpenSSH; the agent's
// own zero value would mean its default.
func TestAgentKeepalivesOff(t *testing.T) {
	io, _, _ := testIO(map[string]string{}, "")
	o, parse := agentFlags(io)
	if _, err := parse([]string{"--client-alive-interval", "0"}); err != nil {
		t.Fatal(err)
	}
	cfg, err := o.config(io)
	if err != nil || cfg.ClientAliveInterval >= 0 {
		t.Errorf("--client-alive-interval 0: interval %v, %v; want negative, off", cfg.ClientAliveInterval, err)
	}
}

func TestAgentUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"--wait-timeout", "0s"},
		{"--max-duration", "-1m"},
		{"--job-timeout", "-5m"},
		{"--job-timeout", "90"},
		{"--client-alive-interval", "-1s"},
		{"--client-alive-count-max", "0"},
		{"--log-format", "xml"},
		{"--keys-url", "https://gitlab.example/keys"},
		{"--keys-url", "http://gitlab.example/{user}.keys"},
		{"stray"},
		{"--bogus"},
	} {
		io, _, errOut := testIO(map[string]string{}, "")
		if code := Main(append([]string{"agent"}, args...), io); code != exitUsage {
			t.Errorf("%v: exit %d, want %d\n%s", args, code, exitUsage, errOut)
		}
	}
}

func TestControlCommandsOutsideASession(t *testing.T) {
	for _, args := range [][]string{{"continue"}, {"extend", "30m"}, {"status"}, {"step"}, {"step", "run"}} {
		io, _, errOut := testIO(map[string]string{}, "")
		if code := Main(args, io); code != exitError || !strings.Contains(errOut.String(), "not inside a pitstop session") {
			t.Errorf("%v: exit %d, stderr %q", args, code, errOut)
		}
	}
	io, _, _ := testIO(map[string]string{}, "")
	if code := Main([]string{"extend", "soon"}, io); code != exitUsage {
		t.Errorf("extend soon: exit %d, want %d", code, exitUsage)
	}
}

// TestControlCommands runs continue, extend and status against an agent.
func TestControlCommands(t *testing.T) {
	env, done := startControlAgent(t, nil)

	io, out, errOut := testIO(env, "")
	if code := Main([]string{"status"}, io); code != exitOK || !strings.Contains(out.String(), `job "build" is paused`) ||
		!strings.Contains(out.String(), "time left: ") || !strings.Contains(out.String(), "nobody is connected") {
		t.Errorf("status: exit %d\n%s%s", code, out, errOut)
	}
	io, out, _ = testIO(env, "")
	if code := Main([]string{"status", "--json"}, io); code != exitOK {
		t.Errorf("status --json: exit %d", code)
	}
	var st control.Status
	if err := json.Unmarshal(out.Bytes(), &st); err != nil || st.Deadline.IsZero() {
		t.Errorf("status --json: %v\n%s", err, out)
	}
	io, out, errOut = testIO(env, "")
	if code := Main([]string{"extend", "30m"}, io); code != exitOK || !regexp.MustCompile(`^pitstop: extended by 30m0s; 1h(29m5\d|30m0)s left \(until \d\d:\d\d UTC\)\.\n$`).MatchString(out.String()) {
		t.Errorf("extend: exit %d\n%s%s", code, out, errOut)
	}
	io, out, _ = testIO(env, "")
	if code := Main([]string{"continue"}, io); code != exitOK || !strings.Contains(out.String(), "the job continues") {
		t.Errorf("continue: exit %d\n%s", code, out)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Error("continue did not end the pause")
	}
}

// TestExtendStopsAtTheJobLimit: pitstop extend 100h moves the end only
// as far as the job's own time limit, and says so; once there, it fails.
func TestExtendStopsAtTheJobLimit(t *testing.T) {
	env, _ := startControlAgent(t, nil)

	io, out, errOut := testIO(env, "")
	if code := Main([]string{"status"}, io); code != exitOK || !regexp.MustCompile(`pitstop extend 30m adds time, up to \d\d:\d\d UTC \(the job's time limit\)\)`).MatchString(out.String()) {
		t.Errorf("status: exit %d\n%s%s", code, out, errOut)
	}
	io, out, errOut = testIO(env, "")
	if code := Main([]string{"extend", "100h"}, io); code != exitOK ||
		!regexp.MustCompile(`^pitstop: extended by 5h0m0s, not 100h0m0s: the job's time limit \(its timeout-minutes, 360 by default, counted from the job's start\) would cancel it then; (5h5\dm\d+s|6h0m0s) left \(until \d\d:\d\d UTC\)\.\n$`).MatchString(out.String()) {
		t.Errorf("extend 100h: exit %d\n%s%s", code, out, errOut)
	}
	io, out, _ = testIO(env, "")
	if code := Main([]string{"status"}, io); code != exitOK || !strings.Contains(out.String(), "; the job's time limit allows no more)") {
		t.Errorf("status at the limit: exit %d\n%s", code, out)
	}
	io, out, errOut = testIO(env, "")
	if code := Main([]string{"extend", "1m"}, io); code != exitError || !strings.Contains(errOut.String(), "the pause already ends where the job's time limit would cancel the job (6h0m0s after the pause started)") {
		t.Errorf("extend past the limit: exit %d\n%s%s", code, out, errOut)
	}
}

// TestExtendCountsFromTheJobsStart: a job with a 3h limit that started an
// hour before the pause leaves the pause 2h, so extend 100h after the
// first hour adds one more.
func TestExtendCountsFromTheJobsStart(t *testing.T) {
	env, _ := startControlAgent(t, func(cfg *agent.Config) {
		cfg.JobLimit = 3 * time.Hour
		cfg.JobStarted = time.Now().Add(-time.Hour)
	})

	io, out, errOut := testIO(env, "")
	if code := Main([]string{"extend", "100h"}, io); code != exitOK ||
		!regexp.MustCompile(`^pitstop: extended by (59m5\ds|1h0m0s), not 100h0m0s: the job's time limit \(its timeout-minutes, 360 by default, counted from the job's start\) would cancel it then; (1h5\dm\d+s|2h0m0s) left \(until \d\d:\d\d UTC\)\.\n$`).MatchString(out.String()) {
		t.Errorf("extend 100h: exit %d\n%s%s", code, out, errOut)
	}
}

// startControlAgent runs an agent in act's environment, which the
// test's key may log in to, until the test ends. It returns the
// environment that points the control commands at it, and the channel
// Run's result arrives on. edit, unless nil, changes the configuration
// first.
func startControlAgent(t *testing.T, edit func(*agent.Config)) (map[string]string, <-chan error) {
	t.Helper()
	ready := filepath.Join(t.TempDir(), "ready.json")
	cfg := agent.Config{
		Listen:         "127.0.0.1:0",
		Env:            []string{"ACT=true", "GITHUB_ACTIONS=true", "GITHUB_ACTOR=nektos/act", "GITHUB_JOB=build"},
		AuthorizedKeys: []agent.KeyText{{Source: "test", Text: testutil.SSHAuthorizedKey(t)}},
		ReadyFile:      ready,
		BinDir:         t.TempDir(),
	}
	if edit != nil {
		edit(&cfg)
	}
	done := make(chan error, 1)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go func() { done <- agent.Run(ctx, cfg) }()
	r := waitReady(t, ready, done)
	return map[string]string{control.SocketEnv: r.ControlSocket}, done
}

func waitReady(t *testing.T, path string, done <-chan error) agent.Ready {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		r, err := wire.LoadReady(path)
		if err == nil {
			return *r
		}
		if !errors.Is(err, wire.ErrNotReady) {
			t.Fatal(err)
		}
		select {
		case err := <-done:
			t.Fatalf("the agent ended before it was ready: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("no ready file after 10s")
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// pitstopBinary is the pitstop command that TestMain puts on PATH.
func pitstopBinary(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("pitstop")
	if err != nil {
		t.Fatalf("pitstop is not on PATH; TestMain should have put it there: %v", err)
	}
	return p
}

// fakeKeysAPI serves GET /users/alice/keys under a path prefix.
func fakeKeysAPI(t *testing.T, keys ...string) string {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v3/users/alice/keys", func(w http.ResponseWriter, r *http.Request) {
		var out []map[string]any
		for i, k := range keys {
			out = append(out, map[string]any{"id": i + 1, "key": k})
		}
		if out == nil {
			out = []map[string]any{}
		}
		json.NewEncoder(w).Encode(out) //nolint:errcheck // test server
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv.URL + "/api/v3"
}

// githubEnv is the environment of a step on a GitHub runner.
func githubEnv(t *testing.T, api string) []string {
	return append(os.Environ(), "GITHUB_ACTIONS=true", "RUNNER_ENVIRONMENT=github-hosted", "GITHUB_ACTOR=alice",
		"GITHUB_API_URL="+api, "GITHUB_WORKSPACE="+t.TempDir(), "GITHUB_STEP_SUMMARY="+filepath.Join(t.TempDir(), "summary.md"))
}

// TestAgentCommandSIGTERM runs the real binary, as the runner does, and
// cancels the job: the step must exit 0.
func TestAgentCommandSIGTERM(t *testing.T) {
	ready := filepath.Join(t.TempDir(), "ready.json")
	cmd := exec.Command(pitstopBinary(t), "agent", "--listen", "127.0.0.1:0", "--ready-file", ready, "--log-format", "json")
	cmd.Env = githubEnv(t, fakeKeysAPI(t, testutil.SSHAuthorizedKey(t)))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	waitReady(t, ready, done)
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("exit: %v, want 0\n%s", err, stderr.String())
		}
	case <-time.After(5 * time.Second):
		cmd.Process.Kill()
		t.Fatal("the agent did not exit within 5s of SIGTERM")
	}
	if !strings.Contains(stderr.String(), `"reason":"cancelled"`) {
		t.Errorf("log:\n%s", stderr.String())
	}
	for _, line := range strings.Split(strings.TrimSpace(stderr.String()), "\n") {
		if !json.Valid([]byte(line)) {
			t.Errorf("--log-format json wrote a non-JSON line: %q", line)
		}
	}
	if !strings.HasPrefix(stdout.String(), "::notice title=") {
		t.Errorf("stdout %q, want the ::notice:: annotation", stdout.String())
	}
}

func TestAgentCommandRefusesWithoutKeys(t *testing.T) {
	ready := filepath.Join(t.TempDir(), "ready.json")
	cmd := exec.Command(pitstopBinary(t), "agent", "--listen", "127.0.0.1:0", "--ready-file", ready,
		"--authorized-keys-data", testutil.SSHAuthorizedKey(t)) // on GitHub these only add
	cmd.Env = append(githubEnv(t, fakeKeysAPI(t)), "GITHUB_SERVER_URL=https://github.com")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	if cmd.ProcessState == nil || cmd.ProcessState.ExitCode() != exitError {
		t.Fatalf("exit %v, want %d\n%s", err, exitError, stderr.String())
	}
	msg := stderr.String()
	if !strings.Contains(msg, `"alice"`) || !strings.Contains(msg, "https://github.com/settings/keys") {
		t.Errorf("the refusal does not name the user and what to do:\n%s", msg)
	}
	if _, err := os.Stat(ready); err == nil {
		t.Error("ready file written although the agent refused to start")
	}
}

// TestAgentStartsAndStops starts the binary five times against a local
// API: each start reaches its ready file and ends cleanly on SIGTERM.
// How fast that is, is measured by task bench (start to ready file, side
// by side with sshd), not asserted here, where machine load decides it.
func TestAgentStartsAndStops(t *testing.T) {
	bin := pitstopBinary(t)
	api := fakeKeysAPI(t, testutil.SSHAuthorizedKey(t))
	var times []time.Duration
	for i := 0; i < 5; i++ {
		ready := filepath.Join(t.TempDir(), "ready.json")
		cmd := exec.Command(bin, "agent", "--listen", "127.0.0.1:0", "--ready-file", ready)
		cmd.Env = githubEnv(t, api)
		start := time.Now()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		waitReady(t, ready, done)
		times = append(times, time.Since(start))
		cmd.Process.Signal(syscall.SIGTERM) //nolint:errcheck // checked by the wait below
		if err := <-done; err != nil {
			t.Errorf("exit after SIGTERM: %v", err)
		}
	}
	sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
	t.Logf("start to ready: min %v, median %v, max %v", times[0], times[2], times[4])
}
