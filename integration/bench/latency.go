//go:build unix

package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"time"

	"github.com/creack/pty"
)

// lineLimit is how many keystrokes go into one line before it is ended:
// the remote terminal holds at most 4095 characters of a line.
const lineLimit = 100

// echoSession is `ssh -tt HOST cat` on a terminal of ours: each byte
// written to it travels to the server, is echoed by the remote terminal
// and comes back through the client, as a keystroke does in a shell.
type echoSession struct {
	srv     *server
	cmd     *exec.Cmd
	term    *os.File // our side of the client's terminal
	cancel  context.CancelFunc
	pending int         // keystrokes on the current remote line
	out     chan []byte // what the terminal shows, as read
	rest    []byte      // read but not yet consumed
}

// openEcho starts cat on a remote pty: as the session's command, or, with
// shell, typed into an interactive login shell, which the agent keeps in
// a terminal emulator (the path of everyone's keystrokes in a shell).
func (l *lab) openEcho(srv *server, cipher string, shell bool) (*echoSession, error) {
	master, tty, err := pty.Open()
	if err != nil {
		return nil, fmt.Errorf("open pty: %w", err)
	}
	defer tty.Close()
	// The terminal stays as a new one is (cooked, echoing): ssh sends its
	// modes to the server for the remote terminal, then makes it raw.
	// Nothing is written to it before then.
	ctx, cancel := context.WithCancel(context.Background())
	e := &echoSession{srv: srv, term: master, cancel: cancel, out: make(chan []byte, 16)}
	// The marker tells when the remote side is ready; it is split in the
	// command so that the echo of the command line cannot match it.
	const command = "echo READY''-; exec cat"
	remote := command
	if shell {
		remote = ""
	}
	e.cmd = l.sshCmd(ctx, srv, cipher, remote, "-tt")
	e.cmd.Stdin, e.cmd.Stdout, e.cmd.Stderr = tty, tty, tty
	e.cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true}
	if err := e.cmd.Start(); err != nil {
		cancel()
		master.Close()
		return nil, fmt.Errorf("start ssh -tt: %w", err)
	}
	// A reading goroutine rather than read deadlines: pty.Open leaves the
	// master in blocking mode, where deadlines do not work. It ends when
	// close closes the master.
	go func() {
		defer close(e.out)
		for {
			buf := make([]byte, 4096)
			n, err := master.Read(buf)
			if n > 0 {
				e.out <- buf[:n]
			}
			if err != nil {
				return
			}
		}
	}()
	if shell {
		// Typed ahead: the pty holds it until the shell reads its first
		// line. exec, so that the echo is the terminal's, not the shell's
		// line editor's.
		if _, err := master.Write([]byte(command + "\r")); err != nil {
			e.close()
			return nil, fmt.Errorf("%s: type into the shell: %w", srv.name, err)
		}
	}
	if err := e.readUntil(func(got []byte) bool { return bytes.Contains(got, []byte("READY-\r\n")) }, 20*time.Second); err != nil {
		e.close()
		return nil, fmt.Errorf("%s: wait for the remote cat: %w", srv.name, err)
	}
	return e, nil
}

// readUntil reads from the terminal until done accepts what was read.
func (e *echoSession) readUntil(done func([]byte) bool, limit time.Duration) error {
	got := e.rest
	e.rest = nil
	timeout := time.NewTimer(limit)
	defer timeout.Stop()
	for !done(got) {
		select {
		case b, ok := <-e.out:
			if !ok {
				return fmt.Errorf("the client's terminal closed after %q", got)
			}
			got = append(got, b...)
		case <-timeout.C:
			return fmt.Errorf("nothing more within %v after %q", limit, got)
		}
	}
	return nil
}

// keystroke sends one byte and returns how long its echo took.
func (e *echoSession) keystroke() (time.Duration, error) {
	if e.pending == lineLimit {
		// End the line: it echoes as CR LF, then cat prints it back.
		want := 2 + e.pending + 2
		n := 0
		if _, err := e.term.Write([]byte{'\r'}); err != nil {
			return 0, fmt.Errorf("write terminal: %w", err)
		}
		if err := e.readUntil(func(got []byte) bool { n = len(got); return n >= want }, 10*time.Second); err != nil {
			return 0, err
		}
		if n != want {
			return 0, fmt.Errorf("%s: ending a line echoed %d bytes, want %d", e.srv.name, n, want)
		}
		e.pending = 0
	}
	start := time.Now()
	if _, err := e.term.Write([]byte{'x'}); err != nil {
		return 0, fmt.Errorf("write terminal: %w", err)
	}
	var got []byte
	err := e.readUntil(func(b []byte) bool { got = b; return len(b) > 0 }, 10*time.Second)
	d := time.Since(start)
	if err != nil {
		return 0, err
	}
	if string(got) != "x" {
		return 0, fmt.Errorf("%s: a keystroke echoed %q", e.srv.name, got)
	}
	e.pending++
	return d, nil
}

func (e *echoSession) close() {
	e.term.Write([]byte("\r\x04")) //nolint:errcheck // ends cat; cancel below if not
	done := make(chan struct{})
	go func() { e.cmd.Wait(); close(done) }() //nolint:errcheck // ended on purpose
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		e.cancel()
		<-done
	}
	e.cancel()
	e.term.Close()
}

// measureLatency sends keystrokes over one session to each server, in
// rounds that alternate between the two, a few milliseconds apart as a
// fast typist's are: to cat as the session's command on a pty, then to
// cat typed into an interactive shell, which the agent keeps in a
// terminal emulator.
func (b *bench) measureLatency() error {
	cipher := benchCiphers[0].name
	b.progress("echo latency: %d keystrokes each way, %s", b.opts.keystrokes, cipher)
	if err := b.echoRows("pty", b.agent, cipher, false); err != nil {
		return err
	}
	b.progress("echo latency in a shell: %d keystrokes each way, %s", b.opts.keystrokes, cipher)
	// Its own agent: the shell's end ends that agent's pause.
	agent, err := b.lab.startAgent("latency-shell")
	if err != nil {
		return fmt.Errorf("echo latency in a shell: %w", err)
	}
	defer agent.stop()
	return b.echoRows("shell on a terminal", agent, cipher, true)
}

// echoRows times keystrokes to agent and to sshd and adds the p50 and p99
// rows, named with what.
func (b *bench) echoRows(what string, agent *server, cipher string, shell bool) error {
	samples, err := b.echoSamples(agent, b.sshd, cipher, shell)
	if err != nil {
		return fmt.Errorf("echo latency (%s): %w", what, err)
	}
	a, s := samples[0], samples[1]
	for _, p := range []struct {
		name string
		p    float64
	}{{"p50", 50}, {"p99", 99}} {
		x := compared(fmt.Sprintf("echo round trip %s (%s, %d keys)", p.name, what, len(a)), "µs", percentile(a, p.p), percentile(s, p.p), nil)
		target{ratio: true, bound: 1.1}.judge(&x)
		b.rep.add(x)
	}
	return nil
}

// echoSamples times b.opts.keystrokes keystrokes on one echo session to
// each of two servers, in alternating rounds so that both see the same
// load, and returns each one's round trips in microseconds.
func (b *bench) echoSamples(x, y *server, cipher string, shell bool) ([2][]float64, error) {
	var samples [2][]float64
	var sessions [2]*echoSession
	for i, srv := range []*server{x, y} {
		e, err := b.lab.openEcho(srv, cipher, shell)
		if err != nil {
			return samples, err
		}
		defer e.close()
		sessions[i] = e
	}
	const round = 50
	for done := 0; done < b.opts.keystrokes; done += round {
		for i, e := range sessions {
			for range min(round, b.opts.keystrokes-done) {
				d, err := e.keystroke()
				if err != nil {
					return samples, err
				}
				samples[i] = append(samples[i], float64(d.Microseconds()))
				time.Sleep(2 * time.Millisecond)
			}
		}
	}
	if len(samples[0]) == 0 {
		return samples, errors.New("no samples")
	}
	return samples, nil
}
