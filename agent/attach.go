package agent

import (
	"fmt"
	"io"
)

// attached shows the attachment a on the caller's terminal, which the
// platform's RunAttach has put in raw mode: what in reads goes to the
// terminal until DetachKey, what the terminal shows goes to out, and each
// size from sizes is passed on. It returns once either side has ended,
// and says which on out; restore is called before that line, so that it
// shows on the terminal as it was.
func attached(a *Attachment, in io.Reader, out io.Writer, sizes <-chan [2]int, restore func()) {
	done := make(chan struct{})
	defer close(done)
	go func() {
		for {
			select {
			case s := <-sizes:
				a.Resize(s[0], s[1]) //nolint:errcheck // a closed attachment ends the copy below
			case <-done:
				return
			}
		}
	}()
	detached := make(chan struct{})
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := in.Read(buf)
			b := buf[:n]
			for i, c := range b {
				if c == DetachKey {
					a.Write(b[:i]) //nolint:errcheck // leaving anyway
					close(detached)
					a.Close()
					return
				}
			}
			if len(b) > 0 {
				if _, err := a.Write(b); err != nil {
					return
				}
			}
			if err != nil {
				return
			}
		}
	}()
	io.Copy(out, a) //nolint:errcheck // ends when either side closes
	restore()
	select {
	case <-detached:
		fmt.Fprintf(out, "\r\npitstop: detached from terminal %d.\r\n", a.Terminal.ID)
	default:
		fmt.Fprintf(out, "\r\npitstop: terminal %d ended.\r\n", a.Terminal.ID)
	}
}
