//go:build linux

package term

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/gliderlabs/ssh"
	"golang.org/x/sys/unix"
)

// ptyFile is a pty's master: what a session's program writes comes out
// of Read, Write is what it reads, and resizing goes through it.
//
// It waits for the pty in poll(2) on the waiting goroutine's own thread,
// not in the runtime's network poller, as sshd waits in its own loop.
// Each keystroke's echo comes back through the master, and a read parked
// in the runtime's poller needs another thread's epoll wake-up and a
// hand-off to the reading goroutine before the echo can go out; a thread
// waiting in poll(2) is woken by the kernel and carries on itself. The
// bench measured the difference (docs/performance.md). The descriptor
// is non-blocking, so only the poll waits, and Close ends every wait: it
// writes to a pipe each poll also watches. A Read that Close cut short
// returns os.ErrClosed, even while a background program still holds the
// pty open. Linux only: macOS's poll(2) does not support devices, and
// there the master stays in the runtime's poller (pty_bsd.go).
type ptyFile struct {
	fd int
	// wake is a pipe: Close writes a byte to wake[1], which makes wake[0]
	// readable for every poll from then on.
	wake [2]int

	mu     sync.Mutex
	idle   *sync.Cond // signalled when users drops to 0 after Close
	users  int        // calls using fd now: Close waits for them
	closed bool
}

// newPTYFile takes over fd, a pty master's descriptor.
func newPTYFile(fd int) (*ptyFile, error) {
	f := &ptyFile{fd: fd}
	f.idle = sync.NewCond(&f.mu)
	// Close-on-exec from the start: no program started meanwhile inherits
	// the pipe.
	if err := unix.Pipe2(f.wake[:], unix.O_CLOEXEC|unix.O_NONBLOCK); err != nil {
		return nil, fmt.Errorf("pty wake-up pipe: %w", err)
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(f.wake[0])
		unix.Close(f.wake[1])
		return nil, fmt.Errorf("make pty non-blocking: %w", err)
	}
	return f, nil
}

// use marks a call using fd, unless the file is closed.
func (f *ptyFile) use() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return false
	}
	f.users++
	return true
}

func (f *ptyFile) done() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.users--
	if f.closed && f.users == 0 {
		f.idle.Broadcast()
	}
}

// wait blocks until fd is ready for events (or hung up, which the next
// read or write reports), or the file is closed.
func (f *ptyFile) wait(events int16) error {
	fds := []unix.PollFd{{Fd: int32(f.fd), Events: events}, {Fd: int32(f.wake[0]), Events: unix.POLLIN}}
	for {
		_, err := unix.Poll(fds, -1)
		switch {
		case errors.Is(err, unix.EINTR):
			continue
		case err != nil:
			return &os.PathError{Op: "poll", Path: "/dev/ptmx", Err: err}
		case fds[1].Revents != 0:
			return os.ErrClosed
		}
		return nil
	}
}

// Read reads the program's output. A pty whose program and all who held
// it open are gone reads as EIO on Linux; that ends the output as EOF
// would.
func (f *ptyFile) Read(b []byte) (int, error) {
	if !f.use() {
		return 0, os.ErrClosed
	}
	defer f.done()
	for {
		n, err := unix.Read(f.fd, b)
		switch {
		case errors.Is(err, unix.EAGAIN):
			if err := f.wait(unix.POLLIN); err != nil {
				return 0, err
			}
			continue
		case errors.Is(err, unix.EINTR):
			continue
		case err != nil:
			return 0, &os.PathError{Op: "read", Path: "/dev/ptmx", Err: err}
		case n == 0 && len(b) > 0:
			return 0, io.EOF
		}
		return n, nil
	}
}

// Write writes all of b to the program's input, waiting while the pty's
// input is full (the program is not reading).
func (f *ptyFile) Write(b []byte) (int, error) {
	if !f.use() {
		return 0, os.ErrClosed
	}
	defer f.done()
	written := 0
	for written < len(b) {
		n, err := unix.Write(f.fd, b[written:])
		switch {
		case errors.Is(err, unix.EAGAIN):
			if err := f.wait(unix.POLLOUT); err != nil {
				return written, err
			}
			continue
		case errors.Is(err, unix.EINTR):
			continue
		case err != nil:
			return written, &os.PathError{Op: "write", Path: "/dev/ptmx", Err: err}
		}
		written += n
	}
	return written, nil
}

// setWindow resizes the pty; a failed resize leaves the old size.
func (f *ptyFile) setWindow(w ssh.Window) {
	if !f.use() {
		return
	}
	defer f.done()
	unix.IoctlSetWinsize(f.fd, unix.TIOCSWINSZ, &unix.Winsize{ //nolint:errcheck,gosec // see above; sizes are clamped to 16 bits (window)
		Row: uint16(w.Height), Col: uint16(w.Width),
	})
}

// Close ends every Read and Write waiting on the pty, then closes it
// once none is using the descriptor any more, so that it cannot be
// reused under them.
func (f *ptyFile) Close() error {
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		return os.ErrClosed
	}
	f.closed = true
	unix.Write(f.wake[1], []byte{0}) //nolint:errcheck // an empty pipe takes one byte
	for f.users > 0 {
		f.idle.Wait()
	}
	f.mu.Unlock()
	err := unix.Close(f.fd)
	unix.Close(f.wake[0])
	unix.Close(f.wake[1])
	if err != nil {
		return &os.PathError{Op: "close", Path: "/dev/ptmx", Err: err}
	}
	return nil
}

// openPTY opens a pty; the master is a ptyFile.
func openPTY() (master *ptyFile, tty *os.File, err error) {
	fd, tty, err := openMaster()
	if err != nil {
		return nil, nil, err
	}
	if master, err = newPTYFile(fd); err != nil {
		unix.Close(fd)
		tty.Close()
		return nil, nil, err
	}
	return master, tty, nil
}

// setWindow resizes the pty.
func setWindow(f *ptyFile, w ssh.Window) { f.setWindow(w) }
