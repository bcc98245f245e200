//go:build linux

package windows

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// "ssh -A" to a Windows agent that allows it: the session's SSH_AUTH_SOCK
// is a named pipe, as OpenSSH for Windows expects, and it reaches the
// client's ssh-agent on Linux.
func TestWineAgentForwarding(t *testing.T) {
	a := startAgent(t, "--shell", "cmd.exe", "--allow-agent-forwarding")
	sock := filepath.Join(t.TempDir(), "agent.sock")
	agentCmd := exec.Command("ssh-agent", "-D", "-a", sock)
	if err := agentCmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { agentCmd.Process.Kill(); agentCmd.Wait() }) //nolint:errcheck // killed on purpose
	env := append(os.Environ(), "SSH_AUTH_SOCK="+sock)
	waitFile(t, sock)
	add := exec.Command("ssh-add", a.key)
	add.Env = env
	if b, err := add.CombinedOutput(); err != nil {
		t.Fatalf("ssh-add: %v\n%s", err, b)
	}
	fp, err := exec.Command("ssh-keygen", "-lf", a.key+".pub").Output()
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Fields(string(fp))[1]

	argv := append(a.sshArgs("-A", "-p", fmt.Sprint(a.port), "runner@127.0.0.1"), `echo sock=%SSH_AUTH_SOCK%& "`+winPath(bins.probe)+`" agent`)
	cmd := command(t, "ssh", argv...)
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("ssh -A: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), `sock=\\.\pipe\`) || !strings.Contains(string(out), "probe: agent key "+want) {
		t.Errorf("ssh -A: the session's SSH_AUTH_SOCK pipe does not reach the client's agent (key %s):\n%s", want, out)
	}
}

// waitFile waits until path exists: ssh-agent -D makes its socket once
// it runs.
func waitFile(t *testing.T, path string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := os.Stat(path); err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never appeared", path)
		}
		time.Sleep(20 * time.Millisecond) // polling for another process's file
	}
}
