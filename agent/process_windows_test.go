package agent

import (
	"bytes"
	"context"
	"io"
	"testing"
	"time"

	"golang.org/x/sys/windows"

	"github.com/pitstopci/pitstop/agent/control"
	"github.com/pitstopci/pitstop/internal/testutil"
)

// The control pipe carries bytes both ways at once, as an attached
// terminal needs, and a closed listener ends a waiting Accept.
func TestWindowsControlPipe(t *testing.T) {
	name := control.Address(testutil.LooseTempDir(t))
	ln, err := control.Listen(name)
	if err != nil {
		t.Fatal(err)
	}
	// Nobody else may serve the name first (FILE_FLAG_FIRST_PIPE_INSTANCE);
	// wine 8 does not enforce that.
	if _, err := control.Listen(name); err == nil && !underWine() {
		t.Error("a second listener on the same pipe name was allowed")
	}
	accepted := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err == nil {
			_, err = io.Copy(c, c) // echo until the client closes
			c.Close()
		}
		accepted <- err
	}()
	c, err := control.Dial(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(10 * time.Second)) //nolint:errcheck // checked by the reads
	want := []byte("both ways\n")
	if _, err := c.Write(want); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, len(want))
	if _, err := io.ReadFull(c, got); err != nil || !bytes.Equal(got, want) {
		t.Fatalf("echo: %q, %v", got, err)
	}
	c.Close()
	if err := <-accepted; err != nil {
		t.Errorf("server side: %v", err)
	}
	waiting := make(chan error, 1)
	go func() { _, err := ln.Accept(); waiting <- err }()
	ln.Close()
	if err := <-waiting; err == nil {
		t.Error("Accept returned a connection after Close")
	}
}

// underWine reports whether the tests run under wine, whose ntdll says so.
func underWine() bool {
	return windows.NewLazySystemDLL("ntdll.dll").NewProc("wine_get_version").Find() == nil
}
