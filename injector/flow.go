package injector

import (
	"bytes"
	"fmt"

	"github.com/pitstopci/pitstop/workflows"
)

// flowList is a flow sequence ("[ a, b ]") found in the text.
type flowList struct {
	open, close int    // offsets of "[" and "]"
	items       []span // each entry, without the blanks and comments around it
	trailing    bool   // a "," follows the last entry
}

type span struct{ start, end int }

func isBlank(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

// scanFlow reads the flow sequence that starts at off (perhaps after an
// anchor or a tag). It only needs to find the entries' boundaries: commas
// and brackets outside quotes and comments at nesting depth zero.
// yaml.v3 has already accepted the text; anything this scanner gets wrong
// shows up in the check of the result.
func scanFlow(src []byte, off int) (*flowList, error) {
	i := off
	for i < len(src) && src[i] != '[' {
		switch c := src[i]; {
		case isBlank(c):
			i++
		case c == '&' || c == '!':
			for i < len(src) && !isBlank(src[i]) {
				i++
			}
		case c == '#':
			for i < len(src) && src[i] != '\n' {
				i++
			}
		default:
			return nil, fmt.Errorf("no \"[\" where the steps list starts")
		}
	}
	if i >= len(src) {
		return nil, fmt.Errorf("no \"[\" where the steps list starts")
	}
	fl := &flowList{open: i}
	depth, item := 0, span{-1, -1}
	closeItem := func() {
		if item.start >= 0 {
			fl.items = append(fl.items, item)
		}
		item = span{-1, -1}
	}
	for i++; i < len(src); i++ {
		c := src[i]
		switch {
		case isBlank(c):
			continue
		case c == '#' && (item.start < 0 || isBlank(src[i-1]) || bytes.IndexByte([]byte("[{,"), src[i-1]) >= 0):
			// A comment: "#" where a token may start. Inside a plain
			// scalar ("a#b") it is text.
			for i < len(src) && src[i] != '\n' {
				i++
			}
			continue
		case (c == '"' || c == '\'') && bytes.IndexByte([]byte(" \t\r\n[{,:"), src[i-1]) >= 0:
			end := skipQuoted(src, i)
			if end < 0 {
				return nil, fmt.Errorf("unterminated quoted string in the steps list")
			}
			if item.start < 0 {
				item.start = i
			}
			item.end, i = end, end-1
			continue
		case c == '[' || c == '{':
			depth++
		case (c == ']' || c == '}') && depth > 0:
			depth--
		case c == ']':
			fl.trailing = item.start < 0 && len(fl.items) > 0
			closeItem()
			fl.close = i
			return fl, nil
		case c == ',' && depth == 0:
			if item.start < 0 {
				return nil, fmt.Errorf("empty entry in the steps list")
			}
			closeItem()
			continue
		}
		if item.start < 0 {
			item.start = i
		}
		item.end = i + 1
	}
	return nil, fmt.Errorf("no \"]\" at the end of the steps list")
}

// skipQuoted returns the offset just past the quoted scalar starting at
// i, or -1.
func skipQuoted(src []byte, i int) int {
	q := src[i]
	for j := i + 1; j < len(src); j++ {
		switch {
		case q == '"' && src[j] == '\\':
			j++
		case src[j] == q && q == '\'' && j+1 < len(src) && src[j+1] == '\'':
			j++
		case src[j] == q:
			return j + 1
		}
	}
	return -1
}

// gap is what separates an entry from the one before it, for an entry
// that starts at off: a line break and the line's indentation when the
// entry starts its line, a space otherwise.
func (e *edit) gap(off int) string {
	ls := bytes.LastIndexByte(e.src[:off], '\n') + 1
	if ls > 0 && len(bytes.Trim(e.src[ls:off], " \t")) == 0 {
		return e.t.newline(bytes.Count(e.src[:ls-1], []byte("\n"))+1) + string(e.src[ls:off])
	}
	return " "
}

func (e *edit) flowList() (*flowList, error) {
	off := e.t.offset(e.job.StepsPos)
	if off < 0 {
		return nil, fmt.Errorf("the steps list is not where the parser says")
	}
	fl, err := scanFlow(e.src, off)
	if err != nil {
		return nil, err
	}
	if len(fl.items) != len(e.job.Steps) {
		return nil, fmt.Errorf("found %d entries in the steps list, expected %d", len(fl.items), len(e.job.Steps))
	}
	return fl, nil
}

func (e *edit) flowError(err error) error {
	return &workflows.Error{File: e.file, Pos: e.job.StepsPos, Msg: fmt.Sprintf(
		"cannot read the flow-style steps list of job %q, so nothing was changed (%v)", e.job.ID, err)}
}

// insertFlow inserts the pause after entry n of a flow list, as one
// contiguous piece of text that removeFlow can take out again exactly.
func (e *edit) insertFlow(n int) ([]byte, error) {
	fl, err := e.flowList()
	if err != nil {
		return nil, e.flowError(err)
	}
	s := e.p.flow()
	var sp splice
	switch {
	case len(fl.items) == 0: // "[]" becomes "[{...}]"
		sp = splice{off: fl.open + 1, text: s}
	case n < len(fl.items): // before entry n+1: "{...}, " + that entry
		at := fl.items[n].start
		sp = splice{off: at, text: s + "," + e.gap(at)}
	case fl.trailing: // "[a, b,]" becomes "[a, b, {...},]"
		comma := bytes.IndexByte(e.src[fl.items[n-1].end:], ',') + fl.items[n-1].end
		sp = splice{off: comma + 1, text: e.gap(fl.items[n-1].start) + s + ","}
	default: // after the last entry: ", {...}"
		sp = splice{off: fl.items[n-1].end, text: "," + e.gap(fl.items[n-1].start) + s}
	}
	sp.end = sp.off
	out, err := e.first([]splice{sp}, e.checkInsert(n))
	if err != nil {
		return nil, err
	}
	// Flow text is free-form enough (comments, odd spacing) that the
	// promise "Remove gives back these exact bytes" is checked, not
	// assumed.
	j, err := e.result.Job(e.job.ID)
	if err != nil {
		return nil, err
	}
	back := &edit{file: e.file, src: out, t: newText(out), w: e.result, job: j}
	if orig, err := back.removeFlow(n); err != nil || !bytes.Equal(orig, e.src) {
		return nil, &workflows.Error{File: e.file, Pos: e.job.StepsPos, Msg: fmt.Sprintf(
			"cannot insert into the flow-style steps list of job %q so that --remove restores it exactly, so nothing was changed; write the list in block style (one \"- \" per step) to pause it", e.job.ID)}
	}
	return out, nil
}

// removeFlow takes entry n out of a flow list, with the separator that
// insertFlow added along with it.
func (e *edit) removeFlow(n int) ([]byte, error) {
	fl, err := e.flowList()
	if err != nil {
		return nil, e.flowError(err)
	}
	it := fl.items
	var sp splice
	switch {
	case len(it) == 1:
		sp = splice{off: it[0].start, end: it[0].end}
	case n+1 < len(it):
		sp = splice{off: it[n].start, end: it[n+1].start}
	default:
		sp = splice{off: it[n-1].end, end: it[n].end}
	}
	return e.first([]splice{sp}, e.checkRemove(n))
}
