package injector

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"strings"

	"github.com/pitstopci/pitstop/workflows"
)

// inputs is a repeatable KEY=VALUE flag, as the command line has them.
type inputs []Input

func (in *inputs) String() string { return fmt.Sprint(*in) }
func (in *inputs) Set(s string) error {
	k, v, ok := strings.Cut(s, "=")
	if !ok {
		return fmt.Errorf("want KEY=VALUE, got %q", s)
	}
	*in = append(*in, Input{Key: k, Value: v})
	return nil
}

// parseArgs reads a test case's "args" file: the inject flags that the
// case stands for.
func parseArgs(args string) (opts Options, remove bool, err error) {
	fs := flag.NewFlagSet("args", flag.ContinueOnError)
	fs.StringVar(&opts.Job, "job", "", "")
	fs.IntVar(&opts.After, "ssh-after-step", 0, "")
	fs.StringVar(&opts.Uses, "uses", "", "")
	fs.Var((*inputs)(&opts.With), "with", "")
	fs.Var((*inputs)(&opts.Matrix), "matrix", "")
	fs.BoolVar(&remove, "remove", false, "")
	fs.BoolVar(&opts.End, "end", false, "")
	fs.BoolVar(&opts.OnFailure, "on-failure", false, "")
	fs.BoolVar(&opts.Detached, "detached", false, "")
	fs.StringVar(&opts.Hold, "hold", "", "")
	words, err := splitWords(args)
	if err != nil {
		return opts, false, err
	}
	err = fs.Parse(words)
	return opts, remove, err
}

// splitWords splits a command line the way a shell would for the simple
// cases the args files use: blanks separate words, '...' is literal and
// "..." allows \" and \\.
func splitWords(s string) ([]string, error) {
	var words []string
	var w strings.Builder
	inWord := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == ' ' || c == '\t' || c == '\n':
			if inWord {
				words, inWord = append(words, w.String()), false
				w.Reset()
			}
		case c == '\'':
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				return nil, fmt.Errorf("unterminated ' in %q", s)
			}
			w.WriteString(s[i+1 : i+1+j])
			i, inWord = i+1+j, true
		case c == '"':
			i++
			for ; i < len(s) && s[i] != '"'; i++ {
				if s[i] == '\\' && i+1 < len(s) {
					i++
				}
				w.WriteByte(s[i])
			}
			if i >= len(s) {
				return nil, fmt.Errorf("unterminated \" in %q", s)
			}
			inWord = true
		default:
			w.WriteByte(c)
			inWord = true
		}
	}
	if inWord {
		words = append(words, w.String())
	}
	return words, nil
}

// checkInsert checks the promise Insert makes about out, independently of
// the code that made it: out is src plus one contiguous piece of text (whole
// lines, for a block list), it parses, job has one more step, at index
// n, that step is a pause, nothing else changed, and Remove gives src
// back byte for byte.
func checkInsert(file string, src, out []byte, job string, n int) error {
	if err := oneInsertion(src, out); err != nil {
		return err
	}
	old, oj, nw, nj, err := beforeAfter(file, src, out, job)
	if err != nil {
		return err
	}
	if len(nj.Steps) != len(oj.Steps)+1 {
		return fmt.Errorf("job %q has %d steps after the insertion, want %d", job, len(nj.Steps), len(oj.Steps)+1)
	}
	if !IsPause(nj.Steps[n]) {
		return fmt.Errorf("step %d of job %q is not the pause", n+1, job)
	}
	if err := checkCarries(oj, nj.Steps[n], n); err != nil {
		return err
	}
	ref := &workflows.StepRef{Job: job, Index: n}
	if err := workflows.Compare(old, nw, ref); err != nil {
		// The one tolerated difference: a block scalar at the end of a
		// file without a final newline gains one (Insert warns).
		ended, perr := workflows.Parse(file, append(bytes.Clone(src), '\n'))
		if bytes.HasSuffix(src, []byte("\n")) || perr != nil || workflows.Compare(ended, nw, ref) != nil {
			return fmt.Errorf("output differs apart from the pause: %w", err)
		}
	}
	if !nj.StepsFlow && !lineAligned(src, out) {
		return fmt.Errorf("insertion into a block list is not whole lines")
	}
	rm, err := Remove(file, out)
	if err != nil {
		return fmt.Errorf("remove: %w", err)
	}
	if !bytes.Equal(rm.Out, src) || rm.Removed != 1 {
		return fmt.Errorf("remove did not restore the input (removed %d)", rm.Removed)
	}
	return nil
}

// checkCarries checks that pause, inserted after step n of job oj, carries
// the step it stands for: the next one, or for an on-failure pause the
// one it follows. Its env: is that step's, and so are its script or
// action, as the runner will see them.
func checkCarries(oj *workflows.Job, pause *workflows.Step, n int) error {
	input := func(k string) (string, bool) {
		for _, kv := range pause.With {
			if kv.Key == k {
				return kv.Value, true
			}
		}
		return "", false
	}
	want := n + 1
	if strings.Contains(pause.If, "failure()") {
		want = n
	}
	num, ok := input(StepNumberInput)
	if !IsPitstopAction(pause.Uses) && !strings.HasPrefix(pause.Uses, "./") || want < 1 || want > len(oj.Steps) {
		if ok {
			return fmt.Errorf("the pause carries step %s, but stands for none", num)
		}
		return nil
	}
	if num != fmt.Sprint(want) {
		return fmt.Errorf("the pause carries step %q, want %d", num, want)
	}
	s := oj.Steps[want-1]
	if !sameEnv(pause.Env, s.Env) {
		return fmt.Errorf("the pause's env is %v, step %d's is %v", pause.Env, want, s.Env)
	}
	run, _ := input(StepRunInput)
	uses, _ := input(StepUsesInput)
	if run != s.Run || uses != s.Uses {
		return fmt.Errorf("the pause carries run %q and uses %q, step %d has %q and %q", run, uses, want, s.Run, s.Uses)
	}
	return nil
}

// checkDetached checks the promise Insert makes for a detached pause:
// out parses, job has two more steps, the pause at index n and the hold
// last, and Remove gives src back byte for byte (each removal checks on
// its own that nothing but that step goes).
func checkDetached(file string, src, out []byte, job string, n int) error {
	_, oj, _, nj, err := beforeAfter(file, src, out, job)
	if err != nil {
		return err
	}
	if len(nj.Steps) != len(oj.Steps)+2 {
		return fmt.Errorf("job %q has %d steps after the insertion, want %d", job, len(nj.Steps), len(oj.Steps)+2)
	}
	if nj.Steps[n].ID != PauseID || nj.Steps[len(nj.Steps)-1].ID != HoldID {
		return fmt.Errorf("job %q does not have the pause at step %d and the hold last", job, n+1)
	}
	for i, s := range nj.Steps {
		if i != n && i != len(nj.Steps)-1 && IsPause(s) {
			return fmt.Errorf("step %d of job %q is a third pitstop step", i+1, job)
		}
	}
	rm, err := Remove(file, out)
	if err != nil {
		return fmt.Errorf("remove: %w", err)
	}
	if !bytes.Equal(rm.Out, src) || rm.Removed != 2 {
		return fmt.Errorf("remove did not restore the input (removed %d)", rm.Removed)
	}
	return nil
}

// oneInsertion checks that out is src with one piece of text inserted.
func oneInsertion(src, out []byte) error {
	if len(out) <= len(src) {
		return fmt.Errorf("output (%d bytes) is not longer than input (%d bytes)", len(out), len(src))
	}
	p := 0
	for p < len(src) && src[p] == out[p] {
		p++
	}
	if !bytes.Equal(out[p+len(out)-len(src):], src[p:]) {
		return fmt.Errorf("output is not input plus one inserted piece (first difference at byte %d)", p)
	}
	return nil
}

// lineAligned reports whether out is src with whole lines inserted: at a
// line start and ending with a newline, or, at the end of a file without
// a final newline, starting with one.
func lineAligned(src, out []byte) bool {
	ins := len(out) - len(src)
	p := 0
	for p < len(src) && src[p] == out[p] {
		p++
	}
	// The common prefix may run into the inserted text ("      - " of
	// two steps); back up to the start of the line.
	for q := p; q >= 0; q-- {
		if q > 0 && src[q-1] != '\n' {
			continue
		}
		if bytes.Equal(out[:q], src[:q]) && bytes.Equal(out[q+ins:], src[q:]) && bytes.HasSuffix(out[q:q+ins], []byte("\n")) {
			return true
		}
		break
	}
	if bytes.HasSuffix(src, []byte("\n")) || !bytes.HasPrefix(out, src) {
		return false
	}
	rest := out[len(src):]
	return bytes.HasPrefix(rest, []byte("\n")) || bytes.HasPrefix(rest, []byte("\r\n"))
}

// isWorkflowError reports whether err is the one error type of workflow
// problems.
func isWorkflowError(err error) bool {
	var we *workflows.Error
	return errors.As(err, &we)
}

// beforeAfter parses the input and the output of an edit and finds job
// in each.
func beforeAfter(file string, src, out []byte, job string) (old *workflows.Workflow, oj *workflows.Job, nw *workflows.Workflow, nj *workflows.Job, err error) {
	if old, oj, err = parseJob(file, src, job); err != nil {
		return nil, nil, nil, nil, fmt.Errorf("the input: %w", err)
	}
	if nw, nj, err = parseJob(file, out, job); err != nil {
		return nil, nil, nil, nil, fmt.Errorf("the output: %w", err)
	}
	return old, oj, nw, nj, nil
}
