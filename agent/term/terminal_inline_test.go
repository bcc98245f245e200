//go:build unix

package term

import (
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gliderlabs/ssh"
	xterm "golang.org/x/term"

	"github.com/pitstopci/pitstop/agent/clock"
	"github.com/pitstopci/pitstop/internal/testutil"
)

// connWriter is a client's connection: it records what it is sent and
// which of the terminal's goroutines sent it, and with stall set, the
// first write waits until release is closed, as a write to a connection
// that stopped taking data does.
type connWriter struct {
	stall   bool
	entered chan struct{} // closed when a stalled write began
	release chan struct{}

	mu     sync.Mutex
	got    strings.Builder
	writes []string
	byPump []bool // per write: the pump wrote it, not the client's writer
}

func newConnWriter(stall bool) *connWriter {
	return &connWriter{stall: stall, entered: make(chan struct{}), release: make(chan struct{})}
}

func (w *connWriter) Write(b []byte) (int, error) {
	pcs := make([]uintptr, 32)
	frames := runtime.CallersFrames(pcs[:runtime.Callers(2, pcs)])
	byPump := false
	for f, more := frames.Next(); more; f, more = frames.Next() {
		byPump = byPump || strings.HasSuffix(f.Function, "(*Terminal).pump")
	}
	w.mu.Lock()
	stall := w.stall
	w.stall = false
	w.mu.Unlock()
	if stall {
		close(w.entered)
		<-w.release
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.got.Write(b)
	w.writes = append(w.writes, string(b))
	w.byPump = append(w.byPump, byPump)
	return len(b), nil
}

func (w *connWriter) output() (string, []bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.got.String(), append([]bool(nil), w.byPump...)
}

// waitFor waits until w was sent want.
func (w *connWriter) waitFor(t *testing.T, want string) {
	t.Helper()
	if !testutil.Eventually(10*time.Second, func() bool { got, _ := w.output(); return strings.Contains(got, want) }) {
		got, _ := w.output()
		t.Fatalf("the client got %q, never %q", got, want)
	}
}

// openTestPTY opens a pty whose slave the test holds, as a program on it
// (or a background job it left) would.
func openTestPTY(t *testing.T) (*ptyFile, *os.File) {
	t.Helper()
	master, tty, err := openPTY()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { master.Close(); tty.Close() })
	return master, tty
}

var testWindow = ssh.Window{Width: 80, Height: 24}

// pumpedTerminal is a terminal reading a pty whose other side the test
// holds, as the shell would, with alice attached and served by w. The
// shell "exits" when exit is sent its status.
func pumpedTerminal(t *testing.T, clk clock.Clock, w *connWriter) (tm *Terminal, shell *os.File, alice *Client, exit chan int) {
	t.Helper()
	master, shell := openTestPTY(t)
	if _, err := xterm.MakeRaw(int(shell.Fd())); err != nil { // no echo: only what the shell writes comes out
		t.Fatal(err)
	}
	tm = &Terminal{clock: clk, done: make(chan struct{}), master: master}
	tm.feedCond = sync.NewCond(&tm.mu)
	alice = NewClient("alice", false, testWindow, time.Now(), nil)
	exit = make(chan int, 1)
	tm.exiting.Add(1)
	tm.mu.Lock()
	tm.serveLocked(testWindow, alice, func() int { return <-exit }, func() { master.Close() }, func(*Terminal) {})
	tm.mu.Unlock()
	go alice.Serve(w)
	t.Cleanup(func() {
		select {
		case exit <- 0:
		default:
		}
		<-tm.Done()
	})
	return tm, shell, alice, exit
}

func say(t *testing.T, shell *os.File, s string) {
	t.Helper()
	if _, err := shell.Write([]byte(s)); err != nil {
		t.Fatal(err)
	}
}

// A lone client that keeps up gets the shell's output from the pump
// itself, not through its writer; output that has to wait for the client
// goes through the writer.
func TestLoneClientIsWrittenByThePump(t *testing.T) {
	w := newConnWriter(false)
	_, shell, alice, _ := pumpedTerminal(t, clock.Real(time.Now), w)
	// Make sure alice's writer runs (it tells the pump where to write).
	if !testutil.Eventually(10*time.Second, func() bool { alice.mu.Lock(); defer alice.mu.Unlock(); return alice.w != nil }) {
		t.Fatal("the client's writer never started")
	}
	for _, s := range []string{"a", "b", "c"} {
		say(t, shell, s)
		w.waitFor(t, s)
	}
	got, byPump := w.output()
	for i, p := range byPump {
		if !p {
			t.Errorf("write %d of %q came from the client's writer, not the pump", i, got)
		}
	}
	// A backlog (here a note put for the client) goes through the writer.
	alice.Put([]byte("<note>"))
	w.waitFor(t, "<note>")
	w.mu.Lock()
	defer w.mu.Unlock()
	for i, s := range w.writes {
		if strings.Contains(s, "<note>") && w.byPump[i] {
			t.Errorf("the pump wrote the client's backlog %q", s)
		}
	}
}

// stallAlice makes alice's connection stop taking data during the
// pump's write of "one".
func stallAlice(t *testing.T, clk clock.Clock) (*Terminal, *os.File, *connWriter, chan int) {
	t.Helper()
	w := newConnWriter(true)
	tm, shell, alice, exit := pumpedTerminal(t, clk, w)
	if !testutil.Eventually(10*time.Second, func() bool { alice.mu.Lock(); defer alice.mu.Unlock(); return alice.w != nil }) {
		t.Fatal("the client's writer never started")
	}
	say(t, shell, "one,")
	select {
	case <-w.entered:
	case <-time.After(10 * time.Second):
		t.Fatal("the pump never wrote to the client")
	}
	return tm, shell, w, exit
}

// A write to a client that stalls for stallAfter hands the pty to a new
// pump: the shell's output is read on, queued for that client behind the
// stalled write, and sent in order once the connection takes data again.
func TestStalledClientDoesNotHoldUpTheShell(t *testing.T) {
	clk := clock.NewFake()
	tm, shell, w, _ := stallAlice(t, clk)
	clk.Advance(stallAfter)
	say(t, shell, "two,")
	if !testutil.Eventually(10*time.Second, func() bool {
		tm.mu.Lock()
		defer tm.mu.Unlock()
		c := tm.clients[0]
		c.mu.Lock()
		defer c.mu.Unlock()
		return strings.Contains(string(c.pending), "two,")
	}) {
		t.Fatal("the output after a stalled write was not read while the write stalled")
	}
	close(w.release)
	w.waitFor(t, "two,")
	if got, _ := w.output(); got != "one,two," {
		t.Errorf("the client got %q, want it all in order", got)
	}
}

// Someone attaching while the pump's write to the one client stalls gets
// the output that follows at once.
func TestAttachDoesNotWaitOnAStalledClient(t *testing.T) {
	tm, shell, w, _ := stallAlice(t, clock.NewFake())
	bob := NewClient("bob", true, testWindow, time.Now(), nil)
	if !tm.Attach(bob, false, "", "bob joined") {
		t.Fatal("attach failed")
	}
	bw := newConnWriter(false)
	go bob.Serve(bw)
	say(t, shell, "two,")
	bw.waitFor(t, "two,")
	close(w.release)
	w.waitFor(t, "two,")
	if got, _ := w.output(); !strings.HasPrefix(got, "one,") || strings.Index(got, "two,") < strings.Index(got, "bob joined") {
		t.Errorf("the stalled client got %q, want its output in order", got)
	}
}

// The shell's end does not wait on a stalled client either.
func TestShellEndDoesNotWaitOnAStalledClient(t *testing.T) {
	tm, shell, w, exit := stallAlice(t, clock.NewFake())
	defer close(w.release)
	shell.Close()
	exit <- 0
	select {
	case <-tm.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the terminal did not end while a write to its client stalled")
	}
}
