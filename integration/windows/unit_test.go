//go:build linux

package windows

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The agent package's Windows tests (the control pipe, job objects, the
// pseudo console, the shell rules) run under wine too, in the test binary
// built for Windows.
func TestWineAgentUnitTests(t *testing.T) {
	prefix := winePrefix(t)
	exe := filepath.Join(bins.dir, "agent.test.exe")
	build := exec.Command("go", "test", "-c", "-o", exe, "../../agent")
	build.Env = append(os.Environ(), "GOOS=windows", "GOARCH=amd64", "CGO_ENABLED=0")
	if b, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build the agent's tests for windows: %v\n%s", err, b)
	}
	run := exec.Command(wine64, exe, "-test.v", "-test.run", "^(TestWindows.*|TestDefaultShellWindows)$")
	run.Env = append(os.Environ(), "WINEPREFIX="+prefix, "WINEDEBUG=-all", "WINEDLLOVERRIDES=bcryptprimitives=n,b")
	out, err := run.CombinedOutput()
	if err != nil {
		t.Fatalf("the agent's Windows tests failed under wine: %v\n%s", err, out)
	}
	for _, name := range []string{"TestWindowsControlPipe", "TestWindowsJobEndsChildren", "TestWindowsConsoleEcho", "TestWindowsArgv", "TestDefaultShellWindows"} {
		if !strings.Contains(string(out), "--- PASS: "+name+" ") {
			t.Errorf("%s did not pass:\n%s", name, out)
		}
	}
}
