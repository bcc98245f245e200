package actrun

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/pitstopci/pitstop/internal/testutil"
)

func TestFindSource(t *testing.T) {
	root := t.TempDir()
	testutil.WriteTree(t, root, map[string]string{
		"go.mod":                        "// the module\nmodule github.com/pitstopci/pitstop // pitstop\n\ngo 1.26\n",
		"agent/action.yml":              "name: pitstop\n",
		"cmd/pitstop/main.go":           "package main\n",
		"examples/app/go.mod":           "module example.com/app\n",
		"examples/app/internal/x/x.go":  "package x\n",
		"elsewhere/go.mod":              "module github.com/pitstopci/pitstop\n", // no action.yml
		"elsewhere/deeper/.placeholder": "",
	})
	for _, start := range []string{root, filepath.Join(root, "cmd", "pitstop"), filepath.Join(root, "examples", "app", "internal", "x"), filepath.Join(root, "elsewhere", "deeper")} {
		if got := FindSource(start); got != root {
			t.Errorf("FindSource(%s) = %q, want %q", start, got, root)
		}
	}
	if got := FindSource(t.TempDir()); got != "" {
		t.Errorf("outside any checkout: got %q, want \"\"", got)
	}
}

func TestCheckSource(t *testing.T) {
	good := t.TempDir()
	testutil.WriteTree(t, good, map[string]string{"go.mod": "module github.com/pitstopci/pitstop\n", "agent/action.yml": "x"})
	if err := CheckSource(good); err != nil {
		t.Errorf("good tree: %v", err)
	}
	other := t.TempDir()
	testutil.WriteTree(t, other, map[string]string{"go.mod": "module \"example.com/fork\"\n", "agent/action.yml": "x"})
	if err := CheckSource(other); err == nil || !strings.Contains(err.Error(), `"example.com/fork"`) {
		t.Errorf("other module: got %v, want an error naming it", err)
	}
	if err := CheckSource(t.TempDir()); err == nil {
		t.Error("empty directory: want an error")
	}
}
