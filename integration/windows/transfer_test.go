//go:build linux

package windows

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// scp and sftp copy both ways, starting in the workspace, which SFTP
// clients see as /Z:/... (a Windows path in SFTP's POSIX form).
func TestWineSCPAndSFTP(t *testing.T) {
	a := startAgent(t, "--shell", "cmd.exe")
	local := t.TempDir()
	up := filepath.Join(local, "up.txt")
	if err := os.WriteFile(up, []byte("to the runner\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	run := func(name string, stdin string, args ...string) string {
		t.Helper()
		cmd := command(t, name, append(a.sshArgs(), args...)...)
		cmd.Stdin = strings.NewReader(stdin)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	port := fmt.Sprint(a.port)

	run("scp", "", "-P", port, up, "runner@127.0.0.1:scp.txt")
	if b, err := os.ReadFile(filepath.Join(a.workspace, "scp.txt")); string(b) != "to the runner\n" {
		t.Errorf("scp upload: the workspace holds %q (%v)", b, err)
	}
	run("scp", "", "-P", port, "runner@127.0.0.1:scp.txt", filepath.Join(local, "scp-back.txt"))
	if b, err := os.ReadFile(filepath.Join(local, "scp-back.txt")); string(b) != "to the runner\n" {
		t.Errorf("scp download: got %q (%v)", b, err)
	}

	out := run("sftp", "pwd\nput "+up+" sftp.txt\nget sftp.txt "+filepath.Join(local, "sftp-back.txt")+"\n",
		"-P", port, "-b", "-", "runner@127.0.0.1")
	if want := "/Z:" + a.workspace; !strings.Contains(out, "Remote working directory: "+want+"\n") {
		t.Errorf("sftp does not start in %s:\n%s", want, out)
	}
	if b, err := os.ReadFile(filepath.Join(a.workspace, "sftp.txt")); string(b) != "to the runner\n" {
		t.Errorf("sftp upload: the workspace holds %q (%v)", b, err)
	}
	if b, err := os.ReadFile(filepath.Join(local, "sftp-back.txt")); string(b) != "to the runner\n" {
		t.Errorf("sftp download: got %q (%v)", b, err)
	}
}
