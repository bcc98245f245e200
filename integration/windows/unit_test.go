//go:build linux

package windows

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The agent's Windows tests (the control pipe in agent; job objects and
// the pseudo console in agent/term; the shell rules in agent/shell;
// watching the runner and finding the job's start in agent/proc) run
// under wine too, in test binaries built for Windows.
func TestWineAgentUnitTests(t *testing.T) {
	prefix := winePrefix(t)
	windowsOnes := "^(TestWindows.*|TestDefaultShellWindows)$"
	for _, pkg := range []struct {
		dir   string
		run   string   // the tests to run
		tests []string // each must pass: a test that moved away fails here
	}{
		{"agent", windowsOnes, []string{"TestWindowsControlPipe"}},
		{"agent/term", windowsOnes, []string{"TestWindowsJobEndsChildren", "TestWindowsConsoleEcho"}},
		{"agent/shell", windowsOnes, []string{"TestWindowsArgv", "TestDefaultShellWindows"}},
		{"agent/proc", windowsOnes, []string{"TestWindowsProcessGone", "TestWindowsJobStart"}},
		// All of them: the control protocol and the step's command are
		// the same code on Windows.
		{"agent/control", ".", []string{"TestFramesRoundTrip", "TestDetachKeyLeaves", "TestTerminalEndIsSaid", "TestStepCommand"}},
	} {
		exe := filepath.Join(bins.dir, strings.ReplaceAll(pkg.dir, "/", "-")+".test.exe")
		build := exec.Command("go", "test", "-c", "-o", exe, "../../"+pkg.dir)
		build.Env = append(os.Environ(), "GOOS=windows", "GOARCH=amd64", "CGO_ENABLED=0")
		if b, err := build.CombinedOutput(); err != nil {
			t.Fatalf("build the %s tests for windows: %v\n%s", pkg.dir, err, b)
		}
		run := command(t, wine64, exe, "-test.v", "-test.run", pkg.run)
		run.Env = append(os.Environ(), "WINEPREFIX="+prefix, "WINEDEBUG=-all", "WINEDLLOVERRIDES=bcryptprimitives=n,b")
		out, err := run.CombinedOutput()
		if err != nil {
			t.Fatalf("the %s Windows tests failed under wine: %v\n%s", pkg.dir, err, out)
		}
		for _, name := range pkg.tests {
			if !strings.Contains(string(out), "--- PASS: "+name+" ") {
				t.Errorf("%s did not pass:\n%s", name, out)
			}
		}
	}
}
