package control

import (
	"os/exec"
	"runtime"
	"strings"
	"testing"
)

// orWindows is unix, or windows on Windows: a step without a shell runs
// in the runner's pwsh there.
func orWindows(unix, windows string) string {
	if runtime.GOOS == "windows" {
		return windows
	}
	return unix
}

func TestStepCommand(t *testing.T) {
	bash := func(string) (string, error) { return "/bin/bash", nil }
	noBash := func(string) (string, error) { return "", exec.ErrNotFound }
	for _, c := range []struct {
		shell string
		look  func(string) (string, error)
		want  string
		ext   string
	}{
		{"", bash, orWindows("bash -e S", "pwsh -command . 'S'"), orWindows(".sh", ".ps1")},
		{"", noBash, orWindows("sh -e S", "pwsh -command . 'S'"), orWindows(".sh", ".ps1")},
		{"bash", bash, "bash --noprofile --norc -eo pipefail S", ".sh"},
		{"sh", bash, "sh -e S", ".sh"},
		{"pwsh", bash, "pwsh -command . 'S'", ".ps1"},
		{"python", bash, "python S", ".py"},
		{"cmd", bash, `cmd /D /E:ON /V:OFF /S /C CALL "S"`, ".cmd"},
		{"perl {0}", bash, "perl S", ""},
		{"/usr/bin/bash -x {0}", bash, "/usr/bin/bash -x S", ".sh"},
	} {
		prog, args, ext, err := StepCommand(c.shell, "S", c.look)
		if got := strings.Join(append([]string{prog}, args...), " "); err != nil || got != c.want || ext != c.ext {
			t.Errorf("shell %q: %q %q %v, want %q %q", c.shell, got, ext, err, c.want, c.ext)
		}
	}
	if _, _, _, err := StepCommand("zsh", "S", bash); err == nil || !strings.Contains(err.Error(), "{0}") {
		t.Errorf("zsh: %v", err)
	}
}
