//go:build unix && !linux

package term

import (
	"fmt"
	"os"

	"github.com/gliderlabs/ssh"
	"golang.org/x/sys/unix"
)

// ptyFile is a pty's master. Here (macOS, the BSDs) it waits in the
// runtime's poller: macOS's poll(2) does not support devices, so the
// Linux way of waiting (pty_linux.go) is not available.
type ptyFile struct{ *os.File }

// openPTY opens a pty whose master, non-blocking, works with the
// runtime's poller.
func openPTY() (master *ptyFile, tty *os.File, err error) {
	fd, tty, err := openMaster()
	if err != nil {
		return nil, nil, err
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
