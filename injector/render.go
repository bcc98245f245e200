package injector

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/pitstopci/pitstop/workflows"
)

// pause is the step to insert, before it is laid out as text: the pause
// itself, or the end-of-job hold of a detached pause.
type pause struct {
	name string
	id   string
	uses string
	cond string // the "if:" expression
	// env is the pause's own "env:": that of the step it stands for
	// (withStep).
	env  []workflows.KeyValue
	with []Input
}

func newPause(opts Options) pause {
	p := pause{name: PauseName, id: PauseID, uses: opts.Uses, with: opts.With}
	if p.uses == "" {
		p.uses = DefaultUses
	}
	// !cancelled() rather than the implicit success(): the point of a
	// pause is usually to look at a step that just failed.
	cond := "!cancelled()"
	switch {
	case opts.OnFailure:
		cond = "failure()"
	case opts.Detached:
		// The action's input goes first, so that it reads as what the
		// step is; the user's inputs follow in their order.
		p.with = append([]Input{{Key: "detached", Value: "true"}}, opts.With...)
	}
	p.cond = matrixCond(cond, opts.Matrix)
	return p
}

// JobTimeoutInput is the action's input that tells the agent the job's
// own time limit, so that pitstop extend stops short of it.
const JobTimeoutInput = "job-timeout-minutes"

// plainMinutes is a timeout-minutes written as a plain number, which
// GitHub reads as it is: not an expression, nor a form such as 1e3 or
// 0x10 that strconv would take but this input's reader would not.
var plainMinutes = regexp.MustCompile(`^[0-9]+(\.[0-9]+)?$`)

// withJobTimeout adds the job's timeout-minutes to the inputs of a pause
// step that uses pitstop's action, unless they set it already. Another
// action named by reference would not know the input (GitHub warns of
// an unexpected input); a local one (./dir) gets it, as it is most often
// a copy of pitstop's. An expression is known only on the runner, and is
// left out: the agent then assumes GitHub's default. A timeout-minutes
// on the pause step itself is no concern of this: it ends the step, not
// the job.
func withJobTimeout(uses string, with []Input, job *workflows.Job) []Input {
	if !plainMinutes.MatchString(job.TimeoutMinutes) || !IsPitstopAction(uses) && !strings.HasPrefix(uses, "./") {
		return with
	}
	for _, in := range with {
		if in.Key == JobTimeoutInput {
			return with
		}
	}
	return append(slices.Clone(with), Input{Key: JobTimeoutInput, Value: job.TimeoutMinutes})
}

// newHold is the step that ends a detached pause's job: always(), so it
// runs after a failure and on cancellation too, when it stops the agent
// (and holds only while someone is connected). It finds the agent through
// the pause step's "state" output, and learns how the job went from
// job.status, which only the workflow can tell it.
func newHold(opts Options) pause {
	p := newPause(Options{Uses: opts.Uses})
	p.name, p.id = HoldName, HoldID
	hold := opts.Hold
	if hold == "" {
		hold = HoldAlways
	}
	p.with = []Input{
		{Key: "role", Value: "hold"},
		{Key: "hold", Value: hold},
		{Key: "job-status", Value: "${{ job.status }}"},
		{Key: "state", Value: "${{ steps." + PauseID + ".outputs.state }}"},
	}
	p.cond = matrixCond("always()", opts.Matrix)
	return p
}

// matrixCond adds the --matrix conditions to cond and wraps it in ${{ }}.
func matrixCond(cond string, matrix []Input) string {
	for _, m := range matrix {
		cond += fmt.Sprintf(" && matrix.%s == '%s'", m.Key, strings.ReplaceAll(m.Value, "'", "''"))
	}
	return "${{ " + cond + " }}"
}

// block lays the step out as lines of a block list: first is the line
// with the dash ("      - "), rest the indentation of the other keys,
// unit one more level of indentation for the inputs under "with:".
func (p pause) block(first, rest, unit string) []string {
	lines := []string{
		first + "name: " + scalarText(p.name, false),
		rest + "id: " + p.id,
		rest + "if: " + scalarText(p.cond, false),
		rest + "uses: " + scalarText(p.uses, false),
	}
	lines = append(lines, mapping(rest, unit, "env", p.envInputs())...)
	lines = append(lines, mapping(rest, unit, "with", p.with)...)
	return lines
}

// envInputs is p.env as inputs; a plain value is marked so that mapping
// and flow write it as it was written.
func (p pause) envInputs() []Input {
	in := make([]Input, len(p.env))
	for i, kv := range p.env {
		in[i] = Input{Key: kv.Key, Value: kv.Value, plain: kv.Plain, block: true}
	}
	return in
}

// mapping lays out "key:" and its entries in a block step; nothing when
// there are none.
func mapping(rest, unit, key string, entries []Input) []string {
	if len(entries) == 0 {
		return nil
	}
	lines := []string{rest + key + ":"}
	for _, in := range entries {
		v := valueText(in, rest+unit+unit)
		head := rest + unit + scalarText(in.Key, false) + ":"
		if v[0] != "" {
			head += " " + v[0]
		}
		lines = append(lines, head)
		lines = append(lines, v[1:]...)
	}
	return lines
}

// flow lays the step out as one flow mapping, for "steps: [ ... ]".
func (p pause) flow() string {
	var b strings.Builder
	b.WriteString("{name: " + scalarText(p.name, true))
	b.WriteString(", id: " + p.id)
	b.WriteString(", if: " + scalarText(p.cond, true))
	b.WriteString(", uses: " + scalarText(p.uses, true))
	for _, m := range []struct {
		key     string
		entries []Input
	}{{"env", p.envInputs()}, {"with", p.with}} {
		if len(m.entries) == 0 {
			continue
		}
		b.WriteString(", " + m.key + ": {")
		for i, in := range m.entries {
			if i > 0 {
				b.WriteString(", ")
			}
			v := doubleQuote(in.Value)
			if in.plain {
				v = in.Value
			}
			b.WriteString(scalarText(in.Key, true) + ": " + v)
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
	// The last word goes to the YAML reader itself: "true", "1.0" or
	// "null" would not stay strings.
	v, ok := workflows.StringValue(s)
	return ok && v == s
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
