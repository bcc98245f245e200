//go:build unix

package integration

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pitstopci/pitstop/internal/ghfake"
	"github.com/pitstopci/pitstop/internal/testutil"
)

// failingWorkflow fails at its step 2 until fixed.txt exists.
const failingWorkflow = `name: tests
on: push
permissions:
  contents: read
jobs:
  test:
    runs-on: ubuntu-latest
    steps:
      - name: Prepare
        run: echo "made-in-step-1" > artifact.txt
      - name: Run tests
        run: test -f fixed.txt
      - run: echo "report-ran"
`

// TestGitHubRerunPausesBeforeFailedStep: pitstop rerun of a failed run's
// URL finds the failed job and step, pauses right before that step in a
// run of the same commit, and the fix made in the session lets the job
// succeed.
func TestGitHubRerunPausesBeforeFailedStep(t *testing.T) {
	tool(t, "ssh", sshInstall)
	e := newGHEnv(t, map[string]string{".github/workflows/tests.yml": failingWorkflow})
	if _, err := e.fake.Push("main", map[string]string{"README": "v2\n"}, "break the tests"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := e.fake.WaitIdle(ctx); err != nil {
		t.Fatal(err)
	}
	runs := e.fake.Runs()
	if len(runs) != 1 || runs[0].GetConclusion() != "failure" {
		t.Fatalf("the first run should have failed: %v", runs)
	}
	r := e.start(t, "rerun", runs[0].GetHTMLURL(), "--with", "listen=127.0.0.1:0", "--with", "wait-timeout=3m")
	line := r.connectLine(t)
	if want := `job test failed at step 2 "Run tests"; pausing right before it`; !strings.Contains(r.stderr.String(), want) {
		t.Errorf("pitstop rerun's stderr lacks %q:\n%s", want, r.stderr.String())
	}
	session := sshWith(ctx, line, "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes", "-tt", "-i", e.key)
	session.Stdin = strings.NewReader(`echo "artifact=[$(cat artifact.txt)]"` + "\ntouch fixed.txt\nexit\n")
	out, err := session.CombinedOutput()
	if err != nil {
		t.Fatalf("ssh: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "artifact=[made-in-step-1]") {
		t.Errorf("the pause is not after step 1:\n%s", out)
	}
	if code := r.wait(t, 3*time.Minute); code != 0 {
		t.Fatalf("pitstop rerun exited %d, want 0: the fix made in the pause lets the job pass\n%s", code, r.stderr.String())
	}
	e.onlyMain(t)
	runs = e.fake.Runs()
	if len(runs) != 2 || runs[1].GetConclusion() != "success" || runs[1].GetHeadBranch() == "main" {
		t.Errorf("want a second, successful run on a throwaway branch: %v", runs)
	}
}

// TestGitHubRunInterrupted: Ctrl-C while the job is paused cancels the
// run, deletes the branch, and leaves nothing running.
func TestGitHubRunInterrupted(t *testing.T) {
	e := newGHEnv(t, map[string]string{".github/workflows/ci.yml": ciWorkflow(t)})
	r := e.start(t, "run", "--job", "build", "--ssh-after-step", "1", "--with", "listen=127.0.0.1:0")
	r.connectLine(t)
	if err := r.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	if code := r.wait(t, 3*time.Minute); code != 130 {
		t.Errorf("pitstop run exited %d after Ctrl-C, want 130", code)
	}
	testutil.Contains(t, "stderr", r.stderr.String(), "cancelling run", "deleted branch pitstop/build-")
	e.onlyMain(t)
	if runs := e.fake.Runs(); len(runs) != 1 || runs[0].GetConclusion() != "cancelled" {
		t.Errorf("the run should be cancelled: %v", runs)
	}
}

// TestGitHubRunErrors: each mistake gets a message that says what to do,
// a non-zero exit, and leaves no branch and no run behind.
func TestGitHubRunErrors(t *testing.T) {
	src, err := os.ReadFile(filepath.Join("testdata", "act", "ci.yml"))
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{".github/workflows/ci.yml": string(src)}
	skipped := map[string]string{".github/workflows/skipped.yml": "on: push\njobs:\n  never:\n    if: ${{ false }}\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo\n"}
	run := []string{"run", "--workflow", ".github/workflows/ci.yml", "--job", "build", "--ssh-after-step", "1"}
	for _, c := range []struct {
		name  string
		setup func(t *testing.T, e *ghEnv) []string // returns the environment
		args  []string
		code  int
		want  string
		opts  []func(*ghfake.Options)
		files map[string]string
	}{
		{name: "no token", setup: func(t *testing.T, e *ghEnv) []string {
			return withEnv(e.env, nil, "GH_TOKEN")
		}, args: run, code: 1, want: "no GitHub token: set GH_TOKEN or GITHUB_TOKEN, or log in with 'gh auth login'"},
		{name: "no workflow scope", setup: func(t *testing.T, e *ghEnv) []string {
			return withEnv(e.env, map[string]string{"GH_TOKEN": "ghp_noworkflow"})
		}, args: run, code: 1, want: "the token lacks the workflow scope that pitstop run needs to push a workflow file to a branch (it has: repo); add it with: gh auth refresh -s workflow"},
		{name: "fine-grained without workflows", setup: func(t *testing.T, e *ghEnv) []string {
			return withEnv(e.env, map[string]string{"GH_TOKEN": "github_pat_fine"})
		}, args: run, code: 1, want: `a fine-grained token needs "Workflows: write" on octo/app`},
		{name: "remote not on GitHub", setup: func(t *testing.T, e *ghEnv) []string {
			e.git(t, e.repo, "remote", "set-url", "origin", "/srv/git/app.git")
			return e.env
		}, args: run, code: 1, want: `remote origin: remote "/srv/git/app.git" is not a GitHub repository URL`},
		{name: "head not pushed", setup: func(t *testing.T, e *ghEnv) []string {
			e.git(t, e.repo, "commit", "-q", "--allow-empty", "-m", "local only")
			return e.env
		}, args: run, code: 1, want: "is not on origin/main (at "},
		{name: "unknown job", setup: func(t *testing.T, e *ghEnv) []string { return e.env },
			args: []string{"run", "--workflow", ".github/workflows/ci.yml", "--job", "nope", "--ssh-after-step", "1"}, code: 1,
			want: `unknown job "nope"; jobs are: "build" (2 steps)`},
		{name: "queued too long", setup: func(t *testing.T, e *ghEnv) []string { return e.env },
			args: append(append([]string{}, run...), "--queue-timeout", "2s"), code: 1,
			want: "was still queued after 2s: no runner picked up job build", opts: []func(*ghfake.Options){func(o *ghfake.Options) { o.QueueDelay = -1 }}},
		{name: "pause refused", setup: func(t *testing.T, e *ghEnv) []string { return e.env }, args: run, code: 1,
			want: `job build ended (failure) before the pause: step 3 "Pause for SSH debugging (pitstop)" failed`,
			opts: []func(*ghfake.Options){func(o *ghfake.Options) { o.ActorKeys = nil }}},
		{name: "job skipped", setup: func(t *testing.T, e *ghEnv) []string { return e.env },
			args: []string{"run", "--workflow", ".github/workflows/skipped.yml", "--job", "never", "--ssh-after-step", "1"}, code: 1,
			want: "job never was skipped (its if: was false, or a job it needs failed), so the pause was never reached", files: skipped},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := files
			if c.files != nil {
				f = c.files
			}
			e := newGHEnv(t, f, c.opts...)
			env := c.setup(t, e)
			code, stdout, stderr := e.pitstop(t, env, c.args...)
			if code != c.code || !strings.Contains(stderr, c.want) || stdout != "" {
				t.Errorf("exit %d, stdout %q, stderr:\n%s\nwant exit %d and %q", code, stdout, stderr, c.code, c.want)
			}
			e.onlyMain(t)
		})
	}
}

// TestGitHubRunAnnotationFallback: when the job's token may not create
// check runs, the agent says so and pitstop run finds the pause through
// its ::notice:: annotation, host key and proof included.
func TestGitHubRunAnnotationFallback(t *testing.T) {
	tool(t, "ssh", sshInstall)
	e := newGHEnv(t, map[string]string{".github/workflows/ci.yml": ciWorkflow(t)}, func(o *ghfake.Options) { o.NoChecksWrite = true })
	r := e.start(t, "run", "--job", "build", "--ssh-after-step", "1", "--with", "listen=127.0.0.1:0", "--with", "wait-timeout=3m")
	line := r.connectLine(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	session := sshWith(ctx, line, "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes", "-o", "StrictHostKeyChecking=yes", "-tt", "-i", e.key)
	session.Stdin = strings.NewReader("exit\n")
	if out, err := session.CombinedOutput(); err != nil {
		t.Fatalf("ssh with the host key from the annotation: %v\n%s", err, out)
	}
	if code := r.wait(t, 3*time.Minute); code != 0 {
		t.Fatalf("pitstop run exited %d\n%s", code, r.stderr.String())
	}
	if !strings.Contains(r.stderr.String(), "verified: GitHub's OIDC token for the job") {
		t.Errorf("the pause found through its annotation was not verified:\n%s", r.stderr.String())
	}
	// Checked at the end: the agent warns after writing the annotation,
	// which pitstop run may have found already.
	if !strings.Contains(e.actLog.String(), "grant the job checks: write") {
		t.Errorf("the agent did not warn that it could not create its check run")
	}
	e.onlyMain(t)
}

// TestGitHubRerunAndSSHErrors: rerun of a run with nothing failed, or one
// not over yet, and ssh into a run without a pause, say so and exit 1.
func TestGitHubRerunAndSSHErrors(t *testing.T) {
	files := map[string]string{".github/workflows/ok.yml": "name: ok\non: push\njobs:\n  ok:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo fine\n"}
	push := func(t *testing.T, e *ghEnv) string {
		t.Helper()
		if _, err := e.fake.Push("main", map[string]string{"README": "v2\n"}, "change"); err != nil {
			t.Fatal(err)
		}
		runs := e.fake.Runs()
		if len(runs) != 1 {
			t.Fatalf("runs: %v", runs)
		}
		return runs[0].GetHTMLURL()
	}
	check := func(t *testing.T, e *ghEnv, want string, args ...string) {
		t.Helper()
		code, stdout, stderr := e.pitstop(t, e.env, args...)
		if code != 1 || !strings.Contains(stderr, want) || stdout != "" {
			t.Errorf("pitstop %v: exit %d, stdout %q, stderr:\n%s\nwant exit 1 and %q", args, code, stdout, stderr, want)
		}
	}

	t.Run("finished", func(t *testing.T) {
		e := newGHEnv(t, files)
		url := push(t, e)
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if err := e.fake.WaitIdle(ctx); err != nil {
			t.Fatal(err)
		}
		check(t, e, `has no failed job ("ok" success); pick one with --job`, "rerun", url)
		check(t, e, "is over (success) and has no pause to attach to", "ssh", url)
		// A run GitHub does not know, and a run URL on a host the token
		// is not for: nothing is asked of that host.
		check(t, e, "no run 424242 in octo/app (or no access: a classic token needs the repo scope (it has: repo, workflow))", "ssh", "424242")
		check(t, e, "the run is on evil.example but the API is 127.0.0.1:", "ssh", "https://evil.example/octo/app/actions/runs/77")
		check(t, e, "the run URL names evil/fork, the remote octo/app", "ssh", strings.Replace(url, "/octo/app/", "/evil/fork/", 1))
		e.onlyMain(t)
	})
	t.Run("two failed", func(t *testing.T) {
		e := newGHEnv(t, map[string]string{".github/workflows/two.yml": "on: push\njobs:\n  a:\n    name: Alpha\n    runs-on: ubuntu-latest\n    steps:\n      - run: exit 1\n  b:\n    runs-on: ubuntu-latest\n    steps:\n      - run: exit 2\n"})
		url := push(t, e)
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if err := e.fake.WaitIdle(ctx); err != nil {
			t.Fatal(err)
		}
		check(t, e, `has 2 failed jobs ("Alpha", "b"); choose one with --job`, "rerun", url)
		check(t, e, `has no failed job "c"; its jobs: "Alpha" failure, "b" failure`, "rerun", url, "--job", "c")
		// By its ID too; the step number is then checked against the job.
		check(t, e, `job "a" has 1 step; --ssh-after-step 9 is out of range (0..1)`, "rerun", url, "--job", "a", "--ssh-after-step", "9")
		e.onlyMain(t)
	})
	t.Run("queued", func(t *testing.T) {
		e := newGHEnv(t, files, func(o *ghfake.Options) { o.QueueDelay = -1 })
		url := push(t, e)
		check(t, e, "is still queued; wait for it to end, or attach to a pause in it with: pitstop ssh", "rerun", url)
		check(t, e, "no pause appeared in run", "ssh", url, "--timeout", "1s")
		if branches, _ := e.fake.Branches(); len(branches) != 1 {
			t.Errorf("branches: %v", branches)
		}
	})
}

// TestGitHubRunUnverified: a pause that cannot prove its host key (the
// workflow grants no id-token: write, or the runner gives no token) still
// runs, but pitstop run neither pins nor connects: it says why, cancels
// the run, and leaves nothing behind; with --trust-unverified it goes on
// and says that the key is trusted on first use.
func TestGitHubRunUnverified(t *testing.T) {
	tool(t, "ssh", sshInstall)
	src, err := os.ReadFile(filepath.Join("testdata", "act", "ci.yml"))
	if err != nil {
		t.Fatal(err)
	}
	t.Run("refused", func(t *testing.T) {
		// No permissions: pitstop run cannot grant id-token: write.
		e := newGHEnv(t, map[string]string{".github/workflows/ci.yml": string(src)})
		code, stdout, stderr := e.pitstop(t, e.env, "run", "--job", "build", "--ssh-after-step", "1", "--with", "listen=127.0.0.1:0", "--with", "wait-timeout=3m")
		testutil.Contains(t, "stderr", stderr, "id-token: write is never among the defaults", "unverified pause in run", "the pause carries no proof", "pitstop neither pins it nor connects", "--trust-unverified", "deleted branch")
		if code != 1 || stdout != "" {
			t.Errorf("pitstop run exited %d with stdout %q; want 1 and nothing to connect to", code, stdout)
		}
		e.onlyMain(t)
	})
	t.Run("trusted on first use", func(t *testing.T) {
		// Granted, but the runner's token service gives nothing.
		e := newGHEnv(t, map[string]string{".github/workflows/ci.yml": ciWorkflow(t)}, func(o *ghfake.Options) { o.NoIDToken = true })
		r := e.start(t, "run", "--job", "build", "--ssh-after-step", "1", "--with", "listen=127.0.0.1:0", "--with", "wait-timeout=3m", "--trust-unverified")
		line := r.connectLine(t)
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		session := sshWith(ctx, line, "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes", "-tt", "-i", e.key)
		session.Stdin = strings.NewReader("exit\n")
		if out, err := session.CombinedOutput(); err != nil {
			t.Fatalf("ssh: %v\n%s", err, out)
		}
		if code := r.wait(t, 3*time.Minute); code != 0 {
			t.Fatalf("pitstop run exited %d\n%s", code, r.stderr.String())
		}
		testutil.Contains(t, "stderr", r.stderr.String(), "UNVERIFIED pause (job build): the pause carries no proof", "on first use, as --trust-unverified says", "(UNVERIFIED: trusted on first use)")
		e.onlyMain(t)
	})
}
