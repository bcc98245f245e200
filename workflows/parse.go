package workflows

import (
	"bytes"
	"errors"
	"io"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// maxAliasHops bounds alias and merge-key chains. YAML anchors cannot
// legally refer to themselves, but yaml.v3 builds such cycles without
// complaint ("&a [*a]"), so every walk that follows aliases needs a bound.
const maxAliasHops = 64

// Parse reads a workflow. file names it in errors. Errors are *Error, with
// a position wherever there is one.
func Parse(file string, src []byte) (*Workflow, error) {
	if err := checkText(file, src); err != nil {
		return nil, err
	}
	dec := yaml.NewDecoder(bytes.NewReader(src))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errorf(file, Pos{}, "file is empty; a workflow needs \"on\" and \"jobs\"")
		}
		return nil, syntaxError(file, src, err)
	}
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case err == nil:
		return nil, errorf(file, Pos{Line: next.Line}, "a second YAML document starts here; a workflow file holds exactly one")
	case !errors.Is(err, io.EOF):
		return nil, syntaxError(file, src, err)
	}
	w := &Workflow{File: file, src: src, lines: newLineIndex(src), doc: &doc}
	if err := w.build(); err != nil {
		return nil, err
	}
	return w, nil
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// yamlError turns a yaml.v3 error ("yaml: line 3: mapping values are not
// allowed in this context") into an *Error at that line.
func yamlError(file string, err error) error {
	msg := err.Error()
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		n, _ := strconv.Atoi(m[1])
		return errorf(file, Pos{Line: n}, "invalid YAML: %s", m[2])
	}
	return errorf(file, Pos{}, "invalid YAML: %s", strings.TrimPrefix(msg, "yaml: "))
}

func pos(n *yaml.Node) Pos { return Pos{Line: n.Line, Col: n.Column} }

// resolve follows aliases to the node they name.
func resolve(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < maxAliasHops; i++ {
		n = n.Alias
	}
	return n
}

// lookup finds key in mapping m, looking through "<<" merge keys the way
// YAML 1.1 does: the mapping's own keys first, then each merged mapping in
// order. via is the first alias crossed on the way, if any.
func lookup(m *yaml.Node, key string) (k, v, via *yaml.Node) {
	return lookupDepth(resolve(m), key, 0)
}

func lookupDepth(m *yaml.Node, key string, depth int) (k, v, via *yaml.Node) {
	if m == nil || m.Kind != yaml.MappingNode || depth > maxAliasHops {
		return nil, nil, nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if c := m.Content[i]; c.Kind == yaml.ScalarNode && c.Value == key && c.Tag != "!!merge" {
			return c, m.Content[i+1], nil
		}
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Tag != "!!merge" {
			continue
		}
		src := m.Content[i+1]
		list := []*yaml.Node{src}
		if src.Kind == yaml.SequenceNode {
			list = src.Content
		}
		for _, s := range list {
			if k, v, via := lookupDepth(resolve(s), key, depth+1); v != nil {
				if via == nil && s.Kind == yaml.AliasNode {
					via = s
				}
				if via == nil {
					via = m.Content[i] // an inline merge: still not written in m itself
				}
				return k, v, via
			}
		}
	}
	return nil, nil, nil
}

// scalar returns the value of a scalar node ("" for anything else).
func scalar(n *yaml.Node) string {
	if n = resolve(n); n != nil && n.Kind == yaml.ScalarNode && n.Tag != "!!null" {
		return n.Value
	}
	return ""
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return "empty"
		}
		return "the scalar " + strconv.Quote(n.Value)
	}
	return "an alias"
}

func (w *Workflow) build() error {
	if len(w.doc.Content) == 0 {
		return errorf(w.File, Pos{}, "file is empty; a workflow needs \"on\" and \"jobs\"")
	}
	root := resolve(w.doc.Content[0])
	if root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
		return errorf(w.File, Pos{}, "file is empty; a workflow needs \"on\" and \"jobs\"")
	}
	if root.Kind != yaml.MappingNode {
		return errorf(w.File, pos(root), "a workflow is a mapping with \"on\" and \"jobs\"; this document is %s", kindName(root))
	}
	w.aliases = map[*yaml.Node][]*yaml.Node{}
	if err := w.walk(w.doc, 0); err != nil {
		return err
	}
	if k, v, _ := lookup(root, "concurrency"); v != nil {
		w.Concurrency = concurrency(k, v)
	}
	w.settings(root)
	jk, jobs, _ := lookup(root, "jobs")
	if jobs == nil {
		return errorf(w.File, pos(root), "no \"jobs\" in the workflow; pitstop pauses a job, so it needs at least one")
	}
	w.JobsPos = pos(jk)
	jobs = resolve(jobs)
	if jobs.Kind == yaml.MappingNode && len(jobs.Content) == 0 {
		return errorf(w.File, pos(jobs), "\"jobs\" is empty; pitstop pauses a job, so it needs at least one")
	}
	if jobs.Kind != yaml.MappingNode {
		return errorf(w.File, pos(jobs), "\"jobs\" must be a mapping of job ids to jobs; it is %s", kindName(jobs))
	}
	for i := 0; i+1 < len(jobs.Content); i += 2 {
		j, err := w.job(jobs.Content[i], jobs.Content[i+1])
		if err != nil {
			return err
		}
		w.Jobs = append(w.Jobs, j)
	}
	w.sharing()
	return nil
}

// walk checks every mapping for duplicate keys (GitHub rejects them, and
// yaml.v3 keeps both silently when it builds nodes) and records which
// alias refers to which anchored node.
func (w *Workflow) walk(n *yaml.Node, depth int) error {
	if n.Kind == yaml.AliasNode {
		w.aliases[n.Alias] = append(w.aliases[n.Alias], n)
		return nil
	}
	if n.Kind == yaml.MappingNode {
		seen := map[string]*yaml.Node{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			if k.Kind != yaml.ScalarNode || k.Tag == "!!merge" {
				continue
			}
			id := k.Tag + "\x00" + k.Value
			if first, ok := seen[id]; ok {
				return errorf(w.File, pos(k), "duplicate key %q (first at line %d)", k.Value, first.Line)
			}
			seen[id] = k
		}
	}
	for _, c := range n.Content {
		if err := w.walk(c, depth+1); err != nil {
			return err
		}
	}
	return nil
}

func concurrency(k, v *yaml.Node) *Concurrency {
	c := &Concurrency{Pos: pos(k)}
	if v = resolve(v); v.Kind == yaml.ScalarNode {
		c.Group = v.Value
		return c
	}
	_, g, _ := lookup(v, "group")
	_, cp, _ := lookup(v, "cancel-in-progress")
	c.Group, c.CancelInProgress = scalar(g), scalar(cp)
	return c
}

func (w *Workflow) job(key, val *yaml.Node) (*Job, error) {
	j := &Job{ID: key.Value, Pos: pos(key)}
	m := resolve(val)
	if m.Kind != yaml.MappingNode {
		return nil, errorf(w.File, pos(val), "job %q must be a mapping; it is %s", j.ID, kindName(m))
	}
	_, name, _ := lookup(m, "name")
	j.Name = scalar(name)
	if _, u, _ := lookup(m, "uses"); u != nil {
		j.Uses, j.UsesPos = scalar(u), pos(u)
	}
	if _, t, _ := lookup(m, "timeout-minutes"); t != nil {
		j.TimeoutMinutes, j.TimeoutPos = scalar(t), pos(t)
	}
	if k, c, _ := lookup(m, "concurrency"); c != nil {
		j.Concurrency = concurrency(k, c)
	}
	w.jobSettings(j, m, val.Kind != yaml.AliasNode)
	if _, s, _ := lookup(m, "strategy"); s != nil {
		if _, mx, _ := lookup(s, "matrix"); mx != nil {
			j.Matrix = matrix(mx)
		}
	}
	sk, steps, _ := lookup(m, "steps")
	if steps == nil {
		return j, nil
	}
	j.StepsKeyPos, j.StepsPos = pos(sk), pos(steps)
	seq := resolve(steps)
	if seq.Kind == yaml.ScalarNode && seq.Tag == "!!null" {
		return j, nil
	}
	if seq.Kind != yaml.SequenceNode {
		return nil, errorf(w.File, pos(steps), "steps of job %q must be a list; they are %s", j.ID, kindName(seq))
	}
	j.steps = seq
	j.StepsFlow = seq.Style&yaml.FlowStyle != 0
	for i, item := range seq.Content {
		s, err := w.step(j, i+1, item)
		if err != nil {
			return nil, err
		}
		j.Steps = append(j.Steps, s)
	}
	if !j.StepsFlow && len(j.Steps) > 0 && steps.Kind != yaml.AliasNode {
		j.StepsPos = j.Steps[0].Pos
	}
	return j, nil
}

func (w *Workflow) step(j *Job, n int, item *yaml.Node) (*Step, error) {
	s := &Step{Number: n, Pos: pos(item), ItemPos: pos(item), LastLine: lastLine(item, 0)}
	m := resolve(item)
	if m.Kind != yaml.MappingNode {
		return nil, errorf(w.File, pos(item), "step %d of job %q must be a mapping; it is %s", n, j.ID, kindName(m))
	}
	if !j.StepsFlow && item == j.steps.Content[n-1] {
		if d, ok := w.lines.findDash(s.ItemPos); ok {
			s.Pos = d
		}
	}
	get := func(key string) string { _, v, _ := lookup(m, key); return scalar(v) }
	s.ID, s.Name, s.Uses, s.Run, s.If = get("id"), get("name"), get("uses"), get("run"), get("if")
	s.Shell, s.WorkingDirectory = get("shell"), get("working-directory")
	if k, env, _ := lookup(m, "env"); env != nil {
		s.EnvPos, s.Env = pos(k), scalarPairs(env, 0)
	}
	if _, with, _ := lookup(m, "with"); with != nil {
		if with = resolve(with); with.Kind == yaml.MappingNode {
			for i := 0; i+1 < len(with.Content); i += 2 {
				if v := resolve(with.Content[i+1]); v.Kind == yaml.ScalarNode {
					s.With = append(s.With, KeyValue{Key: with.Content[i].Value, Value: v.Value, Pos: pos(with.Content[i])})
				}
			}
		}
	}
	return s, nil
}

// scalarPairs lists the keys of mapping n whose values are scalars: its
// own keys in order, then those that "<<" merge keys bring in and that it
// does not set itself, as YAML 1.1 merges them.
func scalarPairs(n *yaml.Node, depth int) []KeyValue {
	m := resolve(n)
	if m == nil || m.Kind != yaml.MappingNode || depth > maxAliasHops {
		return nil
	}
	var out, merged []KeyValue
	seen := map[string]bool{}
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], resolve(m.Content[i+1])
		if k.Tag == "!!merge" {
			src := resolve(m.Content[i+1])
			list := []*yaml.Node{src}
			if src != nil && src.Kind == yaml.SequenceNode {
				list = src.Content
			}
			for _, l := range list {
				merged = append(merged, scalarPairs(l, depth+1)...)
			}
			continue
		}
		if v == nil || v.Kind != yaml.ScalarNode {
			continue
		}
		seen[k.Value] = true
		plain := v.Style == 0 && v.Tag != "!!str"
		out = append(out, KeyValue{Key: k.Value, Value: v.Value, Plain: plain, Pos: pos(k)})
	}
	for _, kv := range merged {
		if !seen[kv.Key] {
			seen[kv.Key] = true
			out = append(out, kv)
		}
	}
	return out
}

// lastLine is the last line on which n or anything written inside it
// starts. Aliases count where they are written, not where they point.
func lastLine(n *yaml.Node, depth int) int {
	l := n.Line
	if n.Kind == yaml.AliasNode || depth > 10000 {
		return l
	}
	for _, c := range n.Content {
		if cl := lastLine(c, depth+1); cl > l {
			l = cl
		}
	}
	return l
}

func matrix(n *yaml.Node) *Matrix {
	mx := &Matrix{Pos: pos(n)}
	m := resolve(n)
	if m.Kind == yaml.ScalarNode {
		mx.Expr = m.Value
		return mx
	}
	if m.Kind != yaml.MappingNode {
		return mx
	}
	seen := map[string]bool{}
	add := func(k string) {
		if !seen[k] {
			seen[k] = true
			mx.Keys = append(mx.Keys, k)
		}
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		switch k := m.Content[i].Value; k {
		case "exclude":
		case "include":
			inc := resolve(m.Content[i+1])
			if inc.Kind != yaml.SequenceNode {
				continue
			}
			for _, e := range inc.Content {
				if e = resolve(e); e.Kind == yaml.MappingNode {
					for x := 0; x+1 < len(e.Content); x += 2 {
						add(e.Content[x].Value)
					}
				}
			}
		default:
			add(k)
		}
	}
	mx.Legs = legs(m)
	return mx
}

// legs expands a matrix mapping into its combinations the way GitHub
// does, or returns nil when anything in it is only known at run time.
func legs(m *yaml.Node) []map[string]string {
	var keys []string
	values := map[string][]string{}
	var include, exclude []map[string]string
	entries := func(n *yaml.Node) ([]map[string]string, bool) {
		n = resolve(n)
		if n.Kind != yaml.SequenceNode {
			return nil, false
		}
		var out []map[string]string
		for _, e := range n.Content {
			if e = resolve(e); e.Kind != yaml.MappingNode {
				return nil, false
			}
			entry := map[string]string{}
			for i := 0; i+1 < len(e.Content); i += 2 {
				v := resolve(e.Content[i+1])
				if v.Kind != yaml.ScalarNode {
					return nil, false
				}
				entry[e.Content[i].Value] = v.Value
			}
			out = append(out, entry)
		}
		return out, true
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i].Value, resolve(m.Content[i+1])
		var ok bool
		switch k {
		case "include":
			include, ok = entries(v)
		case "exclude":
			exclude, ok = entries(v)
		default:
			ok = v.Kind == yaml.SequenceNode
			for _, x := range v.Content {
				if x = resolve(x); x.Kind != yaml.ScalarNode {
					ok = false
				} else {
					values[k] = append(values[k], x.Value)
				}
			}
			keys = append(keys, k)
		}
		if !ok {
			return nil
		}
	}
	var combos []map[string]string
	if len(keys) > 0 {
		combos = []map[string]string{{}}
		for _, k := range keys {
			var next []map[string]string
			for _, c := range combos {
				for _, v := range values[k] {
					n := maps.Clone(c)
					n[k] = v
					next = append(next, n)
				}
			}
			combos = next
		}
	}
	matches := func(c, e map[string]string, only func(string) bool) bool {
		for k, v := range e {
			if only(k) && c[k] != v {
				return false
			}
		}
		return true
	}
	combos = slices.DeleteFunc(combos, func(c map[string]string) bool {
		for _, e := range exclude {
			if matches(c, e, func(string) bool { return true }) {
				return true
			}
		}
		return false
	})
	original := len(combos)
	isKey := func(k string) bool { return values[k] != nil || slices.Contains(keys, k) }
	for _, e := range include {
		merged := false
		for _, c := range combos[:original] {
			if matches(c, e, isKey) {
				maps.Copy(c, e)
				merged = true
			}
		}
		if !merged {
			combos = append(combos, maps.Clone(e))
		}
	}
	if combos == nil {
		combos = []map[string]string{}
	}
	return combos
}

// sharing fills in Job.StepsShared: whether the list a job's steps come
// from is written elsewhere, or is anchored (itself, or the job or "jobs"
// around it) and referred to by an alias. Either way, a change to the
// list would show up in more than one place.
func (w *Workflow) sharing() {
	root := w.doc.Content[0]
	_, jobsVal, _ := lookup(root, "jobs")
	jobs := resolve(jobsVal)
	for i, j := range w.Jobs {
		if j.steps == nil {
			continue
		}
		jobVal := jobs.Content[2*i+1]
		var sh *Sharing
		// Not written in the job: reached through an alias or a merge key.
		_, stepsVal, via := lookup(jobVal, "steps")
		for _, n := range []*yaml.Node{jobsVal, jobVal, stepsVal, via} {
			if n != nil && n.Kind == yaml.AliasNode {
				sh = &Sharing{Anchor: n.Value, AnchorPos: pos(n.Alias), AliasPos: pos(n), Merge: n == via}
				break
			}
		}
		if sh == nil && via != nil {
			sh = &Sharing{AliasPos: pos(via), Merge: true}
		}
		// Written here but anchored, and an alias elsewhere uses it.
		if sh == nil {
			for _, n := range []*yaml.Node{jobs, resolve(jobVal), j.steps} {
				if n.Anchor != "" && len(w.aliases[n]) > 0 {
					sh = &Sharing{Anchor: n.Anchor, AnchorPos: pos(n), AliasPos: pos(w.aliases[n][0]), Here: true}
					break
				}
			}
		}
		if sh == nil {
			continue
		}
		for _, o := range w.Jobs {
			if o != j && o.steps == j.steps {
				sh.Jobs = append(sh.Jobs, o.ID)
			}
		}
		j.StepsShared = sh
	}
}
