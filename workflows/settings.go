package workflows

import (
	"strings"

	"gopkg.in/yaml.v3"
)

// Event is one trigger under "on:".
type Event struct {
	Name string // "push", "workflow_dispatch", ...
	Pos  Pos    // the event's name
	// Branches is the event's "branches:" filter when it is a list of
	// scalars (push and pull_request have one); nil when there is none.
	Branches []string
}

// Permissions is a "permissions:" setting of the workflow or of a job.
type Permissions struct {
	Pos Pos // the value
	// All is the whole setting when it is one scalar: "read-all",
	// "write-all" or an expression; "" for a mapping.
	All string
	// Scopes are the "scope: level" pairs of a mapping, in file order.
	// Each Span is the level's text when it is written on one line.
	Scopes []KeyValue
	// Form is how the setting is written where it applies; a mapping
	// reached through an alias or a merge key is NotHere.
	Form Form
}

// Level returns the level a mapping gives scope ("read", "write",
// "none"), or "" when it does not name it.
func (p *Permissions) Level(scope string) string {
	for _, kv := range p.Scopes {
		if kv.Key == scope {
			return kv.Value
		}
	}
	return ""
}

// Defaults is a "defaults.run" setting of the workflow or of a job.
type Defaults struct {
	Pos              Pos    // the "defaults" key
	Shell            string // "shell:", "" when unset
	WorkingDirectory string // "working-directory:", "" when unset
}

// shell is d's shell, "" when d is nil: a job or workflow without
// "defaults:" leaves the choice to the next level.
func (d *Defaults) shell() string {
	if d == nil {
		return ""
	}
	return d.Shell
}

// workingDirectory is d's working directory, "" when d is nil.
func (d *Defaults) workingDirectory() string {
	if d == nil {
		return ""
	}
	return d.WorkingDirectory
}

// Container is a job's "container:" or one of its "services:".
type Container struct {
	ID  string // the service's id; "" for the job's container
	Pos Pos    // the value: the image, or the mapping
	// Image is the image as written, from "container: IMAGE" or from
	// "image:". It may be an expression.
	Image   string
	Options string // "options:" as written, "" when unset

	// Form is how the value is written where it applies. For a Scalar
	// (the image), Span is its text when it is written on one line.
	Form Form
	Span Span
	// FirstKey is where the first key of a mapping is written.
	FirstKey Pos
	// OptionsPos is the "options" key when the mapping itself has one
	// (zero when it has none, or has it only through a merge key), and
	// OptionsSpan the text of its value when that is one line.
	OptionsPos  Pos
	OptionsSpan Span
}

// settings fills in what the workflow says outside its jobs. root is the
// top-level mapping.
func (w *Workflow) settings(root *yaml.Node) {
	for i := 0; i+1 < len(root.Content); i += 2 {
		w.Keys = append(w.Keys, Key{Name: root.Content[i].Value, Pos: pos(root.Content[i])})
	}
	_, name, _ := lookup(root, "name")
	w.Name = scalar(name)
	if _, on, _ := lookup(root, "on"); on != nil {
		w.On = events(on)
	}
	w.Permissions = w.permissions(root, true)
	w.Defaults = defaults(root)
}

// jobSettings fills in j's own settings from its mapping m. inPlace is
// false when the job is an alias of another.
func (w *Workflow) jobSettings(j *Job, m *yaml.Node, inPlace bool) {
	_, cond, _ := lookup(m, "if")
	j.If = strings.TrimSpace(scalar(cond))
	if _, ro, _ := lookup(m, "runs-on"); ro != nil {
		j.RunsOn = runnerLabels(ro, 0)
	}
	j.Permissions = w.permissions(m, inPlace)
	j.Defaults = defaults(m)
	if _, c, via := lookup(m, "container"); c != nil {
		j.Container = w.container("", c, inPlace && via == nil)
	}
	if _, sv, via := lookup(m, "services"); sv != nil {
		here := inPlace && via == nil && sv.Kind != yaml.AliasNode
		if sv = resolve(sv); sv.Kind == yaml.MappingNode {
			for i := 0; i+1 < len(sv.Content); i += 2 {
				j.Services = append(j.Services, w.container(sv.Content[i].Value, sv.Content[i+1], here))
			}
		}
	}
}

// events lists the triggers of "on:", written as one event, a list of
// events, or a mapping of events to their settings.
func events(n *yaml.Node) []Event {
	var out []Event
	switch n = resolve(n); n.Kind {
	case yaml.ScalarNode:
		if n.Value != "" {
			out = append(out, Event{Name: n.Value, Pos: pos(n)})
		}
	case yaml.SequenceNode:
		for _, e := range n.Content {
			if s := scalar(e); s != "" {
				out = append(out, Event{Name: s, Pos: pos(e)})
			}
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			e := Event{Name: n.Content[i].Value, Pos: pos(n.Content[i])}
			if _, b, _ := lookup(n.Content[i+1], "branches"); b != nil {
				if b = resolve(b); b.Kind == yaml.SequenceNode {
					e.Branches = []string{}
					for _, x := range b.Content {
						e.Branches = append(e.Branches, scalar(x))
					}
				}
			}
			out = append(out, e)
		}
	}
	return out
}

// HasEvent reports whether the workflow runs on event.
func (w *Workflow) HasEvent(event string) bool {
	for _, e := range w.On {
		if e.Name == event {
			return true
		}
	}
	return false
}

// permissions reads the "permissions:" of mapping m. inPlace is false
// when m is not written where it applies (an aliased job).
func (w *Workflow) permissions(m *yaml.Node, inPlace bool) *Permissions {
	_, v, via := lookup(m, "permissions")
	if v == nil {
		return nil
	}
	p := &Permissions{Pos: pos(v), Form: form(v, inPlace && via == nil)}
	switch r := resolve(v); r.Kind {
	case yaml.ScalarNode:
		p.All = scalar(r)
	case yaml.MappingNode:
		for i := 0; i+1 < len(r.Content); i += 2 {
			kv := KeyValue{Key: r.Content[i].Value, Value: scalar(r.Content[i+1]), Pos: pos(r.Content[i])}
			if p.Form != NotHere {
				kv.Span = w.span(r.Content[i+1])
			}
			p.Scopes = append(p.Scopes, kv)
		}
	}
	return p
}

func defaults(m *yaml.Node) *Defaults {
	k, v, _ := lookup(m, "defaults")
	if v == nil {
		return nil
	}
	d := &Defaults{Pos: pos(k)}
	_, run, _ := lookup(v, "run")
	_, shell, _ := lookup(run, "shell")
	_, wd, _ := lookup(run, "working-directory")
	d.Shell, d.WorkingDirectory = scalar(shell), scalar(wd)
	return d
}

// container reads a container or service from its value n. inPlace is
// false when n is not written where it applies.
func (w *Workflow) container(id string, n *yaml.Node, inPlace bool) *Container {
	c := &Container{ID: id, Pos: pos(n), Form: form(n, inPlace)}
	if r := resolve(n); r.Kind == yaml.ScalarNode {
		c.Image = scalar(r)
		if c.Form == Scalar {
			c.Span = w.span(n)
		}
		return c
	}
	_, img, _ := lookup(n, "image")
	ok, opts, via := lookup(n, "options")
	c.Image, c.Options = scalar(img), scalar(opts)
	if c.Form != BlockMapping && c.Form != FlowMapping {
		return c
	}
	if len(n.Content) > 0 {
		c.FirstKey = pos(n.Content[0])
	}
	if ok != nil && via == nil {
		c.OptionsPos, c.OptionsSpan = pos(ok), w.span(opts)
	}
	return c
}

// runnerLabels returns the literal labels of a "runs-on:" value: a label,
// a list of labels, or the labels of a {group, labels} runner.
// Expressions (${{ matrix.os }}) are left out: they are only known at run
// time.
func runnerLabels(n *yaml.Node, depth int) []string {
	var out []string
	switch n = resolve(n); {
	case depth > maxAliasHops:
	case n.Kind == yaml.ScalarNode:
		if s := scalar(n); s != "" && !strings.Contains(s, "${{") {
			out = append(out, s)
		}
	case n.Kind == yaml.SequenceNode:
		for _, e := range n.Content {
			out = append(out, runnerLabels(e, depth+1)...)
		}
	case n.Kind == yaml.MappingNode:
		if _, l, _ := lookup(n, "labels"); l != nil {
			out = runnerLabels(l, depth+1)
		}
	}
	return out
}
