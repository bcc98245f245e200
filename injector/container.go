package injector

import (
	"fmt"
	"slices"
	"strings"

	"github.com/pitstopci/pitstop/workflows"
)

// ContainerOptions returns src with opts added to the docker options of
// job's "container:", changing nothing else: "container: IMAGE" becomes a
// flow mapping with the image and the options, an options value gets opts
// appended, and a mapping without one gets an options key. act reads no
// --container-options for such a job, so this is how pitstop act gives
// the job's container its shared directory.
func ContainerOptions(file string, src []byte, job, opts string) ([]byte, error) {
	_, j, err := parseJob(file, src, job)
	if err != nil {
		return nil, err
	}
	if j.Container == nil {
		return nil, fmt.Errorf("job %q has no container", job)
	}
	out, err := addOptions(src, j.Container, fmt.Sprintf("job %q: container", job), opts)
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
	_, j, err := parseJob(file, src, job)
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
		_, j, err := parseJob(file, src, job)
		if err != nil {
			return nil, err
		}
		i := slices.IndexFunc(j.Services, func(s *workflows.Container) bool { return s.ID == id })
		if i < 0 || (j.Services[i].Form != workflows.BlockMapping && j.Services[i].Form != workflows.FlowMapping) {
			return nil, fmt.Errorf("job %q: service %q is not a mapping", job, id)
		}
		if src, err = addOptions(src, j.Services[i], fmt.Sprintf("job %q: service %q", job, id), opts); err != nil {
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
		_, j, err := parseJob(file, b, job)
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

// addOptions adds opts to the docker options of c, a container or
// service, which is an image or a mapping.
func addOptions(src []byte, c *workflows.Container, what, opts string) ([]byte, error) {
	t := newText(src)
	switch c.Form {
	case workflows.Scalar:
		if c.Image == "" {
			// "container: null" or "": no container to give options to.
			return nil, fmt.Errorf("line %d: %s names no image", c.Pos.Line, what)
		}
		sp, err := scalarSpan(c.Span, c.Pos)
		if err != nil {
			return nil, err
		}
		sp.text = "{image: " + doubleQuote(c.Image) + ", options: " + doubleQuote(opts) + "}"
		return sp.apply(src), nil
	case workflows.BlockMapping, workflows.FlowMapping:
		if c.FirstKey.IsZero() {
			return nil, fmt.Errorf("%s is empty", what)
		}
		if !c.OptionsPos.IsZero() {
			sp, err := scalarSpan(c.OptionsSpan, c.OptionsPos)
			if err != nil {
				return nil, err
			}
			sp.text = doubleQuote(strings.TrimSpace(c.Options + " " + opts))
			return sp.apply(src), nil
		}
		first := c.FirstKey
		at := t.offset(first)
		if at < 0 {
			return nil, fmt.Errorf("line %d: %s is outside the workflow", first.Line, what)
		}
		sep := t.newline(first.Line) + strings.Repeat(" ", first.Col-1)
		if c.Form == workflows.FlowMapping {
			sep = ", "
		}
		return splice{off: at, end: at, text: "options: " + doubleQuote(opts) + sep}.apply(src), nil
	default:
		return nil, fmt.Errorf("%s is neither an image nor a mapping", what)
	}
}

// scalarSpan turns the span of a one-line scalar into a splice, or says
// why there is none; p is where the value is.
func scalarSpan(s workflows.Span, p workflows.Pos) (splice, error) {
	if s.IsZero() {
		return splice{}, fmt.Errorf("line %d: pitstop act can only add to a container image or options written on one line", p.Line)
	}
	return splice{off: s.Start, end: s.End}, nil
}

// parseJob parses src and finds job in it.
func parseJob(file string, src []byte, job string) (*workflows.Workflow, *workflows.Job, error) {
	wf, err := workflows.Parse(file, src)
	if err != nil {
		return nil, nil, err
	}
	j, err := wf.Job(job)
	if err != nil {
		return nil, nil, err
	}
	return wf, j, nil
}
