//go:build unix

package integration

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pitstopci/pitstop/internal/testutil"
)

// The images .ci/test-images builds from Debian packages (no registry is
// needed): Debian with and without sudo, busybox alone (no bash, no libc,
// like a bare Alpine), and busybox's httpd as a service.
const (
	imageBusybox      = "pitstop-test/busybox:latest"
	imageDebianSudo   = "pitstop-test/debian:sudo"
	imageDebianNoSudo = "pitstop-test/debian:nosudo"
	imageHTTPD        = "pitstop-test/httpd:latest"

	dockerInstall = "task docker (runs .ci/docker-up and .ci/test-images)"
)

// dockerReady fails the test unless Docker answers and the test images
// are there.
func dockerReady(t *testing.T) string {
	t.Helper()
	docker := tool(t, "docker", dockerInstall)
	if out, err := exec.Command(docker, "info", "--format", "{{.ServerVersion}}").CombinedOutput(); err != nil {
		t.Fatalf("Docker does not answer (%v: %s); start it with: %s", err, strings.TrimSpace(string(out)), dockerInstall)
	}
	for _, img := range []string{imageBusybox, imageDebianSudo, imageDebianNoSudo, imageHTTPD, imageShell} {
		if out, err := exec.Command(docker, "image", "inspect", img).CombinedOutput(); err != nil {
			t.Fatalf("test image %s is missing (%v: %s); build it with: %s", img, err, firstLine(out), dockerInstall)
		}
	}
	return docker
}

func firstLine(b []byte) string {
	s, _, _ := strings.Cut(strings.TrimSpace(string(b)), "\n")
	return s
}

// noneLeft fails the test if act left a container, volume or network of
// the workflow named name behind (act names them act-NAME-JOB-...).
func noneLeft(t *testing.T, docker, name string) {
	t.Helper()
	for _, what := range [][]string{
		{"ps", "-a", "--format", "{{.Names}}"},
		{"volume", "ls", "--format", "{{.Name}}"},
		{"network", "ls", "--format", "{{.Name}}"},
	} {
		out, err := exec.Command(docker, what...).Output()
		if err != nil {
			t.Fatalf("docker %s: %v", strings.Join(what, " "), err)
		}
		for _, n := range strings.Fields(string(out)) {
			if strings.HasPrefix(n, "act-"+name+"-") {
				t.Errorf("left behind after the run (docker %s): %s", what[0], n)
			}
		}
	}
}

// containerWorkflow is a workflow named name whose job "build" runs in
// image (with more job-level YAML in extra): step 1 leaves a PATH entry, a
// variable and a file for the pause; step 2 prints what the pause left.
// Steps use sh, which every image has.
func containerWorkflow(name, image, extra string) string {
	return `name: ` + name + `
on: push
jobs:
  build:
    runs-on: ubuntu-latest
    container: ` + image + `
` + extra + `    steps:
      - name: Prepare
        shell: sh
        run: |
          mkdir -p "$RUNNER_TEMP/tools"
          printf '#!/bin/sh\necho "tool-from-github-path"\n' > "$RUNNER_TEMP/tools/mytool"
          chmod +x "$RUNNER_TEMP/tools/mytool"
          echo "$RUNNER_TEMP/tools" >> "$GITHUB_PATH"
          echo "EARLY_VAR=from-step-1" >> "$GITHUB_ENV"
          echo "made-in-step-1" > artifact.txt
      - name: After the pause
        shell: sh
        run: |
          echo "saw-file=[$(cat from-pause.txt 2>/dev/null)]"
          echo "saw-var=[${PAUSE_VAR:-}]"
          echo "saw-artifact=[$(cat artifact.txt)]"
`
}

// pauseSession logs in with the printed command and runs the standard
// checks of a paused job, plus extra script lines (before its exit); it
// returns what the session printed.
func pauseSession(t *testing.T, e *actEnv, line string, extra ...string) string {
	t.Helper()
	return pauseSessionAs(t, e, line, "0", extra...) // root in the test images
}

// pauseSessionAs is pauseSession in a container that runs as uid.
func pauseSessionAs(t *testing.T, e *actEnv, line, uid string, extra ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	lines := []string{
		`echo "early-var=[$EARLY_VAR]"`,
		`mytool`,
		`echo "artifact=[$(cat artifact.txt)]"`,
		`[ "$PWD" = "$GITHUB_WORKSPACE" ] && echo "in-work""space"`,
		`[ -f /.dockerenv ] && echo "in-con""tainer"`,
		`echo "shell=[$(readlink /proc/$$/exe)]"`,
		`echo "uid=[$(id -u)]"`,
		`[ -t 0 ] && echo "on-a-""pty"`,
	}
	lines = append(lines, extra...)
	lines = append(lines,
		`echo "written in the pause" > from-pause.txt`,
		`echo "PAUSE_VAR=set-in-the-pause" >> "$GITHUB_ENV"`,
		`exit`)
	session := sshWith(ctx, line, "-tt", "-i", e.key, "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes", "-o", "ConnectTimeout=20")
	session.Stdin = strings.NewReader(strings.Join(lines, "\n") + "\n")
	out, err := session.CombinedOutput()
	if err != nil {
		t.Fatalf("ssh session: %v\n%s", err, out)
	}
	testutil.Contains(t, "the session's output", string(out),
		"early-var=[from-step-1]",
		"tool-from-github-path",
		"artifact=[made-in-step-1]",
		"in-workspace",
		"in-container",
		"uid=["+uid+"]", // whoever the container runs as
		"on-a-pty",
	)
	return string(out)
}

// jobWentOn checks that pitstop act ended with the job's success and
// that the step after the pause saw what the session left.
func jobWentOn(t *testing.T, r *actRun) {
	t.Helper()
	if code := r.wait(t, 3*time.Minute); code != 0 {
		t.Fatalf("pitstop act exited %d, want 0 (the job succeeded)", code)
	}
	testutil.Contains(t, "act's output", r.stderr.String(),
		"saw-file=[written in the pause]",
		"saw-var=[set-in-the-pause]",
		"saw-artifact=[made-in-step-1]",
		"Job succeeded",
	)
}

// TestActContainerJob: a job with container: under pitstop act (host mode
// otherwise), in Debian with and without sudo and in busybox with nothing
// but /bin/sh. The pause installs the static agent in the container; the
// user gets a shell of the image (bash where there is one, else sh) on a
// pty, as the container's user, with the step's environment and
// workspace; what the session writes is seen by the next step; and act
// leaves no container behind.
func TestActContainerJob(t *testing.T) {
	docker := dockerReady(t)
	tool(t, "ssh", sshInstall)
	for _, tt := range []struct {
		name, image, shell, sudo string
	}{
		{"ctr-busybox", imageBusybox, "shell=[/bin/busybox]", "no-sudo"},
		{"ctr-debian-sudo", imageDebianSudo, "bash]", "sudo=[/usr/bin/sudo]"},
		{"ctr-debian-nosudo", imageDebianNoSudo, "bash]", "no-sudo"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newActRepo(t, map[string]string{".github/workflows/ci.yml": containerWorkflow(tt.name, tt.image, "")})
			r := e.start(t, "--job", "build", "--ssh-after-step", "1", "--wait-timeout", "3m", "--action-source", sourceRoot)
			line := r.connectLine(t)
			if m := readySeconds.FindStringSubmatch(r.stderr.String()); m != nil {
				t.Logf("pause ready %ss after act started", m[1])
			}
			out := pauseSession(t, e, line, `s=$(command -v sudo) && echo "sudo=[$s]" || echo "no-""sudo"`)
			testutil.Contains(t, "the session's output in "+tt.image, out, tt.shell, tt.sudo)
			jobWentOn(t, r)
			testutil.Contains(t, "pitstop act's output", r.stderr.String(), "static pitstop", "image="+tt.image)
			noneLeft(t, docker, tt.name)
		})
	}
}

// TestActDocker: pitstop act --docker runs an ordinary job (runs-on
// ubuntu-latest) in the image the user's ~/.actrc maps it to, with the
// pause working as on the host.
func TestActDocker(t *testing.T) {
	docker := dockerReady(t)
	tool(t, "ssh", sshInstall)
	wf, err := os.ReadFile(filepath.Join("testdata", "act", "ci.yml"))
	if err != nil {
		t.Fatal(err)
	}
	name := "docker-plain"
	e := newActRepo(t, map[string]string{
		".github/workflows/ci.yml": strings.Replace(string(wf), "name: ci\n", "name: "+name+"\n", 1),
	})
	if err := os.WriteFile(filepath.Join(e.home, ".actrc"), []byte("-P ubuntu-latest="+imageDebianSudo+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := e.start(t, "--docker", "--job", "build", "--ssh-after-step", "1", "--wait-timeout", "3m", "--action-source", sourceRoot)
	line := r.connectLine(t)
	pauseSession(t, e, line)
	jobWentOn(t, r)
	if !strings.Contains(r.stderr.String(), "image="+imageDebianSudo) {
		t.Errorf("the job did not run in %s", imageDebianSudo)
	}
	if strings.Contains(r.stderr.String(), "catthehacker") {
		t.Errorf("pitstop act chose images although ~/.actrc names one")
	}
	noneLeft(t, docker, name)
}

// TestActServices: with --docker and no act configuration at all (act's
// first run, which would ask which images to use), a container job with a
// service: the service keeps running during the pause and `ssh -L` reaches
// it by its name, from the job's network.
func TestActServices(t *testing.T) {
	docker := dockerReady(t)
	tool(t, "ssh", sshInstall)
	name := "ctr-services"
	services := "    services:\n      web:\n        image: " + imageHTTPD + "\n"
	e := newActRepo(t, map[string]string{".github/workflows/ci.yml": containerWorkflow(name, imageDebianNoSudo, services)})
	r := e.start(t, "--docker", "--job", "build", "--ssh-after-step", "1", "--wait-timeout", "3m", "--action-source", sourceRoot)
	line := r.connectLine(t)

	port := testutil.FreePort(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	fwd := sshWith(ctx, line, "-N", "-L", fmt.Sprintf("127.0.0.1:%d:web:8080", port),
		"-i", e.key, "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes", "-o", "ExitOnForwardFailure=yes")
	// exec: the process to stop afterwards is ssh itself, not the shell.
	fwd.Args[len(fwd.Args)-1] = "exec " + fwd.Args[len(fwd.Args)-1]
	fwdOut := &strings.Builder{}
	fwd.Stdout, fwd.Stderr = fwdOut, fwdOut
	if err := fwd.Start(); err != nil {
		t.Fatal(err)
	}
	body, err := getWithRetry(fmt.Sprintf("http://127.0.0.1:%d/", port), time.Minute)
	_ = fwd.Process.Kill()
	_ = fwd.Wait()
	if err != nil || strings.TrimSpace(body) != "pitstop-service-ok" {
		t.Fatalf("the service through ssh -L: %q, %v; ssh said:\n%s", body, err, fwdOut.String())
	}

	pauseSession(t, e, line)
	jobWentOn(t, r)
	// act's first run would have asked which images to use (and died on
	// the closed stdin); pitstop act answered with act's default.
	if !strings.Contains(r.stderr.String(), "using act's default") {
		t.Errorf("pitstop act did not say which images it chose for act")
	}
	noneLeft(t, docker, name)
}

// getWithRetry GETs url until it answers, while ssh sets up the forward.
func getWithRetry(url string, within time.Duration) (string, error) {
	deadline := time.Now().Add(within)
	client := &http.Client{Timeout: 10 * time.Second}
	for {
		resp, err := client.Get(url)
		if err == nil {
			b, rerr := io.ReadAll(resp.Body)
			resp.Body.Close()
			if rerr == nil && resp.StatusCode == http.StatusOK {
				return string(b), nil
			}
			err = fmt.Errorf("status %s, %v", resp.Status, rerr)
		}
		if time.Now().After(deadline) {
			return "", err
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// TestActContainerNeedsDocker: without Docker, a container: job fails
// before act runs, saying that this job needs Docker and why.
func TestActContainerNeedsDocker(t *testing.T) {
	e := newActRepo(t, map[string]string{".github/workflows/ci.yml": containerWorkflow("ctr-nodocker", imageBusybox, "")})
	cmd := exec.Command(pitstopBin, "act", "--job", "build", "--ssh-after-step", "1", "--action-source", sourceRoot)
	cmd.Dir = e.repo
	cmd.Env = withEnv(e.env, map[string]string{"DOCKER_HOST": "unix://" + filepath.Join(t.TempDir(), "docker.sock")})
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Fatalf("got %v, want exit status 1\n%s", err, out)
	}
	testutil.Contains(t, "the error", string(out), "container: "+imageBusybox, "needs Docker")
	if strings.Contains(string(out), "pitstop: act ") {
		t.Errorf("act was run although Docker is missing:\n%s", out)
	}
}

// TestActionInBusybox: the action's install path needs nothing from an
// image but /bin/sh: in busybox (no bash, curl or libc), with no network,
// install.sh takes a static pitstop by its path, agent.sh runs the agent
// (which says that the job's container is only reachable from its
// machine), and outputs.sh reads the ready file. A dynamically linked
// build is refused with a message saying so.
func TestActionInBusybox(t *testing.T) {
	docker := dockerReady(t)
	bins := t.TempDir()
	for name, src := range map[string]string{
		"pitstop":         staticPitstop(t),
		"pitstop-dynamic": pitstopBin, // built with cgo: needs glibc's loader
	} {
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(bins, name), b, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	action := filepath.Dir(filepath.Dir(actionCopy(t))) // DIR, holding agent/action/*.sh
	key := strings.TrimSpace(newKeyPair(t, "me").public)

	script := `set -u
export GITHUB_OUTPUT=/tmp/out RUNNER_TEMP=/tmp
PITSTOP_INSTALL=/bins/pitstop sh /action/agent/action/install.sh || { echo "install-failed"; exit 1; }
bin=$(sed -n 's/^bin=//p' /tmp/out); state=$(sed -n 's/^state=//p' /tmp/out)
PITSTOP_BIN=$bin PITSTOP_STATE=$state PITSTOP_LISTEN=127.0.0.1:0 PITSTOP_WAIT_TIMEOUT=1s \
  PITSTOP_AUTHORIZED_KEYS="$KEY" PITSTOP_MIN_PERMISSION=write sh /action/agent/action/agent.sh
echo "agent-exit=[$?]"
PITSTOP_STATE=$state sh /action/agent/action/outputs.sh
cat /tmp/out
command -v bash curl wget >/dev/null 2>&1 && echo "has-more-than-sh" || true
rm -f /tmp/out
PITSTOP_INSTALL=/bins/pitstop-dynamic sh /action/agent/action/install.sh; echo "dynamic-exit=[$?]"
`
	cmd := exec.Command(docker, "run", "--rm", "--network", "none",
		"-v", bins+":/bins:ro", "-v", action+":/action:ro", "-e", "KEY="+key,
		imageBusybox, "sh", "-c", script)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("docker run: %v\n%s", err, out)
	}
	testutil.Contains(t, "the output", string(out),
		"pitstop: using /bins/pitstop",
		"runs in a container",
		"agent-exit=[0]",
		"ssh-command=ssh -p ",
		"known-hosts=[127.0.0.1]:",
		"a job container needs a static build (CGO_ENABLED=0)",
		"dynamic-exit=[1]",
	)
	if strings.Contains(string(out), "has-more-than-sh") || strings.Contains(string(out), "install-failed") {
		t.Errorf("unexpected:\n%s", out)
	}
}

// TestActContainerInterrupted: Ctrl-C during the pause of a container job
// cancels the job, and act's containers are gone when pitstop act ends.
func TestActContainerInterrupted(t *testing.T) {
	docker := dockerReady(t)
	name := "ctr-interrupted"
	e := newActRepo(t, map[string]string{".github/workflows/ci.yml": containerWorkflow(name, imageBusybox, "")})
	r := e.start(t, "--job", "build", "--ssh-after-step", "1", "--wait-timeout", "3m", "--action-source", sourceRoot)
	r.connectLine(t)
	if err := r.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	if code := r.wait(t, 3*time.Minute); code == 0 {
		t.Errorf("pitstop act exited 0 after an interrupt, want the cancelled job's failure")
	}
	if strings.Contains(r.stderr.String(), "saw-file=") {
		t.Errorf("the step after the pause ran although the job was cancelled")
	}
	noneLeft(t, docker, name)
}

// TestActContainerJobFails: when a container job fails after the pause,
// pitstop act exits with the failure and act's containers are still gone
// (act keeps them on failure unless told otherwise).
func TestActContainerJobFails(t *testing.T) {
	docker := dockerReady(t)
	name := "ctr-fails"
	wf := strings.Replace(containerWorkflow(name, imageBusybox, ""),
		`echo "saw-artifact=[$(cat artifact.txt)]"`, `echo "saw-artifact=[$(cat artifact.txt)]"; exit 3`, 1)
	e := newActRepo(t, map[string]string{".github/workflows/ci.yml": wf})
	r := e.start(t, "--job", "build", "--ssh-after-step", "1", "--wait-timeout", "2s", "--action-source", sourceRoot)
	r.connectLine(t)
	if code := r.wait(t, 3*time.Minute); code == 0 {
		t.Errorf("pitstop act exited 0, want the failed job's status")
	}
	if !strings.Contains(r.stderr.String(), "saw-artifact=[made-in-step-1]") || !strings.Contains(r.stderr.String(), "Job failed") {
		t.Errorf("the job did not go on past the pause to fail")
	}
	noneLeft(t, docker, name)
}
