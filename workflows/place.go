package workflows

import (
	"strings"

	"gopkg.in/yaml.v3"
)

// This file answers the questions of a caller that edits a workflow's
// text in place (package injector): how a setting is written where it
// applies, and which bytes a one-line value takes. The answers are read
// here so that no other package walks YAML; the edits stay with the
// caller.

// Form is how a value is written at the place it applies to.
type Form int

const (
	// NotHere means the value is not written there: it is an alias, it
	// comes in through a "<<" merge key or an aliased job, or it is
	// something other than a scalar or a mapping. Its text is shared with
	// another place, or is not a setting pitstop edits, so it is not the
	// caller's to change.
	NotHere Form = iota
	// Scalar is a scalar written in place; Span says where its text is
	// when it fits on one line.
	Scalar
	// BlockMapping is a mapping written one key a line.
	BlockMapping
	// FlowMapping is a mapping written "{ ... }".
	FlowMapping
)

// Span is a range of bytes in the file, [Start, End). The zero Span is
// empty: no value's text starts at offset 0, since a key comes first.
type Span struct{ Start, End int }

// IsZero reports whether s names no bytes.
func (s Span) IsZero() bool { return s.End <= s.Start }

// Key is a key of a mapping and where it is written.
type Key struct {
	Name string
	Pos  Pos
}

// form says how v, the value of a key written in place (inPlace is false
// when the key came through a merge key or an aliased mapping), is
// written.
func form(v *yaml.Node, inPlace bool) Form {
	switch {
	case !inPlace || v == nil:
		return NotHere
	case v.Kind == yaml.ScalarNode:
		return Scalar
	case v.Kind == yaml.MappingNode && v.Style&yaml.FlowStyle != 0:
		return FlowMapping
	case v.Kind == yaml.MappingNode:
		return BlockMapping
	}
	return NotHere
}

// span returns the bytes of n's text when n is a scalar written on one
// line: plain, single- or double-quoted. Block scalars, multi-line
// values, aliases and empty plain values have no span.
func (w *Workflow) span(n *yaml.Node) Span {
	if n == nil || n.Kind != yaml.ScalarNode {
		return Span{}
	}
	start := w.lines.offset(pos(n))
	if start < 0 {
		return Span{}
	}
	text := w.lines.text(n.Line)
	line := text[start-w.lines.start[n.Line-1]:]
	if end, ok := scalarEnd(line, n); ok {
		return Span{Start: start, End: start + end}
	}
	return Span{}
}

// scalarEnd is where n's text, which line starts with, ends on the line.
func scalarEnd(line []byte, n *yaml.Node) (int, bool) {
	switch n.Style {
	case yaml.DoubleQuotedStyle:
		for i := 1; i < len(line); i++ {
			switch line[i] {
			case '\\':
				i++
			case '"':
				return i + 1, true
			}
		}
	case yaml.SingleQuotedStyle:
		for i := 1; i < len(line); i++ {
			if line[i] == '\'' {
				if i+1 < len(line) && line[i+1] == '\'' {
					i++
					continue
				}
				return i + 1, true
			}
		}
	case 0: // plain: one line's is its text, up to a comment, or a , or } in a flow mapping
		if n.Value != "" && !strings.Contains(n.Value, "\n") && strings.HasPrefix(string(line), n.Value) {
			return len(n.Value), true
		}
	}
	return 0, false
}

// EndsWithRun reports whether the value written last in the file is a
// scalar under a "run" key: a step's script, the one value that may gain
// a final line break when a step is added after it (a shell does not
// care).
func (w *Workflow) EndsWithRun() bool {
	key, last := lastValue(w.doc, nil, 0)
	return key != nil && key.Value == "run" && last.Kind == yaml.ScalarNode
}

// lastValue returns the node that comes last in the text under n, with
// the mapping key it is the value of (nil for a list item or the root).
func lastValue(n, key *yaml.Node, depth int) (*yaml.Node, *yaml.Node) {
	if depth > 10000 {
		return key, n
	}
	switch n.Kind {
	case yaml.DocumentNode, yaml.SequenceNode:
		if len(n.Content) > 0 {
			return lastValue(n.Content[len(n.Content)-1], nil, depth+1)
		}
	case yaml.MappingNode:
		if k := len(n.Content); k >= 2 {
			return lastValue(n.Content[k-1], n.Content[k-2], depth+1)
		}
	}
	return key, n
}

// StringValue reads text as YAML would read it after "key: " in a block
// mapping, and returns the string it stands for. ok is false when text is
// not one scalar that reads as a string: a number, a boolean or null
// written plain, a list or a mapping, or not valid YAML. Package injector
// asks it whether what it writes will read back as meant.
func StringValue(text string) (value string, ok bool) {
	var doc yaml.Node
	if yaml.Unmarshal([]byte("k: "+text+"\n"), &doc) != nil || len(doc.Content) != 1 {
		return "", false
	}
	m := doc.Content[0]
	if m.Kind != yaml.MappingNode || len(m.Content) != 2 {
		return "", false
	}
	v := m.Content[1]
	if v.Kind != yaml.ScalarNode || v.Tag != "!!str" {
		return "", false
	}
	return v.Value, true
}
