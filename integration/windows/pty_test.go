//go:build linux

package windows

import (
	"strings"
	"testing"
)

// A shell on a terminal runs on a pseudo console: what is typed is
// echoed, and "exit" ends the pause.
func TestWineShellOnConsole(t *testing.T) {
	a := startAgent(t, "--shell", "cmd.exe")
	s := newScreen(t, a, 100, 30)
	s.waitFor(winPath(a.workspace) + ">")
	s.send("echo console says hi", "Enter")
	s.waitFor("\nconsole says hi")
	s.send("exit", "Enter")
	s.waitFor("SSH-EXIT=0")
	a.waitEnd(defaultEnd)
	if !strings.Contains(a.log.String(), "the last shell exited") {
		t.Errorf("the agent did not end the pause for the shell's exit:\n%s", a.log)
	}
}

// A console program sees the window's size, the window's changes reach
// the console, and Ctrl-C reaches the console: it interrupts the
// program's read, which no typed byte does. wine 8's ResizePseudoConsole
// is a stub that only logs its arguments, so a resize is checked in that
// log line: the program cannot see it there. Under wine the program's
// Ctrl-C handler is not seen to run, so the test stops at the read.
func TestWineConsoleResizeAndCtrlC(t *testing.T) {
	a := startAgentEnv(t, []string{"WINEDEBUG=-all,fixme+console"}, "--shell", "cmd.exe")
	s := newScreen(t, a, 100, 30, winPath(bins.probe))
	s.waitFor("probe: ready")
	s.send("Enter")
	s.waitFor("probe: size 100x30")
	s.resize(80, 20)
	waitLog(t, a, "ResizePseudoConsole", "(80,20)")
	if strings.Contains(s.text(), "end of input") {
		t.Fatalf("the probe's read ended before Ctrl-C:\n%s", s.text())
	}
	s.send("C-c")
	s.waitFor("probe: end of input")
}

// A client killed with SIGKILL leaves its shell running on the console;
// logging in again gets the same shell back.
func TestWineReattachAfterKilledClient(t *testing.T) {
	a := startAgent(t, "--shell", "cmd.exe")
	s := newScreen(t, a, 100, 30)
	s.waitFor(winPath(a.workspace) + ">")
	s.send("set PITSTOP_MARK=still here", "Enter")
	s.send("echo mark set", "Enter")
	s.waitFor("\nmark set")
	s.killClient()
	s.waitFor("SSH-EXIT=137")
	waitLog(t, a, "detached from terminal")

	again := newScreen(t, a, 100, 30)
	again.waitFor(winPath(a.workspace) + ">")
	again.send("echo mark: %PITSTOP_MARK%", "Enter")
	again.waitFor("mark: still here")
	again.send("exit", "Enter")
	again.waitFor("SSH-EXIT=0")
	a.waitEnd(defaultEnd)
}
