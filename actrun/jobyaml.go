package actrun

import (
	"bytes"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"

	"github.com/pitstopci/pitstop/workflows"
)

// jobSpec is what pitstop act needs to know about where act runs a job.
type jobSpec struct {
	// Image is the job's container image (`container:`), "" for none.
	Image string
	// Services are the IDs of the job's service containers.
	Services []string
}

// parsedJob returns job (the only one when job is "") of a workflow, or
// nil. The workflow has been parsed by the injector already, so errors are
// the injector's to report; here they only leave what is read empty.
func parsedJob(src []byte, job string) *workflows.Job {
	wf, err := workflows.Parse("workflow", src)
	if err != nil {
		return nil
	}
	j, err := wf.Job(job)
	if err != nil {
		return nil
	}
	return j
}

// readJobSpec reads job's container and services from a workflow.
func readJobSpec(src []byte, job string) jobSpec {
	j := parsedJob(src, job)
	if j == nil {
		return jobSpec{}
	}
	var spec jobSpec
	if j.Container != nil {
		spec.Image = j.Container.Image
	}
	for _, s := range j.Services {
		spec.Services = append(spec.Services, s.ID)
	}
	sort.Strings(spec.Services)
	return spec
}

// withContainerOptions returns src with opts added to the docker options
// of job's `container:`, changing nothing else: `container: IMAGE` becomes
// a flow mapping with the image and the options, an options value gets
// opts appended, and a mapping without one gets an options key. act reads
// no --container-options for such a job, so this is how the job's
// container gets pitstop's shared directory.
func withContainerOptions(src []byte, job, opts string) ([]byte, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil || len(doc.Content) == 0 {
		return nil, fmt.Errorf("read the workflow copy: %v", err)
	}
	c := mapValue(mapValue(mapValue(doc.Content[0], "jobs"), job), "container")
	if c == nil {
		return nil, fmt.Errorf("job %q has no container", job)
	}
	return addOptions(src, c, fmt.Sprintf("job %q: container", job), opts)
}

// withServiceOptions returns src with opts added to the docker options
// of each of job's services, as withContainerOptions does for its
// container.
func withServiceOptions(src []byte, job, opts string) ([]byte, error) {
	for _, id := range readJobSpec(src, job).Services {
		var doc yaml.Node
		if err := yaml.Unmarshal(src, &doc); err != nil || len(doc.Content) == 0 {
			return nil, fmt.Errorf("read the workflow copy: %v", err)
		}
		s := mapValue(mapValue(mapValue(mapValue(doc.Content[0], "jobs"), job), "services"), id)
		if s == nil || s.Kind != yaml.MappingNode {
			return nil, fmt.Errorf("job %q: service %q is not a mapping", job, id)
		}
		var err error
		if src, err = addOptions(src, s, fmt.Sprintf("job %q: service %q", job, id), opts); err != nil {
			return nil, err
		}
	}
	return src, nil
}

// addOptions adds opts to the docker options of c, a container or
// service, which is an image or a mapping.
func addOptions(src []byte, c *yaml.Node, what, opts string) ([]byte, error) {
	lines := lineStarts(src)
	switch c.Kind {
	case yaml.ScalarNode:
		start, end, err := scalarSpan(src, lines, c)
		if err != nil {
			return nil, err
		}
		repl := "{image: " + yamlQuote(c.Value) + ", options: " + yamlQuote(opts) + "}"
		return splice(src, start, end, repl), nil
	case yaml.MappingNode:
		if len(c.Content) == 0 {
			return nil, fmt.Errorf("%s is empty", what)
		}
		if o := mapValue(c, "options"); o != nil {
			start, end, err := scalarSpan(src, lines, o)
			if err != nil {
				return nil, err
			}
			return splice(src, start, end, yamlQuote(strings.TrimSpace(o.Value+" "+opts))), nil
		}
		first := c.Content[0]
		at, err := offset(src, lines, first.Line, first.Column)
		if err != nil {
			return nil, err
		}
		sep := "\n" + strings.Repeat(" ", first.Column-1)
		if c.Style&yaml.FlowStyle != 0 {
			sep = ", "
		}
		return splice(src, at, at, "options: "+yamlQuote(opts)+sep), nil
	default:
		return nil, fmt.Errorf("%s is neither an image nor a mapping", what)
	}
}

// mapValue returns the value of key in a mapping node, or nil.
func mapValue(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

func lineStarts(src []byte) []int {
	starts := []int{0}
	for i, b := range src {
		if b == '\n' {
			starts = append(starts, i+1)
		}
	}
	return starts
}

// offset turns yaml's 1-based line and column (counted in characters)
// into a byte offset.
func offset(src []byte, lines []int, line, col int) (int, error) {
	if line < 1 || line > len(lines) {
		return 0, fmt.Errorf("line %d is outside the workflow", line)
	}
	at := lines[line-1]
	for i := 1; i < col; i++ {
		if at >= len(src) || src[at] == '\n' {
			return 0, fmt.Errorf("column %d is outside line %d", col, line)
		}
		_, size := utf8.DecodeRune(src[at:])
		at += size
	}
	return at, nil
}

// scalarSpan returns where a one-line scalar's text starts and ends.
func scalarSpan(src []byte, lines []int, n *yaml.Node) (int, int, error) {
	start, err := offset(src, lines, n.Line, n.Column)
	if err != nil {
		return 0, 0, err
	}
	eol := bytes.IndexByte(src[start:], '\n')
	if eol < 0 {
		eol = len(src) - start
	}
	line := src[start : start+eol]
	switch n.Style {
	case yaml.DoubleQuotedStyle:
		for i := 1; i < len(line); i++ {
			switch line[i] {
			case '\\':
				i++
			case '"':
				return start, start + i + 1, nil
			}
		}
	case yaml.SingleQuotedStyle:
		for i := 1; i < len(line); i++ {
			if line[i] == '\'' {
				if i+1 < len(line) && line[i+1] == '\'' {
					i++
					continue
				}
				return start, start + i + 1, nil
			}
		}
	case 0: // plain: one line's is its text, up to a comment, or a , or } in a flow mapping
		if n.Value != "" && !strings.Contains(n.Value, "\n") && bytes.HasPrefix(line, []byte(n.Value)) {
			return start, start + len(n.Value), nil
		}
	}
	return 0, 0, fmt.Errorf("line %d: pitstop act can only add to a container image or options written on one line", n.Line)
}

func splice(src []byte, start, end int, repl string) []byte {
	out := make([]byte, 0, len(src)+len(repl))
	out = append(out, src[:start]...)
	out = append(out, repl...)
	return append(out, src[end:]...)
}

// yamlQuote writes s as a double-quoted YAML scalar (JSON's escapes are
// valid there).
func yamlQuote(s string) string {
	return strconv.Quote(s)
}
