package access

import (
	"strings"
	"testing"
)

func TestDisplayName(t *testing.T) {
	for in, want := range map[string]string{
		"me@laptop":                      "me@laptop",
		"\x1b[31mred\x1b[m \x07bell\x7f": "red bell",
		"a\u009b2Jb\u200f\u202ec":        "a2Jbc", // C1 CSI, bidi marks
		"bad\xffutf8":                    "bad?utf8",
		" \t ":                           "",
		strings.Repeat("x", 100):         strings.Repeat("x", maxDisplayName) + "...",
	} {
		if got := displayName(in); got != want {
			t.Errorf("displayName(%q) = %q, want %q", in, got, want)
		}
	}
}
