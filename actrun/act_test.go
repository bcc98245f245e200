package actrun

import (
	"reflect"
	"slices"
	"testing"
)

func TestActArgs(t *testing.T) {
	host := actConfig{
		Workflow:  "/tmp/p/ci.yml",
		Dir:       "/src/app",
		Job:       "build",
		Labels:    []string{"ubuntu-latest", "self-hosted", "ubuntu-latest"},
		LocalRepo: "pitstopci/pitstop@v1=/src/pitstop",
		Extra:     []string{"pull_request", "-P", "ubuntu-latest=-self-hosted"},
		// Only used with Docker:
		ContainerOptions: "-v /tmp/p:/tmp/p",
	}
	want := []string{
		"-W", "/tmp/p/ci.yml", "-C", "/src/app", "-j", "build", "--rm",
		"-P", "self-hosted=-self-hosted", "-P", "ubuntu-latest=-self-hosted",
		"--local-repository", "pitstopci/pitstop@v1=/src/pitstop",
		"pull_request", "-P", "ubuntu-latest=-self-hosted",
	}
	if got := host.args(); !reflect.DeepEqual(got, want) {
		t.Errorf("host mode:\n got %q\nwant %q", got, want)
	}

	docker := host
	docker.Docker = true
	docker.LocalRepo = ""
	docker.Extra = nil
	docker.Containers = true
	docker.Platforms = []string{"ubuntu-latest=img"}
	want = []string{
		"-W", "/tmp/p/ci.yml", "-C", "/src/app", "-j", "build", "--rm",
		"--container-options", "-v /tmp/p:/tmp/p",
		"-P", "ubuntu-latest=img",
		"--pull=false",
	}
	if got := docker.args(); !reflect.DeepEqual(got, want) {
		t.Errorf("docker mode:\n got %q\nwant %q", got, want)
	}

	// A container: job in host mode: the platforms stay on this machine
	// (act ignores them for such a job), containers are not pulled.
	ctr := host
	ctr.Extra = nil
	ctr.Containers = true
	want = []string{
		"-W", "/tmp/p/ci.yml", "-C", "/src/app", "-j", "build", "--rm",
		"-P", "self-hosted=-self-hosted", "-P", "ubuntu-latest=-self-hosted",
		"--local-repository", "pitstopci/pitstop@v1=/src/pitstop",
		"--pull=false",
	}
	if got := ctr.args(); !reflect.DeepEqual(got, want) {
		t.Errorf("container job in host mode:\n got %q\nwant %q", got, want)
	}
}

func TestLocalRepository(t *testing.T) {
	for uses, want := range map[string]string{
		"pitstopci/pitstop/agent@v1":     "pitstopci/pitstop@v1=/src",
		"me/pitstop-fork/agent@my-patch": "me/pitstop-fork@my-patch=/src",
		"me/action@v2":                   "me/action@v2=/src",
	} {
		got, err := localRepository(uses, "/src")
		if err != nil || got != want {
			t.Errorf("localRepository(%q) = %q, %v; want %q", uses, got, err, want)
		}
	}
	for _, uses := range []string{"./agent", "pitstopci/pitstop/agent", "docker://alpine@sha", "pitstop@v1", "/x@v1"} {
		if got, err := localRepository(uses, "/src"); err == nil {
			t.Errorf("localRepository(%q) = %q, want an error", uses, got)
		}
	}
}

func TestActEnv(t *testing.T) {
	in := []string{"HOME=/home/me", "GITHUB_ENV=/outer/env", "RUNNER_ENVIRONMENT=github-hosted", "ACTIONS_RUNTIME_TOKEN=x", "PATH=/bin", "GITHUBX=kept", "CI=true"}
	want := []string{"HOME=/home/me", "PATH=/bin", "GITHUBX=kept", "CI=true"}
	if got := actEnv(in); !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}
