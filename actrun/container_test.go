package actrun

import (
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestReadJobSpec(t *testing.T) {
	src := []byte(`jobs:
  a:
    container: alpine
    services:
      redis: {image: redis}
      web: {image: nginx}
  b:
    container:
      image: node:20
  c:
    runs-on: ubuntu-latest
`)
	a := readJobSpec(src, "a")
	slices.Sort(a.Services)
	if a.Image != "alpine" || !slices.Equal(a.Services, []string{"redis", "web"}) {
		t.Errorf("a: %+v", a)
	}
	if b := readJobSpec(src, "b"); b.Image != "node:20" || len(b.Services) != 0 {
		t.Errorf("b: %+v", b)
	}
	if c := readJobSpec(src, "c"); c.Image != "" || len(c.Services) != 0 {
		t.Errorf("c: %+v", c)
	}
}

func TestPlatformsConfigured(t *testing.T) {
	home := t.TempDir()
	env := []string{"HOME=" + home, "XDG_CONFIG_HOME=" + filepath.Join(home, "xdg")}
	t.Chdir(t.TempDir()) // act also reads ./.actrc
	if platformsConfigured(env, []string{"push"}) {
		t.Error("nothing configures a platform, yet it says so")
	}
	if !platformsConfigured(env, []string{"-P", "ubuntu-latest=img"}) || !platformsConfigured(env, []string{"--platform=ubuntu-latest=img"}) {
		t.Error("a -P among the extra arguments is not seen")
	}
	if err := os.WriteFile(filepath.Join(home, ".actrc"), []byte("--container-architecture linux/amd64\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if platformsConfigured(env, nil) {
		t.Error("an actrc without -P counts as configuring one")
	}
	if err := os.WriteFile(filepath.Join(home, ".actrc"), []byte("-P ubuntu-latest=img\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if !platformsConfigured(env, nil) {
		t.Error("~/.actrc's -P is not seen")
	}
}

func TestCheckDocker(t *testing.T) {
	missing := "unix://" + filepath.Join(t.TempDir(), "docker.sock")
	err := checkDocker([]string{"DOCKER_HOST=" + missing})
	if err == nil || !strings.Contains(err.Error(), missing) {
		t.Errorf("got %v, want an error naming %s", err, missing)
	}
	// Schemes it cannot check (ssh://) are left to act.
	if err := checkDocker([]string{"DOCKER_HOST=ssh://me@builder"}); err != nil {
		t.Errorf("ssh DOCKER_HOST: %v", err)
	}
}

func TestGateSees(t *testing.T) {
	var out strings.Builder
	g := &gate{w: &out}
	// A message split across writes, after more output than the gate keeps.
	g.Write([]byte(strings.Repeat("x", 1000) + "[ci/build] Unable to "))
	if g.saw("Unable to clone") {
		t.Fatal("seen before it was written")
	}
	g.Write([]byte("clone https://github.com/pitstopci/pitstop refs/tags/v1\n"))
	if !g.saw("Unable to clone") {
		t.Error("a message split across writes was missed")
	}
	if !strings.HasSuffix(out.String(), "refs/tags/v1\n") || len(out.String()) != 1000+len("[ci/build] Unable to clone https://github.com/pitstopci/pitstop refs/tags/v1\n") {
		t.Errorf("the output was not passed through as it was: %q", out.String())
	}
}

// TestGateNamesWhatActCouldNotClone: each repository act could not clone
// is noted once, from a message split across writes too.
func TestGateNamesWhatActCouldNotClone(t *testing.T) {
	g := &gate{w: io.Discard}
	g.Write([]byte("[ci/build] Unable to clone https://github.com/actions/setup-go refs/tags/v5: auth\n[ci/build] Unable to clo"))
	g.Write([]byte("ne https://github.com/pitstopci/pitstop refs/tags/v1: dial tcp: no route\n"))
	g.Write([]byte("[ci/build] Unable to clone https://github.com/actions/setup-go refs/tags/v5: auth\n"))
	want := []string{"https://github.com/actions/setup-go refs/tags/v5", "https://github.com/pitstopci/pitstop refs/tags/v1"}
	if got := g.cloneFailures(); !slices.Equal(got, want) {
		t.Errorf("clone failures %q, want %q", got, want)
	}
}
