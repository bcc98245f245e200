//go:build unix

package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// terminalOutput prints, until the file named by its argument exists,
// 20 lines of 80 columns five times a second, so that before the first
// reading every terminal has scrolled far past its screen and whatever
// the emulator keeps of it is at its bound. One perl process per shell:
// a shell loop would fork seq and sleep hundreds of times a second across
// the shells, and measure the machine's fork rate more than the servers.
const terminalOutput = `perl -e '$|=1; until (-e $ARGV[0]) { printf "%05d the quick brown fox jumps over the lazy dog; the quick brown fox again\n", $_ for 1..20; select(undef, undef, undef, 0.2) }'`

// terminalSettle and terminalSpan: memory is read once the terminals
// have printed for terminalSettle, and again terminalSpan later. Equal
// readings show the memory is bounded, not growing with the output.
const (
	terminalSettle = 15 * time.Second
	terminalSpan   = 15 * time.Second
)

// measureTerminals holds shells on a pty (the agent keeps each in a
// terminal emulator, so that a dropped connection can be reattached)
// printing without a pause, and reads the memory of the agent and of
// sshd with the same shells.
func (b *bench) measureTerminals() error {
	n := b.opts.terminals
	b.progress("terminals: %d shells under output", n)
	// Its own agent: the shells' exit at the end ends that agent's pause.
	agent, err := b.lab.startAgent("terminals")
	if err != nil {
		return fmt.Errorf("terminals: %w", err)
	}
	defer agent.stop()
	idle, err := pssMB([]int{agent.pid()})
	if err != nil {
		return err
	}
	stop := filepath.Join(b.lab.dir, "terminals.stop")
	os.Remove(stop)
	var shells []*heldShell
	defer func() {
		os.WriteFile(stop, nil, 0o600) //nolint:errcheck // the cancel below ends them otherwise
		var wg sync.WaitGroup
		for _, s := range shells {
			wg.Add(1)
			go func() { defer wg.Done(); s.close() }()
		}
		wg.Wait()
	}()
	for _, srv := range []*server{agent, b.sshd} {
		for i := 0; i < n; i++ {
			s, err := b.lab.holdShell(srv, stop)
			if err != nil {
				return fmt.Errorf("terminals: shell %d: %w", i+1, err)
			}
			shells = append(shells, s)
		}
	}
	tmux, err := startTmux(b.lab.dir, n, stop)
	if err != nil {
		return fmt.Errorf("terminals: %w", err)
	}
	defer tmux.stop()
	time.Sleep(terminalSettle)
	rss1, err := rssMB([]int{agent.pid()})
	if err != nil {
		return err
	}
	time.Sleep(terminalSpan)
	rss2, err := rssMB([]int{agent.pid()})
	if err != nil {
		return err
	}
	pssA, err := pssMB([]int{agent.pid()})
	if err != nil {
		return err
	}
	sshdProcs := processTree(b.sshd.pid(), "sshd")
	pssS, err := pssMB(sshdProcs)
	if err != nil {
		return err
	}
	pssT, err := pssMB([]int{tmux.pid})
	if err != nil {
		return err
	}
	b.rep.Runs["terminals"] = map[string]float64{"agent_rss_mb_first": rss1, "agent_rss_mb_later": rss2,
		"agent_pss_mb_idle": idle, "tmux_pss_mb": pssT}
	x := row{Name: fmt.Sprintf("resident memory (VmRSS), %d terminals under output", n), Unit: "MB", Pitstop: rss2,
		Note: fmt.Sprintf("%s after %s of output, %s after %s: the emulator's scrollback cap bounds it",
			num(rss1), terminalSettle, num(rss2), terminalSettle+terminalSpan)}
	b.rep.add(x)
	y := compared(fmt.Sprintf("memory (PSS), %d terminals under output", n), "MB", pssA, pssS, nil)
	y.Note = fmt.Sprintf("pitstop keeps each screen in an emulator for reattach; sshd keeps none (its %d processes)", len(sshdProcs))
	b.rep.add(y)
	// tmux keeps a screen per pane too: the closest in kind. Its numbers
	// go in the table's second column.
	z := compared(fmt.Sprintf("memory (PSS), %d terminals under output, against tmux with %d panes", n, n), "MB", pssA, pssT, nil)
	z.Note = fmt.Sprintf("second column: the tmux server, each pane %dx%d with tmux's default history of 2000 lines", tmuxCols, tmuxRows)
	b.rep.add(z)
	per := (pssA - idle) / float64(n)
	ok := per <= 3
	b.rep.add(row{Name: "memory (PSS) per terminal under output", Unit: "MB", Pitstop: per, Target: "<= 3", Pass: &ok,
		Note: fmt.Sprintf("(%s - %s idle) / %d; tmux: %s per pane", num(pssA), num(idle), n, num(pssT/float64(n)))})
	return nil
}

// The size of tmux's panes: the agent's terminals are as large, since ssh
// -tt without a terminal announces no size and the agent's emulator then
// takes the programs' default.
const tmuxCols, tmuxRows = 80, 24

// tmuxServer is a tmux server of the bench's own, with a window per shell
// printing terminalOutput until the stop file exists.
type tmuxServer struct {
	socket string
	pid    int
}

func startTmux(dir string, n int, stop string) (*tmuxServer, error) {
	bin, err := exec.LookPath("tmux")
	if err != nil {
		return nil, fmt.Errorf("find tmux (apt-get install tmux, or run task bench): %w", err)
	}
	t := &tmuxServer{socket: filepath.Join(dir, "tmux.sock")}
	cmd := terminalOutput + " " + stop
	for i := 0; i < n; i++ {
		args := []string{"-S", t.socket, "-f", "/dev/null", "new-window", "-d", "-t", "bench", cmd}
		if i == 0 {
			args = []string{"-S", t.socket, "-f", "/dev/null", "new-session", "-d", "-s", "bench",
				"-x", strconv.Itoa(tmuxCols), "-y", strconv.Itoa(tmuxRows), cmd}
		}
		if out, err := exec.Command(bin, args...).CombinedOutput(); err != nil {
			t.stop()
			return nil, fmt.Errorf("tmux %s: %w: %s", args[4], err, out)
		}
	}
	out, err := exec.Command(bin, "-S", t.socket, "display-message", "-p", "#{pid}").Output()
	if err == nil {
		t.pid, err = strconv.Atoi(strings.TrimSpace(string(out)))
	}
	if err != nil {
		t.stop()
		return nil, fmt.Errorf("tmux server's pid: %w", err)
	}
	return t, nil
}

func (t *tmuxServer) stop() {
	exec.Command("tmux", "-S", t.socket, "kill-server").Run() //nolint:errcheck // may be gone
}

// heldShell is an interactive shell on a pty (ssh -tt with no command)
// printing until the stop file exists.
type heldShell struct {
	cmd    *exec.Cmd
	cancel context.CancelFunc
}

func (l *lab) holdShell(srv *server, stop string) (*heldShell, error) {
	ctx, cancel := context.WithCancel(context.Background())
	h := &heldShell{cancel: cancel}
	args := []string{"-F", l.sshConfig, "-p", strconv.Itoa(srv.port), "-c", benchCiphers[0].name, "-tt", "127.0.0.1"}
	h.cmd = exec.CommandContext(ctx, l.ssh, args...)
	h.cmd.Env = os.Environ()
	stdin, err := h.cmd.StdinPipe()
	if err != nil {
		cancel()
		return nil, fmt.Errorf("open ssh stdin: %w", err)
	}
	out, err := h.cmd.StdoutPipe()
	if err != nil {
		cancel()
		return nil, fmt.Errorf("open ssh stdout: %w", err)
	}
	if err := h.cmd.Start(); err != nil {
		cancel()
		return nil, fmt.Errorf("start ssh: %w", err)
	}
	// Keeps stdin open (a closed one would end the shell) and types the
	// loop; the shell exits when the loop ends.
	loop := fmt.Sprintf("echo UP''-; %s %s; exit\n", terminalOutput, stop)
	go func() {
		io.WriteString(stdin, loop) //nolint:errcheck // the session's start is checked below
		<-ctx.Done()
		stdin.Close()
	}()
	if seen, ok := waitUp(out, 60*time.Second); !ok {
		h.close()
		return nil, fmt.Errorf("%s: the shell did not start; it printed %q", srv.name, seen)
	}
	return h, nil
}

// close waits for the shell to end (the stop file exists by then), or
// ends the client.
func (h *heldShell) close() {
	done := make(chan struct{})
	go func() { h.cmd.Wait(); close(done) }() //nolint:errcheck // ended on purpose
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		h.cancel()
		<-done
	}
	h.cancel()
}
