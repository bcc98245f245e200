package actrun

import (
	"strings"
	"testing"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"
	"golang.org/x/term"
)

// TestSaveTerminal: what saveTerminal returns puts back the settings a
// killed ssh left raw.
func TestSaveTerminal(t *testing.T) {
	ptm, tty, err := pty.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer ptm.Close()
	defer tty.Close()
	canonical := func() bool {
		tio, err := unix.IoctlGetTermios(int(tty.Fd()), unix.TCGETS)
		if err != nil {
			t.Fatal(err)
		}
		return tio.Lflag&unix.ICANON != 0
	}
	if !canonical() {
		t.Fatal("a new pty is not in canonical mode")
	}
	restore := saveTerminal(tty)
	if _, err := term.MakeRaw(int(tty.Fd())); err != nil {
		t.Fatal(err)
	}
	if canonical() {
		t.Fatal("MakeRaw left canonical mode on")
	}
	restore()
	if !canonical() {
		t.Error("the terminal's settings were not restored")
	}
	saveTerminal(strings.NewReader(""))() // not a terminal: nothing to do
}
