package control

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"time"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"

	"golang.org/x/sys/windows"
)

// resizePoll is how often RunAttach looks at its console's size. Windows
// reports a console's resizes only as input records among the keystrokes
// (WINDOW_BUFFER_SIZE_EVENT), which reading the keys as text leaves
// unread, so the size is looked at instead, as Docker's CLI does there.
const resizePoll = 250 * time.Millisecond

// RunAttach joins a terminal through the control pipe and shows it on the
// caller's console (in its input, out its output) until the caller
// presses DetachKey or the terminal ends. It says which on out.
func RunAttach(ctx context.Context, socket string, o AttachOptions, in *os.File, out io.Writer) error {
	inH := windows.Handle(in.Fd())
	var inMode uint32
	if windows.GetConsoleMode(inH, &inMode) != nil {
		return errors.New("pitstop attach needs a terminal: run it in an interactive session")
	}
	// The size comes from the output's screen buffer: an input handle has
	// none.
	outH := windows.Handle(0)
	var outMode uint32
	if f, ok := out.(*os.File); ok && windows.GetConsoleMode(windows.Handle(f.Fd()), &outMode) == nil {
		outH = windows.Handle(f.Fd())
	}
	if cols, rows, ok := consoleSize(outH); ok {
		o.Cols, o.Rows = cols, rows
	}
	a, err := Attach(ctx, socket, o)
	if err != nil {
		return err
	}
	defer a.Close()
	// Raw input: keys as the terminal's escape sequences, Ctrl-C as a
	// byte for the terminal rather than an event for us, no echo.
	raw := inMode&^(windows.ENABLE_ECHO_INPUT|windows.ENABLE_PROCESSED_INPUT|windows.ENABLE_LINE_INPUT) | windows.ENABLE_VIRTUAL_TERMINAL_INPUT
	if err := windows.SetConsoleMode(inH, raw); err != nil {
		return fmt.Errorf("put the console in raw mode: %w", err)
	}
	if outH != 0 {
		// The terminal's output is escape sequences for the console to
		// draw. A console that cannot take them shows them as text, which
		// is still readable.
		windows.SetConsoleMode(outH, outMode|windows.ENABLE_VIRTUAL_TERMINAL_PROCESSING|windows.DISABLE_NEWLINE_AUTO_RETURN) //nolint:errcheck // see above
	}
	keys, err := newConsoleReader(inH)
	if err != nil {
		return err
	}
	sizes := make(chan [2]int)
	done := make(chan struct{})
	defer close(done)
	go func() {
		cols, rows := o.Cols, o.Rows
		tick := time.NewTicker(resizePoll)
		defer tick.Stop()
		for {
			select {
			case <-tick.C:
				c, r, ok := consoleSize(outH)
				if !ok || (c == cols && r == rows) {
					continue
				}
				cols, rows = c, r
				select {
				case sizes <- [2]int{c, r}:
				case <-done:
					return
				}
			case <-done:
				return
			}
		}
	}()
	attached(a, keys, out, sizes, func() {
		keys.stop()
		windows.SetConsoleMode(inH, inMode) //nolint:errcheck // best effort: the shell resets the console too
		if outH != 0 {
			windows.SetConsoleMode(outH, outMode) //nolint:errcheck // as above
		}
	})
	return nil
}

// consoleSize is the visible size of the console screen buffer h.
func consoleSize(h windows.Handle) (cols, rows int, ok bool) {
	var info windows.ConsoleScreenBufferInfo
	if h == 0 || windows.GetConsoleScreenBufferInfo(h, &info) != nil {
		return 0, 0, false
	}
	return int(info.Window.Right-info.Window.Left) + 1, int(info.Window.Bottom-info.Window.Top) + 1, true
}

// Console input as the console API hands it over (INPUT_RECORD).
type inputRecord struct {
	eventType uint16
	_         uint16
	event     [16]byte // for a key: down (4), repeat, key code, scan code, char (2 each), control keys (4)
}

var (
	procPeekConsoleInputW = windows.NewLazySystemDLL("kernel32.dll").NewProc("PeekConsoleInputW")
	procReadConsoleInputW = windows.NewLazySystemDLL("kernel32.dll").NewProc("ReadConsoleInputW")
)

// consoleInput reads or peeks (the console's own functions) records
// from h into recs.
func consoleInput(proc *windows.LazyProc, h windows.Handle, recs []inputRecord) (int, error) {
	var n uint32
	r, _, err := proc.Call(uintptr(h), uintptr(unsafe.Pointer(&recs[0])), uintptr(len(recs)), uintptr(unsafe.Pointer(&n)))
	if r == 0 {
		return 0, err
	}
	return int(n), nil
}

// typed reports whether rec is a key press that reading the console
// turns into text: not a key's release, and not a modifier alone.
func typed(rec inputRecord) bool {
	if rec.eventType != windows.KEY_EVENT || binary.LittleEndian.Uint32(rec.event[0:]) == 0 {
		return false
	}
	switch binary.LittleEndian.Uint16(rec.event[6:]) {
	case 0x10, 0x11, 0x12, 0x14, 0x5b, 0x5c, 0x90, 0x91: // shift, ctrl, alt, caps lock, windows keys, num and scroll lock
		return false
	}
	return true
}

// consoleReader reads a console's input as UTF-8. It waits for a key
// before it reads, so that stop leaves no read of the console pending: a
// pending read outlives the process under wine and takes the shell's
// next line. It reads with ReadConsoleW itself, since an os.File on a
// console takes Ctrl-Z for the end of the input, and in a terminal
// Ctrl-Z is a key like any other.
type consoleReader struct {
	h       windows.Handle
	stopped windows.Handle // an event: set, Read returns io.EOF
	high    uint16         // the first half of a surrogate pair whose second is to come
	left    []byte         // read and converted, not yet returned
}

func newConsoleReader(h windows.Handle) (*consoleReader, error) {
	ev, err := windows.CreateEvent(nil, 1, 0, nil)
	if err != nil {
		return nil, fmt.Errorf("read the console: %w", err)
	}
	return &consoleReader{h: h, stopped: ev}, nil
}

// stop ends Read, now or once a read under way returns. The event stays
// open: a Read may be waiting on it until the process exits.
func (r *consoleReader) stop() { windows.SetEvent(r.stopped) } //nolint:errcheck // an event we own

func (r *consoleReader) Read(p []byte) (int, error) {
	for len(r.left) == 0 {
		which, err := windows.WaitForMultipleObjects([]windows.Handle{r.h, r.stopped}, false, windows.INFINITE)
		if err != nil {
			return 0, err
		}
		if which != windows.WAIT_OBJECT_0 {
			return 0, io.EOF
		}
		// Records that give no text (releases, modifiers, focus, mouse,
		// sizes) would leave a read waiting: they are taken off first.
		var recs [64]inputRecord
		n, err := consoleInput(procPeekConsoleInputW, r.h, recs[:])
		if err != nil {
			return 0, err
		}
		skip := 0
		for skip < n && !typed(recs[skip]) {
			skip++
		}
		if skip > 0 {
			if _, err := consoleInput(procReadConsoleInputW, r.h, recs[:skip]); err != nil {
				return 0, err
			}
			continue
		}
		if n == 0 {
			continue
		}
		if err := r.readText(); err != nil {
			return 0, err
		}
	}
	n := copy(p, r.left)
	r.left = r.left[n:]
	return n, nil
}

// readText reads what the console has typed, as UTF-8, into r.left.
func (r *consoleReader) readText() error {
	var buf [512]uint16
	var n uint32
	if err := windows.ReadConsole(r.h, &buf[0], uint32(len(buf)), &n, nil); err != nil {
		return err
	}
	u := buf[:n]
	if r.high != 0 {
		u = append([]uint16{r.high}, u...)
		r.high = 0
	}
	if len(u) > 0 && utf16.IsSurrogate(rune(u[len(u)-1])) && u[len(u)-1] < 0xdc00 {
		r.high = u[len(u)-1]
		u = u[:len(u)-1]
	}
	for _, c := range utf16.Decode(u) {
		r.left = utf8.AppendRune(r.left, c)
	}
	return nil
}
