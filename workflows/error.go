package workflows

import (
	"fmt"
	"strconv"
	"strings"
)

// Pos is a position in a workflow file. Line and Col count from 1; Col
// counts characters, not bytes, the way yaml.v3 and editors do. The zero
// Pos means "no particular place".
type Pos struct{ Line, Col int }

// IsZero reports whether p names no place.
func (p Pos) IsZero() bool { return p.Line == 0 && p.Col == 0 }

// String formats p as "LINE:COL" (or "LINE" when the column is unknown).
func (p Pos) String() string {
	if p.Col == 0 {
		return strconv.Itoa(p.Line)
	}
	return strconv.Itoa(p.Line) + ":" + strconv.Itoa(p.Col)
}

// Error is a problem with a workflow file, at a place in it when there is
// one. It prints as "FILE:LINE:COL: msg", leaving out what is unknown, so
// editors and terminals can link to the spot.
type Error struct {
	File string // the name the file was read under; "" leaves it out
	Pos  Pos    // zero when the problem is the file as a whole
	Msg  string // lower-case, no trailing period
}

// Error implements error.
func (e *Error) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		b.WriteByte(':')
	}
	if e.Pos.Line > 0 {
		b.WriteString(e.Pos.String())
		b.WriteByte(':')
	}
	if b.Len() > 0 {
		b.WriteByte(' ')
	}
	b.WriteString(e.Msg)
	return b.String()
}

// errorf builds an *Error; it keeps call sites to one line.
func errorf(file string, pos Pos, format string, args ...any) *Error {
	return &Error{File: file, Pos: pos, Msg: fmt.Sprintf(format, args...)}
}
