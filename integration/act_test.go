//go:build unix

package integration

import (
	"bufio"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pitstopci/pitstop/internal/testutil"
)

const (
	actInstall = "go install github.com/nektos/act@v0.2.89 (or: task tools)"
	sshInstall = "apt-get install openssh-client (or: task system)"
	gitInstall = "apt-get install git (or: task system)"

	// readyTimeout allows for a slow, loaded machine. (The pause runs
	// pitstop act's own binary, so no build of the agent is waited for.)
	readyTimeout = 5 * time.Minute
)

// actEnv is a local user for pitstop act: a HOME of its own with one SSH
// key, a throwaway repository (by default holding testdata/act/ci.yml),
// and act and go on PATH.
type actEnv struct {
	home, repo string
	key        string // the local user's private key file
	env        []string
}

func newActEnv(t *testing.T) *actEnv {
	t.Helper()
	src, err := os.ReadFile(filepath.Join("testdata", "act", "ci.yml"))
	if err != nil {
		t.Fatal(err)
	}
	return newActRepo(t, map[string]string{".github/workflows/ci.yml": string(src)})
}

// actOnTerminal starts pitstop act on a terminal in a new actEnv's
// repository, pausing job build after step 1; the ssh it connects with
// must be on PATH.
func actOnTerminal(t *testing.T) *onTerminal {
	t.Helper()
	tool(t, "ssh", sshInstall)
	e := newActEnv(t)
	cmd := exec.Command(pitstopBin, "act", "--job", "build", "--ssh-after-step", "1", "--wait-timeout", "3m", "--action-source", sourceRoot)
	cmd.Dir, cmd.Env = e.repo, e.env
	return startOnTerminal(t, cmd)
}

// newActRepo is newActEnv with a repository holding the given files
// (slash-separated paths relative to the repository root).
func newActRepo(t *testing.T, files map[string]string) *actEnv {
	t.Helper()
	act := tool(t, "act", actInstall, filepath.Join(sourceRoot, "bin", "act"))
	git := tool(t, "git", gitInstall)
	goBin := tool(t, "go", "https://go.dev/dl/")

	e := &actEnv{home: t.TempDir(), repo: t.TempDir()}
	e.key = writeKey(t, filepath.Join(e.home, ".ssh"), "id_ed25519", "me@laptop")

	caches := goEnv(t, "GOCACHE", "GOMODCACHE", "GOPATH")
	e.env = withEnv(os.Environ(), map[string]string{
		"HOME": e.home,
		// Where a test has the action build the agent (install: source),
		// it uses the go on PATH; keeping the user's caches makes that a
		// warm build that needs no network.
		"GOCACHE":    caches["GOCACHE"],
		"GOMODCACHE": caches["GOMODCACHE"],
		"GOPATH":     caches["GOPATH"],
		"PATH":       filepath.Dir(act) + string(os.PathListSeparator) + filepath.Dir(goBin) + string(os.PathListSeparator) + os.Getenv("PATH"),
	},
		// The test key must be the local user's only key.
		"SSH_AUTH_SOCK",
	)

	for name, content := range files {
		p := filepath.Join(e.repo, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, args := range [][]string{
		{"init", "-q"},
		{"add", "-A"},
		{"-c", "user.name=Test", "-c", "user.email=test@example.com", "commit", "-q", "-m", "init"},
	} {
		cmd := exec.Command(git, args...)
		cmd.Dir, cmd.Env = e.repo, e.env
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	return e
}

// actRun is a running pitstop act.
type actRun struct {
	cmd    *exec.Cmd
	stdout *bufio.Reader
	stderr *testutil.Buffer
	done   chan error
	key    string // the local user's private key, where a test needs it
}

func (e *actEnv) start(t *testing.T, args ...string) *actRun {
	t.Helper()
	return e.startCmd(t, append([]string{"act"}, args...)...)
}

// startCmd starts any pitstop command in the repository.
func (e *actEnv) startCmd(t *testing.T, args ...string) *actRun {
	t.Helper()
	cmd := exec.Command(pitstopBin, args...)
	cmd.Dir, cmd.Env = e.repo, e.env
	r := &actRun{cmd: cmd, stderr: &testutil.Buffer{}, done: make(chan error, 1)}
	cmd.Stderr = r.stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	r.stdout = bufio.NewReader(out)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	t.Cleanup(func() {
		stopProcess(cmd, exited)
		if t.Failed() {
			t.Logf("pitstop act's stderr:\n%s", r.stderr.String())
		}
	})
	go func() {
		r.done <- cmd.Wait()
		close(exited)
	}()
	return r
}

// connectLine waits for the line pitstop act prints when the pause is
// ready and returns it.
func (r *actRun) connectLine(t *testing.T) string {
	t.Helper()
	lines := make(chan string, 1)
	go func() {
		line, err := r.stdout.ReadString('\n')
		if err != nil && line == "" {
			line = "(stdout closed: " + err.Error() + ")"
		}
		lines <- line
		_, _ = io.Copy(io.Discard, r.stdout)
	}()
	select {
	case line := <-lines:
		if !strings.HasPrefix(line, "ssh ") {
			t.Fatalf("first line on stdout should be the connect command, got %q", line)
		}
		return strings.TrimSpace(line)
	case <-time.After(readyTimeout):
		t.Fatalf("no connect command within %v", readyTimeout)
		return ""
	}
}

// wait waits for pitstop act to end and returns its exit status.
func (r *actRun) wait(t *testing.T, timeout time.Duration) int {
	t.Helper()
	select {
	case err := <-r.done:
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			return exit.ExitCode()
		}
		if err != nil {
			t.Fatalf("pitstop act: %v", err)
		}
		return 0
	case <-time.After(timeout):
		t.Fatalf("pitstop act did not end within %v", timeout)
		return -1
	}
}

// readySeconds is how long the pause took to become ready, as pitstop act
// reports it, for the log.
var readySeconds = regexp.MustCompile(`ready ([0-9.]+)s after act started`)

// sshWith runs the printed connect command through a shell, as a user
// pasting it would, with extra options inserted after "ssh".
func sshWith(ctx context.Context, line string, extra ...string) *exec.Cmd {
	quoted := make([]string, len(extra))
	for i, x := range extra {
		quoted[i] = "'" + strings.ReplaceAll(x, "'", `'\''`) + "'"
	}
	return exec.CommandContext(ctx, "/bin/sh", "-c", "ssh "+strings.Join(quoted, " ")+" "+strings.TrimPrefix(line, "ssh "))
}

// TestActPauseEndToEnd is the whole local loop: pitstop act runs the job
// under the real act in host mode, the pause builds and starts the agent,
// the real OpenSSH client gets in with the local user's key (and another
// key does not), the session sees what step 1 left and leaves things for
// the next step, and the job then finishes successfully.
func TestActPauseEndToEnd(t *testing.T) {
	tool(t, "ssh", sshInstall)
	e := newActEnv(t)
	r := e.start(t, "--job", "build", "--ssh-after-step", "1", "--wait-timeout", "3m", "--action-source", sourceRoot)
	line := r.connectLine(t)
	if m := readySeconds.FindStringSubmatch(r.stderr.String()); m != nil {
		t.Logf("pause ready %ss after act started", m[1])
	}
	if !strings.Contains(line, "StrictHostKeyChecking=yes") || !strings.Contains(line, "UserKnownHostsFile=") {
		t.Errorf("the connect command must pin the host key: %s", line)
	}
	// It names the local user's key, which works pasted as it is.
	own := "-i " + e.key + " "
	if !strings.Contains(line, own) {
		t.Errorf("the connect command lacks %q: %s", own, line)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	batch := []string{"-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes", "-o", "ConnectTimeout=20"}

	// A key that is not the local user's is refused. (Done first: the real
	// session below ends the pause.)
	stranger := writeKey(t, t.TempDir(), "stranger", "stranger@elsewhere")
	out, err := sshWith(ctx, strings.Replace(line, own, "", 1), append([]string{"-i", stranger}, batch...)...).CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 255 || !strings.Contains(string(out), "Permission denied") {
		t.Fatalf("a stranger's key: got %v\n%s\nwant ssh to fail with Permission denied", err, out)
	}

	// The local user's key gets a shell on a pty. What the pty echoes back
	// is the script itself, so every check looks for text only the
	// commands' output can contain (the quotes split the markers).
	script := strings.Join([]string{
		`echo "early-var=[$EARLY_VAR]"`,
		`mytool`,
		`echo "artifact=[$(cat artifact.txt)]"`,
		`[ "$PWD" = "$GITHUB_WORKSPACE" ] && echo "in-work""space"`,
		`pitstop status; echo "status-exit=[$?]"`,
		`echo "written in the pause" > from-pause.txt`,
		`echo "PAUSE_VAR=set-in-the-pause" >> "$GITHUB_ENV"`,
		`exit`,
	}, "\n") + "\n"
	session := sshWith(ctx, line, append([]string{"-tt", "-i", e.key}, batch...)...)
	session.Stdin = strings.NewReader(script)
	out, err = session.CombinedOutput()
	if err != nil {
		t.Fatalf("ssh session: %v\n%s", err, out)
	}
	testutil.Contains(t, "the session's output", string(out),
		"early-var=[from-step-1]",
		"tool-from-github-path",
		"artifact=[made-in-step-1]",
		"in-workspace",
		"status-exit=[0]",
	)

	if code := r.wait(t, 2*time.Minute); code != 0 {
		t.Fatalf("pitstop act exited %d, want 0 (the job succeeded)", code)
	}
	stderr := r.stderr.String()
	testutil.Contains(t, "act's output", stderr,
		"saw-file=[written in the pause]",
		"saw-var=[set-in-the-pause]",
		"saw-artifact=[made-in-step-1]",
		"Job succeeded",
	)
}

// TestActConnectsOnTerminal: on a terminal, pitstop act runs ssh itself
// with the host key pinned and the user's own key, and the job goes on
// when the shell exits.
func TestActConnectsOnTerminal(t *testing.T) {
	r := actOnTerminal(t)
	term, screen, stderr, done := r.term, r.screen, r.stderr, r.done

	deadline := time.Now().Add(readyTimeout)
	for !strings.Contains(stderr.String(), "pitstop: connecting: ssh ") {
		if time.Now().After(deadline) {
			t.Fatal("pitstop act did not connect")
		}
		time.Sleep(100 * time.Millisecond)
	}
	// Typed ahead: the terminal holds the input until ssh reads it.
	if _, err := io.WriteString(term, `echo "on-the-""terminal=[$EARLY_VAR]"; echo "PAUSE_VAR=set-in-the-pause" >> "$GITHUB_ENV"; exit`+"\n"); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("pitstop act: %v, want exit status 0", err)
		}
	case <-time.After(2 * time.Minute):
		t.Fatal("pitstop act did not end after the shell exited")
	}
	if !strings.Contains(screen.String(), "on-the-terminal=[from-step-1]") {
		t.Errorf("the session's output did not reach the terminal:\n%s", screen.String())
	}
	if strings.Contains(screen.String(), "Job succeeded") || strings.Contains(screen.String(), "[ci/build]") {
		t.Errorf("act's output went to stdout, not stderr:\n%s", screen.String())
	}
	testutil.Contains(t, "act's output", stderr.String(), "saw-var=[set-in-the-pause]", "Job succeeded")
}

// TestActNobodyConnects: with a short --wait-timeout and nobody coming,
// the pause ends by itself and the job completes.
func TestActNobodyConnects(t *testing.T) {
	e := newActEnv(t)
	r := e.start(t, "--job", "build", "--ssh-after-step", "1", "--wait-timeout", "3s", "--action-source", sourceRoot)
	r.connectLine(t)
	if code := r.wait(t, 2*time.Minute); code != 0 {
		t.Fatalf("pitstop act exited %d, want 0", code)
	}
	stderr := r.stderr.String()
	testutil.Contains(t, "act's output", stderr, "saw-file=[]", "saw-var=[]", "saw-artifact=[made-in-step-1]", "Job succeeded")
}

// TestActMissing: without act, pitstop act fails and says how to install
// it.
func TestActMissing(t *testing.T) {
	empty := t.TempDir()
	cmd := exec.Command(pitstopBin, "act", "--job", "build", "--ssh-after-step", "1")
	cmd.Dir = t.TempDir()
	cmd.Env = withEnv(os.Environ(), map[string]string{"PATH": empty, "HOME": empty, "GOPATH": empty}, "GOBIN")
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Fatalf("got %v, want exit status 1\n%s", err, out)
	}
	if !strings.Contains(string(out), "go install github.com/nektos/act@v0.2.89") {
		t.Errorf("the error must say how to install act:\n%s", out)
	}
}

// TestActionInstallRelease: a pinned release build is installed when its
// checksum matches, and refused, with no fallback, when it does not.
func TestActionInstallRelease(t *testing.T) {
	tool(t, "curl", "apt-get install curl")
	tool(t, "tar", "apt-get install tar")
	action := actionCopy(t)
	mirror := t.TempDir()
	fake := "#!/bin/sh\necho released pitstop\n"
	if err := os.WriteFile(filepath.Join(mirror, "pitstop"), []byte(fake), 0o755); err != nil {
		t.Fatal(err)
	}
	archive := "pitstop_1.2.3_linux_amd64.tar.gz"
	if out, err := exec.Command("tar", "-czf", filepath.Join(mirror, archive), "-C", mirror, "pitstop").CombinedOutput(); err != nil {
		t.Fatalf("tar: %v\n%s", err, out)
	}
	sum, err := exec.Command("sha256sum", filepath.Join(mirror, archive)).Output()
	if err != nil {
		t.Fatalf("sha256sum: %v", err)
	}
	pin := strings.Fields(string(sum))[0] + "  " + archive + "\n"
	for name, content := range map[string]string{
		"checksums.txt": "0000000000000000000000000000000000000000000000000000000000000000  pitstop_1.2.3_darwin_arm64.tar.gz\n" + pin,
		"release":       "version=v1.2.3\nrepository=pitstopci/pitstop\n",
	} {
		if err := os.WriteFile(filepath.Join(action, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	url, trust := httpsMirror(t, mirror)
	env := map[string]string{
		"RUNNER_OS": "Linux", "RUNNER_ARCH": "X64",
		"PITSTOP_DOWNLOAD_URL": url,
		"PITSTOP_INSTALL":      "release",
		"PATH":                 "/usr/bin:/bin", // no go: the release must do
		// No tool cache: the tampered download below must not be
		// answered by a copy kept from the first.
		"RUNNER_TOOL_CACHE": "",
	}
	for k, v := range trust {
		env[k] = v
	}

	out, err, outputs := runScript(t, filepath.Join(action, "install.sh"), env)
	if err != nil {
		t.Fatalf("install.sh: %v\n%s", err, out)
	}
	if b, err := os.ReadFile(outputs["bin"]); err != nil || string(b) != fake {
		t.Errorf("installed binary %q: %q, %v", outputs["bin"], b, err)
	}
	if filepath.Dir(outputs["bin"]) != filepath.Join(outputs["state"], "bin") {
		t.Errorf("the binary must be alone in its directory (it goes first on the sessions' PATH): %s", outputs["bin"])
	}

	// Tampered with after pinning: refused, also in auto mode, which would
	// otherwise fall back to a source build.
	f, err := os.OpenFile(filepath.Join(mirror, archive), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("tampered")
	f.Close()
	env["PITSTOP_INSTALL"] = "auto"
	env["RUNNER_TEMP"] = t.TempDir()
	out, err, outputs = runScript(t, filepath.Join(action, "install.sh"), env)
	if err == nil || !strings.Contains(out, "checksum mismatch") || outputs["bin"] != "" {
		t.Fatalf("a tampered download: got %v, outputs %v\n%s\nwant a failure saying checksum mismatch", err, outputs, out)
	}
	if matches, _ := filepath.Glob(filepath.Join(env["RUNNER_TEMP"], "pitstop.*", "bin", "pitstop")); len(matches) > 0 {
		t.Errorf("a rejected binary was left where it could be run: %v", matches)
	}
}

// TestActionInstallFromToolCache: with no release pinned and no go on
// PATH, the newest Go in the runner's tool cache builds the action's
// source, with the job's cross-compiling settings kept out of the build
// and nothing written for later steps.
func TestActionInstallFromToolCache(t *testing.T) {
	action := actionCopy(t)
	cache := t.TempDir()
	log := filepath.Join(t.TempDir(), "go.log")
	// A fake go that records how it was called and makes the -o file.
	fakeGo := `#!/bin/sh
echo "$0 $*" >> "` + log + `"
echo "GOOS=${GOOS-unset} GOFLAGS=${GOFLAGS-unset} CGO_ENABLED=${CGO_ENABLED-unset} PWD=$PWD" >> "` + log + `"
case "$1" in version) echo "go version fake"; exit 0 ;; esac
while [ $# -gt 0 ]; do [ "$1" = "-o" ] && { printf '#!/bin/sh\n' > "$2"; chmod +x "$2"; }; shift; done
`
	for _, v := range []string{"1.9.0", "1.10.2"} {
		p := filepath.Join(cache, "go", v, "x64", "bin", "go")
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(fakeGo), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	later := t.TempDir()
	githubEnv, githubPath := filepath.Join(later, "env"), filepath.Join(later, "path")
	out, err, outputs := runScript(t, filepath.Join(action, "install.sh"), map[string]string{
		"RUNNER_OS": "Linux", "RUNNER_ARCH": "X64", "RUNNER_TOOL_CACHE": cache,
		"PATH": "/usr/bin:/bin", "GOOS": "windows", "GOFLAGS": "-mod=vendor", "CGO_ENABLED": "1",
		"GITHUB_ENV": githubEnv, "GITHUB_PATH": githubPath,
	})
	if err != nil {
		t.Fatalf("install.sh: %v\n%s", err, out)
	}
	b, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	calls := string(b)
	newest := filepath.Join(cache, "go", "1.10.2", "x64", "bin", "go")
	if !strings.Contains(calls, newest+" build -buildvcs=false -o "+outputs["bin"]+" ./cmd/pitstop") {
		t.Errorf("want a build by the newest tool-cache go (%s), got:\n%s", newest, calls)
	}
	if strings.Contains(calls, "/1.9.0/") {
		t.Errorf("an older go was used:\n%s", calls)
	}
	if !strings.Contains(calls, "GOOS=unset GOFLAGS=unset CGO_ENABLED=unset PWD="+filepath.Dir(filepath.Dir(action))) {
		t.Errorf("the build must run in the action's source without the job's GOOS/GOFLAGS/CGO_ENABLED:\n%s", calls)
	}
	for _, f := range []string{githubEnv, githubPath} {
		if _, err := os.Stat(f); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s was written: later steps must see the job's own PATH and environment", f)
		}
	}
}

// TestActionAgentFlags: agent.sh turns the inputs into agent flags, keeps
// the token out of GITHUB_TOKEN (sessions would inherit that), and writes
// authorized-keys to a private file.
func TestActionAgentFlags(t *testing.T) {
	action := actionCopy(t)
	state := t.TempDir()
	log := filepath.Join(t.TempDir(), "agent.log")
	fake := filepath.Join(state, "pitstop")
	script := "#!/bin/sh\nprintf '%s\\n' \"$@\" > " + log + "\nenv | grep -E '^(PITSTOP_|GITHUB_TOKEN)' | sort >> " + log + "\n"
	if err := os.WriteFile(fake, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	keys := "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGVyZ3JvdW5k one\nssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHNlY29uZA two"
	out, err, _ := runScript(t, filepath.Join(action, "agent.sh"), map[string]string{
		"PITSTOP_BIN": fake, "PITSTOP_STATE": state,
		"PITSTOP_GITHUB_TOKEN":           "secret-token",
		"PITSTOP_AUTHORIZED_USERS":       "alice, bob\ncarol",
		"PITSTOP_AUTHORIZED_KEYS":        keys,
		"PITSTOP_LISTEN":                 "127.0.0.1:0",
		"PITSTOP_WAIT_TIMEOUT":           "5m",
		"PITSTOP_MAX_DURATION":           "2h",
		"PITSTOP_CLIENT_ALIVE_INTERVAL":  "5s",
		"PITSTOP_CLIENT_ALIVE_COUNT_MAX": "4",
		"PITSTOP_READY_FILE":             "",
		"PITSTOP_LOG_FORMAT":             "json",
		"GITHUB_TOKEN":                   "",
	})
	if err != nil {
		t.Fatalf("agent.sh: %v\n%s", err, out)
	}
	b, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(state, "authorized_keys")
	want := strings.Join([]string{
		"agent", "--ready-file", filepath.Join(state, "ready.json"),
		"--listen", "127.0.0.1:0", "--wait-timeout", "5m", "--max-duration", "2h",
		"--client-alive-interval", "5s", "--client-alive-count-max", "4", "--log-format", "json",
		"--github-user", "alice", "--github-user", "bob", "--github-user", "carol",
		"--authorized-keys", keyFile,
		"GITHUB_TOKEN=", "PITSTOP_GITHUB_TOKEN=secret-token",
	}, "\n") + "\n"
	if string(b) != want {
		t.Errorf("the agent was run as:\n%s\nwant:\n%s", b, want)
	}
	if k, err := os.ReadFile(keyFile); err != nil || string(k) != keys+"\n" {
		t.Errorf("authorized_keys: %q, %v", k, err)
	}
	if fi, err := os.Stat(keyFile); err == nil && fi.Mode().Perm() != 0o600 {
		t.Errorf("authorized_keys mode %v, want 0600", fi.Mode().Perm())
	}
}

// TestActUsage: mistakes on the command line exit 2 before anything runs;
// a step number the job does not have is the injector's error (exit 1),
// naming the file and the valid range.
func TestActUsage(t *testing.T) {
	e := newActEnv(t)
	for _, tt := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--job", "build"}, 2, "--ssh-after-step N"},
		{[]string{"--job", "build", "--ssh-after-step", "two"}, 2, `got "two"`},
		{[]string{"--job", "build", "--ssh-after-step", "1", "--wait-timeout", "-1m"}, 2, "must not be negative"},
		{[]string{"--job", "build", "--ssh-after-step", "9"}, 1, "ci.yml:"},
		{[]string{"--job", "deploy", "--ssh-after-step", "1"}, 1, `"deploy"`},
		{[]string{"--job", "build", "--ssh-after-step", "1", "--action-source", t.TempDir()}, 1, "check action source"},
	} {
		cmd := exec.Command(pitstopBin, append([]string{"act"}, tt.args...)...)
		cmd.Dir, cmd.Env = e.repo, e.env
		out, err := cmd.CombinedOutput()
		code := 0
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			code = exit.ExitCode()
		}
		if code != tt.code || !strings.Contains(string(out), tt.want) {
			t.Errorf("pitstop act %s: exit %d, output:\n%s\nwant exit %d and %q", strings.Join(tt.args, " "), code, out, tt.code, tt.want)
		}
	}
}
