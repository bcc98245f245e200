//go:build linux

package windows

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// An exec session runs through cmd.exe in the workspace, with the step's
// environment: its exit status comes back, what it writes to GITHUB_ENV
// lands in the file the runner reads after the step, and "pitstop status"
// reaches the agent over its control pipe.
func TestWineExecThroughCmd(t *testing.T) {
	a := startAgent(t, "--shell", "cmd.exe")

	out, code := a.ssh(`echo hello from %CD%&& exit /b 3`)
	if code != 3 {
		t.Errorf("exit status %d, want 3; output %q", code, out)
	}
	if want := "hello from " + winPath(a.workspace); !strings.Contains(out, want) {
		t.Errorf("output %q does not say %q", out, want)
	}

	if out, code := a.ssh(`echo PITSTOP_WINE=yes>>"%GITHUB_ENV%"`); code != 0 {
		t.Fatalf("writing to GITHUB_ENV: status %d, %q", code, out)
	}
	b, err := os.ReadFile(filepath.Join(a.dir, "github_env"))
	if err != nil || !strings.Contains(string(b), "PITSTOP_WINE=yes") {
		t.Errorf("GITHUB_ENV holds %q (%v), want the line the session wrote", b, err)
	}

	out, code = a.ssh("pitstop status")
	if code != 0 || !strings.Contains(out, "this job is paused") || !strings.Contains(out, "exec") {
		t.Errorf("pitstop status: status %d, output %q", code, out)
	}

	// The session's programs are the agent's to end: continue ends the
	// pause, and the agent exits.
	if out, code := a.ssh("pitstop continue"); code != 0 {
		t.Errorf("pitstop continue: status %d, %q", code, out)
	}
	a.waitEnd(defaultEnd)
}
