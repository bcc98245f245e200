package agent

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"github.com/pitstopci/pitstop/agent/control"
)

// startSSHAgent runs OpenSSH's ssh-agent holding u's key, and returns its
// socket.
func startSSHAgent(t *testing.T, u testUser) string {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "agent.sock")
	cmd := exec.Command(openSSHTool(t, "ssh-agent"), "-D", "-a", sock)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill() //nolint:errcheck // checked by Wait
		cmd.Wait()         //nolint:errcheck // killed
	})
	if !eventually(10*time.Second, func() bool { _, err := os.Stat(sock); return err == nil }) {
		t.Fatal("ssh-agent made no socket")
	}
	add := exec.Command(openSSHTool(t, "ssh-add"), u.keyFile)
	add.Env = append(os.Environ(), "SSH_AUTH_SOCK="+sock)
	if out, err := add.CombinedOutput(); err != nil {
		t.Fatalf("ssh-add: %v\n%s", err, out)
	}
	return sock
}

// startSSHTermAgent is startSSHTerm forwarding the agent at sock (ssh -A).
func startSSHTermAgent(t *testing.T, h *harness, keyFile, sock string, extra ...string) *sshTerm {
	t.Helper()
	args := h.sshArgs(keyFile, append([]string{"-tt"}, extra...)...)
	for i, a := range args {
		if a == "IdentityAgent=none" {
			args[i] = "IdentityAgent=" + sock
		}
	}
	return startSSHTermArgs(t, append([]string{"-o", "ForwardAgent=yes"}, args...), 80, 24)
}

// TestReattachFollowsTheAgent: SSH_AUTH_SOCK in a shell kept across a
// reattach reaches the agent of the client attached now, not the one that
// started it (gone with its connection); a colleague who joins does not
// lend theirs.
func TestReattachFollowsTheAgent(t *testing.T) {
	bob := newTestUser(t, "bob")
	h := startAgent(t, func(h *harness) {
		h.cfg.AllowAgentForwarding = true
		withBob(bob)(h)
	})
	laptop, desktop, bobs := newTestUser(t, "laptop"), newTestUser(t, "desktop"), newTestUser(t, "bobs")
	fp := func(u testUser) string { return gossh.FingerprintSHA256(u.signer.PublicKey()) }
	// Prints the keys, then DONE<n>; returns what came after the
	// command's echo.
	listKeys := func(st *sshTerm, n string) string {
		st.typ("ssh-add -l 2>&1 | sed 's/^/KEYS=/'; echo 'DO''NE" + n + "'\n")
		st.waitRaw("DONE" + n)
		raw := st.raw.String()
		return raw[strings.LastIndex(raw, "'DO''NE"+n+"'"):]
	}

	a := startSSHTermAgent(t, h, h.alice.keyFile, startSSHAgent(t, laptop))
	a.waitText("(pitstop) ")
	if raw := listKeys(a, "1"); !strings.Contains(raw, "KEYS=256 "+fp(laptop)) {
		t.Fatalf("the first connection's agent is not reached: %q", raw)
	}
	a.kill()

	b := startSSHTermAgent(t, h, h.alice.keyFile, startSSHAgent(t, desktop))
	b.waitText("reattached to your terminal 1")
	// bob joins, forwarding his agent too: alice's shell still reaches hers.
	j := startSSHTermAgent(t, h, bob.keyFile, startSSHAgent(t, bobs), "pitstop", "attach", "1")
	j.waitText("attached to terminal 1 of alice")
	raw := listKeys(b, "2")
	if !strings.Contains(raw, "KEYS=256 "+fp(desktop)) || strings.Contains(raw, fp(laptop)) || strings.Contains(raw, fp(bobs)) {
		t.Errorf("after the reattach, SSH_AUTH_SOCK does not reach the attached client's agent (%s) alone: %q", fp(desktop), raw)
	}
	j.kill()
	b.typ("exit\n")
	h.waitEnd(EndShellsExited, 10*time.Second)
}

// TestReattachRedrawsLessAndTop: less and top open across a reattach are
// drawn again and go on taking keys, as vim is (TestReattachRedrawsVim).
func TestReattachRedrawsLessAndTop(t *testing.T) {
	h := startAgent(t, nil)
	var lines []string
	for i := 1; i <= 200; i++ {
		lines = append(lines, "row "+strings.Repeat("=", i%7)+" number "+strconv.Itoa(i))
	}
	if err := os.WriteFile(filepath.Join(h.workspace, "rows.txt"), []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	a := startSSHTerm(t, h, h.alice.keyFile)
	a.waitText("(pitstop) ")
	a.typ("less rows.txt\n")
	a.waitText("number 23")
	a.typ("50g") // line 50 at the top
	want := a.waitText("number 72")
	a.kill()

	b := startSSHTerm(t, h, h.alice.keyFile)
	b.waitScreen("less's screen as before the drop:\n"+want, func(s string) bool { return s == want })
	b.typ("g") // back to the top: less still takes keys
	b.waitText("number 1 ")
	b.typ("q")
	b.waitPromptAfter("row = number 1\r")

	b.typ("top -d 1\n")
	b.waitText("PID")
	b.kill()
	c := startSSHTerm(t, h, h.alice.keyFile)
	scr := c.waitText("PID")
	if !strings.Contains(scr, "load average") {
		t.Errorf("top's header is not redrawn:\n%s", scr)
	}
	c.typ("q")
	c.waitText("(pitstop) ")
	c.typ("exit\n")
	h.waitEnd(EndShellsExited, 10*time.Second)
}

// TestCostlyOutputKeepsTheTerminal: output that kept the emulator busy for
// minutes under the terminal's lock (repeat a character 999999999 times,
// scroll a region reaching far below the screen) leaves the shell, the
// status and a reattach working.
func TestCostlyOutputKeepsTheTerminal(t *testing.T) {
	h := startAgent(t, nil)
	a := startSSHTerm(t, h, h.alice.keyFile)
	a.waitText("(pitstop) ")
	a.typ(`printf 'x\033[999999999b\033[1;999999999r\033[999999999T\033[r\033[H\033[2J'; echo 'SUR''VIVED'` + "\n")
	a.waitText("SURVIVED")
	if _, err := control.QueryStatus(context.Background(), h.ready.ControlSocket); err != nil {
		t.Fatalf("pitstop status after the output: %v", err)
	}
	a.kill()
	b := startSSHTerm(t, h, h.alice.keyFile)
	b.waitText("reattached to your terminal 1")
	b.waitText("SURVIVED")
	b.typ("echo 'AF''TER'\n")
	b.waitText("AFTER")
	b.typ("exit\n")
	h.waitEnd(EndShellsExited, 10*time.Second)
}
