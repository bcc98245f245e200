//go:build unix

package actrun

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pitstopci/pitstop/internal/testutil"
)

func writeExecutable(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o755); err != nil {
		t.Fatal(err)
	}
}

func TestFindAct(t *testing.T) {
	dir := t.TempDir()
	onPath := filepath.Join(dir, "path", "act")
	inGoBin := filepath.Join(dir, "home", "go", "bin", "act")
	writeExecutable(t, onPath, "#!/bin/sh\n")
	writeExecutable(t, inGoBin, "#!/bin/sh\n")
	// Not executable: must be passed over.
	testutil.WriteTree(t, dir, map[string]string{"notexec/act": ""})

	tests := []struct {
		name string
		env  []string
		want string
	}{
		{"PATH first", []string{"PATH=" + filepath.Join(dir, "notexec") + ":" + filepath.Join(dir, "path"), "HOME=" + filepath.Join(dir, "home")}, onPath},
		{"go bin of HOME", []string{"PATH=" + filepath.Join(dir, "notexec"), "HOME=" + filepath.Join(dir, "home")}, inGoBin},
		{"GOPATH", []string{"PATH=", "GOPATH=" + filepath.Join(dir, "home", "go")}, inGoBin},
		{"GOBIN", []string{"GOBIN=" + filepath.Join(dir, "path")}, onPath},
	}
	for _, tt := range tests {
		got, err := FindAct(tt.env)
		if err != nil || got != tt.want {
			t.Errorf("%s: got %q, %v; want %q", tt.name, got, err, tt.want)
		}
	}

	_, err := FindAct([]string{"PATH=" + filepath.Join(dir, "notexec"), "HOME=" + t.TempDir()})
	if !errors.Is(err, ErrActNotFound) {
		t.Fatalf("got %v, want ErrActNotFound", err)
	}
	if !strings.Contains(err.Error(), "go install github.com/nektos/act@"+ActVersion) {
		t.Errorf("the error must say how to install act: %v", err)
	}
}
