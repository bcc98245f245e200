package injector

import (
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/pitstopci/pitstop/workflows"
)

// DefaultUses is the action the pause step runs unless Options.Uses says
// otherwise.
const DefaultUses = "pitstopci/pitstop/agent@v1"

// IsPitstopAction reports whether uses names pitstop's action by
// reference: "" (DefaultUses), or OWNER/pitstop/agent@REF, this project
// or a fork of it at any version.
func IsPitstopAction(uses string) bool {
	if uses == "" {
		return true
	}
	ref, version, ok := strings.Cut(uses, "@")
	parts := strings.Split(ref, "/")
	return ok && version != "" && len(parts) == 3 && parts[0] != "" && parts[1] == "pitstop" && parts[2] == "agent"
}

// PauseID is the step id that marks a pause. See the package
// documentation.
const PauseID = "pitstop-pause"

// PauseName is the name of an inserted pause step, as the run page shows
// it.
const PauseName = "Pause for SSH debugging (pitstop)"

// HoldID marks the end-of-job hold that a detached pause adds as the
// job's last step. Like PauseID it is a marker: Insert moves it and Remove
// takes it out.
const HoldID = "pitstop-hold"

// HoldName is the name of the end-of-job hold step.
const HoldName = "Hold for SSH sessions (pitstop)"

// The values of Options.Hold: when the end-of-job hold of a detached pause
// keeps the job for the people connected (and waits for a first one).
const (
	HoldAlways  = "always"  // whatever the job's result
	HoldFailure = "failure" // only when the job failed
	HoldNever   = "never"   // never: the job ends with its last step
)

// Input is one KEY=VALUE pair from the command line.
type Input struct {
	Key, Value string
	plain      bool // write Value unquoted: a number, boolean or null copied from the file
	block      bool // a multi-line Value may be written as a literal block scalar
}

// Options say where to pause and how. The zero value pauses the only job
// before its first step with the default action.
type Options struct {
	Job    string  // job id; "" is allowed only when the workflow has exactly one job
	After  int     // pause after step N; 0 pauses before step 1
	Uses   string  // the action to run; "" means DefaultUses
	With   []Input // "with:" inputs of the pause step, in order
	Matrix []Input // pause only the matrix leg where every matrix.KEY == VALUE
	// End pauses after the job's last step; After is then ignored.
	End bool
	// OnFailure pauses only when an earlier step has failed: the step's
	// "if:" is failure() instead of !cancelled().
	OnFailure bool
	// Detached starts the agent in the background at step After and lets
	// the job go on at once; a second step (HoldID) is added at the end
	// of the job to hold it for the people connected, as Hold says.
	Detached bool
	// Hold is HoldAlways, HoldFailure or HoldNever; "" means HoldAlways.
	// Only with Detached.
	Hold string
}

// Warning is a problem that does not stop the edit but that the user should
// know about before pushing.
type Warning struct {
	File string
	Pos  workflows.Pos
	Msg  string
}

// String formats w as "FILE:LINE:COL: warning: msg".
func (w Warning) String() string {
	e := workflows.Error{File: w.File, Pos: w.Pos, Msg: "warning: " + w.Msg}
	return e.Error()
}

// Result is the outcome of Insert or Remove.
type Result struct {
	Out      []byte    // the whole rewritten file
	Warnings []Warning // in file order of what they are about
	Job      string    // the job that was paused (Insert only)
	After    int       // the step it pauses after (Insert only)
	Removed  int       // how many earlier pauses were taken out
}

// IsPause reports whether s is a step pitstop inserted: its id is PauseID,
// or HoldID for the end-of-job hold of a detached pause.
func IsPause(s *workflows.Step) bool { return s.ID == PauseID || s.ID == HoldID }

// inputName is what GitHub accepts as an input name, and what a matrix
// key must look like to be written as matrix.KEY in an expression.
var inputName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]*$`)

// OptionsError is a mistake in the Options themselves, whatever the
// file: flags that do not go together, an input name GitHub would not
// take. It names no file, since no file is at fault; a command line
// reports it as a usage error.
type OptionsError struct{ Msg string }

func (e *OptionsError) Error() string { return e.Msg }

// check validates the options that do not depend on the file.
func (o Options) check() error {
	bad := func(format string, args ...any) error {
		return &OptionsError{Msg: fmt.Sprintf(format, args...)}
	}
	if o.Uses != "" && (strings.ContainsAny(o.Uses, " \t\r\n") || !utf8.ValidString(o.Uses) || strings.ContainsFunc(o.Uses, isControl)) {
		return bad("--uses %q is not an action reference; use OWNER/REPO/PATH@REF, ./PATH or docker://IMAGE", o.Uses)
	}
	switch {
	case o.Detached && o.OnFailure:
		return bad("--detached and --on-failure do not go together: a detached pause starts before anything has failed; add --hold failure to hold the end of the job only when it failed")
	case o.Hold != "" && !o.Detached:
		return bad("--hold applies to a detached pause only; add --detached")
	case o.Hold != "" && o.Hold != HoldAlways && o.Hold != HoldFailure && o.Hold != HoldNever:
		return bad("--hold %q is not one of %s, %s, %s", o.Hold, HoldAlways, HoldFailure, HoldNever)
	case o.OnFailure && !o.End && o.After == 0:
		return bad("--on-failure cannot pause before step 1: no step has run that could have failed")
	}
	for _, set := range []struct {
		flag string
		list []Input
	}{{"--with", o.With}, {"--matrix", o.Matrix}} {
		seen := map[string]bool{}
		for _, in := range set.list {
			if !inputName.MatchString(in.Key) {
				return bad("%s key %q is not a valid name (letters, digits, \"_\" and \"-\", not starting with a digit or \"-\")", set.flag, in.Key)
			}
			if seen[in.Key] {
				return bad("%s %q is given twice", set.flag, in.Key)
			}
			seen[in.Key] = true
			if !utf8.ValidString(in.Value) {
				return bad("%s %q: the value %q is not UTF-8", set.flag, in.Key, in.Value)
			}
		}
	}
	return nil
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }

// Insert returns src with a pause step inserted as opts say. Any pause
// already in the file is taken out first, so inserting again moves the
// pause. Errors are *OptionsError for options that cannot work in any
// file, else *workflows.Error.
func Insert(file string, src []byte, opts Options) (*Result, error) {
	if err := opts.check(); err != nil {
		return nil, err
	}
	clean, w, removed, err := removeAll(file, src)
	if err != nil {
		return nil, err
	}
	job, err := w.Job(opts.Job)
	if err != nil {
		return nil, err
	}
	if opts.End && job.Uses == "" {
		opts.After = len(job.Steps)
	}
	if err := insertable(w, job, opts.After); err != nil {
		return nil, err
	}
	if opts.OnFailure && opts.After == 0 {
		return nil, &workflows.Error{File: file, Pos: job.StepsPos, Msg: fmt.Sprintf(
			"job %q has no steps, so --on-failure has nothing to pause after", job.ID)}
	}
	warns, err := warnings(w, job, opts)
	if err != nil {
		return nil, err
	}
	p := newPause(opts)
	p.with = withJobTimeout(opts.Uses, p.with, job)
	p = withStep(p, opts, w, job)
	e := &edit{file: file, src: clean, t: newText(clean), w: w, job: job, p: p}
	out, err := e.insert(opts.After)
	if err != nil {
		return nil, err
	}
	eofNewline := e.eofNewline
	if opts.Detached {
		// The hold goes in as a second edit of the checked result, as
		// the job's last step, so each insertion is verified on its own.
		held, err := e.result.Job(job.ID)
		if err != nil {
			return nil, err
		}
		h := &edit{file: file, src: out, t: newText(out), w: e.result, job: held, p: newHold(opts)}
		if out, err = h.insert(len(held.Steps)); err != nil {
			return nil, err
		}
		eofNewline = eofNewline || h.eofNewline
	}
	if eofNewline {
		last := job.Steps[len(job.Steps)-1]
		warns = append(warns, Warning{File: file, Pos: last.Pos, Msg: fmt.Sprintf(
			"the file does not end with a newline, so the multi-line value that ends step %d of job %q gains one (harmless for a run: script)", last.Number, job.ID)})
	}
	return &Result{Out: out, Warnings: warns, Job: job.ID, After: opts.After, Removed: removed}, nil
}

// insert puts e.p after step n, in the list style the job uses.
func (e *edit) insert(n int) ([]byte, error) {
	if e.job.StepsFlow {
		return e.insertFlow(n)
	}
	return e.insertBlock(n)
}

// insertable checks that job has its own steps list and N is in range.
func insertable(w *workflows.Workflow, job *workflows.Job, n int) error {
	fail := func(p workflows.Pos, format string, args ...any) error {
		return &workflows.Error{File: w.File, Pos: p, Msg: fmt.Sprintf(format, args...)}
	}
	switch {
	case job.Uses != "":
		return fail(job.UsesPos, "job %q calls the reusable workflow %q, so it has no steps of its own to pause; pause a job inside that workflow instead", job.ID, job.Uses)
	case job.StepsKeyPos.IsZero():
		return fail(job.Pos, "job %q has no \"steps\" to pause", job.ID)
	case len(job.Steps) == 0 && !job.StepsFlow:
		return fail(job.StepsKeyPos, "job %q has an empty \"steps:\"; write \"steps: []\" or add a step to pause it", job.ID)
	case job.StepsShared != nil:
		return fail(sharedPos(job), "%s", sharedMsg(job))
	case n < 0 || n > len(job.Steps):
		return fail(job.StepsPos, "job %q has %s; --ssh-after-step %d is out of range (0..%d)", job.ID, workflows.Plural(len(job.Steps), "step"), n, len(job.Steps))
	}
	return nil
}

func sharedPos(job *workflows.Job) workflows.Pos {
	if job.StepsShared.Here {
		return job.StepsShared.AnchorPos
	}
	return job.StepsShared.AliasPos
}

// sharedMsg explains why a job whose steps are shared through YAML
// anchors cannot be paused alone. Pausing the shared list would pause
// every job that uses it, which is never what "pause job X" means.
func sharedMsg(job *workflows.Job) string {
	sh := job.StepsShared
	q := make([]string, len(sh.Jobs))
	for i, j := range sh.Jobs {
		q[i] = fmt.Sprintf("%q", j)
	}
	also := ""
	switch len(q) {
	case 0:
	case 1:
		also = ", which job " + q[0] + " also runs"
	default:
		also = ", which jobs " + strings.Join(q, ", ") + " also run"
	}
	switch {
	case sh.Merge && sh.Anchor == "":
		return fmt.Sprintf("job %q gets its steps through a \"<<\" merge key, not a list of its own; to pause it, give it a \"steps:\" list", job.ID)
	case sh.Merge:
		return fmt.Sprintf("job %q gets its steps through the merge key \"<<: *%s\" (anchor &%s at line %d)%s; a pause there would pause every job that uses them; to pause only %q, give it a \"steps:\" list of its own",
			job.ID, sh.Anchor, sh.Anchor, sh.AnchorPos.Line, also, job.ID)
	case sh.Here:
		return fmt.Sprintf("the steps of job %q are anchored as &%s and reused by the alias *%s at line %d%s; a pause here would pause every job that uses them; to pause only %q, replace the alias *%s with a copy of the steps",
			job.ID, sh.Anchor, sh.Anchor, sh.AliasPos.Line, also, job.ID, sh.Anchor)
	}
	return fmt.Sprintf("job %q takes its steps from the alias *%s (anchor &%s at line %d)%s; a pause there would pause every job that uses them; to pause only %q, write its steps out in full instead of the alias",
		job.ID, sh.Anchor, sh.Anchor, sh.AnchorPos.Line, also, job.ID)
}

// Remove takes every pause step out of src, restoring the bytes as they
// were before Insert. Removed says how many there were; none is not an
// error.
func Remove(file string, src []byte) (*Result, error) {
	out, _, n, err := removeAll(file, src)
	if err != nil {
		return nil, err
	}
	return &Result{Out: out, Removed: n}, nil
}

// removeAll removes pauses one at a time, re-parsing after each so that
// every removal is checked on its own, and returns the parsed result.
func removeAll(file string, src []byte) ([]byte, *workflows.Workflow, int, error) {
	w, err := workflows.Parse(file, src)
	if err != nil {
		return nil, nil, 0, err
	}
	n := 0
	for {
		job, idx := findPause(w)
		if job == nil {
			return src, w, n, nil
		}
		e := &edit{file: file, src: src, t: newText(src), w: w, job: job}
		var out []byte
		if job.StepsFlow {
			out, err = e.removeFlow(idx)
		} else {
			out, err = e.removeBlock(idx)
		}
		if err != nil {
			return nil, nil, 0, err
		}
		src, w, n = out, e.result, n+1
	}
}

func findPause(w *workflows.Workflow) (*workflows.Job, int) {
	for _, j := range w.Jobs {
		for i, s := range j.Steps {
			if IsPause(s) {
				return j, i
			}
		}
	}
	return nil, 0
}
