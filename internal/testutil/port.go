package testutil

import (
	"fmt"
	"net"
	"testing"
)

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
//
// It is racy: the port is closed again before the caller uses it, and
// another process may bind it in between. That is accepted only where
// no listener can be handed over: the port is for another program that
// must be told a number (sshd's Port, ssh -L), or it must be one that
// nobody answers on. Losing the race makes the bind fail or the dial
// reach a stranger, so the test fails; it cannot pass wrongly. Where
// the code under test can take a listener or pick the port itself and
// report it, do that instead.
func FreePort(t testing.TB) int {
	t.Helper()
	port, err := PickPort()
	if err != nil {
		t.Fatal(err)
	}
	return port
}

// PickPort is FreePort for code without a testing.TB, such as the
// benchmark harness, with the same race.
func PickPort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}
