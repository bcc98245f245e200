//go:build unix

package integration

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pitstopci/pitstop/internal/ghfake"
	"github.com/pitstopci/pitstop/internal/testutil"
)

// ghEnv is a user with a checkout of a repository on a fake GitHub whose
// runs are real act runs.
type ghEnv struct {
	fake    *ghfake.Server
	actLog  *testutil.Buffer
	repo    string // the user's checkout
	key     string
	env     []string
	checkRe *regexp.Regexp
}

const ghUserToken = "ghp_usertoken"

func newGHEnv(t *testing.T, files map[string]string, opts ...func(*ghfake.Options)) *ghEnv {
	t.Helper()
	act := tool(t, "act", actInstall, filepath.Join(sourceRoot, "bin", "act"))
	tool(t, "git", gitInstall)
	goBin := tool(t, "go", "https://go.dev/dl/")
	home := t.TempDir()
	e := &ghEnv{actLog: &testutil.Buffer{}, repo: filepath.Join(t.TempDir(), "app")}
	e.key = writeKey(t, filepath.Join(home, ".ssh"), "id_ed25519", "me@laptop")
	pub, err := os.ReadFile(e.key + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	caches := goEnv(t, "GOCACHE", "GOMODCACHE", "GOPATH")
	path := filepath.Dir(act) + string(os.PathListSeparator) + filepath.Dir(goBin) + string(os.PathListSeparator) + os.Getenv("PATH")
	base := withEnv(os.Environ(), map[string]string{
		"HOME": home, "GOCACHE": caches["GOCACHE"], "GOMODCACHE": caches["GOMODCACHE"], "GOPATH": caches["GOPATH"], "PATH": path,
	}, "SSH_AUTH_SOCK", "GH_TOKEN", "GITHUB_TOKEN", "GITHUB_API_URL")
	o := ghfake.Options{
		Owner: "octo", Repo: "app", Files: files,
		Tokens: map[string]string{ghUserToken: "repo, workflow", "ghp_noworkflow": "repo", "github_pat_fine": "-"},
		Actor:  "octocat", ActorKeys: []string{strings.TrimSpace(string(pub))},
		Act: act, ActionSource: sourceRoot, Env: base,
		Log: func(format string, args ...any) { fmt.Fprintf(e.actLog, format+"\n", args...) },
	}
	for _, f := range opts {
		f(&o)
	}
	e.fake = ghfake.New(t, o)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("the fake's act log:\n%s", e.actLog.String())
		}
	})
	e.env = withEnv(base, map[string]string{"GH_TOKEN": ghUserToken, "GITHUB_API_URL": e.fake.URL(), "PITSTOP_POLL_INTERVAL": "250ms"})
	e.git(t, filepath.Dir(e.repo), "clone", "-q", e.fake.BareRepo(), e.repo)
	e.git(t, e.repo, "remote", "set-url", "origin", "https://github.com/octo/app.git")
	return e
}

func (e *ghEnv) git(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", append([]string{"-c", "user.name=Me", "-c", "user.email=me@example.com"}, args...)...)
	cmd.Dir, cmd.Env = dir, e.env
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

// start runs pitstop in the checkout, as actEnv.start does.
func (e *ghEnv) start(t *testing.T, args ...string) *actRun {
	t.Helper()
	a := &actEnv{repo: e.repo, env: e.env}
	return a.startCmd(t, args...)
}

// pitstop runs a pitstop command to its end and returns its exit status,
// stdout and stderr.
func (e *ghEnv) pitstop(t *testing.T, env []string, args ...string) (int, string, string) {
	t.Helper()
	cmd := exec.Command(pitstopBin, args...)
	cmd.Dir, cmd.Env = e.repo, env
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		return exit.ExitCode(), stdout.String(), stderr.String()
	case err != nil:
		t.Fatal(err)
	}
	return 0, stdout.String(), stderr.String()
}

// onlyMain checks that no branch is left behind and no run goes on.
func (e *ghEnv) onlyMain(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := e.fake.WaitIdle(ctx); err != nil {
		t.Error(err)
	}
	branches, err := e.fake.Branches()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(branches, []string{"main"}) {
		t.Errorf("branches left: %v, want only main", branches)
	}
}

var runLine = regexp.MustCompile(`pitstop: run (\d+): `)

// permitted gives a workflow a permissions block, which pitstop run
// extends with checks: write and id-token: write; without one it can
// grant neither (see injector.GrantWrite).
func permitted(t *testing.T, src string) string {
	t.Helper()
	out := strings.Replace(src, "\non: push\n", "\non: push\npermissions:\n  contents: read\n", 1)
	if out == src {
		t.Fatal("the workflow has no \"on: push\" line to put permissions after")
	}
	return out
}

// ciWorkflow is testdata/act/ci.yml with permissions.
func ciWorkflow(t *testing.T) string {
	t.Helper()
	src, err := os.ReadFile(filepath.Join("testdata", "act", "ci.yml"))
	if err != nil {
		t.Fatal(err)
	}
	return permitted(t, string(src))
}

// TestGitHubRunEndToEnd: pitstop run pushes the paused workflow to a
// throwaway branch through the API, the fake GitHub runs it with act, the
// agent publishes its check run, pitstop ssh --info --output json finds
// the same pause, the real ssh gets in with the host key pinned from
// GitHub's answer, the job goes on after exit and succeeds, and the
// branch is deleted.
func TestGitHubRunEndToEnd(t *testing.T) {
	tool(t, "ssh", sshInstall)
	e := newGHEnv(t, map[string]string{".github/workflows/ci.yml": ciWorkflow(t)})
	r := e.start(t, "run", "--job", "build", "--ssh-after-step", "1", "--with", "listen=127.0.0.1:0", "--with", "wait-timeout=3m")
	line := r.connectLine(t)
	for _, want := range []string{"StrictHostKeyChecking=yes", "UserKnownHostsFile=", "GlobalKnownHostsFile=/dev/null"} {
		if !strings.Contains(line, want) {
			t.Errorf("the connect command must pin the host key (%s): %s", want, line)
		}
	}
	m := runLine.FindStringSubmatch(r.stderr.String())
	if m == nil {
		t.Fatalf("pitstop run did not say which run it follows:\n%s", r.stderr.String())
	}
	runID := m[1]

	// pitstop ssh finds the same pause, through the same check run.
	code, out, stderr := e.pitstop(t, e.env, "ssh", e.fake.HTMLURL()+"/actions/runs/"+runID, "--info", "--output", "json")
	if code != 0 {
		t.Fatalf("pitstop ssh exited %d:\n%s", code, stderr)
	}
	var info struct {
		SSHCommand, KnownHosts, HostKeyFingerprint, Job, RunID, KnownHostsFile string
		Verified                                                               bool
	}
	dec := json.NewDecoder(strings.NewReader(out))
	if err := dec.Decode(&struct {
		SSHCommand         *string `json:"ssh_command"`
		KnownHosts         *string `json:"known_hosts"`
		HostKeyFingerprint *string `json:"host_key_fingerprint"`
		Job                *string `json:"job"`
		RunID              *string `json:"run_id"`
		KnownHostsFile     *string `json:"known_hosts_file"`
		Verified           *bool   `json:"verified"`
	}{&info.SSHCommand, &info.KnownHosts, &info.HostKeyFingerprint, &info.Job, &info.RunID, &info.KnownHostsFile, &info.Verified}); err != nil {
		t.Fatalf("pitstop ssh --output json printed %q: %v", out, err)
	}
	if info.SSHCommand != line || info.Job != "build" || info.RunID != runID || !strings.HasPrefix(info.HostKeyFingerprint, "SHA256:") || !info.Verified {
		t.Errorf("pitstop ssh --output json: %+v\nwant the command pitstop run printed: %s", info, line)
	}
	pinned, err := os.ReadFile(info.KnownHostsFile)
	if err != nil || strings.TrimSpace(string(pinned)) != strings.TrimSpace(info.KnownHosts) {
		t.Errorf("known_hosts file %s holds %q (%v), want the check run's line %q", info.KnownHostsFile, pinned, err, info.KnownHosts)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	batch := []string{"-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes", "-o", "ConnectTimeout=20", "-tt", "-i", e.key}
	session := sshWith(ctx, line, batch...)
	session.Stdin = strings.NewReader(`echo "early-var=[$EARLY_VAR]"` + "\n" + `echo "written in the pause" > from-pause.txt` + "\nexit\n")
	sout, err := session.CombinedOutput()
	if err != nil {
		t.Fatalf("ssh session: %v\n%s", err, sout)
	}
	if !strings.Contains(string(sout), "early-var=[from-step-1]") {
		t.Errorf("the session is not in the job's environment:\n%s", sout)
	}
	if code := r.wait(t, 3*time.Minute); code != 0 {
		t.Fatalf("pitstop run exited %d, want 0 (the job succeeded)\n%s", code, r.stderr.String())
	}
	stderr = r.stderr.String()
	testutil.Contains(t, "pitstop run's stderr", stderr, "job build: success", "deleted branch pitstop/build-", "(verified: GitHub's OIDC token for the job)")
	// The agent asked the fake's token service, as on a runner.
	if !strings.Contains(e.actLog.String(), "GitHub vouches for the host key") {
		t.Errorf("the agent did not get its proof")
	}
	if !strings.Contains(e.actLog.String(), "saw-file=[written in the pause]") {
		t.Errorf("the step after the pause did not see the session's file")
	}
	e.onlyMain(t)
	if runs := e.fake.Runs(); len(runs) != 1 || runs[0].GetConclusion() != "success" || runs[0].GetEvent() != "push" {
		t.Errorf("runs: %v", runs)
	}
}

// TestGitHubRunConnectsOnTerminal: on a terminal, pitstop run connects
// the user itself, with the host key from GitHub pinned, and the job goes
// on when the shell exits.
func TestGitHubRunConnectsOnTerminal(t *testing.T) {
	tool(t, "ssh", sshInstall)
	e := newGHEnv(t, map[string]string{".github/workflows/ci.yml": ciWorkflow(t)})
	cmd := exec.Command(pitstopBin, "run", "--job", "build", "--ssh-after-step", "1", "--with", "listen=127.0.0.1:0", "--with", "wait-timeout=3m")
	cmd.Dir, cmd.Env = e.repo, e.env
	r := startOnTerminal(t, cmd)
	term, screen, stderr, done := r.term, r.screen, r.stderr, r.done
	deadline := time.Now().Add(readyTimeout)
	for !strings.Contains(stderr.String(), "pitstop: connecting (host key SHA256:") {
		if time.Now().After(deadline) {
			t.Fatal("pitstop run did not connect")
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !strings.Contains(stderr.String(), "StrictHostKeyChecking=yes") || !strings.Contains(stderr.String(), ", verified: GitHub's OIDC token for the job): ") {
		t.Errorf("ssh was not run with the host key pinned, as GitHub's token proves it:\n%s", stderr.String())
	}
	if _, err := io.WriteString(term, `echo "on-the-""terminal=[$EARLY_VAR]"; exit`+"\n"); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("pitstop run: %v, want exit status 0", err)
		}
	case <-time.After(3 * time.Minute):
		t.Fatal("pitstop run did not end after the shell exited")
	}
	if !strings.Contains(screen.String(), "on-the-terminal=[from-step-1]") {
		t.Errorf("the session's output did not reach the terminal:\n%s", screen.String())
	}
	testutil.Contains(t, "stderr", stderr.String(), "the job goes on; following it to its end", "job build: success", "deleted branch pitstop/build-")
	e.onlyMain(t)
}
