package workflows

import (
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"
)

// Workflow is a parsed workflow file.
type Workflow struct {
	File        string       // the name given to Parse, used in errors
	Jobs        []*Job       // in file order
	JobsPos     Pos          // the "jobs" key
	Concurrency *Concurrency // workflow-level concurrency; nil when there is none
	Name        string       // "name:", "" when unset
	On          []Event      // the triggers under "on:", in file order
	Permissions *Permissions // workflow-level permissions; nil when unset
	Defaults    *Defaults    // workflow-level defaults.run; nil when unset
	Keys        []Key        // the top-level keys, in file order

	src     []byte
	lines   *lineIndex
	doc     *yaml.Node // the document node
	aliases map[*yaml.Node][]*yaml.Node
}

// Job is one entry under "jobs".
type Job struct {
	ID   string // the key under "jobs"
	Name string // its "name:", if any
	Pos  Pos    // the job's key
	// Steps in the order written; nil for a job without steps.
	Steps []*Step
	// Uses is the reusable workflow a job calls ("uses:" at job level);
	// such a job has no steps of its own.
	Uses    string
	UsesPos Pos

	StepsKeyPos Pos // the "steps" key; zero when the job has none
	// StepsPos is where the list starts: the first "-" of a block list or
	// the "[" of a flow list.
	StepsPos  Pos
	StepsFlow bool // the list is written "[ ... ]"
	// StepsShared is set when the steps list is not this job's alone, so
	// that changing it would change other jobs or other parts of the file.
	StepsShared *Sharing

	TimeoutMinutes string // "timeout-minutes:" as written (a number or an expression); "" when unset
	TimeoutPos     Pos
	Concurrency    *Concurrency // job-level concurrency; nil when there is none
	Matrix         *Matrix      // nil when the job has no strategy.matrix

	If string // the job's own "if:" as written, "" when unset
	// RunsOn are the literal labels of "runs-on:"; expressions are left
	// out, as they are only known at run time.
	RunsOn      []string
	Permissions *Permissions // the job's own permissions; nil when unset
	Defaults    *Defaults    // the job's own defaults.run; nil when unset
	Container   *Container   // "container:"; nil when the job runs on the runner itself
	Services    []*Container // "services:", in file order

	steps *yaml.Node // the steps sequence, aliases resolved
}

// Step is one entry of a job's steps.
type Step struct {
	Number int    // 1-based, in the order written
	ID     string // "id:"
	Name   string // "name:"
	Uses   string // "uses:"
	Run    string // "run:"
	If     string // "if:"
	// With holds the "with:" inputs whose values are plain strings, in
	// file order.
	With []KeyValue
	// Env holds the step's own "env:" variables whose values are
	// scalars, in file order (keys merged in with "<<" after the
	// mapping's own). EnvPos is the "env" key; zero when there is none.
	Env    []KeyValue
	EnvPos Pos
	// Shell and WorkingDirectory are the step's own "shell:" and
	// "working-directory:" as written; see Workflow.RunWorkingDirectory for what a
	// run: step without them gets.
	Shell            string
	WorkingDirectory string
	// Pos is where the step starts for a reader: its "-" in a block list,
	// the item itself in a flow list.
	Pos Pos
	// ItemPos is where the step's content starts (its first key, or "{");
	// on the line of a block step's "-" it shows the list style, "- " or
	// "-   ".
	ItemPos Pos
	// LastLine is the last line on which any key or value of the step
	// starts. A multi-line value can run past it.
	LastLine int
}

// KeyValue is one key of a mapping with a scalar value.
type KeyValue struct {
	Key, Value string
	// Plain is set when the value is a number, a boolean or null written
	// without quotes: GitHub reads such a value as that type and turns it
	// back into text its own way (1.10 becomes "1.1"), so a copy must be
	// written the same way, not quoted.
	Plain bool
	Pos   Pos // the key
	// Span is the value's text, where a caller that edits it needs it
	// (Permissions.Scopes); zero elsewhere.
	Span Span
}

// Concurrency is a "concurrency:" setting.
type Concurrency struct {
	Pos   Pos
	Group string
	// CancelInProgress is "cancel-in-progress:" as written: "true",
	// "false", an expression, or "" when unset.
	CancelInProgress string
}

// Matrix is a job's "strategy.matrix".
type Matrix struct {
	Pos Pos
	// Keys are the matrix variables in file order, including ones that
	// only "include" entries add. Empty when Expr is set.
	Keys []string
	// Expr is set when the whole matrix is an expression (for example
	// fromJSON of an earlier job's output), so its keys are not known
	// until the run.
	Expr string
	// Legs are the combinations the job runs, as GitHub makes them: the
	// product of the keys' values, less "exclude", with "include" merged
	// in or added. Values are as written (scalars only). Nil when they
	// cannot be known before the run: an expression, or a value that is
	// not a scalar.
	Legs []map[string]string
}

// Sharing explains how a job's steps list is shared through YAML anchors
// and aliases.
type Sharing struct {
	Anchor    string   // the anchor name, without "&" or "*"; "" for an inline merge
	Merge     bool     // the steps come in through a "<<" merge key
	AnchorPos Pos      // where "&Anchor" is
	AliasPos  Pos      // the alias that shares it: this job's own, or the first one elsewhere
	Jobs      []string // other jobs that run the very same steps
	// Here is true when the list is written in this job and aliased
	// elsewhere; false when this job only refers to a list written
	// elsewhere.
	Here bool
}

// Label is what a person calls the step: its name, else "uses: X", else the
// first line of its run script.
func (s *Step) Label() string {
	switch {
	case s.Name != "":
		return s.Name
	case s.Uses != "":
		return "uses: " + s.Uses
	case strings.TrimSpace(s.Run) != "":
		for _, l := range strings.Split(s.Run, "\n") {
			if l = strings.TrimSpace(l); l != "" {
				return l
			}
		}
	}
	return fmt.Sprintf("step %d", s.Number)
}

// RunShell is the shell a run: step of job j runs with, as written: its
// own "shell:", else the job's "defaults: run: shell", else the
// workflow's; "" leaves it to the runner (bash, else sh).
func (w *Workflow) RunShell(j *Job, s *Step) string {
	return firstSet(s.Shell, j.Defaults.shell(), w.Defaults.shell())
}

// RunWorkingDirectory is the working directory of a run: step of job j,
// worked out the way RunShell is; "" is the workspace.
func (w *Workflow) RunWorkingDirectory(j *Job, s *Step) string {
	return firstSet(s.WorkingDirectory, j.Defaults.workingDirectory(), w.Defaults.workingDirectory())
}

func firstSet(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}

// Job returns the job with the given id. An empty id means "the only job"
// and is an error when the workflow has several. Either error lists the
// jobs with their step counts.
func (w *Workflow) Job(id string) (*Job, error) {
	if id == "" {
		if len(w.Jobs) == 1 {
			return w.Jobs[0], nil
		}
		return nil, errorf(w.File, w.JobsPos, "the workflow has %d jobs; choose one with --job: %s", len(w.Jobs), w.JobList())
	}
	for _, j := range w.Jobs {
		if j.ID == id {
			return j, nil
		}
	}
	return nil, errorf(w.File, w.JobsPos, "unknown job %q; jobs are: %s", id, w.JobList())
}

// JobList describes the jobs for a person choosing one:
// `"build" (4 steps), "deploy" (calls a reusable workflow)`.
func (w *Workflow) JobList() string {
	parts := make([]string, len(w.Jobs))
	for i, j := range w.Jobs {
		parts[i] = fmt.Sprintf("%q (%s)", j.ID, j.Summary())
	}
	return strings.Join(parts, ", ")
}

// Summary says in a few words what a job has: "4 steps", "1 step" or
// "calls a reusable workflow".
func (j *Job) Summary() string {
	if j.Uses != "" {
		return "calls a reusable workflow"
	}
	return Plural(len(j.Steps), "step")
}

// Plural formats a count with a noun, "1 step" or "3 steps".
func Plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
