//go:build linux

package windows

import (
	"strings"
	"testing"
)

// "pitstop attach" typed into a second shell joins the first one's
// terminal over the control pipe, from the console the second shell runs
// on: what it types runs in the first shell and both screens show it;
// Ctrl-] leaves. A read-only attachment sees the first shell's output, and
// what it types reaches nothing.
func TestWineAttachOverControlPipe(t *testing.T) {
	a := startAgent(t, "--shell", "cmd.exe")
	first := newScreen(t, a, 100, 30)
	first.waitFor(winPath(a.workspace) + ">")
	first.send("set PITSTOP_MARK=first shell", "Enter")

	// A second login while the first client is connected gets a shell of
	// its own, terminal 2.
	second := newScreen(t, a, 100, 30)
	second.waitFor(winPath(a.workspace) + ">")
	second.send("pitstop attach 1", "Enter")
	second.waitFor("attached to terminal 1 of")
	first.waitFor("joined]")
	second.send("echo mark: %PITSTOP_MARK%", "Enter")
	first.waitFor("mark: first shell")
	second.waitFor("mark: first shell")
	second.send("C-]")
	second.waitFor("pitstop: detached from terminal 1.")
	first.waitFor("left]")
	// Back in its own shell, whose variable is unset.
	second.send("echo back: %PITSTOP_MARK%", "Enter")
	second.waitFor("back: %PITSTOP_MARK%")

	second.send("pitstop attach 1 --read-only", "Enter")
	second.waitFor("(read-only)")
	second.send("echo LE^AK", "Enter")
	first.send("echo AFTER^READONLY", "Enter")
	second.waitFor("\nAFTERREADONLY")
	first.waitFor("\nAFTERREADONLY")
	if strings.Contains(first.text(), "LEAK") {
		t.Errorf("a read-only attachment's keystrokes reached the shell:\n%s", first.text())
	}
	// The shell's exit ends the attachment with it.
	first.send("exit", "Enter")
	second.waitFor("pitstop: terminal 1 ended.")
	second.send("echo second: %PITSTOP_MARK%", "Enter")
	second.waitFor("second: %PITSTOP_MARK%")
	second.send("exit", "Enter")
	second.waitFor("SSH-EXIT=0")
	a.waitEnd(defaultEnd)
}
