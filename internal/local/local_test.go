package local

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/pitstopci/pitstop/internal/testutil"
)

// twoJobs is a workflow with the jobs "build" and "lint".
const twoJobs = "on: push\njobs:\n  build:\n    runs-on: x\n    steps: [{run: make}]\n  lint:\n    runs-on: x\n    steps: [{run: make lint}]\n"

func TestRepoRoot(t *testing.T) {
	root := t.TempDir()
	testutil.WriteTree(t, root, map[string]string{".git/HEAD": "ref: refs/heads/main\n", "src/pkg/x.go": ""})
	if got, err := RepoRoot(filepath.Join(root, "src", "pkg")); err != nil || got != root {
		t.Errorf("got %q, %v; want %q", got, err, root)
	}
	// Outside a repository the directory itself is used.
	plain := t.TempDir()
	if got, err := RepoRoot(plain); err != nil || got != plain {
		t.Errorf("got %q, %v; want %q", got, err, plain)
	}
}

func TestFindWorkflow(t *testing.T) {
	root := t.TempDir()
	testutil.WriteTree(t, root, map[string]string{
		".github/workflows/ci.yml":       twoJobs,
		".github/workflows/release.yaml": "on: push\njobs:\n  publish:\n    runs-on: ubuntu-latest\n    steps:\n      - run: make release\n  lint:\n    runs-on: ubuntu-latest\n    steps:\n      - run: x\n",
		".github/workflows/notes.txt":    "not a workflow",
	})
	wf := filepath.Join(root, ".github", "workflows")

	if got, err := FindWorkflow(root, "build"); err != nil || got != filepath.Join(wf, "ci.yml") {
		t.Errorf("build: got %q, %v", got, err)
	}
	if got, err := FindWorkflow(root, "publish"); err != nil || got != filepath.Join(wf, "release.yaml") {
		t.Errorf("publish: got %q, %v", got, err)
	}
	_, err := FindWorkflow(root, "lint")
	if err == nil || !strings.Contains(err.Error(), "-W") || !strings.Contains(err.Error(), "ci.yml") || !strings.Contains(err.Error(), "release.yaml") {
		t.Errorf("lint is in two files: got %v, want an error naming both and -W", err)
	}
	_, err = FindWorkflow(root, "deploy")
	if err == nil || !strings.Contains(err.Error(), `"deploy"`) || !strings.Contains(err.Error(), "build, lint") {
		t.Errorf("unknown job: got %v, want an error listing the jobs", err)
	}
	if _, err := FindWorkflow(root, ""); err == nil {
		t.Error("no job and two files: want an error")
	}
	if _, err := FindWorkflow(t.TempDir(), "build"); err == nil || !strings.Contains(err.Error(), "no workflow files") {
		t.Errorf("no workflows: got %v", err)
	}
}

func TestIdentityFiles(t *testing.T) {
	home := t.TempDir()
	testutil.WriteTree(t, home, map[string]string{
		".ssh/id_ed25519":     "private",
		".ssh/id_ed25519.pub": "public",
		".ssh/work":           "private",
		".ssh/work.pub":       "public",
		".ssh/lonely.pub":     "public, private key elsewhere (a token)",
		".ssh/config":         "Host *",
	})
	want := []string{filepath.Join(home, ".ssh", "id_ed25519"), filepath.Join(home, ".ssh", "work")}
	if got := IdentityFiles(home); !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
	if got := IdentityFiles(t.TempDir()); len(got) != 0 {
		t.Errorf("no ~/.ssh: got %q", got)
	}
}
