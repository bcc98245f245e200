package actrun

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
)

// actrcFiles are the files act reads more arguments from, in its order:
// its configuration (XDG or ~/.config/act/actrc), ~/.actrc, ./.actrc.
func actrcFiles(env []string) []string {
	var files []string
	home := lookup(env, "HOME")
	if x := lookup(env, "XDG_CONFIG_HOME"); x != "" {
		files = append(files, filepath.Join(x, "act", "actrc"))
	} else if home != "" {
		if runtime.GOOS == "darwin" {
			files = append(files, filepath.Join(home, "Library", "Application Support", "act", "actrc"))
		}
		files = append(files, filepath.Join(home, ".config", "act", "actrc"))
	}
	if home != "" {
		files = append(files, filepath.Join(home, ".actrc"))
	}
	return append(files, ".actrc")
}

// actrcArgs are the arguments act takes from its configuration files, a
// flag and its value split at the first space as act splits them.
func actrcArgs(env []string) []string {
	var args []string
	for _, f := range actrcFiles(env) {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n") {
			line = os.Expand(strings.TrimSpace(line), func(k string) string { return lookup(env, k) })
			if strings.HasPrefix(line, "-") {
				args = append(args, regexp.MustCompile(`\s`).Split(line, 2)...)
			}
		}
	}
	return args
}

// flagValue returns the last value given to flag ("--network") in args,
// as --flag VALUE or --flag=VALUE, and whether there was one.
func flagValue(args []string, flag string) (string, bool) {
	value, found := "", false
	for i := 0; i < len(args); i++ {
		if v, ok := strings.CutPrefix(args[i], flag+"="); ok {
			value, found = v, true
		} else if args[i] == flag && i+1 < len(args) {
			value, found = args[i+1], true
			i++
		}
	}
	return value, found
}

// actNetwork is the Docker network act puts the job's container on when
// the job has no services: act's --network, from its configuration files
// or from the arguments after --, "host" by default.
func actNetwork(env, args []string) string {
	network := "host"
	if v, ok := flagValue(actrcArgs(env), "--network"); ok {
		network = v
	}
	if v, ok := flagValue(args, "--network"); ok {
		network = v
	}
	return network
}

// pauseListen decides where the agent listens for the network act puts
// the job's container on, or says why the pause could not be reached
// there. With services, act makes a network of the job's own and ignores
// --network; on the host's network the loopback interface is shared with
// this machine; on any other network the agent listens on the
// container's address, which this machine reaches.
func pauseListen(env []string, network string, services []string) (string, string, error) {
	if len(services) > 0 {
		if network != "host" {
			return "", "", fmt.Errorf("act puts a job with services (%s) on a network of its own and ignores --network %s; leave --network out for this job", strings.Join(services, ", "), network)
		}
		return "0.0.0.0:0", "the job has services, so its container has a network of its own; the pause listens on the container's address", nil
	}
	switch {
	case network == "host":
		return HostListen, "", nil
	case network == "none":
		return "", "", fmt.Errorf("--network none leaves the job's container without a network, so the pause could not be reached; leave --network out or name a network")
	case network == "":
		return "", "", fmt.Errorf("--network wants a Docker network name")
	}
	if !strings.Contains(network, ":") && network != "bridge" && network != "default" {
		if err := networkExists(env, network); err != nil {
			return "", "", err
		}
	}
	return "0.0.0.0:0", fmt.Sprintf("the job's container is on the Docker network %s (--network); the pause listens on the container's address there", network), nil
}

// networkExists checks with the docker command, where there is one, that
// a network exists, so that a typo is reported before act runs.
func networkExists(env []string, name string) error {
	docker, err := lookPath("docker", env)
	if err != nil {
		return nil
	}
	cmd := exec.Command(docker, "network", "inspect", "--format", "{{.Name}}", name)
	cmd.Env = env
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("--network %s: Docker has no such network (%s); create it with: docker network create %s", name, firstLine(out), name)
	}
	return nil
}

func firstLine(b []byte) string {
	s, _, _ := strings.Cut(strings.TrimSpace(string(b)), "\n")
	return s
}
