package testutil

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// TestWalkWorkflows visits YAML files of any case, dot-files and
// subdirectories included, and nothing else, and stops at fn's error.
func TestWalkWorkflows(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{".github__ci.yml", "b.YAML", "c.txt", "sub/d.yml", "dir.yml/e.json"} {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("on: push\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	err := WalkWorkflows(dir, func(path string) error {
		rel, _ := filepath.Rel(dir, path)
		got = append(got, rel)
		return nil
	})
	want := []string{".github__ci.yml", "b.YAML", "sub/d.yml"}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("visited %q, %v; want %q", got, err, want)
	}

	stop := errors.New("stop")
	calls := 0
	err = WalkWorkflows(dir, func(string) error { calls++; return stop })
	if !errors.Is(err, stop) || calls != 1 {
		t.Errorf("after an error: %v, %d calls; want it returned after 1", err, calls)
	}
	if err := WalkWorkflows(filepath.Join(dir, "missing"), func(string) error { return nil }); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing dir: %v", err)
	}
}
