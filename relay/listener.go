package relay

import (
	"io"
	"net"
	"sync"
)

// fanIn is a net.Listener fed by other listeners: the relay's forwards,
// one after another as the relay connection is re-established, and an
// optional local listener. The SSH server serves on it once, for the
// whole pause.
type fanIn struct {
	conns   chan net.Conn
	done    chan struct{}
	once    sync.Once
	addr    net.Addr    // the local listener's address, if any
	closers []io.Closer // local listeners, closed with the fanIn
}

// Accept waits for the next connection from any source.
func (f *fanIn) Accept() (net.Conn, error) {
	select {
	case c := <-f.conns:
		return c, nil
	case <-f.done:
		return nil, net.ErrClosed
	}
}

// Close stops accepting. Connections already accepted are not affected.
func (f *fanIn) Close() error {
	f.once.Do(func() {
		close(f.done)
		for _, c := range f.closers {
			c.Close()
		}
	})
	return nil
}

// Addr is the local listener's address, or 127.0.0.1:0 without one.
func (f *fanIn) Addr() net.Addr {
	if f.addr != nil {
		return f.addr
	}
	return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)}
}

func (f *fanIn) closed() bool {
	select {
	case <-f.done:
		return true
	default:
		return false
	}
}

// push hands c to Accept; once the fanIn is closed it closes c instead.
func (f *fanIn) push(c net.Conn) bool {
	select {
	case f.conns <- c:
		return true
	case <-f.done:
		c.Close()
		return false
	}
}
