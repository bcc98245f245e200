package control

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"
	"unsafe"

	"golang.org/x/sys/windows"
)

// On Windows the control socket is a named pipe. AF_UNIX sockets exist
// since Windows 10 1803, but not everywhere the agent may run (wine has
// none), and a pipe carries the same byte stream: one JSON request, one
// answer, or an attached terminal both ways. The pipe's DACL admits the
// agent's own user and SYSTEM only, as the 0700 directory does on Unix,
// and it refuses clients from other machines.

// Address names the pipe of the agent whose private directory is
// dir: its random name makes the pipe's name as hard to guess.
func Address(dir string) string {
	return `\\.\pipe\` + filepath.Base(dir) + "-control"
}

// PipeBuffer is the size of each direction's buffer in a pipe, the control
// pipe's and the ones agent gives the programs it starts.
const PipeBuffer = 64 << 10

// pipeListener accepts connections on a named pipe, one pipe instance per
// connection, as Windows' pipe servers do.
type pipeListener struct {
	name   string
	sa     *windows.SecurityAttributes
	closed windows.Handle // an event set by Close, which ends a waiting Accept

	mu   sync.Mutex
	next windows.Handle // the instance the next client connects to
	done bool
}

// Listen creates the control pipe; only this user may open it.
func Listen(name string) (net.Listener, error) {
	l, err := listenPipe(name)
	if err != nil {
		return nil, fmt.Errorf("listen on control pipe: %w", err)
	}
	return l, nil
}

// ListenAgent creates the pipe of an agent forwarded by "ssh -A" for the
// private directory dir, and returns it with its name for SSH_AUTH_SOCK.
// OpenSSH for Windows takes a pipe's name there: it speaks to agents over
// named pipes.
func ListenAgent(dir string) (net.Listener, string, error) {
	name := `\\.\pipe\` + filepath.Base(dir) + "-agent"
	l, err := listenPipe(name)
	if err != nil {
		return nil, "", fmt.Errorf("listen on agent pipe: %w", err)
	}
	return l, name, nil
}

// listenPipe creates the pipe name; only this user may open it.
func listenPipe(name string) (*pipeListener, error) {
	sa, err := OwnerOnly()
	if err != nil {
		return nil, err
	}
	l := &pipeListener{name: name, sa: sa}
	// The first instance is created here, so that a pipe of that name
	// made by someone else first is an error rather than a listener.
	if l.next, err = l.instance(true); err != nil {
		return nil, err
	}
	if l.closed, err = windows.CreateEvent(nil, 1, 0, nil); err != nil {
		windows.CloseHandle(l.next) //nolint:errcheck // failing anyway
		return nil, err
	}
	return l, nil
}

// OwnerOnly is a security descriptor that grants a pipe to SYSTEM and to
// the user the agent runs as, and to nobody else: the control pipe, and
// the pipes agent gives the programs it starts.
func OwnerOnly() (*windows.SecurityAttributes, error) {
	user, err := windows.GetCurrentProcessToken().GetTokenUser()
	if err != nil {
		return nil, fmt.Errorf("find the agent's user: %w", err)
	}
	sd, err := windows.SecurityDescriptorFromString("D:P(A;;GA;;;SY)(A;;GA;;;" + user.User.Sid.String() + ")")
	if err != nil {
		return nil, fmt.Errorf("make the pipe's security descriptor: %w", err)
	}
	return &windows.SecurityAttributes{Length: uint32(unsafe.Sizeof(windows.SecurityAttributes{})), SecurityDescriptor: sd}, nil
}

// instance creates one more instance of the pipe, overlapped so that the
// runtime's poller serves its reads and writes (os.NewFile).
func (l *pipeListener) instance(first bool) (windows.Handle, error) {
	name, err := windows.UTF16PtrFromString(l.name)
	if err != nil {
		return 0, err
	}
	mode := uint32(windows.PIPE_ACCESS_DUPLEX | windows.FILE_FLAG_OVERLAPPED)
	if first {
		mode |= windows.FILE_FLAG_FIRST_PIPE_INSTANCE
	}
	return windows.CreateNamedPipe(name, mode,
		windows.PIPE_TYPE_BYTE|windows.PIPE_READMODE_BYTE|windows.PIPE_WAIT|windows.PIPE_REJECT_REMOTE_CLIENTS,
		windows.PIPE_UNLIMITED_INSTANCES, PipeBuffer, PipeBuffer, 0, l.sa)
}

// Accept waits for a client on the current instance, and makes the next.
func (l *pipeListener) Accept() (net.Conn, error) {
	l.mu.Lock()
	if l.done {
		l.mu.Unlock()
		return nil, net.ErrClosed
	}
	h := l.next
	l.next = 0
	l.mu.Unlock()
	if h == 0 {
		return nil, errors.New("accept on control pipe: already accepting")
	}
	if err := l.connect(h); err != nil {
		windows.CloseHandle(h) //nolint:errcheck // failing anyway
		return nil, err
	}
	next, err := l.instance(false)
	l.mu.Lock()
	if l.done {
		if err == nil {
			windows.CloseHandle(next) //nolint:errcheck // closed meanwhile
		}
	} else {
		l.next = next
	}
	l.mu.Unlock()
	if err != nil {
		windows.CloseHandle(h) //nolint:errcheck // failing anyway
		return nil, fmt.Errorf("accept on control pipe: %w", err)
	}
	return &pipeConn{File: os.NewFile(uintptr(h), l.name), name: l.name}, nil
}

// connect waits until a client opens instance h, or the listener closes.
func (l *pipeListener) connect(h windows.Handle) error {
	ev, err := windows.CreateEvent(nil, 1, 0, nil)
	if err != nil {
		return fmt.Errorf("accept on control pipe: %w", err)
	}
	defer windows.CloseHandle(ev) //nolint:errcheck // nothing to do about it
	ov := windows.Overlapped{HEvent: ev}
	switch err := windows.ConnectNamedPipe(h, &ov); {
	case err == nil, errors.Is(err, windows.ERROR_PIPE_CONNECTED):
		return nil
	case !errors.Is(err, windows.ERROR_IO_PENDING):
		return fmt.Errorf("accept on control pipe: %w", err)
	}
	which, err := windows.WaitForMultipleObjects([]windows.Handle{ev, l.closed}, false, windows.INFINITE)
	if err != nil || which != windows.WAIT_OBJECT_0 {
		// Closed: the pending connect must end before ov goes away.
		windows.CancelIoEx(h, &ov) //nolint:errcheck // it may have completed
		var n uint32
		windows.GetOverlappedResult(h, &ov, &n, true) //nolint:errcheck // cancelled
		return net.ErrClosed
	}
	var n uint32
	if err := windows.GetOverlappedResult(h, &ov, &n, false); err != nil {
		return fmt.Errorf("accept on control pipe: %w", err)
	}
	return nil
}

// Close stops Accept; connections already made stay open.
func (l *pipeListener) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.done {
		return nil
	}
	l.done = true
	windows.SetEvent(l.closed) //nolint:errcheck // a handle we own
	if l.next != 0 {
		windows.CloseHandle(l.next) //nolint:errcheck // never connected
		l.next = 0
	}
	// l.closed stays open: an Accept may still be waiting on it.
	return nil
}

// Addr is the pipe's name.
func (l *pipeListener) Addr() net.Addr { return pipeAddr(l.name) }

// pipeAddr is a pipe's name as a net.Addr.
type pipeAddr string

func (a pipeAddr) Network() string { return "pipe" }
func (a pipeAddr) String() string  { return string(a) }

// pipeConn is one end of a pipe connection. os.File gives it overlapped
// reads and writes that may run at once, and deadlines.
type pipeConn struct {
	*os.File
	name string
}

func (c *pipeConn) LocalAddr() net.Addr  { return pipeAddr(c.name) }
func (c *pipeConn) RemoteAddr() net.Addr { return pipeAddr(c.name) }

// Dial connects to the control pipe name, waiting (within ctx)
// while all its instances are busy.
func Dial(ctx context.Context, name string) (net.Conn, error) {
	p, err := windows.UTF16PtrFromString(name)
	if err != nil {
		return nil, err
	}
	for {
		h, err := windows.CreateFile(p, windows.GENERIC_READ|windows.GENERIC_WRITE, 0, nil,
			windows.OPEN_EXISTING, windows.FILE_FLAG_OVERLAPPED|windows.SECURITY_SQOS_PRESENT|windows.SECURITY_IDENTIFICATION, 0)
		if err == nil {
			return &pipeConn{File: os.NewFile(uintptr(h), name), name: name}, nil
		}
		if !errors.Is(err, windows.ERROR_PIPE_BUSY) {
			return nil, &os.PathError{Op: "open", Path: name, Err: err}
		}
		// Every instance is taken for the moment: the server makes the
		// next one as soon as it has accepted.
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
}
