//go:build unix

package actrun

import (
	"bufio"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pitstopci/pitstop/injector"
	"github.com/pitstopci/pitstop/internal/testutil"
)

// fakeAct stands in for act: it records its arguments, environment and
// workflow, prints a line the way act does, writes the ready file the
// injected step names, and waits for a "continue" file next to the workflow
// copy before exiting 3 (a failed job), or 130 on an interrupt.
const fakeAct = `#!/bin/sh
wf=""; prev=""
for a in "$@"; do [ "$prev" = "-W" ] && wf="$a"; prev="$a"; done
printf '%s\n' "$@" > "$FAKE_LOG/args"
env > "$FAKE_LOG/env"
cp "$wf" "$FAKE_LOG/workflow.yml"
trap 'echo "[ci/build] interrupted"; exit 130' INT
echo "[ci/build] ⭐ Run Main make"
ready=$(sed -n 's/.*ready-file: "\(.*\)"$/\1/p' "$wf")
printf '{"address":"127.0.0.1:40123","known_hosts":"[127.0.0.1]:40123 ssh-ed25519 AAAAtest","host_key_fingerprint":"SHA256:test","user":"dev"}' > "$ready.tmp"
mv "$ready.tmp" "$ready"
d=$(dirname "$wf")
while [ ! -e "$d/continue" ]; do sleep 0.02; done
echo "[ci/build] 🏁  Job failed"
exit 3
`

// fakeSSH records its arguments and lets the fake act finish.
const fakeSSH = `#!/bin/sh
printf '%s\n' "$@" > "$FAKE_LOG/ssh-args"
for a in "$@"; do
	case "$a" in UserKnownHostsFile=*) kh="${a#UserKnownHostsFile=}" ;; esac
done
cp "$kh" "$FAKE_LOG/known_hosts"
echo "remote shell"
touch "$(dirname "$kh")/continue"
`

type fixture struct {
	home, repo, source, log string
	opts                    Options
	stderr                  *testutil.Buffer
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	dir := t.TempDir()
	f := &fixture{
		home:   dir,
		repo:   filepath.Join(dir, "repo"),
		source: filepath.Join(dir, "pitstop"),
		log:    filepath.Join(dir, "log"),
		stderr: &testutil.Buffer{},
	}
	testutil.WriteTree(t, f.repo, map[string]string{".git/HEAD": "", ".github/workflows/ci.yml": buildWorkflow})
	testutil.WriteTree(t, f.source, map[string]string{"go.mod": "module github.com/pitstopci/pitstop\n", "agent/action.yml": "x"})
	writeExecutable(t, filepath.Join(dir, "bin", "act"), fakeAct)
	writeExecutable(t, filepath.Join(dir, "bin", "ssh"), fakeSSH)
	if err := os.Mkdir(f.log, 0o755); err != nil {
		t.Fatal(err)
	}
	f.opts = Options{
		Dir:            filepath.Join(f.repo, ".github"),
		Job:            "build",
		AfterStep:      1,
		WaitTimeout:    2 * time.Minute,
		ActionSource:   f.source,
		AuthorizedKeys: []byte(newPublicKey(t, "me@laptop") + "\n"),
		Act:            filepath.Join(dir, "bin", "act"),
		SSH:            filepath.Join(dir, "bin", "ssh"),
		Env: []string{
			"PATH=/usr/bin:/bin", "HOME=" + dir, "FAKE_LOG=" + f.log,
			"GITHUB_ENV=/outer/runner/env", "RUNNER_ENVIRONMENT=github-hosted",
		},
		Stderr:       f.stderr,
		PollInterval: 10 * time.Millisecond,
	}
	return f
}

func (f *fixture) read(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(f.log, name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestRunPrintsCommand(t *testing.T) {
	f := newFixture(t)
	f.opts.With = []injector.Input{{Key: "allow-untrusted-prs", Value: "true"}}
	// The user's key goes on the line, as pitstop act's own ssh uses it.
	testutil.WriteTree(t, f.home, map[string]string{".ssh/id_ed25519": "private", ".ssh/id_ed25519.pub": "public"})
	pr, pw := io.Pipe()
	f.opts.Stdout = pw
	type result struct {
		code int
		err  error
	}
	done := make(chan result, 1)
	go func() {
		code, err := Run(context.Background(), f.opts)
		pw.Close()
		done <- result{code, err}
	}()

	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatalf("no connect command on stdout: %v\nstderr:\n%s", err, f.stderr.String())
	}
	if !strings.HasPrefix(line, "ssh -i "+filepath.Join(f.home, ".ssh", "id_ed25519")+" -p 40123 -o StrictHostKeyChecking=yes -o UserKnownHostsFile=") || !strings.HasSuffix(line, " dev@127.0.0.1\n") {
		t.Errorf("connect command: %q", line)
	}
	kh := strings.TrimPrefix(strings.Fields(line)[8], "UserKnownHostsFile=")
	if b, err := os.ReadFile(kh); err != nil || string(b) != "[127.0.0.1]:40123 ssh-ed25519 AAAAtest\n" {
		t.Errorf("known_hosts %s: %q, %v", kh, b, err)
	}
	if err := os.WriteFile(filepath.Join(filepath.Dir(kh), "continue"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	r := <-done
	if r.err != nil || r.code != 3 {
		t.Fatalf("Run = %d, %v; want act's exit status 3", r.code, r.err)
	}
	if _, err := os.Stat(filepath.Dir(kh)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("temporary directory left behind: %v", err)
	}

	args := f.read(t, "args")
	for _, want := range []string{
		"-C\n" + f.repo + "\n",
		"-j\nbuild\n",
		"-P\nubuntu-latest=-self-hosted\n",
		"--local-repository\npitstopci/pitstop@v1=" + f.source + "\n",
	} {
		if !strings.Contains(args, want) {
			t.Errorf("act arguments lack %q:\n%s", want, args)
		}
	}
	if env := f.read(t, "env"); strings.Contains(env, "GITHUB_ENV=") || strings.Contains(env, "RUNNER_ENVIRONMENT=") || !strings.Contains(env, "FAKE_LOG=") {
		t.Errorf("act's environment must drop the outer runner's variables and keep the rest:\n%s", env)
	}
	wf := f.read(t, "workflow.yml")
	for _, want := range []string{
		"uses: pitstopci/pitstop/agent@v1",
		`listen: "127.0.0.1:0"`,
		`wait-timeout: "2m0s"`,
		`authorized-keys: "ssh-ed25519 `,
		`allow-untrusted-prs: "true"`,
	} {
		if !strings.Contains(wf, want) {
			t.Errorf("injected workflow lacks %q:\n%s", want, wf)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(f.repo, ".github", "workflows", "ci.yml")); string(b) != buildWorkflow {
		t.Errorf("the user's workflow was changed:\n%s", b)
	}
	if s := f.stderr.String(); !strings.Contains(s, "[ci/build] ⭐ Run Main make") || !strings.Contains(s, "Job failed") {
		t.Errorf("act's output was not streamed to stderr:\n%s", s)
	}
}

func TestRunConnects(t *testing.T) {
	f := newFixture(t)
	var stdout testutil.Buffer
	f.opts.Stdout = &stdout
	f.opts.Connect = true
	testutil.WriteTree(t, f.home, map[string]string{".ssh/id_ed25519": "private", ".ssh/id_ed25519.pub": "public"})
	code, err := Run(context.Background(), f.opts)
	if err != nil || code != 3 {
		t.Fatalf("Run = %d, %v; want 3\nstderr:\n%s", code, err, f.stderr.String())
	}
	if stdout.String() != "remote shell\n" {
		t.Errorf("stdout should be the session's alone, got %q", stdout.String())
	}
	sshArgs := f.read(t, "ssh-args")
	identity := "-i\n" + filepath.Join(f.home, ".ssh", "id_ed25519") + "\n"
	for _, want := range []string{identity, "-p\n40123\n", "StrictHostKeyChecking=yes\n", "dev@127.0.0.1\n"} {
		if !strings.Contains(sshArgs, want) {
			t.Errorf("ssh arguments lack %q:\n%s", want, sshArgs)
		}
	}
	if kh := f.read(t, "known_hosts"); kh != "[127.0.0.1]:40123 ssh-ed25519 AAAAtest\n" {
		t.Errorf("pinned host key: %q", kh)
	}
}

func TestRunForwardsInterrupt(t *testing.T) {
	f := newFixture(t)
	pr, pw := io.Pipe()
	f.opts.Stdout = pw
	sigs := make(chan os.Signal, 1)
	f.opts.Interrupt = sigs
	done := make(chan int, 1)
	go func() {
		code, err := Run(context.Background(), f.opts)
		if err != nil {
			t.Error(err)
		}
		pw.Close()
		done <- code
	}()
	if _, err := bufio.NewReader(pr).ReadString('\n'); err != nil {
		t.Fatal(err)
	}
	sigs <- os.Interrupt
	select {
	case code := <-done:
		if code != 130 {
			t.Errorf("exit status %d, want act's 130", code)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("act did not get the interrupt")
	}
	go io.Copy(io.Discard, pr)
}

func TestRunWithoutAct(t *testing.T) {
	f := newFixture(t)
	f.opts.Act = ""
	f.opts.Env = []string{"PATH=" + t.TempDir(), "HOME=" + t.TempDir()}
	_, err := Run(context.Background(), f.opts)
	if !errors.Is(err, ErrActNotFound) || !strings.Contains(err.Error(), "go install github.com/nektos/act@") {
		t.Fatalf("got %v, want ErrActNotFound with the install command", err)
	}
}
