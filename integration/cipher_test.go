//go:build unix

package integration

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"testing"
	"time"

	"golang.org/x/sys/cpu"

	"github.com/pitstopci/pitstop/internal/wire"
)

// TestDefaultCipherWithOpenSSH: a plain `ssh` (no -c, OpenSSH's own
// preference list) negotiates AES-GCM with the agent on a CPU that runs
// it in hardware, and ChaCha20-Poly1305 elsewhere.
func TestDefaultCipherWithOpenSSH(t *testing.T) {
	ssh := tool(t, "ssh", sshInstall)
	user := newKeyPair(t, "user")
	a, r := startAgentFor(t, user)
	kh := filepath.Join(t.TempDir(), "known_hosts")
	if err := os.WriteFile(kh, []byte(r.KnownHosts+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// -F /dev/null: OpenSSH's compiled-in defaults, not this machine's
	// ssh_config, which may name ciphers.
	cmd := exec.Command(ssh, "-F", "/dev/null", "-v", "-o", "StrictHostKeyChecking=yes", "-o", "UserKnownHostsFile="+kh,
		"-o", "IdentitiesOnly=yes", "-o", "IdentityAgent=none", "-o", "BatchMode=yes", "-i", user.private,
		"-p", strconv.Itoa(r.Port), "runner@127.0.0.1", "echo in")
	cmd.Env = agentEnv()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("ssh: %v\n%s\n%s", err, out, a.stderr)
	}
	want := "chacha20-poly1305@openssh.com"
	if aesGCMInHardware() {
		want = "aes128-gcm@openssh.com"
	}
	for _, dir := range []string{"server->client", "client->server"} {
		m := regexp.MustCompile(`kex: ` + dir + ` cipher: (\S+)`).FindSubmatch(out)
		if m == nil {
			t.Fatalf("no %s cipher in ssh -v output:\n%s", dir, out)
		}
		if string(m[1]) != want {
			t.Errorf("%s cipher %s, want %s (GOARCH %s)", dir, m[1], want, runtime.GOARCH)
		}
	}
}

// startAgentFor starts an agent on 127.0.0.1 that admits user's key.
func startAgentFor(t *testing.T, user keyPair) (*agentRun, wire.Ready) {
	t.Helper()
	keys := filepath.Join(t.TempDir(), "keys.pub")
	if err := os.WriteFile(keys, []byte(user.public+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	a := startRelayAgent(t, "--listen", "127.0.0.1:0", "--authorized-keys", keys, "--wait-timeout", "2m")
	return a, a.readReady(t, 30*time.Second, nil)
}

// aesGCMInHardware is whether Go's AES-GCM has assembly for this CPU,
// read here independently of the agent's own test (agent/ciphers.go) for
// the two architectures CI and GitHub's runners use.
func aesGCMInHardware() bool {
	switch runtime.GOARCH {
	case "amd64":
		return cpu.X86.HasAES && cpu.X86.HasPCLMULQDQ && cpu.X86.HasSSE41 && cpu.X86.HasSSSE3
	case "arm64":
		return cpu.ARM64.HasAES && cpu.ARM64.HasPMULL
	}
	return false
}
