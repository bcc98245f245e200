//go:build linux

package windows

import (
	"bufio"
	"fmt"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/pitstopci/pitstop/internal/testutil"
)

// ssh -L: a connection to the client's port reaches, through the agent
// under wine, a server the runner can reach.
func TestWineLocalForward(t *testing.T) {
	a := startAgent(t, "--shell", "cmd.exe")
	target, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer target.Close()
	go func() {
		for {
			c, err := target.Accept()
			if err != nil {
				return
			}
			fmt.Fprintln(c, "hello through the runner")
			c.Close()
		}
	}()
	local := testutil.FreePort(t)
	fwd := exec.Command("ssh", a.sshArgs("-N", "-o", "ExitOnForwardFailure=yes",
		"-L", fmt.Sprintf("127.0.0.1:%d:%s", local, target.Addr()), "-p", fmt.Sprint(a.port), "runner@127.0.0.1")...)
	if err := fwd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { fwd.Process.Kill(); fwd.Wait() }() //nolint:errcheck // ends the forward

	// The client listens once it has logged in: until then connections
	// are refused, so the dial is tried until it gets the line.
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", local))
		if err == nil {
			line, rerr := bufio.NewReader(c).ReadString('\n')
			c.Close()
			if rerr == nil && strings.TrimSpace(line) == "hello through the runner" {
				return
			}
			err = fmt.Errorf("read %q: %v", line, rerr)
		}
		if time.Now().After(deadline) {
			t.Fatalf("no line through the forward after 30s: %v", err)
		}
		time.Sleep(100 * time.Millisecond) // ssh gives no sign that it listens
	}
}
