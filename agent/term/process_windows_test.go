package term

import (
	"bytes"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gliderlabs/ssh"
	"golang.org/x/sys/windows"

	"github.com/pitstopci/pitstop/agent/shell"
)

// Ending a program ends what it started: its job holds them all.
func TestWindowsJobEndsChildren(t *testing.T) {
	in, theirIn, err := pipePair(false)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, theirOut, err := pipePair(true)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	// cmd.exe starts a second cmd.exe, which waits for input forever.
	argv := []string{os.Getenv("COMSPEC"), "/d", "/c", shell.RawArg + "echo started& " + `"` + os.Getenv("COMSPEC") + `"` + " /d /k"}
	p, err := startProc(argv, os.Environ(), "", 0, stdio{in: theirIn, out: theirOut, err: theirOut})
	windows.CloseHandle(theirIn)  //nolint:errcheck // the program has its own
	windows.CloseHandle(theirOut) //nolint:errcheck // the program has its own
	if err != nil {
		t.Fatal(err)
	}
	defer p.release()
	buf := make([]byte, 64)
	n, err := out.Read(buf)
	if err != nil || !strings.Contains(string(buf[:n]), "started") {
		t.Fatalf("read %q, %v", buf[:n], err)
	}
	p.kill()
	if status := p.wait(); status != 1 {
		t.Errorf("status %d after kill, want 1", status)
	}
	// Every process in the job is gone once the pipe's last writer is:
	// the read ends.
	out.SetReadDeadline(time.Now().Add(10 * time.Second)) //nolint:errcheck // checked below
	if _, err := io.Copy(io.Discard, out); err != nil {
		t.Errorf("the output pipe stayed open after the job ended: %v", err)
	}
}

// A program on the pseudo console gets what is typed and writes to the
// console, whose output comes back as a terminal stream.
func TestWindowsConsoleEcho(t *testing.T) {
	p := Program{Argv: []string{os.Getenv("COMSPEC"), "/d"}, Env: os.Environ(), Pty: &Pty{Window: ssh.Window{Width: 80, Height: 25}}}
	con, err := startConsole(p)
	if err != nil {
		t.Fatal(err)
	}
	defer con.Close()
	var mu bytes.Buffer
	got := make(chan string, 64)
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := con.Read(buf)
			got <- string(buf[:n])
			if err != nil {
				close(got)
				return
			}
		}
	}()
	if _, err := con.Write([]byte("echo console %CD%ok\r")); err != nil {
		t.Fatal(err)
	}
	deadline := time.After(30 * time.Second)
	for !strings.Contains(mu.String(), "console ") || !strings.Contains(mu.String(), "ok") {
		select {
		case s, ok := <-got:
			if !ok {
				t.Fatalf("the console closed; it showed %q", mu.String())
			}
			mu.WriteString(s)
		case <-deadline:
			t.Fatalf("no echo after 30s; the console showed %q", mu.String())
		}
	}
	con.Write([]byte("exit 7\r")) //nolint:errcheck // checked by the status
	if status := con.proc.wait(); status != 7 {
		t.Errorf("status %d, want 7", status)
	}
}
