package workflows

import (
	"strings"

	"gopkg.in/yaml.v3"
)

// Event is one trigger under "on:".
type Event struct {
	Name string // "push", "workflow_dispatch", ...
	Pos  Pos    // the event's name
}

// Permissions is a "permissions:" setting of the workflow or of a job.
type Permissions struct {
	Pos Pos // the value
	// All is the whole setting when it is one scalar: "read-all",
	// "write-all" or an expression; "" for a mapping.
	All string
	// Scopes are the "scope: level" pairs of a mapping, in file order.
	Scopes []KeyValue
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
}

// settings fills in what the workflow says outside its jobs. root is the
// top-level mapping.
func (w *Workflow) settings(root *yaml.Node) {
	_, name, _ := lookup(root, "name")
	w.Name = scalar(name)
	if _, on, _ := lookup(root, "on"); on != nil {
		w.On = events(on)
	}
	w.Permissions = permissions(root)
	w.Defaults = defaults(root)
}

// settings fills in the job's own settings from its mapping m.
func (j *Job) settings(m *yaml.Node) {
	_, cond, _ := lookup(m, "if")
	j.If = strings.TrimSpace(scalar(cond))
	if _, ro, _ := lookup(m, "runs-on"); ro != nil {
		j.RunsOn = runnerLabels(ro, 0)
	}
	j.Permissions = permissions(m)
	j.Defaults = defaults(m)
	if _, c, _ := lookup(m, "container"); c != nil {
		j.Container = container("", c)
	}
	if _, sv, _ := lookup(m, "services"); sv != nil {
		if sv = resolve(sv); sv.Kind == yaml.MappingNode {
			for i := 0; i+1 < len(sv.Content); i += 2 {
				j.Services = append(j.Services, container(sv.Content[i].Value, sv.Content[i+1]))
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
			out = append(out, Event{Name: n.Content[i].Value, Pos: pos(n.Content[i])})
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

func permissions(m *yaml.Node) *Permissions {
	_, v, _ := lookup(m, "permissions")
	if v == nil {
		return nil
	}
	p := &Permissions{Pos: pos(v)}
	switch r := resolve(v); r.Kind {
	case yaml.ScalarNode:
		p.All = scalar(r)
	case yaml.MappingNode:
		for i := 0; i+1 < len(r.Content); i += 2 {
			p.Scopes = append(p.Scopes, KeyValue{Key: r.Content[i].Value, Value: scalar(r.Content[i+1]), Pos: pos(r.Content[i])})
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

func container(id string, n *yaml.Node) *Container {
	c := &Container{ID: id, Pos: pos(n)}
	if r := resolve(n); r.Kind == yaml.ScalarNode {
		c.Image = scalar(r)
		return c
	}
	_, img, _ := lookup(n, "image")
	_, opts, _ := lookup(n, "options")
	c.Image, c.Options = scalar(img), scalar(opts)
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
