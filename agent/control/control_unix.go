//go:build !windows

package control

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
)

// Address is where the control socket of the agent whose private
// directory is dir listens: a Unix socket in that directory.
func Address(dir string) string { return filepath.Join(dir, "control.sock") }

// Listen creates the socket at path; only the owner may use it.
func Listen(path string) (net.Listener, error) {
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("listen on control socket: %w", err)
	}
	// The directory's 0700 already keeps others out; the socket's own mode
	// is a second lock on the door, for systems that check it.
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("restrict control socket: %w", err)
	}
	return ln, nil
}

// ListenAgent creates the socket of an agent forwarded by "ssh -A" in
// the private directory dir, and returns it with its path for
// SSH_AUTH_SOCK.
func ListenAgent(dir string) (net.Listener, string, error) {
	sock := filepath.Join(dir, "agent.sock")
	ln, err := net.Listen("unix", sock)
	return ln, sock, err
}

// Dial connects to the control socket at path.
func Dial(ctx context.Context, path string) (net.Conn, error) {
	var d net.Dialer
	return d.DialContext(ctx, "unix", path)
}
