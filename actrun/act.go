package actrun

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
)

// ActVersion is the act release pitstop act is tested with, and the one
// the install hint names.
const ActVersion = "v0.2.89"

// ErrActNotFound is wrapped by FindAct's error when act is not installed.
var ErrActNotFound = errors.New("act not found")

// FindAct returns the path of the act binary: the first "act" on PATH (as
// env has it), else one in the places `go install` puts it (GOBIN,
// GOPATH/bin, ~/go/bin), since that is how most people install it and
// those directories are often not on PATH.
func FindAct(env []string) (string, error) {
	var dirs []string
	dirs = append(dirs, filepath.SplitList(lookup(env, "PATH"))...)
	if gobin := lookup(env, "GOBIN"); gobin != "" {
		dirs = append(dirs, gobin)
	}
	for _, p := range filepath.SplitList(lookup(env, "GOPATH")) {
		dirs = append(dirs, filepath.Join(p, "bin"))
	}
	if home := lookup(env, "HOME"); home != "" {
		dirs = append(dirs, filepath.Join(home, "go", "bin"))
	}
	name := "act"
	if runtime.GOOS == "windows" {
		name = "act.exe"
	}
	for _, d := range dirs {
		if d == "" {
			continue // an empty PATH entry means ".", which we do not want
		}
		p := filepath.Join(d, name)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("%w on PATH or in the Go bin directories; install it with: go install github.com/nektos/act@%s (see https://nektosact.com)", ErrActNotFound, ActVersion)
}

// hostLabels are the runs-on labels mapped to the host in host mode when
// the job's own labels cannot be read (an expression such as
// ${{ matrix.os }}): the GitHub-hosted images of the host's own OS, since
// act runs such a job on this machine as it is.
func hostLabels() []string {
	switch runtime.GOOS {
	case "darwin":
		return []string{"macos-latest", "macos-15", "macos-14", "macos-13"}
	case "windows":
		return []string{"windows-latest", "windows-2025", "windows-2022"}
	default:
		return []string{"ubuntu-latest", "ubuntu-24.04", "ubuntu-22.04", "ubuntu-20.04"}
	}
}

// actConfig is everything that goes into act's command line.
type actConfig struct {
	Workflow  string   // the injected copy, absolute
	Dir       string   // the repository act copies into the workspace
	Job       string   // the job to run
	Labels    []string // runs-on labels to run on the host (host mode)
	Docker    bool     // leave the platforms to act and the user's .actrc
	LocalRepo string   // "owner/repo@ref=DIR" for --local-repository, or ""
	Extra     []string // the user's own act arguments, last so they win

	// In Docker: options for the job's container (--container-options,
	// which act reads for jobs without container:), the -P act gets when
	// nothing configures one, and whether containers are involved at all.
	ContainerOptions string
	Platforms        []string
	Containers       bool
}

// args builds act's argument list. The user's extra arguments come last:
// act's flags are last-one-wins, so the user can override any of ours
// (e.g. another -P for a label).
func (c actConfig) args() []string {
	// --rm: act removes the job's directory under ~/.cache/act (host
	// mode) or its containers only when the job succeeded, so every
	// failed or cancelled run would leave its copy of the repository.
	args := []string{"-W", c.Workflow, "-C", c.Dir, "-j", c.Job, "--rm"}
	if !c.Docker {
		labels := map[string]bool{}
		for _, l := range c.Labels {
			labels[l] = true
		}
		sorted := make([]string, 0, len(labels))
		for l := range labels {
			sorted = append(sorted, l)
		}
		sort.Strings(sorted)
		for _, l := range sorted {
			// "-self-hosted" is act's name for "run on this machine".
			args = append(args, "-P", l+"=-self-hosted")
		}
	} else if c.ContainerOptions != "" {
		args = append(args, "--container-options", c.ContainerOptions)
	}
	if c.LocalRepo != "" {
		args = append(args, "--local-repository", c.LocalRepo)
	}
	for _, p := range c.Platforms {
		args = append(args, "-P", p)
	}
	if c.Containers {
		// Images already here are used as they are (act pulls only the
		// missing ones). --rm, always given, makes act remove the job's
		// containers also when the job fails or is cancelled.
		args = append(args, "--pull=false")
	}
	return append(args, c.Extra...)
}

// localRepository maps the repository and ref of a `uses:` reference such as
// "pitstopci/pitstop/agent@v1" to dir, in act's --local-repository form
// "pitstopci/pitstop@v1=DIR" (which matches the repository on any host).
func localRepository(uses, dir string) (string, error) {
	ref, version, ok := strings.Cut(uses, "@")
	parts := strings.Split(ref, "/")
	if !ok || version == "" || len(parts) < 2 || parts[0] == "" || parts[1] == "" || strings.HasPrefix(uses, ".") || strings.Contains(uses, "://") {
		return "", fmt.Errorf("action %q is not of the form OWNER/REPO[/PATH]@REF", uses)
	}
	return parts[0] + "/" + parts[1] + "@" + version + "=" + dir, nil
}

// actEnv is the environment act runs with: the caller's, minus what a CI
// runner around pitstop act set for its own job. act merges the host's
// environment into every step in host mode; an outer GitHub runner's
// GITHUB_ENV, GITHUB_OUTPUT or RUNNER_ENVIRONMENT would otherwise leak into
// the inner job (and RUNNER_ENVIRONMENT would make the agent believe it is
// on a real GitHub run). act sets its own values for the ones it knows.
func actEnv(env []string) []string {
	out := make([]string, 0, len(env))
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "GITHUB_") || strings.HasPrefix(k, "RUNNER_") || strings.HasPrefix(k, "ACTIONS_") {
			continue
		}
		out = append(out, kv)
	}
	return out
}
