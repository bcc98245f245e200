package actrun

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// Labels on every container pitstop act has act start (the job's and its
// services'): which pitstop act owns it, so that a later one can tell
// whether the owner is gone. The process's start time goes with its PID
// because a PID is reused; the host (ownerHost) because a Docker daemon
// may serve several machines, whose processes cannot be checked from
// here.
const (
	labelHost  = "pitstop.act.host"
	labelPID   = "pitstop.act.pid"
	labelStart = "pitstop.act.start"
)

// ownerHost names where this process runs: the host name and, on Linux,
// the PID namespace, since containers on one machine (devcontainers that
// share its Docker) may have the same name and each its own PIDs.
func ownerHost() string {
	host, _ := os.Hostname()
	if ns := pidNamespace(); ns != "" {
		host += "/" + ns
	}
	return host
}

// ownerLabels are the labels that name this process as the owner.
func ownerLabels() []string {
	pid := os.Getpid()
	return []string{
		labelHost + "=" + ownerHost(),
		labelPID + "=" + strconv.Itoa(pid),
		labelStart + "=" + processStart(pid),
	}
}

// orphan is a container whose pitstop act is gone.
type orphan struct {
	id, name, pid string
}

// findOrphans lists the containers on this machine's Docker whose owning
// pitstop act, on this host, no longer runs: one killed with SIGKILL (or
// lost with its machine's power) had no chance to remove them, and its
// act, which gets SIGTERM then, dies on its first write to the pipe that
// pitstop act read, before it cleans up.
func findOrphans(docker string, env []string) ([]orphan, error) {
	host := ownerHost()
	format := "{{.ID}}\t{{.Names}}\t{{.Label \"" + labelHost + "\"}}\t{{.Label \"" + labelPID + "\"}}\t{{.Label \"" + labelStart + "\"}}"
	out, err := dockerOutput(docker, env, "ps", "-a", "--filter", "label="+labelPID, "--format", format)
	if err != nil {
		return nil, err
	}
	var found []orphan
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		f := strings.Split(line, "\t")
		if len(f) != 5 || f[2] != host {
			continue
		}
		pid, err := strconv.Atoi(f[3])
		if err != nil || pid <= 0 || ownerAlive(pid, f[4]) {
			continue
		}
		found = append(found, orphan{id: f[0], name: f[1], pid: f[3]})
	}
	return found, nil
}

// removeOrphans removes what pitstop act runs that are gone left in
// Docker: their containers and act's volumes and network for them. It
// says what it removes; failures are reported and do not stop this run.
func removeOrphans(env []string, log io.Writer) {
	docker, err := lookPath("docker", env)
	if err != nil {
		return
	}
	orphans, err := findOrphans(docker, env)
	if err != nil {
		fmt.Fprintf(log, "pitstop: could not look for containers of earlier runs: %v\n", err)
		return
	}
	if len(orphans) == 0 {
		return
	}
	var ids, names, pids []string
	seen := map[string]bool{}
	for _, o := range orphans {
		ids = append(ids, o.id)
		names = append(names, o.name)
		if !seen[o.pid] {
			seen[o.pid] = true
			pids = append(pids, o.pid)
		}
	}
	sort.Strings(pids)
	// act's network for a job with services is named after the job's
	// container and ends in -network; read it before the containers go.
	var networks []string
	if out, err := dockerOutput(docker, env, append([]string{"inspect", "--format", "{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}"}, ids...)...); err == nil {
		for _, n := range strings.Fields(out) {
			if strings.HasPrefix(n, "act-") && strings.HasSuffix(n, "-network") && !slices.Contains(networks, n) {
				networks = append(networks, n)
			}
		}
	}
	fmt.Fprintf(log, "pitstop: removing what an earlier pitstop act (pid %s), which ended without cleaning up, left in Docker: %s\n",
		strings.Join(pids, ", "), strings.Join(names, " "))
	if out, err := dockerOutput(docker, env, append([]string{"rm", "-f", "-v"}, ids...)...); err != nil {
		fmt.Fprintf(log, "pitstop: docker rm: %v\n%s", err, out)
		return
	}
	// act's volumes for a job's container are named after it (NAME and
	// NAME-env); its shared act-toolcache is not touched.
	var volumes []string
	for _, n := range names {
		volumes = append(volumes, n, n+"-env")
	}
	if out, err := dockerOutput(docker, env, "volume", "ls", "-q"); err == nil {
		have := strings.Fields(out)
		var rm []string
		for _, v := range volumes {
			if slices.Contains(have, v) {
				rm = append(rm, v)
			}
		}
		if len(rm) > 0 {
			if out, err := dockerOutput(docker, env, append([]string{"volume", "rm"}, rm...)...); err != nil {
				fmt.Fprintf(log, "pitstop: docker volume rm: %v\n%s", err, out)
			}
		}
	}
	if len(networks) > 0 {
		if out, err := dockerOutput(docker, env, append([]string{"network", "rm"}, networks...)...); err != nil {
			fmt.Fprintf(log, "pitstop: docker network rm: %v\n%s", err, out)
		}
	}
}

func dockerOutput(docker string, env []string, args ...string) (string, error) {
	cmd := exec.Command(docker, args...)
	cmd.Env = env
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return stderr.String(), err
	}
	return string(out), nil
}

// tempPrefix starts the name of a pitstop act's temporary directory
// (the injected workflow, known_hosts, a static agent for Docker), and
// ownerFile names the file in it that says whose it is, as ownerLabels
// do for containers.
const (
	tempPrefix = "pitstop-act-"
	ownerFile  = "owner"
)

// makeTemp creates this run's temporary directory, marked with its
// owner, after removing those that earlier pitstop acts on this host
// left when they were killed (SIGKILL) before they could.
func makeTemp(log io.Writer) (string, error) {
	removeStaleTemps(os.TempDir(), log)
	tmp, err := os.MkdirTemp("", tempPrefix)
	if err != nil {
		return "", fmt.Errorf("create temporary directory: %w", err)
	}
	if err := os.WriteFile(filepath.Join(tmp, ownerFile), []byte(strings.Join(ownerLabels(), "\n")+"\n"), 0o600); err != nil {
		os.RemoveAll(tmp)
		return "", fmt.Errorf("create temporary directory: %w", err)
	}
	return tmp, nil
}

// removeStaleTemps removes the temporary directories under dir whose
// owner, on this host, no longer runs. One without an owner file, or of
// another host or user, is left alone.
func removeStaleTemps(dir string, log io.Writer) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	host := ownerHost()
	for _, e := range entries {
		if !e.IsDir() || !strings.HasPrefix(e.Name(), tempPrefix) {
			continue
		}
		path := filepath.Join(dir, e.Name())
		b, err := os.ReadFile(filepath.Join(path, ownerFile))
		if err != nil {
			continue
		}
		labels := map[string]string{}
		for _, l := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(l, "="); ok {
				labels[k] = v
			}
		}
		pid, err := strconv.Atoi(labels[labelPID])
		if err != nil || pid <= 0 || labels[labelHost] != host || ownerAlive(pid, labels[labelStart]) {
			continue
		}
		if err := os.RemoveAll(path); err == nil {
			fmt.Fprintf(log, "pitstop: removed %s, left by an earlier pitstop act (pid %d) that ended without cleaning up\n", path, pid)
		}
	}
}
