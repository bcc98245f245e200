//go:build linux

package windows

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
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
// Ctrl-C handler is not seen to run, so the test stops at the read. Under
// wine, too, the Ctrl-C ends the console helper the program runs under,
// and with it the session, about as soon as the program's read ends, and
// at times before the program is scheduled again: what the program
// prints then may or may not reach the screen first. So the program notes
// the end of its read in a file, and the test takes either that note or
// the session's clean end (exit status 0, which a typed byte, read as a
// character, never brings: the read would go on) as Ctrl-C's answer.
func TestWineConsoleResizeAndCtrlC(t *testing.T) {
	notes := filepath.Join(t.TempDir(), "notes")
	a := startAgentEnv(t, []string{"WINEDEBUG=-all,fixme+console", "PROBE_NOTES=" + winPath(notes)}, "--shell", "cmd.exe")
	s := newScreen(t, a, 100, 30, winPath(bins.probe))
	s.waitFor("probe: ready")
	s.send("Enter")
	s.waitFor("probe: size 100x30")
	s.resize(80, 20)
	waitLog(t, a, "ResizePseudoConsole", "(80,20)")
	if text := s.text(); strings.Contains(text, "end of input") || strings.Contains(text, "SSH-EXIT=") {
		t.Fatalf("the probe's read or session ended before Ctrl-C:\n%s", text)
	}
	if _, err := os.Stat(notes); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("the probe noted something before Ctrl-C: %v", err)
	}
	s.send("C-c")
	deadline := time.Now().Add(30 * time.Second)
	for {
		b, _ := os.ReadFile(notes)
		if strings.Contains(string(b), "end of input") {
			break
		}
		if screen := s.text(); strings.Contains(screen, "SSH-EXIT=") {
			if !strings.Contains(screen, "SSH-EXIT=0") {
				t.Fatalf("the session failed after Ctrl-C (notes %q); the screen shows:\n%s", b, screen)
			}
			t.Logf("Ctrl-C ended the session before the probe noted its read's end (notes %q)", b)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the probe's read did not end after Ctrl-C (notes %q); the screen shows:\n%s", b, s.text())
		}
		time.Sleep(50 * time.Millisecond)
	}
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
