package workflows

import (
	"bytes"
	"unicode/utf8"
)

// bom is the UTF-8 byte order mark. yaml.v3 skips it and does not count it
// as a column, so position arithmetic must skip it too.
const bom = "\ufeff"

// posAt converts a byte offset in src into a Pos that agrees with yaml.v3:
// lines end at "\n", columns count characters, and a leading BOM is not a
// column.
func posAt(src []byte, off int) Pos {
	line := 1 + bytes.Count(src[:off], []byte{'\n'})
	start := bytes.LastIndexByte(src[:off], '\n') + 1
	if start == 0 && bytes.HasPrefix(src, []byte(bom)) {
		start = len(bom)
	}
	if off < start {
		return Pos{Line: line, Col: 1}
	}
	return Pos{Line: line, Col: 1 + utf8.RuneCount(src[start:off])}
}

// checkText rejects input that is not a text file pitstop can edit
// faithfully. Binary data gets its own message, since that usually means a
// wrong path rather than a broken workflow. Line breaks other than LF and
// CRLF are refused because YAML counts them as new lines while editors and
// diff tools do not, so every position after them would be wrong.
func checkText(file string, src []byte) error {
	if i := bytes.IndexByte(src, 0); i >= 0 {
		return errorf(file, posAt(src, i), "binary file (NUL byte); a workflow is UTF-8 text")
	}
	if !utf8.Valid(src) {
		i := firstInvalid(src)
		return errorf(file, posAt(src, i), "not UTF-8 text (invalid byte 0x%02x); a workflow is UTF-8 text", src[i])
	}
	for i := 0; i < len(src); i++ {
		switch src[i] {
		case '\r':
			if i+1 >= len(src) || src[i+1] != '\n' {
				return errorf(file, posAt(src, i), "carriage return without line feed; use LF or CRLF line endings")
			}
		case 0xC2, 0xE2:
			r, _ := utf8.DecodeRune(src[i:])
			if r == '\u0085' || r == '\u2028' || r == '\u2029' {
				return errorf(file, posAt(src, i), "character U+%04X is a line break in YAML but not in editors; replace it with a newline or remove it", r)
			}
		}
	}
	return nil
}

func firstInvalid(src []byte) int {
	for i := 0; i < len(src); {
		r, n := utf8.DecodeRune(src[i:])
		if r == utf8.RuneError && n <= 1 {
			return i
		}
		i += n
	}
	return 0
}

// lineIndex gives the byte offset where each line starts, for turning
// yaml.v3 positions back into places in the original bytes.
type lineIndex struct {
	src   []byte
	start []int // start[i] is the offset of line i+1
}

func newLineIndex(src []byte) *lineIndex {
	li := &lineIndex{src: src, start: []int{0}}
	if bytes.HasPrefix(src, []byte(bom)) {
		li.start[0] = len(bom)
	}
	for i, c := range src {
		if c == '\n' {
			li.start = append(li.start, i+1)
		}
	}
	return li
}

// text returns line n (1-based) without its line ending.
func (li *lineIndex) text(n int) []byte {
	if n < 1 || n > len(li.start) {
		return nil
	}
	end := len(li.src)
	if n < len(li.start) {
		end = li.start[n] - 1
	}
	b := li.src[li.start[n-1]:end]
	return bytes.TrimSuffix(b, []byte{'\r'})
}

// offset returns the byte offset of p, or -1 when p is not in the file.
func (li *lineIndex) offset(p Pos) int {
	b := li.text(p.Line)
	if b == nil && p.Line != len(li.start) {
		return -1
	}
	c := ColumnOffset(b, p.Col)
	if c < 0 {
		return -1
	}
	return li.start[p.Line-1] + c
}

// ColumnOffset returns the byte offset within line of the 1-based column
// col, or -1 when the line is shorter. Columns count characters, as
// positions do, so that a name in a non-ASCII script does not shift them.
func ColumnOffset(line []byte, col int) int {
	off := 0
	for c := 1; c < col; c++ {
		if off >= len(line) {
			return -1
		}
		_, n := utf8.DecodeRune(line[off:])
		off += n
	}
	return off
}

// findDash locates the "-" that introduces the block sequence item whose
// node starts at p. It is usually on the same line ("- run: x"), but YAML
// also allows the dash alone on an earlier line, followed by comments.
func (li *lineIndex) findDash(p Pos) (Pos, bool) {
	off := li.offset(p)
	if off < 0 {
		return Pos{}, false
	}
	// Same line: the text before the item is indentation, "-", blanks.
	prefix := li.src[li.start[p.Line-1]:off]
	if d, ok := dashIn(prefix, false); ok {
		return Pos{Line: p.Line, Col: d + 1}, true
	}
	if len(bytes.TrimLeft(prefix, " \t")) != 0 {
		return Pos{}, false
	}
	for n := p.Line - 1; n >= 1; n-- {
		t := li.text(n)
		trimmed := bytes.TrimLeft(t, " ")
		if len(trimmed) == 0 || trimmed[0] == '#' {
			continue
		}
		if d, ok := dashIn(t, true); ok {
			return Pos{Line: n, Col: d + 1}, true
		}
		return Pos{}, false
	}
	return Pos{}, false
}

// dashIn reports the 0-based column of a lone "-" indicator in b: spaces,
// "-", then only blanks (and, when alone is set, an optional comment). The
// dash is ASCII and preceded only by spaces, so its byte index is its
// column.
func dashIn(b []byte, alone bool) (int, bool) {
	i := 0
	for i < len(b) && b[i] == ' ' {
		i++
	}
	if i >= len(b) || b[i] != '-' {
		return 0, false
	}
	rest := b[i+1:]
	if len(rest) > 0 && rest[0] != ' ' && rest[0] != '\t' {
		return 0, false
	}
	rest = bytes.TrimLeft(rest, " \t")
	if len(rest) == 0 || (alone && rest[0] == '#') {
		return i, true
	}
	return 0, false
}
