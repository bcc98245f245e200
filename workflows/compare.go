package workflows

import (
	"strings"

	"gopkg.in/yaml.v3"
)

// StepRef names one step: the job's id and the step's 0-based index.
type StepRef struct {
	Job   string
	Index int
}

// Compare reports whether a and b hold the same YAML document, apart from
// one step of b named by added (nil: no exception). It returns nil when they
// do, and otherwise an *Error at the first difference in b.
//
// Comments and positions are ignored, since an edit moves lines and
// yaml.v3 attaches comments to whichever node is nearest. Everything else
// counts: kinds, tags, values, scalar styles, anchors and the names that
// aliases refer to. Aliases are compared by name rather than followed, so a
// file full of aliases costs no more to compare than its text.
func Compare(a, b *Workflow, added *StepRef) error {
	c := comparer{b: b}
	if added != nil {
		j, err := b.Job(added.Job)
		if err != nil {
			return err
		}
		if j.steps == nil || added.Index < 0 || added.Index >= len(j.steps.Content) {
			return errorf(b.File, j.Pos, "job %q has no step %d", j.ID, added.Index+1)
		}
		c.skipSeq, c.skipIdx = j.steps, added.Index
	}
	return c.equal(a.doc, b.doc, 0)
}

// CompareExcept reports whether a and b hold the same YAML document, as
// Compare does, apart from the value at path: a list of keys followed
// down from the top-level mapping, through mappings written in place (no
// alias or merge key is followed, since the text behind them is not that
// place's). The last key itself may be written differently ("'on':" for
// "on:"), as long as it is the same key. Both documents must have a value
// there.
func CompareExcept(a, b *Workflow, path ...string) error {
	ka, va := valueAt(a.doc.Content[0], path)
	kb, vb := valueAt(b.doc.Content[0], path)
	if va == nil || vb == nil {
		return errorf(b.File, Pos{}, "no %s in both documents", strings.Join(path, "."))
	}
	c := comparer{b: b, skipA: va, skipB: vb, keyA: ka, keyB: kb}
	return c.equal(a.doc, b.doc, 0)
}

// valueAt follows keys down from m through mappings and returns the last
// key and its value; nil when one is missing or not a mapping.
func valueAt(m *yaml.Node, keys []string) (key, value *yaml.Node) {
	for _, k := range keys {
		if m == nil || m.Kind != yaml.MappingNode {
			return nil, nil
		}
		key, value = nil, nil
		for i := 0; i+1 < len(m.Content); i += 2 {
			if m.Content[i].Value == k && m.Content[i].Tag != "!!merge" {
				key, value = m.Content[i], m.Content[i+1]
				break
			}
		}
		m = value
	}
	return key, value
}

type comparer struct {
	b       *Workflow
	skipSeq *yaml.Node
	skipIdx int
	// skipA and skipB are a value left out of the comparison, in a and b;
	// keyA and keyB its key, of which only the name counts.
	skipA, skipB *yaml.Node
	keyA, keyB   *yaml.Node
}

func (c *comparer) diff(n *yaml.Node, what string) error {
	return errorf(c.b.File, pos(n), "%s differs", what)
}

func (c *comparer) equal(a, b *yaml.Node, depth int) error {
	if a == c.skipA && b == c.skipB && a != nil {
		return nil
	}
	if a == c.keyA && b == c.keyB && a != nil {
		if a.Kind != b.Kind || a.Value != b.Value {
			return c.diff(b, "the key")
		}
		return nil
	}
	switch {
	case a.Kind != b.Kind:
		return c.diff(b, "the kind of node")
	case a.Tag != b.Tag:
		return c.diff(b, "the tag")
	case a.Value != b.Value:
		return c.diff(b, "the value")
	case a.Anchor != b.Anchor:
		return c.diff(b, "the anchor")
	case a.Style != b.Style:
		return c.diff(b, "the style")
	case a.Kind == yaml.AliasNode:
		return nil // same name; the anchored node is compared where it is written
	}
	bc := b.Content
	if b == c.skipSeq {
		bc = make([]*yaml.Node, 0, len(b.Content)-1)
		bc = append(bc, b.Content[:c.skipIdx]...)
		bc = append(bc, b.Content[c.skipIdx+1:]...)
	}
	if len(a.Content) != len(bc) {
		return c.diff(b, "the number of entries")
	}
	for i := range bc {
		if err := c.equal(a.Content[i], bc[i], depth+1); err != nil {
			return err
		}
	}
	return nil
}
