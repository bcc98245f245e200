//go:build linux

package term

import (
	"bytes"
	"errors"
	"os"
	"testing"
	"time"

	xterm "golang.org/x/term"

	"github.com/pitstopci/pitstop/internal/testutil"
)

// inside waits until a Read or Write is using the master, in its wait for
// the pty.
func inside(t *testing.T, f *ptyFile) {
	t.Helper()
	if !testutil.Eventually(10*time.Second, func() bool {
		f.mu.Lock()
		defer f.mu.Unlock()
		return f.users == 1
	}) {
		t.Fatal("the call never began")
	}
}

func TestPTYReadsAndWrites(t *testing.T) {
	master, tty := openTestPTY(t)
	if _, err := tty.Write([]byte("out\n")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	n, err := master.Read(buf)
	if err != nil || string(buf[:n]) != "out\r\n" {
		t.Fatalf("read %q, %v; want the output with the line discipline's CR LF", buf[:n], err)
	}
	if _, err := master.Write([]byte("in\n")); err != nil {
		t.Fatal(err)
	}
	n, err = tty.Read(buf)
	if err != nil || string(buf[:n]) != "in\n" {
		t.Fatalf("the program read %q, %v", buf[:n], err)
	}
	// The line discipline echoes what was typed.
	if n, err = master.Read(buf); err != nil || string(buf[:n]) != "in\r\n" {
		t.Fatalf("echo %q, %v", buf[:n], err)
	}
}

// waitingRead starts a read of master and waits until it is inside, in
// its wait for the pty; the read's error comes on the channel.
func waitingRead(t *testing.T, master *ptyFile) <-chan error {
	t.Helper()
	done := make(chan error, 1)
	go func() {
		_, err := master.Read(make([]byte, 64))
		done <- err
	}()
	inside(t, master)
	return done
}

// A pty nobody holds any more ends the output with an error (EIO on
// Linux), not a wait.
func TestPTYReadEndsWhenTheProgramIsGone(t *testing.T) {
	master, tty := openTestPTY(t)
	done := waitingRead(t, master)
	tty.Close()
	select {
	case err := <-done:
		if err == nil || errors.Is(err, os.ErrClosed) {
			t.Fatalf("read ended with %v, want the pty's own end", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the read is still waiting after the last holder of the pty closed it")
	}
}

// Close ends a read waiting on a pty that something still holds open:
// a background job a session left behind must not keep its output copy,
// and its goroutine, waiting.
func TestPTYCloseEndsAWaitingRead(t *testing.T) {
	master, _ := openTestPTY(t)
	done := waitingRead(t, master)
	if err := master.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if !errors.Is(err, os.ErrClosed) {
			t.Fatalf("read ended with %v, want os.ErrClosed", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the read is still waiting after Close")
	}
	if _, err := master.Read(make([]byte, 1)); !errors.Is(err, os.ErrClosed) {
		t.Fatalf("read after Close: %v", err)
	}
}

// Input the program does not read fills the pty; Write waits for room,
// and Close ends that wait too. The program's terminal is raw, as an
// editor's is: a canonical one drops what overflows its line instead.
func TestPTYCloseEndsAWaitingWrite(t *testing.T) {
	master, tty := openTestPTY(t)
	if _, err := xterm.MakeRaw(int(tty.Fd())); err != nil {
		t.Fatal(err)
	}
	type result struct {
		n   int
		err error
	}
	done := make(chan result, 1)
	input := bytes.Repeat([]byte("x"), 1<<20)
	go func() {
		n, err := master.Write(input)
		done <- result{n, err}
	}()
	inside(t, master)
	select {
	case r := <-done:
		t.Fatalf("a megabyte nobody reads was taken whole: %d, %v", r.n, r.err)
	case <-time.After(100 * time.Millisecond):
	}
	master.Close()
	select {
	case r := <-done:
		if !errors.Is(r.err, os.ErrClosed) || r.n >= len(input) {
			t.Fatalf("write ended with %d, %v; want part of it and os.ErrClosed", r.n, r.err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the write is still waiting after Close")
	}
}
