//go:build unix

package integration

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// labelled lists the containers labelled with label (KEY=VALUE).
func labelled(t *testing.T, docker, label string) []string {
	t.Helper()
	out, err := exec.Command(docker, "ps", "-a", "--filter", "label="+label, "--format", "{{.Names}}").Output()
	if err != nil {
		t.Fatalf("docker ps: %v", err)
	}
	return strings.Fields(string(out))
}

// TestActContainerUser: a job container that runs as a user other than
// root (options: --user 1000, a uid the image does not even name) can
// use what pitstop act shares with it: run the binary and write the
// ready file. The shared directory is open to the container's user and
// to no one else on this machine: its parent is the user's own, the
// binary is not writable, and only the ready file's directory is.
func TestActContainerUser(t *testing.T) {
	docker := dockerReady(t)
	tool(t, "ssh", sshInstall)
	name := "ctr-user"
	image := "{image: " + imageDebianNoSudo + ", options: --user 1000}"
	e := newActRepo(t, map[string]string{".github/workflows/ci.yml": containerWorkflow(name, image, "")})
	r := e.start(t, "--job", "build", "--ssh-after-step", "1", "--wait-timeout", "3m", "--action-source", sourceRoot)
	line := r.connectLine(t)

	// The shared directory, as the job's container has it mounted.
	ids := labelled(t, docker, "pitstop.act.pid="+strconv.Itoa(r.cmd.Process.Pid))
	if len(ids) != 1 {
		t.Fatalf("want the job's container, labelled with pitstop act's pid; got %v", ids)
	}
	out, err := exec.Command(docker, "inspect", "--format", `{{range .Mounts}}{{.Source}} {{end}}`, ids[0]).Output()
	if err != nil {
		t.Fatalf("docker inspect: %v", err)
	}
	var share string
	for _, m := range strings.Fields(string(out)) {
		if strings.Contains(m, "pitstop-act-") {
			share = m
		}
	}
	if share == "" {
		t.Fatalf("no shared directory among the container's mounts: %s", out)
	}
	for _, c := range []struct {
		path string
		mode os.FileMode
	}{
		{filepath.Dir(share), 0o700}, // the run's own: nobody else gets past it
		{share, 0o755},
		{filepath.Join(share, "pitstop"), 0o555},
		{filepath.Join(share, "ready"), 0o777}, // the container's user writes here
	} {
		fi, err := os.Stat(c.path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != c.mode {
			t.Errorf("%s: mode %v, want %v", c.path, fi.Mode().Perm(), c.mode)
		}
	}

	pauseSessionAs(t, e, line, "1000")
	jobWentOn(t, r)
	noneLeft(t, docker, name)
}

// TestActContainerKilled: a pitstop act killed with SIGKILL at the pause
// cannot clean up, and leaves the job's container (and its service's)
// running; the next pitstop act, even one that runs its job on this
// machine without Docker, removes them, with act's volumes and network,
// and says so.
func TestActContainerKilled(t *testing.T) {
	docker := dockerReady(t)
	first := "ctr-killed"
	services := "    services:\n      web:\n        image: " + imageHTTPD + "\n"
	e := newActRepo(t, map[string]string{".github/workflows/ci.yml": containerWorkflow(first, imageBusybox, services)})
	r := e.start(t, "--job", "build", "--ssh-after-step", "1", "--wait-timeout", "3m", "--action-source", sourceRoot)
	r.connectLine(t)
	pid := r.cmd.Process.Pid
	act := children(t, pid)
	if err := r.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	r.wait(t, time.Minute)
	// act, told by the kernel that its parent died, ends too, without
	// cleaning up.
	for _, p := range act {
		for deadline := time.Now().Add(time.Minute); ; time.Sleep(200 * time.Millisecond) {
			if _, err := os.Stat(fmt.Sprintf("/proc/%d", p)); errors.Is(err, os.ErrNotExist) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("act (pid %d) still runs a minute after pitstop act was killed", p)
			}
		}
	}
	left := labelled(t, docker, "pitstop.act.pid="+strconv.Itoa(pid))
	if len(left) != 2 {
		t.Fatalf("after the kill, want the job's and the service's containers left behind, labelled with the owner's pid; got %v", left)
	}

	e2 := newActEnv(t) // a job in host mode
	r2 := e2.start(t, "--job", "build", "--ssh-after-step", "1", "--wait-timeout", "1s", "--action-source", sourceRoot)
	if code := r2.wait(t, 3*time.Minute); code != 0 {
		t.Errorf("the next pitstop act exited %d, want 0", code)
	}
	want := fmt.Sprintf("pitstop: removing what an earlier pitstop act (pid %d), which ended without cleaning up, left in Docker: ", pid)
	if !strings.Contains(r2.stderr.String(), want) {
		t.Errorf("the next pitstop act did not say what it removed (%q):\n%s", want, r2.stderr.String())
	}
	if left := labelled(t, docker, "pitstop.act.pid="+strconv.Itoa(pid)); len(left) != 0 {
		t.Errorf("still there: %v", left)
	}
	noneLeft(t, docker, first)
}

// TestActContainerNetwork: act's --network, given after --, puts the
// job's container on that Docker network; pitstop act has the pause
// listen on the container's address there and connects through it. Where
// the pause could not be reached (no network) or act would ignore the
// flag (a job with services), pitstop act says so before act runs.
func TestActContainerNetwork(t *testing.T) {
	docker := dockerReady(t)
	tool(t, "ssh", sshInstall)
	network := fmt.Sprintf("pitstop-test-%d", os.Getpid())
	if out, err := exec.Command(docker, "network", "create", network).CombinedOutput(); err != nil {
		t.Fatalf("docker network create: %v\n%s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command(docker, "network", "rm", network).Run() })

	name := "ctr-network"
	e := newActRepo(t, map[string]string{".github/workflows/ci.yml": containerWorkflow(name, imageDebianNoSudo, "")})
	r := e.start(t, "--job", "build", "--ssh-after-step", "1", "--wait-timeout", "3m", "--action-source", sourceRoot, "--", "--network", network)
	line := r.connectLine(t)
	if strings.Contains(line, "127.0.0.1") {
		t.Errorf("the pause listens on loopback, which this machine does not share with a container on %s: %s", network, line)
	}
	out, err := exec.Command(docker, "ps", "--filter", "label=pitstop.act.pid="+strconv.Itoa(r.cmd.Process.Pid), "--format", "{{.Networks}}").Output()
	if err != nil || strings.TrimSpace(string(out)) != network {
		t.Errorf("the job's container is on %q (%v), want %s", out, err, network)
	}
	pauseSession(t, e, line)
	jobWentOn(t, r)
	noneLeft(t, docker, name)

	services := "    services:\n      web:\n        image: " + imageHTTPD + "\n"
	for _, tc := range []struct {
		workflow, network, want string
	}{
		{containerWorkflow("ctr-network-none", imageBusybox, ""), "none", "--network none leaves the job's container without a network"},
		{containerWorkflow("ctr-network-typo", imageBusybox, ""), network + "-typo", "Docker has no such network"},
		{containerWorkflow("ctr-network-svc", imageBusybox, services), network, "act puts a job with services (web) on a network of its own and ignores --network " + network},
	} {
		e := newActRepo(t, map[string]string{".github/workflows/ci.yml": tc.workflow})
		cmd := exec.Command(pitstopBin, "act", "--job", "build", "--ssh-after-step", "1", "--action-source", sourceRoot, "--", "--network", tc.network)
		cmd.Dir, cmd.Env = e.repo, e.env
		out, err := cmd.CombinedOutput()
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != 1 {
			t.Errorf("--network %s: got %v, want exit status 1\n%s", tc.network, err, out)
		}
		if !strings.Contains(string(out), tc.want) {
			t.Errorf("--network %s: the error lacks %q:\n%s", tc.network, tc.want, out)
		}
		if strings.Contains(string(out), "pitstop: act ") {
			t.Errorf("--network %s: act was run:\n%s", tc.network, out)
		}
	}
}
