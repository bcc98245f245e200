package agent

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"github.com/pitstopci/pitstop/agent/audit"
	"github.com/pitstopci/pitstop/internal/testutil"
)

// openSSHTool returns the path of an OpenSSH program (scp, sftp,
// ssh-add); like ssh itself, the tests require it.
func openSSHTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s not found (%v); install it: apt-get install -y openssh-client", name, err)
	}
	return p
}

// runTool runs an OpenSSH program with a time limit and fails the test
// unless it exits 0.
func runTool(t *testing.T, h *harness, dir, prog string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, prog, args...)
	cmd.Dir = dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s\nlog:\n%s", filepath.Base(prog), strings.Join(args, " "), err, out.String(), h.logs)
	}
	return out.String()
}

func sha256File(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// auditEntries reads an audit file: every line must be one JSON object
// with an event and a time.
func auditEntries(t *testing.T, path string) []map[string]any {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("audit log: %v", err)
	}
	out := testutil.JSONLines(t, string(b))
	for _, m := range out {
		if m["event"] == nil || m["time"] == nil {
			t.Errorf("audit line without event or time: %v", m)
		}
	}
	return out
}

// TestFileTransfersWithOpenSSH moves a multi-megabyte random file both
// ways with sftp, scp (sftp mode) and scp -O (legacy mode, an exec of
// scp -t/-f), and checks every copy is intact, relative paths start where
// OpenSSH's would (in $HOME for sftp, in the shell's directory, the
// workspace, for scp -O), each transfer is in the audit trail, and none
// of it ends the pause.
func TestFileTransfersWithOpenSSH(t *testing.T) {
	openSSH(t)
	scp, sftp := openSSHTool(t, "scp"), openSSHTool(t, "sftp")
	auditFile := filepath.Join(t.TempDir(), "audit.jsonl")
	home := t.TempDir()
	h := startAgent(t, func(h *harness) {
		h.cfg.AuditLog = auditFile
		h.cfg.Env = setEnv(h.cfg.Env, "HOME", home)
	})

	const size = 4<<20 + 12345 // not a multiple of any packet size
	local := t.TempDir()
	blob := make([]byte, size)
	rand.Read(blob)
	src := filepath.Join(local, "blob")
	if err := os.WriteFile(src, blob, 0o644); err != nil {
		t.Fatal(err)
	}
	want := sha256File(t, src)
	opts := h.sshOptions(h.alice.keyFile)
	port := strconv.Itoa(h.ready.Port)
	remote := "runner@" + h.ready.Host
	batch := func(cmds string) string {
		f := filepath.Join(t.TempDir(), "batch")
		if err := os.WriteFile(f, []byte(cmds), 0o600); err != nil {
			t.Fatal(err)
		}
		return f
	}
	with := func(args ...string) []string { return append(append([]string{}, opts...), args...) }

	steps := []struct {
		name string
		prog string
		args []string
		got  string // the file that must equal blob afterwards
	}{
		{"sftp put", sftp, with("-P", port, "-b", batch("put blob up-sftp\n"), remote), filepath.Join(home, "up-sftp")},
		{"sftp get", sftp, with("-P", port, "-b", batch("get up-sftp down-sftp\n"), remote), filepath.Join(local, "down-sftp")},
		{"scp upload", scp, with("-P", port, "blob", remote+":up-scp"), filepath.Join(home, "up-scp")},
		{"scp download", scp, with("-P", port, remote+":up-scp", "down-scp"), filepath.Join(local, "down-scp")},
		{"scp -O upload", scp, with("-O", "-P", port, "blob", remote+":up-legacy"), filepath.Join(h.workspace, "up-legacy")},
		{"scp -O download", scp, with("-O", "-P", port, remote+":up-legacy", "down-legacy"), filepath.Join(local, "down-legacy")},
	}
	for _, st := range steps {
		start := time.Now()
		runTool(t, h, local, st.prog, st.args...)
		if got := sha256File(t, st.got); got != want {
			t.Errorf("%s: %s has sha256 %s, want %s", st.name, st.got, got, want)
		}
		t.Logf("%s: %v", st.name, time.Since(start).Round(time.Millisecond))
	}
	// Neither sftp nor exec sessions are the user being done.
	h.stillRunning(300 * time.Millisecond)

	var transfers []string
	for _, e := range auditEntries(t, auditFile) {
		if e["event"] != audit.Transfer {
			continue
		}
		if e["github_user"] != "alice" || e["key_fingerprint"] != h.alice.fingerprint() || e["remote_addr"] == nil {
			t.Errorf("transfer without who and from where: %v", e)
		}
		switch e["protocol"] {
		case "sftp":
			if e["bytes"] != float64(size) {
				t.Errorf("sftp transfer of %v bytes, want %d: %v", e["bytes"], size, e)
			}
			transfers = append(transfers, "sftp "+e["direction"].(string)+" "+filepath.Base(e["path"].(string)))
		case "scp":
			transfers = append(transfers, "scp "+e["direction"].(string)+" "+strings.Join(strSlice(e["paths"]), " "))
		}
	}
	wantTransfers := []string{
		"sftp upload up-sftp", "sftp download up-sftp",
		"sftp upload up-scp", "sftp download up-scp",
		"scp upload up-legacy", "scp download up-legacy",
	}
	if strings.Join(transfers, "\n") != strings.Join(wantTransfers, "\n") {
		t.Errorf("audited transfers:\n%s\nwant:\n%s", strings.Join(transfers, "\n"), strings.Join(wantTransfers, "\n"))
	}
}

func strSlice(v any) []string {
	var out []string
	if l, ok := v.([]any); ok {
		for _, x := range l {
			out = append(out, x.(string))
		}
	}
	return out
}

// fingerprint is the user's key fingerprint as the agent logs it.
func (u testUser) fingerprint() string { return gossh.FingerprintSHA256(u.signer.PublicKey()) }

// setEnv returns env with KEY set to value, in place of any KEY there.
func setEnv(env []string, key, value string) []string {
	out := []string{key + "=" + value}
	for _, kv := range env {
		if !strings.HasPrefix(kv, key+"=") {
			out = append(out, kv)
		}
	}
	return out
}

// TestSFTPTilde: "~/x" names $HOME/x in every client and mode, as with
// OpenSSH's server: scp strips "~/" (sftp mode) or a shell expands it
// (scp -O), and sftp sends it as it is.
func TestSFTPTilde(t *testing.T) {
	openSSH(t)
	scp, sftp := openSSHTool(t, "scp"), openSSHTool(t, "sftp")
	home := t.TempDir()
	if err := os.WriteFile(filepath.Join(home, ".dotfile"), []byte("from-home\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	h := startAgent(t, func(h *harness) { h.cfg.Env = setEnv(h.cfg.Env, "HOME", home) })
	opts := h.sshOptions(h.alice.keyFile)
	port := strconv.Itoa(h.ready.Port)
	remote := "runner@" + h.ready.Host
	local := t.TempDir()
	with := func(args ...string) []string { return append(append([]string{}, opts...), args...) }
	batch := filepath.Join(t.TempDir(), "batch")
	if err := os.WriteFile(batch, []byte("get ~/.dotfile via-batch\ncd ~\npwd\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	runTool(t, h, local, scp, with("-P", port, remote+":~/.dotfile", "via-scp")...)
	runTool(t, h, local, scp, with("-O", "-P", port, remote+":~/.dotfile", "via-scp-O")...)
	runTool(t, h, local, sftp, with("-P", port, remote+":~/.dotfile", "via-sftp")...)
	out := runTool(t, h, local, sftp, with("-P", port, "-b", batch, remote)...)
	for _, f := range []string{"via-scp", "via-scp-O", "via-sftp", "via-batch"} {
		if b, err := os.ReadFile(filepath.Join(local, f)); err != nil || string(b) != "from-home\n" {
			t.Errorf("%s: %q, %v; want $HOME/.dotfile", f, b, err)
		}
	}
	if !strings.Contains(out, "Remote working directory: "+home+"\n") {
		t.Errorf("cd ~ should go to $HOME (%s):\n%s", home, out)
	}
}
