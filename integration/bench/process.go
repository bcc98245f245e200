//go:build unix

package main

import (
	"bufio"
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

	"github.com/pitstopci/pitstop/internal/testutil"
)

// measureReady starts the agent again and again, each time timing from
// just before the fork to the moment its ready file exists. That covers
// loading the binary, fetching the keys from the API, the host key and
// listening: all a user waits for before the job log shows how to connect.
func (b *bench) measureReady() error {
	b.progress("ready file: %d agent starts", b.opts.readyRuns)
	var ms []float64
	for i := 0; i < b.opts.readyRuns; i++ {
		a, err := b.lab.startAgent(fmt.Sprintf("ready-%d", i))
		if err != nil {
			return fmt.Errorf("ready file: %w", err)
		}
		ms = append(ms, float64(a.readyAfter.Microseconds())/1000)
		a.stop()
	}
	b.rep.Runs["ready"] = map[string][]float64{"pitstop_ms": append([]float64(nil), ms...)}
	x := row{Name: fmt.Sprintf("start to ready file (median of %d)", len(ms)), Unit: "ms", Pitstop: median(ms)}
	target{bound: 100}.judge(&x)
	b.rep.add(x)
	return nil
}

// measureMemory reads the resident memory of a fresh agent once it is
// ready and again with sessions open, and the same of sshd: its listener
// idle, and its own processes (not the sessions' programs) with sessions
// open. sshd's sum counts pages its processes share more than once.
func (b *bench) measureMemory() error {
	b.progress("memory: idle, then %d open sessions", b.opts.openSessions)
	agent, err := b.lab.startAgent("memory")
	if err != nil {
		return fmt.Errorf("memory: %w", err)
	}
	defer agent.stop()
	// Let the start-up garbage be collected, as it is by the time a user
	// connects.
	time.Sleep(2 * time.Second)
	idleA, err := rssMB([]int{agent.pid()})
	if err != nil {
		return err
	}
	idleS, err := rssMB([]int{b.sshd.pid()})
	if err != nil {
		return err
	}
	x := compared("resident memory (VmRSS), idle", "MB", idleA, idleS, nil)
	target{bound: 20}.judge(&x)
	b.rep.add(x)

	var open []*heldSession
	defer func() {
		var wg sync.WaitGroup
		for _, h := range open {
			wg.Add(1)
			go func() { defer wg.Done(); h.close() }()
		}
		wg.Wait()
	}()
	for _, srv := range []*server{agent, b.sshd} {
		for i := 0; i < b.opts.openSessions; i++ {
			h, err := b.lab.holdSession(srv)
			if err != nil {
				return fmt.Errorf("memory: session %d: %w", i+1, err)
			}
			open = append(open, h)
		}
	}
	time.Sleep(time.Second)
	rssA, err := rssMB([]int{agent.pid()})
	if err != nil {
		return err
	}
	b.rep.add(row{Name: fmt.Sprintf("resident memory (VmRSS), %d pty sessions open", b.opts.openSessions), Unit: "MB", Pitstop: rssA})
	// Proportional set size, not VmRSS: sshd runs two processes per
	// connection that share most of their pages, which a sum of VmRSS
	// would count again and again.
	busyA, err := pssMB([]int{agent.pid()})
	if err != nil {
		return err
	}
	sshdProcs := processTree(b.sshd.pid(), "sshd")
	busyS, err := pssMB(sshdProcs)
	if err != nil {
		return err
	}
	x = compared(fmt.Sprintf("memory (PSS) with %d pty sessions open", b.opts.openSessions), "MB", busyA, busyS, nil)
	x.Note = fmt.Sprintf("pitstop: its one process; sshd: its %d processes; neither counts the sessions' programs", len(sshdProcs))
	b.rep.add(x)
	return nil
}

// heldSession is an open pty session running cat, held until closed.
type heldSession struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	cancel context.CancelFunc
}

// holdSession opens `ssh -tt HOST cat` and returns once it runs.
func (l *lab) holdSession(srv *server) (*heldSession, error) {
	ctx, cancel := context.WithCancel(context.Background())
	h := &heldSession{cancel: cancel}
	h.cmd = l.sshCmd(ctx, srv, benchCiphers[0].name, "echo UP''-; exec cat", "-tt")
	stdin, err := h.cmd.StdinPipe()
	if err != nil {
		cancel()
		return nil, fmt.Errorf("open ssh stdin: %w", err)
	}
	h.stdin = stdin
	out, err := h.cmd.StdoutPipe()
	if err != nil {
		cancel()
		return nil, fmt.Errorf("open ssh stdout: %w", err)
	}
	if err := h.cmd.Start(); err != nil {
		cancel()
		return nil, fmt.Errorf("start ssh: %w", err)
	}
	if seen, ok := waitUp(out, 20*time.Second); !ok {
		h.close()
		return nil, fmt.Errorf("%s: the session did not start; it printed %q", srv.name, seen)
	}
	return h, nil
}

// waitUp reads out until a line has the marker UP- (not the typed
// line's echo, which has UP”-), then drains it in the background until
// it ends. Without the marker by timeout, or before out ends, it returns
// false and what came so far (its first 2000 bytes), for the error.
func waitUp(out io.Reader, timeout time.Duration) (seen string, ok bool) {
	up := make(chan bool, 1)
	var mu sync.Mutex
	var before strings.Builder
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if strings.Contains(sc.Text(), "UP-") {
				up <- true
				io.Copy(io.Discard, out) //nolint:errcheck // drained until the session ends
				return
			}
			mu.Lock()
			if before.Len() < 2000 {
				before.WriteString(sc.Text() + "\n")
			}
			mu.Unlock()
		}
		up <- false
	}()
	select {
	case ok = <-up:
	case <-time.After(timeout):
	}
	mu.Lock()
	defer mu.Unlock()
	return before.String(), ok
}

func (h *heldSession) close() {
	// ^D at the start of a line is end of file for cat on the remote
	// terminal; closing stdin alone is not, on a pty.
	h.stdin.Write([]byte{4}) //nolint:errcheck // cancel below if it did not end
	h.stdin.Close()
	done := make(chan struct{})
	go func() { h.cmd.Wait(); close(done) }() //nolint:errcheck // ended on purpose
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		h.cancel()
		<-done
	}
	h.cancel()
}

// rssMB is the summed VmRSS of pids, in MB (10^6 bytes).
func rssMB(pids []int) (float64, error) {
	var kb int64
	for _, pid := range pids {
		b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "status"))
		if err != nil {
			return 0, fmt.Errorf("read status of process %d: %w", pid, err)
		}
		n, err := parseStatusKB(string(b), "VmRSS")
		if err != nil {
			return 0, fmt.Errorf("process %d: %w", pid, err)
		}
		kb += n
	}
	return float64(kb) * 1024 / 1e6, nil
}

// pssMB is the summed proportional set size of pids, in MB: each page
// shared by n processes counts 1/n to each.
func pssMB(pids []int) (float64, error) {
	var kb int64
	for _, pid := range pids {
		b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "smaps_rollup"))
		if err != nil {
			return 0, fmt.Errorf("read memory of process %d: %w", pid, err)
		}
		n, err := parseStatusKB(string(b), "Pss")
		if err != nil {
			return 0, fmt.Errorf("process %d: %w", pid, err)
		}
		kb += n
	}
	return float64(kb) * 1024 / 1e6, nil
}

// clockTick is the unit of the CPU times in /proc/PID/stat: USER_HZ,
// which is 100 on every Linux platform Go supports.
const clockTick = 100

// cpuSeconds is the CPU time a process has used itself (user and
// system), not counting its children.
func cpuSeconds(pid int) (float64, error) {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return 0, fmt.Errorf("read stat of process %d: %w", pid, err)
	}
	return parseStatCPU(string(b))
}

// parseStatCPU reads utime + stime from a /proc/PID/stat line.
func parseStatCPU(stat string) (float64, error) {
	end := strings.LastIndexByte(stat, ')')
	f := strings.Fields(stat[end+1:])
	// After "pid (comm)": state is field 3, utime 14 and stime 15.
	if end < 0 || len(f) < 13 {
		return 0, fmt.Errorf("parse process stat %q", stat)
	}
	var ticks int64
	for _, s := range f[11:13] {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("parse process stat %q: %w", stat, err)
		}
		ticks += n
	}
	return float64(ticks) / clockTick, nil
}

// processTree is root and its descendants whose command name is comm.
func processTree(root int, comm string) []int {
	var out []int
	for _, p := range testutil.ProcessTree(root) {
		if p.PID == root || p.Comm == comm {
			out = append(out, p.PID)
		}
	}
	return out
}

// measureBinary reports the size of pitstop as `go build` makes it and as
// a release is built (-trimpath, no symbol table or DWARF).
func (b *bench) measureBinary() error {
	for _, bin := range []struct {
		name, path string
		goal       bool
	}{
		{"binary size, go build", b.lab.bin, false},
		{"binary size, -trimpath -ldflags='-s -w'", b.lab.releaseBin, true},
	} {
		fi, err := os.Stat(bin.path)
		if err != nil {
			return fmt.Errorf("binary size: %w", err)
		}
		x := row{Name: bin.name, Unit: "MB", Pitstop: float64(fi.Size()) / 1e6}
		if bin.goal {
			target{bound: 15}.judge(&x)
		}
		b.rep.add(x)
	}
	return nil
}

// measureConcurrent starts many `ssh HOST echo N` at once against each
// server and checks that every one of them printed its own N.
func (b *bench) measureConcurrent() error {
	n := b.opts.concurrent
	b.progress("concurrent: %d exec sessions at once", n)
	ok := map[*server]float64{}
	secs := map[*server]float64{}
	var notes []string
	for _, srv := range []*server{b.agent, b.sshd} {
		var wg sync.WaitGroup
		errs := make([]error, n)
		start := time.Now()
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
				defer cancel()
				out, err := run(b.lab.sshCmd(ctx, srv, benchCiphers[0].name, "echo "+strconv.Itoa(i)))
				if err == nil && strings.TrimSpace(out) != strconv.Itoa(i) {
					err = fmt.Errorf("session %d printed %q", i, out)
				}
				errs[i] = err
			}()
		}
		wg.Wait()
		secs[srv] = time.Since(start).Seconds()
		var failed []string
		for _, err := range errs {
			if err == nil {
				ok[srv]++
			} else {
				failed = append(failed, err.Error())
			}
		}
		if len(failed) > 0 {
			b.progress("%s: %d of %d concurrent sessions failed, e.g. %s", srv.name, len(failed), n, failed[0])
			// The client's own words, without the command line.
			why := failed[0]
			if i := strings.LastIndex(why, "exit status"); i >= 0 {
				why = why[i:]
			}
			notes = append(notes, fmt.Sprintf("%s: %d failed (%s)", srv.name, len(failed), why))
		}
	}
	x := compared(fmt.Sprintf("%d concurrent exec sessions, succeeded", n), "count", ok[b.agent], ok[b.sshd], nil)
	x.Ratio = nil
	x.Note = strings.Join(notes, "; ")
	target{atLeast: true, bound: float64(n)}.judge(&x)
	b.rep.add(x)
	x = compared(fmt.Sprintf("%d concurrent exec sessions, total time", n), "s", secs[b.agent], secs[b.sshd], nil)
	if ok[b.agent] < float64(n) || ok[b.sshd] < float64(n) {
		x.Note = "sessions refused at once count too: a time is comparable only when all succeeded"
	}
	b.rep.add(x)
	return nil
}
