package injector

import (
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"
)

// pause is the step to insert, before it is laid out as text.
type pause struct {
	uses string
	cond string // the "if:" expression
	with []Input
}

func newPause(opts Options) pause {
	p := pause{uses: opts.Uses, with: opts.With}
	if p.uses == "" {
		p.uses = DefaultUses
	}
	// !cancelled() rather than the implicit success(): the point of a
	// pause is usually to look at a step that just failed.
	cond := "!cancelled()"
	for _, m := range opts.Matrix {
		cond += fmt.Sprintf(" && matrix.%s == '%s'", m.Key, strings.ReplaceAll(m.Value, "'", "''"))
	}
	p.cond = "${{ " + cond + " }}"
	return p
}

// block lays the step out as lines of a block list: first is the line
// with the dash ("      - "), rest the indentation of the other keys,
// unit one more level of indentation for the inputs under "with:".
func (p pause) block(first, rest, unit string) []string {
	lines := []string{
		first + "name: " + scalarText(PauseName, false),
		rest + "id: " + PauseID,
		rest + "if: " + scalarText(p.cond, false),
		rest + "uses: " + scalarText(p.uses, false),
	}
	if len(p.with) > 0 {
		lines = append(lines, rest+"with:")
		for _, in := range p.with {
			lines = append(lines, rest+unit+in.Key+": "+doubleQuote(in.Value))
		}
	}
	return lines
}

// flow lays the step out as one flow mapping, for "steps: [ ... ]".
func (p pause) flow() string {
	var b strings.Builder
	b.WriteString("{name: " + scalarText(PauseName, true))
	b.WriteString(", id: " + PauseID)
	b.WriteString(", if: " + scalarText(p.cond, true))
	b.WriteString(", uses: " + scalarText(p.uses, true))
	if len(p.with) > 0 {
		b.WriteString(", with: {")
		for i, in := range p.with {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(in.Key + ": " + doubleQuote(in.Value))
		}
		b.WriteString("}")
	}
	b.WriteString("}")
	return b.String()
}

// scalarText writes s as a plain scalar when that is safe and reads back
// as the same string, and double-quoted otherwise. Inside a flow
// collection "{" and "}" end a plain scalar, so "${{ }}" must be quoted
// there.
func scalarText(s string, flow bool) string {
	if plainSafe(s, flow) {
		return s
	}
	return doubleQuote(s)
}

func plainSafe(s string, flow bool) bool {
	if s == "" || s != strings.TrimSpace(s) || strings.ContainsAny(s[:1], "-?:,[]{}#&*!|>'\"%@`") {
		return false
	}
	if strings.Contains(s, ": ") || strings.Contains(s, " #") || strings.HasSuffix(s, ":") {
		return false
	}
	if flow && strings.ContainsAny(s, ",[]{}") {
		return false
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f || r >= 0x80 {
			return false
		}
	}
	// The last word goes to yaml.v3 itself: "true", "1.0" or "null" would
	// not stay strings.
	var n yaml.Node
	if err := yaml.Unmarshal([]byte(s), &n); err != nil || len(n.Content) != 1 {
		return false
	}
	v := n.Content[0]
	return v.Kind == yaml.ScalarNode && v.Tag == "!!str" && v.Value == s && v.Style == 0
}

// doubleQuote writes s as a YAML double-quoted scalar. Every character
// YAML could read differently (line breaks, control characters, the byte
// order mark) is escaped, so the value reads back exactly.
func doubleQuote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\t':
			b.WriteString(`\t`)
		case '\r':
			b.WriteString(`\r`)
		default:
			if r < 0x20 || r == 0x7f || r == 0x85 || r == 0x2028 || r == 0x2029 || r == 0xfeff || (r >= 0x80 && r < 0xa0) {
				fmt.Fprintf(&b, `\u%04x`, r)
			} else {
				b.WriteRune(r)
			}
		}
	}
	b.WriteByte('"')
	return b.String()
}
