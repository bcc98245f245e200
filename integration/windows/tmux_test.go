//go:build linux

package windows

import (
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// screen is the real OpenSSH client in a tmux window: a terminal that a
// test types into and reads, as a person would.
type screen struct {
	t    *testing.T
	sock string // tmux -L: a server of the test's own
}

// newScreen runs ssh with args in a new w×h tmux window.
func newScreen(t *testing.T, a *agent, w, h int, args ...string) *screen {
	t.Helper()
	s := &screen{t: t, sock: fmt.Sprintf("pitstop-wine-%d", time.Now().UnixNano())}
	cmd := "ssh " + strings.Join(quoteAll(append(a.sshArgs("-t", "-p", fmt.Sprint(a.port), "runner@127.0.0.1"), args...)), " ") +
		"; echo SSH-EXIT=$?; sleep 600"
	s.tmux("new-session", "-d", "-x", fmt.Sprint(w), "-y", fmt.Sprint(h), cmd)
	t.Cleanup(func() { exec.Command("tmux", "-L", s.sock, "kill-server").Run() }) //nolint:errcheck // it may be gone
	return s
}

func quoteAll(args []string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
	}
	return out
}

func (s *screen) tmux(args ...string) string {
	s.t.Helper()
	out, err := exec.Command("tmux", append([]string{"-L", s.sock, "-f", "/dev/null"}, args...)...).CombinedOutput()
	if err != nil {
		s.t.Fatalf("tmux %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// send types keys (tmux send-keys names: Enter, C-c).
func (s *screen) send(keys ...string) {
	s.t.Helper()
	s.tmux(append([]string{"send-keys", "-t", "0"}, keys...)...)
}

// text is what the window shows.
func (s *screen) text() string { return s.tmux("capture-pane", "-p", "-t", "0") }

// waitFor waits until the window shows want, and fails after a while.
func (s *screen) waitFor(want string) {
	s.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(s.text(), want) {
		if time.Now().After(deadline) {
			s.t.Fatalf("the screen never showed %q; it shows:\n%s", want, s.text())
		}
		time.Sleep(50 * time.Millisecond) // polling the screen: tmux has no way to wait for text
	}
}

// resize changes the window's size, which ssh passes on.
func (s *screen) resize(w, h int) {
	s.tmux("resize-window", "-t", "0", "-x", fmt.Sprint(w), "-y", fmt.Sprint(h))
}

// waitLog waits until a line of the agent's output holds all of parts.
func waitLog(t *testing.T, a *agent, parts ...string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		for _, line := range strings.Split(a.log.String(), "\n") {
			all := true
			for _, p := range parts {
				all = all && strings.Contains(line, p)
			}
			if all {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no line of the agent's output holds %q:\n%s", parts, a.log)
		}
		time.Sleep(50 * time.Millisecond) // polling a log another process writes
	}
}

// killClient sends SIGKILL to the ssh client in the window: the agent
// sees its connection drop without a word.
func (s *screen) killClient() {
	s.t.Helper()
	pane := strings.TrimSpace(s.tmux("display-message", "-p", "-t", "0", "#{pane_pid}"))
	out, err := exec.Command("pgrep", "-P", pane, "-x", "ssh").Output()
	if err != nil {
		s.t.Fatalf("find the ssh client under %s: %v", pane, err)
	}
	if err := exec.Command("kill", "-KILL", strings.Fields(string(out))[0]).Run(); err != nil {
		s.t.Fatalf("kill the ssh client: %v", err)
	}
}
