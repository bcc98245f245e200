//go:build unix

package integration

import (
	"bufio"
	"context"
	"io"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"github.com/pitstopci/pitstop/agent/control"
	"github.com/pitstopci/pitstop/internal/uptermtest"
	"github.com/pitstopci/pitstop/internal/wire"
)

// Users leaving through a relay that never says so (uptermd keeps the
// agent's side of a guest's connection open until the agent's own
// connection ends): the agent's keepalives find them. The interval is a
// second here, so that the tests need not wait the default minute.

// keepaliveArgs make the agent close a silent client after 3s.
var keepaliveArgs = []string{"--client-alive-interval", "1s", "--client-alive-count-max", "2"}

// waitConnections waits until pitstop status counts want connections and
// returns the status.
func waitConnections(t *testing.T, a *agentRun, r wire.Ready, want int, limit time.Duration) control.Status {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		st, err := control.QueryStatus(context.Background(), r.ControlSocket)
		if err == nil && st.Connections == want {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("pitstop status: %d connections (%v) after %v, want %d\n%s", st.Connections, err, limit, want, a.stderr)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestUptermFinishedLoginsLeaveNoConnection: twenty "ssh -J … true" in a
// row, through a relay that keeps each one's channel open on the agent's
// side (and through one that closes both ends, as other relays may),
// leave no connection counted once the keepalives have had their time.
func TestUptermFinishedLoginsLeaveNoConnection(t *testing.T) {
	for _, mode := range []struct {
		name string
		opts uptermtest.Options
	}{{"uptermd", uptermtest.Options{}}, {"closes-both", uptermtest.Options{CloseBoth: true}}} {
		t.Run(mode.name, func(t *testing.T) {
			s := newUptermSetup(t, mode.opts)
			a := startRelayAgent(t, s.agentArgs(t, keepaliveArgs...)...)
			r := a.readReady(t, 30*time.Second, nil)
			ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
			defer cancel()
			for i := 0; i < 20; i++ {
				if out, err := uptermSSH(t, ctx, r, s, s.actor, "true").CombinedOutput(); err != nil {
					t.Fatalf("login %d: %v\n%s\n%s", i+1, err, out, a.stderr)
				}
			}
			waitConnections(t, a, r, 0, 15*time.Second)
			if n := strings.Count(a.stderr.String(), "logged out"); n != 20 {
				t.Errorf("%d logouts logged, want 20\n%s", n, a.stderr)
			}
		})
	}
}

// TestUptermKilledClientGetsItsTerminalBack: an interactive client killed
// with SIGKILL, through a relay that never tells the agent, is found by
// the keepalives: the reconnect grace starts, and the next login gets the
// same shell back.
func TestUptermKilledClientGetsItsTerminalBack(t *testing.T) {
	s := newUptermSetup(t, uptermtest.Options{})
	a := startRelayAgent(t, s.agentArgs(t, keepaliveArgs...)...)
	r := a.readReady(t, 30*time.Second, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	pidOf := regexp.MustCompile(`shell=(\d+)`)
	first := uptermSSH(t, ctx, r, s, s.actor, "-tt")
	in, out := pipeShell(t, first)
	io.WriteString(in, "echo shell=$$\n") //nolint:errcheck // checked by the read
	m := readUntil(t, out, pidOf, a)
	waitConnections(t, a, r, 1, 10*time.Second)
	first.Process.Signal(syscall.SIGKILL) //nolint:errcheck // checked by what follows
	first.Wait()                          //nolint:errcheck // killed

	st := waitConnections(t, a, r, 0, 15*time.Second)
	if st.WaitingUntil.IsZero() {
		t.Fatalf("the reconnect grace did not start once the client was gone: %+v\n%s", st, a.stderr)
	}
	if !strings.Contains(a.stderr.String(), "answered no keepalive") {
		t.Errorf("the logout does not say the client stopped answering:\n%s", a.stderr)
	}

	second := uptermSSH(t, ctx, r, s, s.actor, "-tt")
	in2, out2 := pipeShell(t, second)
	io.WriteString(in2, "echo again=$$\n") //nolint:errcheck // checked by the read
	again := readUntil(t, out2, regexp.MustCompile(`again=(\d+)`), a)
	if again[1] != m[1] {
		t.Errorf("the next login got shell %s, want the dropped one, %s", again[1], m[1])
	}
	io.WriteString(in2, "exit\n") //nolint:errcheck // the pause ends with it
	second.Wait()                 //nolint:errcheck // the exit status is the agent's
	if code := a.waitExit(t, 30*time.Second); code != 0 {
		t.Fatalf("the agent exited %d once the shell ended, want 0\n%s", code, a.stderr)
	}
}

// pipeShell starts cmd with pipes for its input and output.
func pipeShell(t *testing.T, cmd *exec.Cmd) (io.WriteCloser, *bufio.Reader) {
	t.Helper()
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return in, bufio.NewReader(out)
}

// readUntil reads lines from out until one matches re, and returns the
// match.
func readUntil(t *testing.T, out *bufio.Reader, re *regexp.Regexp, a *agentRun) []string {
	t.Helper()
	var seen strings.Builder
	for {
		line, err := out.ReadString('\n')
		seen.WriteString(line)
		// The typed command comes back too, on a terminal that echoes.
		if m := re.FindStringSubmatch(line); m != nil && !strings.Contains(line, "echo ") {
			return m
		}
		if err != nil {
			t.Fatalf("no %v in the output (%v):\n%s\nagent log:\n%s", re, err, seen.String(), a.stderr)
		}
	}
}

// TestUptermRelayKey: an uptermd that admits only the host keys it lists
// (its --authorized-keys) lets the agent in with its relay key, and its
// refusal of any other key says what to check.
func TestUptermRelayKey(t *testing.T) {
	hostKey := newKeyPair(t, "relay-host")
	s := newUptermSetup(t, uptermtest.Options{AuthorizedHosts: []gossh.PublicKey{hostKey.key}})

	a := startRelayAgent(t, s.agentArgs(t, "--relay-key", hostKey.private)...)
	r := a.readReady(t, 30*time.Second, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := uptermSSH(t, ctx, r, s, s.actor, "echo with-the-relay-key; pitstop continue").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "with-the-relay-key") {
		t.Fatalf("through an uptermd that lists the relay key: %v\n%s\n%s", err, out, a.stderr)
	}
	if code := a.waitExit(t, 15*time.Second); code != 0 {
		t.Fatalf("exit %d after pitstop continue, want 0\n%s", code, a.stderr)
	}

	other := newKeyPair(t, "other")
	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"no relay key", nil, "admits only the host keys listed there; give the agent one of them as relay-key"},
		{"another key", []string{"--relay-key", other.private}, "refused the relay key " + gossh.FingerprintSHA256(other.key) +
			": check that its public half is in the file the uptermd was started with as --authorized-keys"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a := startRelayAgent(t, s.agentArgs(t, tt.args...)...)
			if code := a.waitExit(t, 30*time.Second); code != 1 || !strings.Contains(a.stderr.String(), tt.want) {
				t.Errorf("exit %d, want 1 saying %q:\n%s", code, tt.want, a.stderr)
			}
		})
	}
}
