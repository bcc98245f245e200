package injector

import (
	"bytes"
	"unicode/utf8"

	"github.com/pitstopci/pitstop/workflows"
)

// text indexes the lines of a file so that yaml.v3 positions can be turned
// back into byte offsets. Lines end at "\n" (a "\r" before it belongs to
// the line ending); a final newline does not start another line.
type text struct {
	src   []byte
	start []int // start[i] is the offset of line i+1
}

func newText(src []byte) *text {
	t := &text{src: src, start: []int{0}}
	if bytes.HasPrefix(src, []byte("\ufeff")) {
		t.start[0] = 3 // yaml.v3 does not count a byte order mark as a column
	}
	for i, c := range src {
		if c == '\n' && i+1 < len(src) {
			t.start = append(t.start, i+1)
		}
	}
	return t
}

// lines is the number of lines.
func (t *text) lines() int { return len(t.start) }

// lineStart is the offset where line n starts; lines()+1 is the end of
// the file.
func (t *text) lineStart(n int) int {
	if n > len(t.start) {
		return len(t.src)
	}
	return t.start[n-1]
}

// lineEnd is the offset just past line n's line ending.
func (t *text) lineEnd(n int) int { return t.lineStart(n + 1) }

// content is line n without its line ending.
func (t *text) content(n int) []byte {
	b := t.src[t.lineStart(n):t.lineEnd(n)]
	b = bytes.TrimSuffix(b, []byte("\n"))
	return bytes.TrimSuffix(b, []byte("\r"))
}

// eol is line n's line ending: "\n", "\r\n", or "" for a last line
// without one.
func (t *text) eol(n int) string {
	b := t.src[t.lineStart(n):t.lineEnd(n)]
	switch {
	case bytes.HasSuffix(b, []byte("\r\n")):
		return "\r\n"
	case bytes.HasSuffix(b, []byte("\n")):
		return "\n"
	}
	return ""
}

// endsWithNewline reports whether the file's last line has a line ending.
func (t *text) endsWithNewline() bool {
	return len(t.src) == 0 || t.src[len(t.src)-1] == '\n'
}

// newline picks the line ending for lines inserted after line n: that
// line's own, else the file's first, else "\n".
func (t *text) newline(n int) string {
	if n >= 1 && n <= t.lines() {
		if e := t.eol(n); e != "" {
			return e
		}
	}
	if e := t.eol(1); e != "" {
		return e
	}
	return "\n"
}

// offset converts a position (1-based line, column in characters) into a
// byte offset, or -1 when it is not in the file.
func (t *text) offset(p workflows.Pos) int {
	if p.Line < 1 || p.Line > t.lines() {
		return -1
	}
	c := workflows.ColumnOffset(t.content(p.Line), p.Col)
	if c < 0 {
		return -1
	}
	return t.lineStart(p.Line) + c
}

// indent describes line n: the 1-based column of its first character
// that is not a space, whether it is blank, and whether it holds only a
// comment.
func (t *text) indent(n int) (col int, blank, comment bool) {
	b := t.content(n)
	i := 0
	for i < len(b) && (b[i] == ' ' || b[i] == '\t') {
		i++
	}
	if i == len(b) {
		return 0, true, false
	}
	return 1 + utf8.RuneCount(b[:i]), false, b[i] == '#'
}
