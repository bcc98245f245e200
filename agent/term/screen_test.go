package term

import (
	"fmt"
	"strings"
	"testing"
	"time"

	uv "github.com/charmbracelet/ultraviolet"
	"github.com/charmbracelet/x/vt"
)

// errOverBudget stops an emulator that moved its cursor more often than
// the test allows.
type errOverBudget struct{ moves int }

// feedBounded writes each of inputs to a new screen of w×h, and fails the
// test if one takes more work than the screen's size allows. The work is
// counted, not timed, where the emulator shows it: each character
// printed moves the cursor, so cursor moves bound printing (REP). The
// budget is a screenful and a few lines per input byte: every sequence is
// at least 3 bytes, and no sequence may print more than that. Fills and
// scrolls move no cursor; they are bounded by the screen's size with
// their counts clamped, and a run of output bounded in bytes must end
// within limit, which is generous: bounded inputs of this size take
// milliseconds even under the race detector, the unbounded ones minutes.
func feedBounded(t *testing.T, w, h int, limit time.Duration, inputs ...[]byte) *Screen {
	t.Helper()
	s := NewScreen(w, h)
	t.Cleanup(s.Close)
	var moves, budget int
	s.emu.SetCallbacks(vt.Callbacks{CursorPosition: func(uv.Position, uv.Position) {
		if moves++; moves > budget {
			panic(errOverBudget{moves})
		}
	}})
	for _, in := range inputs {
		moves, budget = 0, (len(in)+1)*w*(h+3)
		done := make(chan any, 1)
		go func() {
			defer func() { done <- recover() }()
			s.emu.Write(in) //nolint:errcheck // in memory
		}()
		select {
		case r := <-done:
			if ob, ok := r.(errOverBudget); ok {
				t.Fatalf("%q on %d×%d: more than %d cursor moves", trimQuote(in), w, h, ob.moves-1)
			} else if r != nil {
				t.Fatalf("%q on %d×%d: %v", trimQuote(in), w, h, r)
			}
		case <-time.After(limit):
			t.Fatalf("%q on %d×%d: still busy after %v", trimQuote(in), w, h, limit)
		}
	}
	return s
}

func trimQuote(b []byte) string {
	if len(b) > 80 {
		return string(b[:80]) + "..."
	}
	return string(b)
}

// TestScreenBoundsCostlySequences: the sequences that kept the emulator
// busy for minutes (or indexed past its buffer) cost a screenful at most,
// and the screen shows what a terminal would.
func TestScreenBoundsCostlySequences(t *testing.T) {
	for _, tc := range []struct {
		name, out string
		want      func(*Screen) string // "" when right
	}{
		{"repeat", "x\x1b[999999999b", func(s *Screen) string {
			if got := s.emu.String(); strings.Count(got, "x") != 80*24 {
				return fmt.Sprintf("want a screen full of x, got %q", got)
			}
			return ""
		}},
		{"scroll region down", "top\x1b[1;999999999r\x1b[999999999T", nil},
		{"scroll region up", "top\x1b[1;999999999r\x1b[999999999S", nil},
		{"insert lines", "top\x1b[2;999999999r\x1b[3;1H\x1b[999999999L", nil},
		{"delete lines", "top\x1b[2;999999999r\x1b[3;1H\x1b[999999999M", nil},
		{"erase characters", "top\x1b[1;1H\x1b[999999999X", func(s *Screen) string {
			if got := strings.TrimSpace(s.emu.String()); got != "" {
				return fmt.Sprintf("want the line erased, got %q", got)
			}
			return ""
		}},
		{"insert characters", "top\x1b[1;1H\x1b[999999999@", nil},
		{"delete characters", "top\x1b[1;1H\x1b[999999999P", nil},
		{"left and right margins", "\x1b[?69h\x1b[1;999999999s\x1b[999999999@x\x1b[999999999b", nil},
		{"tabs", "\x1b[999999999I\x1b[999999999Z", nil},
		{"cursor", "\x1b[999999999;999999999H\x1b[999999999A\x1b[999999999C\x1b[999999999e\x1b[999999999a", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := feedBounded(t, 80, 24, 10*time.Second, []byte(tc.out))
			if tc.want != nil {
				if msg := tc.want(s); msg != "" {
					t.Error(msg)
				}
			}
			// The screen still works.
			s.emu.Write([]byte("\x1b[r\x1b[H\x1b[2Jok")) //nolint:errcheck // in memory
			if got := strings.TrimSpace(s.emu.String()); got != "ok" {
				t.Errorf("after a reset the screen shows %q", got)
			}
		})
	}
}

// TestScreenRepeatAsTerminal: a clamped REP leaves the screen and the
// cursor as the whole count would, margins, origin and wrapping modes
// included: compared with the emulator left alone, on a screen small
// enough for it to do the whole count.
func TestScreenRepeatAsTerminal(t *testing.T) {
	const w, h = 7, 4
	prefixes := []string{"", "ab\r\n", "\x1b[2;3r\x1b[3;5H", "\x1b[2;3r\x1b[1;1H", "\x1b[?7l", "\x1b[?6h\x1b[2;3r",
		"\x1b[?69h\x1b[2;5s\x1b[1;3H", "\x1b[4;1H", "\x1b[1;7H"}
	for _, pre := range prefixes {
		// From below the clamp to a few periods above it.
		for n := w*(h+2) - 2; n <= w*(h+4)+1; n++ {
			out := fmt.Sprintf("%sq\x1b[%db", pre, n)
			bounded := NewScreen(w, h)
			raw := vt.NewEmulator(w, h)
			raw.SetScrollbackSize(scrollbackLines)
			bounded.emu.Write([]byte(out)) //nolint:errcheck // in memory
			raw.Write([]byte(out))         //nolint:errcheck // in memory
			got, want := bounded.emu.Render()+fmt.Sprint(bounded.emu.CursorPosition()), raw.Render()+fmt.Sprint(raw.CursorPosition())
			bounded.Close()
			raw.InputPipe().(interface{ Close() error }).Close()
			if got != want {
				t.Fatalf("%q: the clamped count gives\n%s\nthe whole count\n%s", out, got, want)
			}
		}
	}
}

// TestScreenStringDataShrunk: the emulator's parser got the small buffer
// for string payloads, not vt's 4 MiB.
func TestScreenStringDataShrunk(t *testing.T) {
	if !shrinkStringData(vt.NewEmulator(80, 24), stringDataSize) {
		t.Fatal("the emulator's parser was not found: vt changed, see shrinkStringData")
	}
	// A title longer than the buffer is cut, and the screen goes on.
	s := NewScreen(80, 24)
	defer s.Close()
	s.emu.Write([]byte("\x1b]2;" + strings.Repeat("t", 3*stringDataSize) + "\x07after")) //nolint:errcheck // in memory
	if got := strings.TrimSpace(s.emu.String()); got != "after" {
		t.Errorf("screen after a long title: %q", got)
	}
}

// FuzzScreenBounded feeds arbitrary output to a screen: none may take
// more work than its size allows (see feedBounded) or crash it.
func FuzzScreenBounded(f *testing.F) {
	for _, seed := range []string{
		"x\x1b[999999999b",
		"\x1b[1;999999999r\x1b[999999999T",
		"\x1b[?69h\x1b[1;999999999s\x1b[999999999@",
		"\x1b[2;20r\x1b[?6h\x1b[99999999;99999999H\x1b[99999999X",
		"\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\\x1b[999999999b",
		"e\u0301\u0301\u0301\x1b[99999b\x1b(0q\x1b[9999999b",
		"\x1bP1$r" + strings.Repeat("x", 5000) + "\x1b\\",
		"\x1b[99999999999999999999999999999b\x1b[4294967295M",
	} {
		f.Add([]byte(seed), uint8(80), uint8(24))
	}
	f.Fuzz(func(t *testing.T, out []byte, w, h uint8) {
		if len(out) > 4<<10 {
			out = out[:4<<10]
		}
		feedBounded(t, max(int(w), 1), max(int(h)%100, 1), 10*time.Second, out)
	})
}
