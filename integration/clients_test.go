//go:build unix

package integration

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"
)

const (
	puttyInstall  = "apt-get install putty-tools (or: task system)"
	pythonInstall = "apt-get install python3-paramiko python3-asyncssh (or: task system)"
	// systemPython is Debian's, which the python3-* packages install
	// into, whatever other python3 comes first on PATH.
	systemPython = "/usr/bin/python3"
)

// pythonClient connects with paramiko or asyncssh (argv[1]) to port
// argv[2] with key argv[3], runs "echo in", and prints the version and
// then "cipher NAME" or "refused ERROR".
const pythonClient = `
import sys
lib, port, key = sys.argv[1], int(sys.argv[2]), sys.argv[3]
if lib == "paramiko":
    import paramiko
    print("version", paramiko.__version__)
    c = paramiko.SSHClient()
    c.set_missing_host_key_policy(paramiko.AutoAddPolicy())
    try:
        c.connect("127.0.0.1", port=port, username="runner", key_filename=key, look_for_keys=False, allow_agent=False)
    except Exception as e:
        print("refused", e)
        sys.exit(0)
    _, out, _ = c.exec_command("echo in")
    assert out.read() == b"in\n"
    print("cipher", c.get_transport().remote_cipher)
else:
    import asyncio, asyncssh
    print("version", asyncssh.__version__)
    async def main():
        async with asyncssh.connect("127.0.0.1", port=port, username="runner", client_keys=[key], known_hosts=None) as c:
            r = await c.run("echo in")
            assert r.stdout == "in\n", r.stdout
            print("cipher", c.get_extra_info("recv_cipher"))
    asyncio.run(main())
`

// TestOtherClients: PuTTY's plink, paramiko and asyncssh, with their own
// default preferences, get in and negotiate AES-GCM where the agent
// offers only that; paramiko before 3.5, which has no AES-GCM, is the
// client docs/security.md says is refused there.
func TestOtherClients(t *testing.T) {
	plink := tool(t, "plink", puttyInstall)
	puttygen := tool(t, "puttygen", puttyInstall)
	python := tool(t, systemPython, pythonInstall)
	user := newKeyPair(t, "user")
	_, r := startAgentFor(t, user)
	port := strconv.Itoa(r.Port)
	aesOnly := aesGCMInHardware()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	t.Run("plink", func(t *testing.T) {
		ppk := filepath.Join(t.TempDir(), "user.ppk")
		if out, err := exec.CommandContext(ctx, puttygen, user.private, "-O", "private", "-o", ppk).CombinedOutput(); err != nil {
			t.Fatalf("puttygen: %v\n%s", err, out)
		}
		f := strings.Fields(r.KnownHosts)
		hostKey, _, _, _, err := gossh.ParseAuthorizedKey([]byte(f[1] + " " + f[2]))
		if err != nil {
			t.Fatalf("known_hosts %q: %v", r.KnownHosts, err)
		}
		cmd := exec.CommandContext(ctx, plink, "-batch", "-v", "-ssh", "-P", port, "-i", ppk,
			"-hostkey", gossh.FingerprintSHA256(hostKey), "runner@127.0.0.1", "echo in")
		cmd.Env = agentEnv()
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("plink: %v\n%s", err, out)
		}
		var cipher string
		ran := false
		for line := range strings.Lines(string(out)) {
			line = strings.TrimSpace(line)
			if c, ok := strings.CutPrefix(line, "Initialised "); ok && strings.Contains(c, "outbound encryption") {
				cipher = c
			}
			ran = ran || line == "in"
		}
		if !ran {
			t.Errorf("plink did not run the command:\n%s", out)
		}
		if cipher == "" || aesOnly && !strings.Contains(cipher, "GCM") {
			t.Errorf("plink negotiated %q, want AES-GCM:\n%s", cipher, out)
		}
		t.Logf("plink: %s", cipher)
	})

	for _, lib := range []string{"paramiko", "asyncssh"} {
		t.Run(lib, func(t *testing.T) {
			out, err := exec.CommandContext(ctx, python, "-c", pythonClient, lib, port, user.private).CombinedOutput()
			if err != nil {
				t.Fatalf("%s: %v\n%s", lib, err, out)
			}
			var version, cipher, refused string
			for line := range strings.Lines(string(out)) {
				k, v, _ := strings.Cut(strings.TrimSpace(line), " ")
				switch k {
				case "version":
					version = v
				case "cipher":
					cipher = v
				case "refused":
					refused = v
				}
			}
			// Only paramiko before 3.5 lacks AES-GCM.
			var major, minor int
			if _, err := fmt.Sscanf(version, "%d.%d", &major, &minor); err != nil {
				t.Fatalf("%s version %q: %v", lib, version, err)
			}
			noGCM := lib == "paramiko" && (major < 3 || major == 3 && minor < 5)
			switch {
			case aesOnly && noGCM:
				if !strings.Contains(refused, "no acceptable ciphers") {
					t.Errorf("%s %s has no AES-GCM, yet: %s", lib, version, out)
				}
			case refused != "" || cipher == "":
				t.Errorf("%s %s: %s", lib, version, out)
			case aesOnly && !strings.HasSuffix(cipher, "-gcm@openssh.com"):
				t.Errorf("%s %s negotiated %s, want AES-GCM", lib, version, cipher)
			}
			t.Logf("%s %s: cipher %q refused %q", lib, version, cipher, refused)
		})
	}
}
