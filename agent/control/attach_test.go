package control

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net"
	"strings"
	"testing"
)

// frames is what ReadFrames handed on, in order.
type frames struct {
	got []string
}

func (f *frames) read(c net.Conn) {
	ReadFrames(c, func(b []byte) {
		f.got = append(f.got, "input "+string(b))
	}, func(cols, rows uint32) {
		f.got = append(f.got, fmt.Sprintf("size %dx%d", cols, rows))
	})
}

// TestFramesRoundTrip: what an Attachment writes, ReadFrames reads back
// as it was sent; frames of unknown kinds and sizes of the wrong length
// are skipped, and a frame longer than maxFrame ends the reading.
func TestFramesRoundTrip(t *testing.T) {
	client, agentEnd := net.Pipe()
	a := &Attachment{conn: client}
	go func() {
		defer a.Close()
		a.Write([]byte("ls -l\r"))      //nolint:errcheck // the reader checks what came
		a.Resize(80, 24)                //nolint:errcheck // as above
		a.frame('x', []byte("unknown")) //nolint:errcheck // as above
		a.frame(frameWindow, []byte{1}) //nolint:errcheck // as above
		a.Write([]byte("\x03"))         //nolint:errcheck // as above
		var hdr [5]byte                 // a frame too long to take
		hdr[0] = frameInput
		binary.BigEndian.PutUint32(hdr[1:], maxFrame+1)
		client.Write(hdr[:])          //nolint:errcheck // as above
		a.Write([]byte("never read")) //nolint:errcheck // the reader has stopped
	}()
	var f frames
	f.read(agentEnd)
	agentEnd.Close()
	want := []string{"input ls -l\r", "size 80x24", "input \x03"}
	if strings.Join(f.got, "|") != strings.Join(want, "|") {
		t.Errorf("frames read:\n%q\nwant\n%q", f.got, want)
	}
}

// TestDetachKeyLeaves: what is typed before DetachKey reaches the
// terminal, nothing after it does, and the caller's terminal is restored
// before the line that says the attachment was left.
func TestDetachKeyLeaves(t *testing.T) {
	client, agentEnd := net.Pipe()
	a := &Attachment{Terminal: TerminalInfo{ID: 3}, conn: client}
	var f frames
	read := make(chan struct{})
	go func() {
		defer close(read)
		f.read(agentEnd)
	}()
	var out bytes.Buffer
	restored := -1
	attached(a, strings.NewReader("echo hi\r\x1dnot sent"), &out, nil, func() { restored = out.Len() })
	<-read
	if want := []string{"input echo hi\r"}; strings.Join(f.got, "|") != strings.Join(want, "|") {
		t.Errorf("frames sent:\n%q\nwant\n%q", f.got, want)
	}
	if out.String() != "\r\npitstop: detached from terminal 3.\r\n" {
		t.Errorf("shown: %q", out.String())
	}
	if restored != 0 {
		t.Errorf("the terminal was restored after %d bytes of output (-1: never); want before the last line", restored)
	}
}

// TestTerminalEndIsSaid: when the agent ends the terminal, the caller
// is told the terminal ended, after its last output.
func TestTerminalEndIsSaid(t *testing.T) {
	client, agentEnd := net.Pipe()
	a := &Attachment{Terminal: TerminalInfo{ID: 2}, conn: client}
	go func() {
		agentEnd.Write([]byte("logout\r\n")) //nolint:errcheck // the output is checked
		agentEnd.Close()
	}()
	var out bytes.Buffer
	attached(a, strings.NewReader(""), &out, nil, func() {})
	a.Close()
	if want := "logout\r\n\r\npitstop: terminal 2 ended.\r\n"; out.String() != want {
		t.Errorf("shown: %q; want %q", out.String(), want)
	}
}
