//go:build unix

package integration

import (
	"context"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestActJobTimeoutCapsExtend: a job with timeout-minutes: 20 gets it as
// the action's job-timeout-minutes input, the agent counts it from the
// start of pitstop act (and says so in the log), and pitstop extend
// stops short of 20 minutes from then.
func TestActJobTimeoutCapsExtend(t *testing.T) {
	tool(t, "ssh", sshInstall)
	e := newActRepo(t, map[string]string{".github/workflows/ci.yml": `on: push
jobs:
  build:
    runs-on: ubuntu-latest
    timeout-minutes: 20
    steps:
      - run: echo before
`})
	started := time.Now()
	r := e.start(t, "--job", "build", "--ssh-after-step", "1", "--wait-timeout", "3m", "--max-duration", "5m", "--action-source", sourceRoot)
	line := r.connectLine(t)

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	batch := []string{"-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes", "-o", "ConnectTimeout=20", "-i", e.key}
	out, err := sshWith(ctx, line+" pitstop extend 100h", batch...).CombinedOutput()
	if err != nil {
		t.Fatalf("pitstop extend: %v\n%s", err, out)
	}
	// Counted from the pause's start it would leave 20m0s (or 19m59s);
	// from pitstop act's start, less by however long act took to get
	// here, and more than the time since this test started it.
	m := regexp.MustCompile(`^pitstop: extended by \S+, not 100h0m0s: the job's time limit .*; (\d+)m(\d+)s left`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("pitstop extend 100h said:\n%s", out)
	}
	mins, _ := strconv.Atoi(string(m[1]))
	secs, _ := strconv.Atoi(string(m[2]))
	left := time.Duration(mins)*time.Minute + time.Duration(secs)*time.Second
	if max := 20*time.Minute - time.Since(started) + 2*time.Second; left > max || left < 15*time.Minute {
		t.Errorf("extend left %v, want at most %v (20m from pitstop act's start)\n%s", left, max, out)
	}
	if out, err := sshWith(ctx, line+" pitstop continue", batch...).CombinedOutput(); err != nil {
		t.Fatalf("pitstop continue: %v\n%s", err, out)
	}
	if code := r.wait(t, 2*time.Minute); code != 0 {
		t.Fatalf("pitstop act exited %d, want 0", code)
	}
	if log := r.stderr.String(); !regexp.MustCompile(`the job's time limit \(20m0s\) counts from its start at \d\d:\d\d:\d\d UTC \(the start of pitstop act \(pid \d+\)\)`).MatchString(log) {
		t.Errorf("the agent's log does not say the limit counts from pitstop act's start:\n%s", log)
	}
	if strings.Count(r.stderr.String(), "counts from") != 1 {
		t.Errorf("the log says more than once where the limit counts from")
	}
}
