package injector

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

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
	wf, err := workflows.Parse(file, src)
	if err != nil {
		return nil, err
	}
	t := newText(src)
	var key *workflows.Key
	next := t.lines() + 1
	for i, k := range wf.Keys {
		if k.Name == "on" && key == nil {
			key = &wf.Keys[i]
			continue
		}
		if key != nil && k.Pos.Line > key.Pos.Line && k.Pos.Line < next {
			next = k.Pos.Line
		}
	}
	if key == nil {
		return nil, &workflows.Error{File: file, Msg: `the workflow has no "on:"`}
	}
	if key.Pos.Col != 1 {
		return nil, &workflows.Error{File: file, Pos: key.Pos, Msg: `cannot replace "on:" here: the top-level keys are not a block mapping`}
	}
	// The block ends before the next top-level key, minus the blank lines
	// and column-1 comments before it, which belong to what follows.
	line := key.Pos.Line
	end := next - 1
	for end > line {
		l := strings.TrimSpace(string(t.content(end)))
		if l != "" && !(strings.HasPrefix(l, "#") && strings.HasPrefix(string(t.content(end)), "#")) {
			break
		}
		end--
	}
	eol := t.newline(line)
	repl := "on:" + eol + "  push:" + eol + "    branches: [" + strconv.Quote(branch) + "]" + eol
	out := splice{off: t.lineStart(line), end: t.lineEnd(end), text: repl}.apply(src)
	if !t.endsWithNewline() && end == t.lines() {
		out = out[:len(out)-len(eol)]
	}
	// Check: the same document, but for "on:".
	after, err := workflows.Parse(file, out)
	if err != nil {
		return nil, fmt.Errorf("%s: replacing \"on:\" broke the file: %w", file, err)
	}
	if len(after.On) != 1 || after.On[0].Name != "push" || !slices.Equal(after.On[0].Branches, []string{branch}) {
		return nil, fmt.Errorf("%s: replacing \"on:\" did not give a push trigger for %s", file, branch)
	}
	if err := workflows.CompareExcept(wf, after, "on"); err != nil {
		return nil, fmt.Errorf("%s: replacing \"on:\" would change more than the triggers, so nothing was changed (%v)", file, plain(err))
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
	wf, j, err := parseJob(file, src, job)
	if err != nil {
		return nil, err
	}
	where, perms := "job "+strconv.Quote(job), j.Permissions
	path := []string{"jobs", job, "permissions"}
	if perms == nil {
		where, perms, path = "the workflow", wf.Permissions, []string{"permissions"}
	}
	keep := func(note string) *Grant { return &Grant{Out: src, Note: note} }
	switch {
	case perms == nil && scope == "id-token":
		return keep("the workflow sets no permissions, and id-token: write is never among the defaults; add a permissions: block with it (and what the job needs) yourself"), nil
	case perms == nil:
		return keep(fmt.Sprintf("the workflow sets no permissions, so the job's token has the repository's default ones; %s: write is there only when they are permissive", scope)), nil
	case perms.All == "write-all":
		return &Grant{Out: src, Granted: true, Note: where + " has permissions: write-all"}, nil
	case perms.Form != workflows.BlockMapping || len(perms.Scopes) == 0:
		return keep(fmt.Sprintf("%s has permissions that pitstop does not rewrite (line %d); add %s: write to them yourself", where, perms.Pos.Line, scope)), nil
	}
	if perms.Level(scope) == "write" {
		return &Grant{Out: src, Granted: true, Note: where + " already has " + scope + ": write"}, nil
	}
	t := newText(src)
	var sp splice
	if i := slices.IndexFunc(perms.Scopes, func(kv workflows.KeyValue) bool { return kv.Key == scope }); i >= 0 {
		v := perms.Scopes[i]
		if v.Span.IsZero() {
			return keep(fmt.Sprintf("%s: %s at line %d is not a plain value", scope, v.Value, v.Pos.Line)), nil
		}
		sp = splice{off: v.Span.Start, end: v.Span.End, text: "write"}
	} else {
		first := perms.Scopes[0].Pos
		off := t.lineStart(first.Line)
		if strings.TrimSpace(string(src[off:t.offset(first)])) != "" {
			return keep(fmt.Sprintf("the permissions at line %d do not start on a line of their own", first.Line)), nil
		}
		sp = splice{off: off, end: off, text: strings.Repeat(" ", first.Col-1) + scope + ": write" + t.newline(first.Line)}
	}
	out := sp.apply(src)
	// Check: the same document but for the permissions, which are the
	// old ones with scope: write.
	after, aj, err := parseJob(file, out, job)
	if err != nil {
		return nil, fmt.Errorf("%s: granting %s: write broke the file: %w", file, scope, err)
	}
	got := aj.Permissions
	if got == nil {
		got = after.Permissions
	}
	if got == nil || !sameGrant(perms.Scopes, got.Scopes, scope) {
		return nil, fmt.Errorf("%s: granting %s: write did not give %s the permissions intended, so nothing was changed", file, scope, where)
	}
	if err := workflows.CompareExcept(wf, after, path...); err != nil {
		return nil, fmt.Errorf("%s: granting %s: write would change more than the permissions, so nothing was changed (%v)", file, scope, plain(err))
	}
	return &Grant{Out: out, Granted: true, Note: fmt.Sprintf("granted %s: write in the permissions of %s", scope, where)}, nil
}

// sameGrant reports whether after holds the scopes of before, with scope
// set to write (added or raised), and nothing else.
func sameGrant(before, after []workflows.KeyValue, scope string) bool {
	want := map[string]string{scope: "write"}
	for _, kv := range before {
		if kv.Key != scope {
			want[kv.Key] = kv.Value
		}
	}
	got := map[string]string{}
	for _, kv := range after {
		got[kv.Key] = kv.Value
	}
	return maps.Equal(want, got)
}
