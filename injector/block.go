package injector

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/pitstopci/pitstop/workflows"
)

// dashCol is the column of the steps' "-" indicators. A block list keeps
// them in one column; anything else is not a list pitstop understands.
func (e *edit) dashCol() (int, error) {
	col := e.job.Steps[0].Pos.Col
	for _, s := range e.job.Steps {
		if s.Pos.Col != col || !e.dashAt(s.Pos) {
			return 0, &workflows.Error{File: e.file, Pos: s.Pos, Msg: fmt.Sprintf(
				"cannot find the \"-\" of step %d of job %q, so nothing was changed", s.Number, e.job.ID)}
		}
	}
	return col, nil
}

func (e *edit) dashAt(p workflows.Pos) bool {
	off := e.t.offset(p)
	return off >= 0 && off < len(e.src) && e.src[off] == '-'
}

// insertBlock inserts the pause after step n of a block list.
func (e *edit) insertBlock(n int) ([]byte, error) {
	steps := e.job.Steps
	dash, err := e.dashCol()
	if err != nil {
		return nil, err
	}
	// Copy the list style from the neighbour the pause will sit next to:
	// the bytes between its "-" and its first key ("- ", "-   ", "-\t").
	nb := steps[0]
	if n > 0 {
		nb = steps[n-1]
	}
	marker := "- "
	if nb.ItemPos.Line == nb.Pos.Line {
		if a, b := e.t.offset(nb.Pos), e.t.offset(nb.ItemPos); a >= 0 && b > a {
			if m := string(e.src[a:b]); strings.Trim(m[1:], " \t") == "" && len(m) > 1 {
				marker = m
			}
		}
	}
	indent := strings.Repeat(" ", dash-1)
	rest := indent + strings.Repeat(" ", utf8.RuneCountInString(marker))
	unit := 2
	if u := e.job.StepsKeyPos.Col - e.job.Pos.Col; u > 0 {
		unit = u
	}
	body := e.p.block(indent+marker, rest, strings.Repeat(" ", unit))

	// Candidate lines to insert before, best first.
	var from, to int
	if n == 0 {
		// Right under "steps:", so comments above step 1 stay with it.
		from, to = e.job.StepsKeyPos.Line+1, steps[0].Pos.Line
	} else {
		s := steps[n-1]
		limit := e.listEnd(s.Pos.Line, dash)
		if n < len(steps) {
			limit = steps[n].Pos.Line
		}
		// Just after the step's last line indented past the dash: its
		// trailing comments and blank lines stay where they are.
		from = s.Pos.Line + 1
		for l := s.Pos.Line + 1; l < limit; l++ {
			if col, blank, _ := e.t.indent(l); !blank && col > dash {
				from = l + 1
			}
		}
		from = max(from, s.LastLine+1)
		to = limit
	}
	var cands []splice
	for _, l := range candidateLines(from, to) {
		cands = append(cands, e.insertAt(l, body))
	}
	return e.first(cands, e.checkInsert(n))
}

// maxCandidates bounds how many placements are tried (each costs a parse
// of the whole file), so that a step followed by thousands of blank lines
// cannot make an edit quadratic.
const maxCandidates = 32

// candidateLines lists the lines from..to in the order to try them: the
// preferred first line, then the last one (right before whatever follows,
// which is always past the end of the step), then those in between.
func candidateLines(from, to int) []int {
	if to < from {
		return nil
	}
	ls := []int{from}
	if to > from {
		ls = append(ls, to)
	}
	for l := from + 1; l < to && len(ls) < maxCandidates; l++ {
		ls = append(ls, l)
	}
	return ls
}

// listEnd finds the line after a block list whose last item starts at line
// start: the first line that is neither blank, nor a comment, nor indented
// past the dash. It is t.lines()+1 at the end of the file.
func (e *edit) listEnd(start, dash int) int {
	for l := start + 1; l <= e.t.lines(); l++ {
		if col, blank, comment := e.t.indent(l); !blank && !comment && col <= dash {
			return l
		}
	}
	return e.t.lines() + 1
}

// insertAt inserts whole lines before line l (t.lines()+1: at the end).
func (e *edit) insertAt(l int, body []string) splice {
	eol := e.t.newline(l - 1)
	off := e.t.lineStart(l)
	if l > e.t.lines() && !e.t.endsWithNewline() {
		// The file ends without a newline: end the last line, and leave the
		// pause without one, as the file was. Remove undoes both.
		txt := eol + strings.TrimSuffix(lines(body, eol), eol)
		return splice{off: off, end: off, text: txt}
	}
	return splice{off: off, end: off, text: lines(body, eol)}
}

// removeBlock takes step n of a block list out: its lines from the "-"
// to its last line. A value that runs over several lines makes the end
// uncertain, so the candidates grow a line at a time.
func (e *edit) removeBlock(n int) ([]byte, error) {
	steps := e.job.Steps
	dash, err := e.dashCol()
	if err != nil {
		return nil, err
	}
	s := steps[n]
	limit := e.listEnd(s.Pos.Line, dash)
	if n+1 < len(steps) {
		limit = steps[n+1].Pos.Line
	}
	var cands []splice
	for last := max(s.LastLine, s.Pos.Line); last < limit && len(cands) < maxCandidates; last++ {
		off, end := e.t.lineStart(s.Pos.Line), e.t.lineEnd(last)
		if last == e.t.lines() && !e.t.endsWithNewline() && s.Pos.Line > 1 {
			// Undo insertAt at the end of a file without a final newline.
			off -= len(e.t.eol(s.Pos.Line - 1))
		}
		cands = append(cands, splice{off: off, end: end})
	}
	return e.first(cands, e.checkRemove(n))
}
