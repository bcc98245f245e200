//go:build unix

package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/pitstopci/pitstop/actrun"
)

// actWorkflow is the job pitstop act pauses for the cold-start
// measurement: one trivial step, so what is timed is pitstop's own part.
const actWorkflow = `on: push
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - run: echo before the pause
`

// actReady is pitstop act's line once the pause is ready.
var actReady = regexp.MustCompile(`ready ([0-9.]+)s after act started`)

// measureActCold runs pitstop act with an empty Go build cache, as on a
// machine that never built Go before, and times from act's start to the
// pause being ready (the moment a terminal would be in a shell): the
// pause runs pitstop act's own binary. For comparison it does the same
// with the action building the agent from source (install: source),
// which is what the pause did before.
func (b *bench) measureActCold() error {
	b.progress("pitstop act: a cold start, then the same building the agent from source")
	own, err := b.lab.actColdStart(nil)
	if err != nil {
		return fmt.Errorf("pitstop act: %w", err)
	}
	built, err := b.lab.actColdStart([]string{"--with", "install=source"})
	if err != nil {
		return fmt.Errorf("pitstop act, building from source: %w", err)
	}
	b.rep.Runs["act_cold"] = map[string]float64{"own_binary_s": own, "built_from_source_s": built}
	x := row{Name: "pitstop act, cold Go cache: act start to pause ready", Unit: "s", Pitstop: own,
		Note: fmt.Sprintf("building the agent from source instead: %.1f s", built)}
	target{bound: 5}.judge(&x)
	b.rep.add(x)
	return nil
}

// actColdStart runs pitstop act once in a fresh repository and HOME with
// an empty GOCACHE, and returns how long the pause took to be ready
// after act started, as pitstop act reports it.
func (l *lab) actColdStart(extra []string) (float64, error) {
	env := os.Environ()
	act, err := actrun.FindAct(append(env, "PATH="+filepath.Join(l.root, "bin")+string(os.PathListSeparator)+os.Getenv("PATH")))
	if err != nil {
		return 0, err
	}
	dir, err := os.MkdirTemp(l.dir, "act-")
	if err != nil {
		return 0, err
	}
	home, repo, cache := filepath.Join(dir, "home"), filepath.Join(dir, "repo"), filepath.Join(dir, "gocache")
	for _, d := range []string{filepath.Join(home, ".ssh"), filepath.Join(repo, ".github", "workflows"), cache} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return 0, err
		}
	}
	if err := os.WriteFile(filepath.Join(repo, ".github", "workflows", "ci.yml"), []byte(actWorkflow), 0o644); err != nil {
		return 0, err
	}
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", filepath.Join(home, ".ssh", "id_ed25519")).CombinedOutput(); err != nil {
		return 0, fmt.Errorf("ssh-keygen: %v: %s", err, out)
	}
	if out, err := exec.Command("git", "init", "-q", repo).CombinedOutput(); err != nil {
		return 0, fmt.Errorf("git init: %v: %s", err, out)
	}
	// A cold build cache; the module cache stays the user's, so that the
	// build from source needs no network.
	env = append(env, "HOME="+home, "GOCACHE="+cache, "SSH_AUTH_SOCK=", "NO_COLOR=1")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	args := append([]string{"act", "--job", "build", "--ssh-after-step", "1", "--wait-timeout", "1s", "--no-connect",
		"--action-source", l.root, "--act", act}, extra...)
	cmd := exec.CommandContext(ctx, l.bin, args...)
	cmd.Dir, cmd.Env = repo, env
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return 0, err
	}
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	var ready float64 = -1
	var log strings.Builder
	sc := bufio.NewScanner(stderr)
	for sc.Scan() {
		log.WriteString(sc.Text() + "\n")
		if m := actReady.FindStringSubmatch(sc.Text()); m != nil && ready < 0 {
			ready, _ = strconv.ParseFloat(m[1], 64)
		}
	}
	if err := cmd.Wait(); err != nil {
		return 0, fmt.Errorf("pitstop act: %v\n%s", err, log.String())
	}
	if ready < 0 {
		return 0, fmt.Errorf("pitstop act never reported the pause ready:\n%s", log.String())
	}
	// Go's build cache is read-only to its owner; make it removable.
	_ = filepath.Walk(cache, func(p string, fi os.FileInfo, err error) error {
		if err == nil {
			_ = os.Chmod(p, fi.Mode()|0o700)
		}
		return nil
	})
	return ready, nil
}
