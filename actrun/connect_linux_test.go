package actrun

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"
	"golang.org/x/term"
)

// TestSaveTerminal: what saveTerminal returns puts back the settings a
// killed ssh left raw.
func TestSaveTerminal(t *testing.T) {
	ptm, tty, err := pty.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer ptm.Close()
	defer tty.Close()
	canonical := func() bool {
		tio, err := unix.IoctlGetTermios(int(tty.Fd()), unix.TCGETS)
		if err != nil {
			t.Fatal(err)
		}
		return tio.Lflag&unix.ICANON != 0
	}
	if !canonical() {
		t.Fatal("a new pty is not in canonical mode")
	}
	restore := saveTerminal(tty)
	if _, err := term.MakeRaw(int(tty.Fd())); err != nil {
		t.Fatal(err)
	}
	if canonical() {
		t.Fatal("MakeRaw left canonical mode on")
	}
	restore()
	if !canonical() {
		t.Error("the terminal's settings were not restored")
	}
	saveTerminal(strings.NewReader(""))() // not a terminal: nothing to do
}

// TestSSHEndsWithPitstopAct: the ssh pitstop act starts ends when pitstop
// act is killed (SIGKILL) without a chance to end it, rather than go on
// reading the terminal. A helper process stands for pitstop act and
// "sleep" for ssh; the test holds the read end of a pipe whose only
// writer, once the helper has closed its copy, is that "ssh": the read
// ends when it does.
func TestSSHEndsWithPitstopAct(t *testing.T) {
	if os.Getenv("PITSTOP_TEST_SSH_PARENT") == "1" {
		w := os.NewFile(3, "pipe")
		cmd := exec.Command("sleep", "300")
		cmd.Stdout = w
		endWithParent(cmd)
		if err := cmd.Start(); err != nil {
			fmt.Println("start:", err)
			os.Exit(1)
		}
		w.Close()
		fmt.Println(cmd.Process.Pid)
		_, _ = io.Copy(io.Discard, os.Stdin) // until killed
		os.Exit(0)
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	helper := exec.Command(os.Args[0], "-test.run=^TestSSHEndsWithPitstopAct$")
	helper.Env = append(os.Environ(), "PITSTOP_TEST_SSH_PARENT=1")
	helper.ExtraFiles = []*os.File{w}
	stdin, err := helper.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	out, err := helper.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := helper.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	line, err := bufio.NewReader(out).ReadString('\n')
	pid, perr := strconv.Atoi(strings.TrimSpace(line))
	if err != nil || perr != nil {
		t.Fatalf("helper: %q, %v", line, err)
	}
	defer syscall.Kill(pid, syscall.SIGKILL) // in case it outlived its parent
	if err := helper.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = helper.Wait()
	ended := make(chan struct{})
	go func() {
		_, _ = io.Copy(io.Discard, r)
		close(ended)
	}()
	select {
	case <-ended:
	case <-time.After(30 * time.Second):
		t.Fatal("the stand-in for ssh still runs 30s after its pitstop act was killed")
	}
}

// TestRemoveStaleTemps: a temporary directory whose pitstop act is gone
// is removed; one whose owner runs, one of another host and one without
// an owner file are left alone.
func TestRemoveStaleTemps(t *testing.T) {
	dir := t.TempDir()
	gone := exec.Command("true")
	if err := gone.Run(); err != nil {
		t.Fatal(err)
	}
	mk := func(name, owner string) string {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Join(p, "bin"), 0o755); err != nil {
			t.Fatal(err)
		}
		if owner != "" {
			if err := os.WriteFile(filepath.Join(p, ownerFile), []byte(owner), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		return p
	}
	host := labelHost + "=" + ownerHost() + "\n"
	stale := mk(tempPrefix+"1", host+labelPID+"="+strconv.Itoa(gone.Process.Pid)+"\n")
	live := mk(tempPrefix+"2", strings.Join(ownerLabels(), "\n"))
	elsewhere := mk(tempPrefix+"3", labelHost+"=another\n"+labelPID+"="+strconv.Itoa(gone.Process.Pid)+"\n")
	unowned := mk(tempPrefix+"4", "")
	other := mk("something-else", host+labelPID+"="+strconv.Itoa(gone.Process.Pid)+"\n")
	var log strings.Builder
	removeStaleTemps(dir, &log)
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("the directory of a pitstop act that is gone is still there")
	}
	for _, p := range []string{live, elsewhere, unowned, other} {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("%s was removed", filepath.Base(p))
		}
	}
	if want := "pitstop: removed " + stale + ", left by an earlier pitstop act (pid " + strconv.Itoa(gone.Process.Pid) + ") that ended without cleaning up\n"; log.String() != want {
		t.Errorf("log %q, want %q", log.String(), want)
	}
}
