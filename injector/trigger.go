package injector

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/pitstopci/pitstop/workflows"
)

// OnPush rewrites the workflow's top-level "on:" so that it runs on a push
// to branch, and on nothing else:
//
//	on:
//	  push:
//	    branches: ["pitstop/build-1a2b3c"]
//
// It is how pitstop run starts a workflow from a throwaway branch whatever
// its own triggers are. Only the lines of the "on:" block are replaced;
// everything else stays byte for byte, which is checked on the result.
func OnPush(file string, src []byte, branch string) ([]byte, error) {
	top, err := topMapping(file, src)
	if err != nil {
		return nil, err
	}
	t := newText(src)
	var key *yaml.Node
	next := t.lines() + 1
	for i := 0; i+1 < len(top.Content); i += 2 {
		k := top.Content[i]
		if k.Value == "on" && key == nil {
			key = k
			continue
		}
		if key != nil && k.Line > key.Line && k.Line < next {
			next = k.Line
		}
	}
	if key == nil {
		return nil, &workflows.Error{File: file, Msg: `the workflow has no "on:"`}
	}
	if key.Column != 1 {
		return nil, &workflows.Error{File: file, Pos: workflows.Pos{Line: key.Line, Col: key.Column}, Msg: `cannot replace "on:" here: the top-level keys are not a block mapping`}
	}
	// The block ends before the next top-level key, minus the blank lines
	// and column-1 comments before it, which belong to what follows.
	end := next - 1
	for end > key.Line {
		line := strings.TrimSpace(string(t.content(end)))
		if line != "" && !(strings.HasPrefix(line, "#") && strings.HasPrefix(string(t.content(end)), "#")) {
			break
		}
		end--
	}
	eol := t.newline(key.Line)
	repl := "on:" + eol + "  push:" + eol + "    branches: [" + strconv.Quote(branch) + "]" + eol
	out := splice{off: t.lineStart(key.Line), end: t.lineEnd(end), text: repl}.apply(src)
	if !t.endsWithNewline() && end == t.lines() {
		out = out[:len(out)-len(eol)]
	}
	// Check: the same document, but for "on:".
	var before, after map[string]any
	if err := yaml.Unmarshal(src, &before); err != nil {
		return nil, err
	}
	if err := yaml.Unmarshal(out, &after); err != nil {
		return nil, fmt.Errorf("%s: replacing \"on:\" broke the file: %w", file, err)
	}
	want := map[string]any{"push": map[string]any{"branches": []any{branch}}}
	if !reflect.DeepEqual(after["on"], want) {
		return nil, fmt.Errorf("%s: replacing \"on:\" did not give a push trigger for %s", file, branch)
	}
	delete(before, "on")
	delete(after, "on")
	if !reflect.DeepEqual(before, after) {
		return nil, fmt.Errorf("%s: replacing \"on:\" would change more than the triggers, so nothing was changed", file)
	}
	if _, err := workflows.Parse(file, out); err != nil {
		return nil, err
	}
	return out, nil
}

// Grant is the outcome of GrantWrite.
type Grant struct {
	// Out is the workflow, changed or not.
	Out []byte
	// Granted is true when the job's token will have the permission:
	// added, or already there.
	Granted bool
	// Note says what was done, or why nothing could be, for the user.
	Note string
}

// GrantWrite gives the token of job write access to one permission scope
// (e.g. "checks"), merged with the "permissions:" the workflow already
// has: added to, or raised in, the job's own block mapping, else the
// workflow's (a job without its own inherits it). "write-all" already
// grants it. The file is left alone, with a Note saying why, when the
// permissions are "read-all", an expression, a flow mapping, or not set
// at all: then the token has the repository's default permissions, which
// pitstop cannot read, and narrowing them to add one would take away
// others the job may need.
func GrantWrite(file string, src []byte, job, scope string) (*Grant, error) {
	top, err := topMapping(file, src)
	if err != nil {
		return nil, err
	}
	jobs := mapValue(top, "jobs")
	var j *yaml.Node
	if jobs != nil {
		j = mapValue(jobs, job)
	}
	if j == nil || j.Kind != yaml.MappingNode {
		return nil, &workflows.Error{File: file, Msg: fmt.Sprintf("no job %q", job)}
	}
	where, perms := "job "+strconv.Quote(job), mapValue(j, "permissions")
	path := []string{"jobs", job, "permissions"}
	if perms == nil {
		where, perms, path = "the workflow", mapValue(top, "permissions"), []string{"permissions"}
	}
	keep := func(note string) *Grant { return &Grant{Out: src, Note: note} }
	switch {
	case perms == nil && scope == "id-token":
		return keep("the workflow sets no permissions, and id-token: write is never among the defaults; add a permissions: block with it (and what the job needs) yourself"), nil
	case perms == nil:
		return keep(fmt.Sprintf("the workflow sets no permissions, so the job's token has the repository's default ones; %s: write is there only when they are permissive", scope)), nil
	case perms.Kind == yaml.ScalarNode && perms.Value == "write-all":
		return &Grant{Out: src, Granted: true, Note: where + " has permissions: write-all"}, nil
	case perms.Kind != yaml.MappingNode || perms.Style&yaml.FlowStyle != 0 || len(perms.Content) == 0:
		return keep(fmt.Sprintf("%s has permissions that pitstop does not rewrite (line %d); add %s: write to them yourself", where, perms.Line, scope)), nil
	}
	if v := mapValue(perms, scope); v != nil && v.Value == "write" {
		return &Grant{Out: src, Granted: true, Note: where + " already has " + scope + ": write"}, nil
	}
	t := newText(src)
	var sp splice
	if v := mapValue(perms, scope); v != nil {
		if v.Kind != yaml.ScalarNode || strings.Contains(v.Value, "\n") {
			return keep(fmt.Sprintf("%s: %s at line %d is not a plain value", scope, v.Value, v.Line)), nil
		}
		off := t.offset(workflows.Pos{Line: v.Line, Col: v.Column})
		n := len(v.Value)
		if v.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0 {
			n += 2
		}
		if off < 0 || off+n > len(src) {
			return keep("cannot locate " + scope + " in the permissions"), nil
		}
		sp = splice{off: off, end: off + n, text: "write"}
	} else {
		first := perms.Content[0]
		off := t.lineStart(first.Line)
		if strings.TrimSpace(string(src[off:t.offset(workflows.Pos{Line: first.Line, Col: first.Column})])) != "" {
			return keep(fmt.Sprintf("the permissions at line %d do not start on a line of their own", first.Line)), nil
		}
		sp = splice{off: off, end: off, text: strings.Repeat(" ", first.Column-1) + scope + ": write" + t.newline(first.Line)}
	}
	out := sp.apply(src)
	var before, after map[string]any
	if err := yaml.Unmarshal(src, &before); err != nil {
		return nil, err
	}
	if err := yaml.Unmarshal(out, &after); err != nil {
		return nil, fmt.Errorf("%s: granting %s: write broke the file: %w", file, scope, err)
	}
	m := before
	for _, k := range path {
		next, ok := m[k].(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%s: cannot check the permissions of %s", file, where)
		}
		m = next
	}
	m[scope] = "write"
	if !reflect.DeepEqual(before, after) {
		return nil, fmt.Errorf("%s: granting %s: write would change more than the permissions, so nothing was changed", file, scope)
	}
	if _, err := workflows.Parse(file, out); err != nil {
		return nil, err
	}
	return &Grant{Out: out, Granted: true, Note: fmt.Sprintf("granted %s: write in the permissions of %s", scope, where)}, nil
}

// topMapping parses src and returns its top-level mapping.
func topMapping(file string, src []byte) (*yaml.Node, error) {
	if _, err := workflows.Parse(file, src); err != nil {
		return nil, err
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil || len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, &workflows.Error{File: file, Msg: "the workflow is not a mapping"}
	}
	return doc.Content[0], nil
}

// mapValue returns the value of key in mapping m, or nil. Aliases are
// not followed: what an alias points to is not this key's to edit.
func mapValue(m *yaml.Node, key string) *yaml.Node {
	if m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}
