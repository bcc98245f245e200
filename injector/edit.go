package injector

import (
	"bytes"
	"fmt"
	"slices"

	"github.com/pitstopci/pitstop/workflows"
)

// edit is one insertion into, or removal from, one job's steps.
type edit struct {
	file   string
	src    []byte
	t      *text
	w      *workflows.Workflow // src, parsed
	job    *workflows.Job
	p      pause               // the step to insert
	result *workflows.Workflow // the output, parsed, once checked
	// eofNewline is set when the insertion had to end the file's last
	// line, and that changed a block scalar there (see checkInsert).
	eofNewline bool
}

// splice is an insertion (text at off) or a removal (from off to end).
type splice struct {
	off, end int
	text     string
}

func (s splice) apply(src []byte) []byte {
	out := make([]byte, 0, len(src)+len(s.text))
	out = append(out, src[:s.off]...)
	out = append(out, s.text...)
	return append(out, src[s.end:]...)
}

// first tries the candidate edits in order of preference and returns the
// first whose result passes check. Several candidates exist because text
// alone cannot always tell where a step ends (a block scalar kept with
// "|+" owns the blank lines after it); the check decides.
func (e *edit) first(cands []splice, check func(splice, []byte) (*workflows.Workflow, error)) ([]byte, error) {
	var firstErr error
	for _, c := range cands {
		out := c.apply(e.src)
		w, err := check(c, out)
		if err == nil {
			e.result = w
			return out, nil
		}
		if firstErr == nil {
			firstErr = err
		}
	}
	if firstErr == nil {
		firstErr = fmt.Errorf("no place to edit")
	}
	return nil, &workflows.Error{File: e.file, Pos: e.job.StepsPos, Msg: fmt.Sprintf(
		"cannot edit the steps of job %q without changing something else, so nothing was changed (%v)", e.job.ID, plain(firstErr))}
}

// plain strips the file name from a nested *workflows.Error: the outer
// error already names the file.
func plain(err error) string {
	if we, ok := err.(*workflows.Error); ok {
		c := *we
		c.File = ""
		return c.Error()
	}
	return err.Error()
}

// checkInsert verifies an insertion: out parses, the job has one more step,
// the new step at index n is the pause as intended, and nothing else in
// the document differs.
//
// One difference is tolerated, and reported as a warning: in a file whose
// last line has no newline, a block scalar ending there ("run: |") has no
// final line break, and any step after it must give it one. Only a run:
// script may change so, since a shell does not care; any other value
// (a with: input, an env: variable) would reach its reader changed, so
// the insertion is refused instead. The result is then compared with the
// input plus that newline, so nothing else may differ.
func (e *edit) checkInsert(n int) func(splice, []byte) (*workflows.Workflow, error) {
	return func(sp splice, out []byte) (*workflows.Workflow, error) {
		nw, err := workflows.Parse(e.file, out)
		if err != nil {
			return nil, fmt.Errorf("the result does not parse: %w", err)
		}
		j, err := nw.Job(e.job.ID)
		if err != nil {
			return nil, err
		}
		if len(j.Steps) != len(e.job.Steps)+1 {
			return nil, fmt.Errorf("the result has %d steps instead of %d", len(j.Steps), len(e.job.Steps)+1)
		}
		s := j.Steps[n]
		if s.ID != e.p.id || s.Name != e.p.name || s.Uses != e.p.uses || s.If != e.p.cond || !sameInputs(s.With, e.p.with) || !sameEnv(s.Env, e.p.env) {
			return nil, fmt.Errorf("step %d of the result is not the pause as intended", n+1)
		}
		ref := &workflows.StepRef{Job: j.ID, Index: n}
		err = workflows.Compare(e.w, nw, ref)
		if err != nil && sp.off == len(e.src) && !e.t.endsWithNewline() {
			ended, perr := workflows.Parse(e.file, append(e.src[:len(e.src):len(e.src)], e.t.newline(e.t.lines())...))
			if perr == nil && workflows.Compare(ended, nw, ref) == nil {
				if !e.w.EndsWithRun() {
					return nil, fmt.Errorf("the file does not end with a newline, so the multi-line value at its end would gain one; add a newline at the end of the file and try again")
				}
				e.eofNewline, err = true, nil
			}
		}
		if err != nil {
			return nil, err
		}
		return nw, nil
	}
}

func sameInputs(got []workflows.KeyValue, want []Input) bool {
	return slices.EqualFunc(got, want, func(g workflows.KeyValue, w Input) bool { return g.Key == w.Key && g.Value == w.Value })
}

func sameEnv(got, want []workflows.KeyValue) bool {
	return slices.EqualFunc(got, want, func(g, w workflows.KeyValue) bool {
		return g.Key == w.Key && g.Value == w.Value && g.Plain == w.Plain
	})
}

// checkRemove verifies a removal of step n: the result parses and is the
// input without that step.
func (e *edit) checkRemove(n int) func(splice, []byte) (*workflows.Workflow, error) {
	return func(sp splice, out []byte) (*workflows.Workflow, error) {
		nw, err := workflows.Parse(e.file, out)
		if err != nil {
			return nil, fmt.Errorf("the result does not parse: %w", err)
		}
		ref := &workflows.StepRef{Job: e.job.ID, Index: n}
		err = workflows.Compare(nw, e.w, ref)
		if err != nil && sp.end == len(e.src) && len(out) > 0 && out[len(out)-1] != '\n' {
			// The mirror image of the newline checkInsert tolerates.
			ended, perr := workflows.Parse(e.file, append(out[:len(out):len(out)], '\n'))
			if perr == nil && workflows.Compare(ended, e.w, ref) == nil {
				err = nil
			}
		}
		if err != nil {
			return nil, err
		}
		return nw, nil
	}
}

// lines joins ls with eol, with a trailing eol.
func lines(ls []string, eol string) string {
	var b bytes.Buffer
	for _, l := range ls {
		b.WriteString(l)
		b.WriteString(eol)
	}
	return b.String()
}
