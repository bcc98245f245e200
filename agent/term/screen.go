package term

import (
	"fmt"
	"io"
	"reflect"
	"strings"
	"unsafe"

	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/vt"
)

// A terminal's screen is kept by a terminal emulator, charmbracelet/x/vt.
// Two things keep any output from costing the agent more than the screen
// is worth:
//
//   - The counts and margins of the control sequences are clamped to the
//     screen before the emulator acts on them (see Bound). Left alone, 13
//     bytes ("x", then repeat it 999999999 times) keep v0.1.0 busy for
//     minutes, and a scroll region below the screen's last line makes it
//     index past its buffer.
//   - The emulator has a goroutine of its own (a terminal's feeder,
//     terminal_feed.go): the shell's output goes to the clients at once
//     and is queued for the emulator, so neither the shell, the clients,
//     "pitstop status", signals nor the pause's end wait on it.

// Screen limits.
const (
	// maxScreenCols and maxScreenRows cap the emulator's size whatever
	// window a client announces (the pty gets the window as asked): each
	// cell costs memory, twice (the main and the alternate screen), and
	// the largest real windows are well within.
	maxScreenCols = 512
	maxScreenRows = 256
	// stringDataSize is the room for the payload of one OSC, DCS or APC
	// string (a title, a hyperlink's address). The emulator keeps only
	// titles, links and colours from them, and a redraw needs only the
	// links; longer payloads (an OSC 52 clipboard write, an image) are
	// cut, which the clients never see: they get the output as it is.
	stringDataSize = 4 << 10
	// scrollbackLines caps the lines the emulator keeps above the screen,
	// per terminal. A reattach redraws the screen only (the clients'
	// terminals keep their own scrollback of what they saw), so nothing
	// above it is needed; the emulator's default of 10000 lines of cells
	// would cost megabytes per busy terminal. 1 is the least it accepts.
	scrollbackLines = 1
)

// Screen is a terminal's emulator with what a redraw needs besides its
// cells. Only the terminal's feeder goroutine uses it.
type Screen struct {
	emu   *vt.Emulator
	modes map[ansi.Mode]bool // DEC and ANSI modes the programs set
	// Stale says the emulator missed output (it fell behind and its
	// backlog was dropped) and no program has cleared the screen since:
	// what it shows may be incomplete.
	Stale bool
}

// NewScreen is a screen of cols×rows.
func NewScreen(cols, rows int) *Screen {
	s := &Screen{modes: map[ansi.Mode]bool{}}
	s.emu = vt.NewEmulator(screenDim(cols, 80, maxScreenCols), screenDim(rows, 24, maxScreenRows))
	s.emu.SetScrollbackSize(scrollbackLines)
	shrinkStringData(s.emu, stringDataSize)
	s.emu.SetCallbacks(vt.Callbacks{
		EnableMode:  func(m ansi.Mode) { s.modes[m] = true },
		DisableMode: func(m ansi.Mode) { delete(s.modes, m) },
	})
	Bound(s.emu)
	// A clear screen (ED 2 or 3, as Ctrl-L and full-screen programs send)
	// repaints everything from then on: whatever was missed is gone.
	s.emu.RegisterCsiHandler('J', func(p ansi.Params) bool {
		if n, _, _ := p.Param(0, 0); n == 2 || n == 3 {
			s.Stale = false
		}
		return false // the emulator's own handler does the clearing
	})
	// The emulator answers the programs' queries (cursor position,
	// device attributes) into a pipe. The clients' own terminals answer
	// them already, so the answers are dropped; the pipe must be read or
	// the emulator blocks.
	go io.Copy(io.Discard, s.emu) //nolint:errcheck // ends when the pipe is closed
	return s
}

// screenDim is a window dimension as the emulator takes it: def when the
// client said none (0: ssh -tt without a terminal), as the programs then
// assume their terminal's default; at most limit.
func screenDim(n, def, limit int) int {
	if n <= 0 {
		return def
	}
	return min(n, limit)
}

// Write feeds the programs' output to the emulator.
func (s *Screen) Write(b []byte) {
	s.emu.Write(b) //nolint:errcheck // the emulator never fails a write before Close
}

// Resize sizes the emulator to a client's window.
func (s *Screen) Resize(cols, rows int) {
	s.emu.Resize(screenDim(cols, 80, maxScreenCols), screenDim(rows, 24, maxScreenRows))
}

// Close ends the goroutine reading the emulator's answers. Not
// emu.Close: that sets a flag the reading goroutine reads unlocked.
func (s *Screen) Close() {
	if c, ok := s.emu.InputPipe().(io.Closer); ok {
		c.Close()
	}
}

// shrinkStringData gives the emulator's parser a buffer of size for the
// payloads of string sequences instead of the 4 MiB vt.NewEmulator
// allocates, most of each terminal's memory. vt v0.1.0 offers no way to
// size it, so the parser is reached through the emulator's unexported
// field; TestScreenStringDataShrunk fails if a new version moves it.
func shrinkStringData(e *vt.Emulator, size int) bool {
	f := reflect.ValueOf(e).Elem().FieldByName("parser")
	if !f.IsValid() || f.Type() != reflect.TypeFor[*ansi.Parser]() {
		return false
	}
	p := reflect.NewAt(f.Type(), unsafe.Pointer(f.UnsafeAddr())).Elem().Interface().(*ansi.Parser) //nolint:gosec // checked above
	if p == nil {
		return false
	}
	p.SetDataSize(size)
	return true
}

// Bound registers, in front of the emulator's own handlers, handlers that
// clamp the counts and margins of control sequences to the screen, then
// let the emulator's handler act on the clamped values. The parser hands
// the handlers a view of its own parameters, which the emulator's
// handlers read (DECSTBM through the parser itself), so clamping them in
// place is what those handlers see. A count beyond the screen has the
// same effect as the screen's size: the cursor stops at the edge, lines
// and characters shift out of the region whole.
func Bound(e *vt.Emulator) {
	width := func() int { return e.Width() }
	height := func() int { return e.Height() }
	clampTo := func(limits ...func() int) vt.CsiHandler {
		return func(p ansi.Params) bool {
			for i, limit := range limits {
				clampParam(p, i, limit())
			}
			return false
		}
	}
	// Counts along a line: ICH, CUF, CUB, CHA, CHT, DCH, ECH, CBT, HPA, HPR.
	for _, cmd := range []int{'@', 'C', 'D', 'G', 'I', 'P', 'X', 'Z', '`', 'a'} {
		e.RegisterCsiHandler(cmd, clampTo(width))
	}
	// Counts across lines: CUU, CUD, CNL, CPL, IL, DL, SU, SD, VPA, VPR.
	for _, cmd := range []int{'A', 'B', 'E', 'F', 'L', 'M', 'S', 'T', 'd', 'e'} {
		e.RegisterCsiHandler(cmd, clampTo(height))
	}
	// Positions (CUP, HVP) and margins: DECSTBM (top, bottom) and DECSLRM
	// (left, right; with its mode off, 's' saves the cursor and ignores
	// its parameters).
	e.RegisterCsiHandler('H', clampTo(height, width))
	e.RegisterCsiHandler('f', clampTo(height, width))
	e.RegisterCsiHandler('r', clampTo(height, height))
	e.RegisterCsiHandler('s', clampTo(width, width))
	// REP prints the last character n times.
	e.RegisterCsiHandler('b', func(p ansi.Params) bool {
		if n, _, ok := p.Param(0, 1); ok {
			setParam(p, 0, repCount(n, e.Width(), e.Height()))
		}
		return false
	})
}

// repCount is a REP count with the effect of n on a screen of w×h, at
// most w×(h+3). The character it repeats is always one column wide (the
// emulator repeats nothing else), so w of them move the cursor a whole
// line: once the scroll region is full of the character, which takes at
// most w×(h+2) (the line the cursor starts on, the region's lines and a
// pending wrap), every w more leave the screen and the cursor as they
// were. Lines above the region do not change and the ones scrolled off
// go to a scrollback of scrollbackLines, which redraws never show.
func repCount(n, w, h int) int {
	full := w * (h + 2)
	if n <= full+w {
		return n
	}
	return full + (n-full)%w
}

// clampParam lowers parameter i of p to at most limit (and at least 1).
// A missing parameter is left alone: it stands for the default, 1 or
// the screen's edge.
func clampParam(p ansi.Params, i, limit int) {
	if n, _, ok := p.Param(i, -1); ok && n != -1 && n > limit {
		setParam(p, i, max(limit, 1))
	}
}

// setParam sets parameter i of p to n, keeping its sub-parameter flag.
func setParam(p ansi.Params, i, n int) {
	p[i] = ansi.Param(ansi.Parameter(n, p[i].HasMore()))
}

// Render draws the screen for a client that attaches now: the note (if
// any) as a line of its own, the screen's cells with their styles, the
// modes the programs set (cursor keys, bracketed paste, mouse) and the
// cursor. A full-screen program's alternate screen is entered as such,
// so that the client's own screen comes back when the program ends; the
// note is left on that main screen.
func (s *Screen) Render(note string) []byte {
	e := s.emu
	var b strings.Builder
	b.WriteString(ansi.ResetStyle)
	lines := strings.Split(e.Render(), "\n")
	cur := e.CursorPosition()
	top := 0 // the client's row of the screen's first line
	if e.IsAltScreen() {
		if note != "" {
			b.WriteString("\r\n" + note + "\r\n")
		}
		b.WriteString(ansi.SetMode(ansi.ModeAltScreenSaveCursor))
		b.WriteString(ansi.CursorHomePosition + ansi.EraseEntireScreen)
		for y, l := range lines {
			fmt.Fprintf(&b, "\x1b[%d;1H%s%s", y+1, l, ansi.ResetStyle)
		}
	} else {
		// The main screen is written as a stream from the top, after the
		// note: what does not fit scrolls into the client's scrollback,
		// as it would have on a terminal that stayed attached.
		n := cur.Y + 1
		for y := len(lines) - 1; y >= n; y-- {
			if strings.TrimSpace(lines[y]) != "" {
				n = y + 1
				break
			}
		}
		b.WriteString(ansi.CursorHomePosition + ansi.EraseEntireScreen)
		rows := 0
		if note != "" {
			b.WriteString(note)
			rows++
		}
		for y := 0; y < n && y < len(lines); y++ {
			if rows > 0 {
				b.WriteString("\r\n")
			}
			b.WriteString(lines[y] + ansi.ResetStyle)
			rows++
		}
		top = rows - n - max(0, rows-e.Height())
	}
	for m := range s.modes {
		switch m {
		case ansi.ModeAltScreen, ansi.ModeAltScreenSaveCursor, ansi.ModeSaveCursor, ansi.ModeTextCursorEnable:
			// Entered above, or a one-off action rather than a state.
		default:
			b.WriteString(ansi.SetMode(m))
		}
	}
	fmt.Fprintf(&b, "\x1b[%d;%dH", cur.Y+top+1, cur.X+1)
	if e.CursorHidden() {
		b.WriteString(ansi.HideCursor)
	} else {
		b.WriteString(ansi.ShowCursor)
	}
	return []byte(b.String())
}
