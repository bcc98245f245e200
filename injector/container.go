package injector

import (
	"bytes"
	"fmt"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/pitstopci/pitstop/workflows"
)

// ContainerOptions returns src with opts added to the docker options of
// job's "container:", changing nothing else: "container: IMAGE" becomes a
// flow mapping with the image and the options, an options value gets opts
// appended, and a mapping without one gets an options key. act reads no
// --container-options for such a job, so this is how pitstop act gives
// the job's container its shared directory.
func ContainerOptions(file string, src []byte, job, opts string) ([]byte, error) {
	top, err := topMapping(file, src)
	if err != nil {
		return nil, err
	}
	c := valueAt(top, "jobs", job, "container")
	if c == nil {
		return nil, fmt.Errorf("job %q has no container", job)
	}
	out, err := addOptions(src, c, fmt.Sprintf("job %q: container", job), opts)
	if err != nil {
		return nil, err
	}
	return out, checkOptions(file, src, out, job, opts, func(j *workflows.Job) []*workflows.Container {
		return []*workflows.Container{j.Container}
	})
}

// ServiceOptions returns src with opts added to the docker options of
// each of job's "services:", as ContainerOptions does for its container.
func ServiceOptions(file string, src []byte, job, opts string) ([]byte, error) {
	wf, err := workflows.Parse(file, src)
	if err != nil {
		return nil, err
	}
	j, err := wf.Job(job)
	if err != nil {
		return nil, err
	}
	in := src
	var ids []string
	for _, s := range j.Services {
		ids = append(ids, s.ID)
	}
	slices.Sort(ids)
	for _, id := range ids {
		// Each edit moves what follows it: locate the next service in
		// the text as it is now.
		top, err := topMapping(file, src)
		if err != nil {
			return nil, err
		}
		s := valueAt(top, "jobs", job, "services", id)
		if s == nil || s.Kind != yaml.MappingNode {
			return nil, fmt.Errorf("job %q: service %q is not a mapping", job, id)
		}
		if src, err = addOptions(src, s, fmt.Sprintf("job %q: service %q", job, id), opts); err != nil {
			return nil, err
		}
	}
	return src, checkOptions(file, in, src, job, opts, func(j *workflows.Job) []*workflows.Container { return j.Services })
}

// checkOptions re-reads out, the edit of src, and checks that each of
// job's containers (which picks them) has the same image as before and
// opts at the end of its options.
func checkOptions(file string, src, out []byte, job, opts string, which func(*workflows.Job) []*workflows.Container) error {
	containers := func(b []byte) ([]*workflows.Container, error) {
		wf, err := workflows.Parse(file, b)
		if err != nil {
			return nil, err
		}
		j, err := wf.Job(job)
		if err != nil {
			return nil, err
		}
		return which(j), nil
	}
	before, err := containers(src)
	if err != nil {
		return err
	}
	after, err := containers(out)
	if err != nil {
		return fmt.Errorf("%s: adding docker options broke the file: %w", file, err)
	}
	if len(after) != len(before) {
		return fmt.Errorf("%s: adding docker options changed job %q's containers, so nothing was changed", file, job)
	}
	for i, c := range after {
		if c == nil || before[i] == nil || c.Image != before[i].Image || !strings.HasSuffix(c.Options, opts) {
			return fmt.Errorf("%s: adding docker options to job %q did not give the container the options, so nothing was changed", file, job)
		}
	}
	return nil
}

// valueAt follows keys down from m through mappings; nil when one is
// missing or not a mapping. Like mapValue, it follows no alias.
func valueAt(m *yaml.Node, keys ...string) *yaml.Node {
	for _, k := range keys {
		if m == nil {
			return nil
		}
		m = mapValue(m, k)
	}
	return m
}

// addOptions adds opts to the docker options of c, a container or
// service, which is an image or a mapping.
func addOptions(src []byte, c *yaml.Node, what, opts string) ([]byte, error) {
	t := newText(src)
	switch c.Kind {
	case yaml.ScalarNode:
		sp, err := scalarSpan(t, c)
		if err != nil {
			return nil, err
		}
		sp.text = "{image: " + doubleQuote(c.Value) + ", options: " + doubleQuote(opts) + "}"
		return sp.apply(src), nil
	case yaml.MappingNode:
		if len(c.Content) == 0 {
			return nil, fmt.Errorf("%s is empty", what)
		}
		if o := mapValue(c, "options"); o != nil {
			sp, err := scalarSpan(t, o)
			if err != nil {
				return nil, err
			}
			sp.text = doubleQuote(strings.TrimSpace(o.Value + " " + opts))
			return sp.apply(src), nil
		}
		first := c.Content[0]
		at := t.offset(workflows.Pos{Line: first.Line, Col: first.Column})
		if at < 0 {
			return nil, fmt.Errorf("line %d: %s is outside the workflow", first.Line, what)
		}
		sep := t.newline(first.Line) + strings.Repeat(" ", first.Column-1)
		if c.Style&yaml.FlowStyle != 0 {
			sep = ", "
		}
		return splice{off: at, end: at, text: "options: " + doubleQuote(opts) + sep}.apply(src), nil
	default:
		return nil, fmt.Errorf("%s is neither an image nor a mapping", what)
	}
}

// scalarSpan returns where a one-line scalar's text starts and ends.
func scalarSpan(t *text, n *yaml.Node) (splice, error) {
	start := t.offset(workflows.Pos{Line: n.Line, Col: n.Column})
	if start >= 0 {
		line := t.src[start : t.lineStart(n.Line)+len(t.content(n.Line))]
		if end, ok := scalarEnd(line, n); ok {
			return splice{off: start, end: start + end}, nil
		}
	}
	return splice{}, fmt.Errorf("line %d: pitstop act can only add to a container image or options written on one line", n.Line)
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
		if n.Value != "" && !strings.Contains(n.Value, "\n") && bytes.HasPrefix(line, []byte(n.Value)) {
			return len(n.Value), true
		}
	}
	return 0, false
}
