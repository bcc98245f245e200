//go:build unix && !linux

package term

import (
	"fmt"
	"os"

	"github.com/creack/pty"
	"github.com/gliderlabs/ssh"
	"golang.org/x/sys/unix"
)

// ptyFile is a pty's master. Here (macOS, the BSDs) it waits in the
// runtime's poller: macOS's poll(2) does not support devices, so the
// Linux way of waiting (pty_linux.go) is not available.
type ptyFile struct{ *os.File }

// openPTY opens a pty whose master works with the runtime's poller.
// creack/pty's ioctls go through os.File.Fd, which puts the master into
// blocking mode; a blocked Read then survives Close, and the goroutine
// copying output would leak whenever a background job keeps the pty open.
// A non-blocking duplicate of the descriptor does not have that problem.
func openPTY() (master *ptyFile, tty *os.File, err error) {
	ptmx, tty, err := pty.Open()
	if err != nil {
		return nil, nil, fmt.Errorf("open pty: %w", err)
	}
	defer ptmx.Close()
	// F_DUPFD_CLOEXEC: close-on-exec from the start, so a program started
	// meanwhile does not inherit it.
	fd, err := unix.FcntlInt(ptmx.Fd(), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		tty.Close()
		return nil, nil, fmt.Errorf("duplicate pty: %w", err)
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		tty.Close()
		return nil, nil, fmt.Errorf("make pty non-blocking: %w", err)
	}
	return &ptyFile{os.NewFile(uintptr(fd), "/dev/ptmx")}, tty, nil
}

// setWindow resizes the pty without os.File.Fd (see openPTY).
func setWindow(f *ptyFile, w ssh.Window) {
	rc, err := f.SyscallConn()
	if err != nil {
		return
	}
	rc.Control(func(fd uintptr) { //nolint:errcheck // a failed resize leaves the old size
		unix.IoctlSetWinsize(int(fd), unix.TIOCSWINSZ, &unix.Winsize{ //nolint:errcheck,gosec // sizes are clamped to 16 bits (window)
			Row: uint16(w.Height), Col: uint16(w.Width),
		})
	})
}
