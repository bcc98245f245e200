package agent

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/pitstopci/pitstop/agent/access"
	"github.com/pitstopci/pitstop/agent/audit"
)

// openFDs counts the process's open file descriptors. Listeners and
// sockets are descriptors, so a start that fails half-way and leaves one
// open shows here. The agent's tests do not run in parallel.
func openFDs(t *testing.T) int {
	t.Helper()
	entries, err := os.ReadDir("/dev/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(entries)
}

// startConfig is a Config that starts without a network: one key given
// directly, outside GitHub Actions.
func startConfig(t *testing.T, logs *syncBuffer) Config {
	t.Helper()
	return Config{
		Listen:         "127.0.0.1:0",
		Env:            []string{"PATH=/usr/bin:/bin"},
		AuthorizedKeys: []KeyText{{Source: "test", Text: newTestUser(t, "alice").authorizedLine()}},
		BinDir:         t.TempDir(),
		ControlDir:     t.TempDir(),
		WaitTimeout:    30 * time.Second,
		Log:            zerolog.New(logs),
	}
}

// checkReleased fails the test if anything startServer makes is still
// there: a control directory in controlDir, a descriptor.
func checkReleased(t *testing.T, controlDir string, fds int) {
	t.Helper()
	entries, err := os.ReadDir(controlDir)
	if err == nil && len(entries) > 0 {
		t.Errorf("left in %s: %v", controlDir, entries)
	}
	if n := openFDs(t); n != fds {
		t.Errorf("%d descriptors open, %d before the start", n, fds)
	}
}

// TestStartServerReleasesWhatItMade makes each step of the start fail in
// turn and checks that nothing made before it is left: no control
// directory, no open listener, no goroutine.
func TestStartServerReleasesWhatItMade(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	long := filepath.Join(t.TempDir(), strings.Repeat("d", 110))
	if err := os.Mkdir(long, 0o700); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		edit    func(*Config)
		wantErr string
	}{
		{"control directory", func(c *Config) { c.ControlDir = filepath.Join(c.ControlDir, "missing") }, "create control directory"},
		// Unix socket paths are limited to about 100 bytes.
		{"control socket", func(c *Config) { c.ControlDir = long }, "listen on control socket"},
		{"listener", func(c *Config) { c.Listen = busy.Addr().String() }, "listen on " + busy.Addr().String()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkGoroutines(t)
			var logs syncBuffer
			cfg := startConfig(t, &logs)
			tt.edit(&cfg)
			cfg, err := cfg.withJob(ReadJob(cfg.Env)).withDefaults()
			if err != nil {
				t.Fatal(err)
			}
			ring, _, err := access.LoadKeys(context.Background(), cfg.access(), ReadJob(cfg.Env).access())
			if err != nil {
				t.Fatal(err)
			}
			fds := openFDs(t)
			s, err := startServer(context.Background(), cfg, ReadJob(cfg.Env), noAudit(t, cfg), ring)
			if err == nil {
				s.close()
				t.Fatal("startServer succeeded")
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error %q, want one containing %q", err, tt.wantErr)
			}
			checkReleased(t, cfg.ControlDir, fds)
		})
	}
}

// TestServerCloseReleasesEverything: a server that serves but whose
// pause never began (Run failed to announce it) gives everything back on
// close, ends its pause as cancelled, and the port is free again.
func TestServerCloseReleasesEverything(t *testing.T) {
	checkGoroutines(t)
	var logs syncBuffer
	cfg, err := startConfig(t, &logs).withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	ring, _, err := access.LoadKeys(context.Background(), cfg.access(), ReadJob(cfg.Env).access())
	if err != nil {
		t.Fatal(err)
	}
	// The first listener of the process opens the poller's descriptors.
	warm, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	warm.Close()
	fds := openFDs(t)
	s, err := startServer(context.Background(), cfg, ReadJob(cfg.Env), noAudit(t, cfg), ring)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(s.socket); err != nil {
		t.Errorf("no control socket: %v", err)
	}
	addr := s.ln.Addr().String()
	s.close()
	checkReleased(t, cfg.ControlDir, fds)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("the port is still taken after close: %v", err)
	}
	ln.Close()
	if s.pause.Reason() != EndCancelled {
		t.Errorf("pause ended %q, want %q", s.pause.Reason(), EndCancelled)
	}
}

// TestRunReleasesOnFailure: Run's own failures to start, before and
// after the server serves, leave no control directory and no
// goroutine, and write no ready file.
func TestRunReleasesOnFailure(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	for _, tt := range []struct {
		name    string
		edit    func(*Config)
		wantErr string
	}{
		{"listen address in use", func(c *Config) { c.Listen = busy.Addr().String() }, "listen on " + busy.Addr().String()},
		// The ready file is written once the server serves.
		{"ready file cannot be written", func(c *Config) { c.ReadyFile = filepath.Join(c.ControlDir, "missing", "ready.json") }, "write ready file"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			checkGoroutines(t)
			var logs syncBuffer
			cfg := startConfig(t, &logs)
			tt.edit(&cfg)
			fds := openFDs(t)
			err := Run(context.Background(), cfg)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Run: %v, want an error containing %q\nlog:\n%s", err, tt.wantErr, logs.String())
			}
			checkReleased(t, cfg.ControlDir, fds)
			if strings.Contains(logs.String(), "the job continues") {
				t.Errorf("a failed start logged the end of a pause:\n%s", logs.String())
			}
		})
	}
}

// TestRunEndsWithTheJobsProcess: once the pause serves, the end of the
// process Config.WatchPID names ends it as cancelled, and Run returns nil
// so the job goes on.
func TestRunEndsWithTheJobsProcess(t *testing.T) {
	job := exec.Command("sleep", "60")
	if err := job.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { job.Process.Kill(); job.Wait() }) //nolint:errcheck // already gone in the test's own course
	h := startAgent(t, func(h *harness) { h.cfg.WatchPID = job.Process.Pid })
	h.stillRunning(2 * watchEvery)
	if err := job.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	job.Wait() //nolint:errcheck // killed: the error says so
	h.waitEnd(EndCancelled, 10*time.Second)
	if !h.logged("the process that runs the job has exited; ending the pause") {
		t.Errorf("the log does not say why the pause ended:\n%s", h.logs)
	}
}

// noAudit is a trail to the job log alone, as a pause without an audit
// file has.
func noAudit(t *testing.T, cfg Config) *audit.Trail {
	t.Helper()
	a, err := audit.Open(cfg.Log, "")
	if err != nil {
		t.Fatal(err)
	}
	return a
}
