package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"

	udiff "github.com/aymanbagabas/go-udiff"

	"github.com/pitstopci/pitstop/injector"
	"github.com/pitstopci/pitstop/internal/atomicfile"
	"github.com/pitstopci/pitstop/workflows"
)

const injectHelp = `Usage:
  pitstop inject [--job ID] --ssh-after-step N [-w | -d] [--uses REF] [--with KEY=VALUE]... [--matrix KEY=VALUE]... [FILE|-]
  pitstop inject [--job ID] --on-failure [--ssh-after-step N] [-w | -d] [FILE|-]
  pitstop inject [--job ID] --detached [--ssh-after-step N] [--hold always|failure|never] [-w | -d] [FILE|-]
  pitstop inject --remove [-w | -d] [FILE|-]
  pitstop inject --list [FILE|-]

Inserts a pause step into a GitHub Actions workflow: when the job reaches it,
the person who triggered the run can SSH into the runner, in the job's own
workspace and environment. Nothing else in the file changes, byte for byte.

Steps are numbered from 1 in the order they are written (see --list);
--ssh-after-step 0 pauses before the first step. --job may be left out when
the workflow has only one job. Running inject again moves the pause.

--on-failure pauses only when an earlier step has failed: after step N, or
at the end of the job when N is not given. --detached starts the SSH server
at step N (default: before the first step) and lets the job run on; a second
step at the end of the job holds it while anyone is connected (--hold
always, the default), only when it failed (--hold failure), or never.

The result goes to stdout, or back into FILE with -w, or as a diff with -d.
With no FILE, or with -, the workflow is read from stdin.

Examples:
  $ pitstop inject --list .github/workflows/ci.yml
  $ pitstop inject --job build --ssh-after-step 4 -d .github/workflows/ci.yml
  $ pitstop inject --job build --ssh-after-step 4 -w .github/workflows/ci.yml
  $ pitstop inject --job test --ssh-after-step 2 --matrix os=ubuntu-latest -w ci.yml
  $ pitstop inject --job build --ssh-after-step 4 --with wait-timeout=5m -w ci.yml
  $ pitstop inject --job build --on-failure -w .github/workflows/ci.yml
  $ pitstop inject --job build --detached --hold failure -w .github/workflows/ci.yml
  $ pitstop inject --remove -w .github/workflows/ci.yml
`

// injectOptions are the flags of pitstop inject.
type injectOptions struct {
	job    string
	after  string // kept as text so a bad number gets our own message
	write  bool
	diff   bool
	list   bool
	remove bool
	uses   string
	with   multiFlag
	matrix multiFlag
	// onFailure, detached and hold choose the kind of pause.
	onFailure bool
	detached  bool
	hold      string
}

func runInject(io *IO, args []string) error {
	var o injectOptions
	fs := flagSet("inject", injectHelp, io)
	fs.StringVar(&o.job, "job", "", "the job to pause, by its `ID` under jobs: (optional when there is one job)")
	fs.StringVar(&o.after, "ssh-after-step", "", "pause after step `N` (counted from 1; 0 pauses before the first step)")
	fs.BoolVar(&o.write, "w", false, "write the result back into FILE instead of stdout")
	fs.BoolVar(&o.diff, "d", false, "print a unified diff instead of the whole file")
	fs.BoolVar(&o.list, "list", false, "list the jobs and their numbered steps, and exit")
	fs.BoolVar(&o.remove, "remove", false, "take every pause out of the workflow")
	fs.StringVar(&o.uses, "uses", injector.DefaultUses, "the action `REF` the pause step uses (a fork, a tag, or a local path like ./agent)")
	fs.Var(&o.with, "with", "an input for the pause step as `KEY=VALUE`, e.g. wait-timeout=5m (repeatable)")
	fs.Var(&o.matrix, "matrix", "pause only the matrix leg where `KEY=VALUE` (repeatable)")
	fs.BoolVar(&o.onFailure, "on-failure", false, "pause only if an earlier step failed (after step N, or at the end of the job)")
	fs.BoolVar(&o.detached, "detached", false, "start the SSH server at step N (default 0) without stopping the job; hold at its end")
	fs.StringVar(&o.hold, "hold", "", "with --detached: when the end of the job holds for the people connected: `always`, failure or never (default always)")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	kind := o.onFailure || o.detached || o.hold != ""

	switch {
	case len(pos) > 1:
		return usagef("one workflow file at a time, got %d: %s", len(pos), strings.Join(pos, " "))
	case o.write && o.diff:
		return usagef("-w and -d do not go together: -w writes the file, -d only shows the change")
	case o.list && (o.remove || o.write || o.diff || o.after != "" || kind):
		return usagef("--list only lists; it takes no other flags but a FILE")
	case o.remove && (o.after != "" || o.job != "" || len(o.with) > 0 || len(o.matrix) > 0 || kind):
		return usagef("--remove takes out every pause; it takes no --job, --ssh-after-step, --with, --matrix, --on-failure, --detached or --hold")
	case !o.list && !o.remove && o.after == "" && !o.onFailure && !o.detached:
		return usagef("say where to pause with --ssh-after-step N (see the step numbers with --list)")
	}
	file := "-"
	if len(pos) == 1 {
		file = pos[0]
	}
	if o.write && file == "-" {
		return usagef("-w needs a FILE to write back to; stdin cannot be rewritten")
	}

	name, src, err := readWorkflow(io, file)
	if err != nil {
		return err
	}
	if o.list {
		return listSteps(io, name, src)
	}

	var res *injector.Result
	if o.remove {
		res, err = injector.Remove(name, src)
	} else {
		var opts injector.Options
		if opts, err = o.insertOptions(io, file); err != nil {
			return err
		}
		res, err = injector.Insert(name, src, opts)
	}
	if err != nil {
		return err
	}
	for _, w := range res.Warnings {
		fmt.Fprintln(io.Err, w.String())
	}
	if !o.remove && injector.IsPitstopAction(o.uses) {
		warnIDToken(io, name, res)
	}
	if o.remove && res.Removed == 0 {
		fmt.Fprintf(io.Err, "%s: no pitstop pause found; nothing to remove\n", name)
	}

	switch {
	case o.diff:
		from, to := diffLabels(name)
		io.Out.Write([]byte(udiff.Unified(from, to, string(src), string(res.Out))))
	case o.write:
		if bytes.Equal(src, res.Out) {
			return nil
		}
		if err := atomicfile.WriteFile(file, res.Out, 0o644); err != nil {
			return fmt.Errorf("write %s: %w", file, err)
		}
		if o.remove {
			fmt.Fprintf(io.Err, "%s: removed %d pause(s)\n", name, res.Removed)
		} else {
			fmt.Fprintf(io.Err, "%s: job %q %s\n", name, res.Job, o.describe(res.After))
		}
	default:
		io.Out.Write(res.Out)
	}
	return nil
}

// insertOptions turns the flags into injector options, rejecting what the
// flag package cannot: a step number that is not a number, a malformed
// KEY=VALUE, or an input the action does not take. file is the
// workflow's, where a local action is looked for.
func (o *injectOptions) insertOptions(io *IO, file string) (injector.Options, error) {
	n, err := 0, error(nil)
	if o.after != "" {
		n, err = strconv.Atoi(o.after)
	}
	if err != nil {
		return injector.Options{}, usagef("--ssh-after-step wants a step number (0 pauses before the first step), got %q", o.after)
	}
	with, err := keyValues("--with", o.with)
	if err != nil {
		return injector.Options{}, err
	}
	if err := checkWith(io, o.uses, workflowRoot(file), with); err != nil {
		return injector.Options{}, err
	}
	matrix, err := keyValues("--matrix", o.matrix)
	if err != nil {
		return injector.Options{}, err
	}
	return injector.Options{
		Job: o.job, After: n, Uses: o.uses, With: with, Matrix: matrix,
		// --on-failure without a step pauses at the end of the job.
		End:       o.onFailure && o.after == "",
		OnFailure: o.onFailure,
		Detached:  o.detached,
		Hold:      o.hold,
	}, nil
}

// describe says what the inserted pause does, for the message after -w.
func (o *injectOptions) describe(after int) string {
	switch {
	case o.onFailure:
		return "pauses " + where(after) + " if an earlier step failed"
	case o.detached:
		hold := o.hold
		if hold == "" {
			hold = injector.HoldAlways
		}
		return "starts a detached pause " + where(after) + "; the end of the job holds: " + hold
	}
	return "pauses " + where(after)
}

func keyValues(flagName string, list []string) ([]injector.Input, error) {
	var out []injector.Input
	for _, kv := range list {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || strings.TrimSpace(k) == "" {
			return nil, usagef("%s wants KEY=VALUE, got %q", flagName, kv)
		}
		out = append(out, injector.Input{Key: k, Value: v})
	}
	return out, nil
}

// readWorkflow reads FILE, or stdin for "-", and returns the name to use in
// messages with the content.
func readWorkflow(io *IO, file string) (string, []byte, error) {
	if file == "-" {
		src, err := workflows.ReadAll("<stdin>", io.In)
		return "<stdin>", src, err
	}
	src, err := workflows.ReadFile(file)
	if errors.Is(err, os.ErrNotExist) {
		return file, nil, fmt.Errorf("%s: no such file", file)
	}
	return file, src, err
}

func where(after int) string {
	if after == 0 {
		return "before step 1"
	}
	return fmt.Sprintf("after step %d", after)
}

// listSteps prints every job with its numbered steps, the way
// --ssh-after-step counts them.
func listSteps(io *IO, name string, src []byte) error {
	wf, err := workflows.Parse(name, src)
	if err != nil {
		return err
	}
	for i, job := range wf.Jobs {
		if i > 0 {
			fmt.Fprintln(io.Out)
		}
		title := job.ID
		if job.Name != "" && job.Name != job.ID {
			title = fmt.Sprintf("%s (%s)", job.ID, job.Name)
		}
		if job.Uses != "" {
			fmt.Fprintf(io.Out, "%s: calls %s; a reusable workflow has no steps to pause after\n", title, job.Uses)
			continue
		}
		// A pause already in the file is shown but not numbered: N counts
		// the job's own steps, so that injecting again moves the pause.
		n := 0
		for _, s := range job.Steps {
			if !injector.IsPause(s) {
				n++
			}
		}
		fmt.Fprintf(io.Out, "%s: %s\n", title, workflows.Plural(n, "step"))
		tw := tabwriter.NewWriter(io.Out, 0, 4, 2, ' ', 0)
		n = 0
		for _, s := range job.Steps {
			if injector.IsPause(s) {
				fmt.Fprintf(tw, "  -\t%s\tline %d\t<- %s (pitstop inject --remove takes it out)\n", s.Label(), s.Pos.Line, pauseKind(s))
				continue
			}
			n++
			fmt.Fprintf(tw, "  %d\t%s\tline %d\n", n, s.Label(), s.Pos.Line)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	return nil
}

// pauseKind says what a pitstop step will do when the job runs, from
// what the injector wrote into it.
func pauseKind(s *workflows.Step) string {
	with := map[string]string{}
	for _, kv := range s.With {
		with[kv.Key] = kv.Value
	}
	switch {
	case s.ID == injector.HoldID:
		hold := with["hold"]
		if hold == "" {
			hold = injector.HoldAlways
		}
		switch hold {
		case injector.HoldFailure:
			return "the end of the job holds for the people connected if the job failed"
		case injector.HoldNever:
			return "the end of the job stops the detached pause without holding"
		}
		return "the end of the job holds for the people connected (and waits for a first one)"
	case with["detached"] == "true":
		return "the detached pause starts here; the job runs on while you connect"
	case strings.Contains(s.If, "failure()"):
		return "the pause, only if an earlier step failed"
	}
	return "the pause"
}

// diffLabels names the two sides of a diff so that `git apply` and
// `patch -p1` accept it when the file is inside the current directory.
func diffLabels(name string) (string, string) {
	if filepath.IsLocal(name) {
		name = filepath.ToSlash(name)
		return "a/" + name, "b/" + name
	}
	return name + ".orig", name
}

// warnIDToken says when the paused job lacks id-token: write: its pause
// then cannot prove its host key, and pitstop run and ssh call it
// unverified. GrantWrite answers the question: a grant that had to add
// the permission means it was not there.
func warnIDToken(io *IO, name string, res *injector.Result) {
	g, err := injector.GrantWrite(name, res.Out, res.Job, "id-token")
	if err != nil || (g.Granted && bytes.Equal(g.Out, res.Out)) {
		return
	}
	why := g.Note
	if g.Granted {
		why = "add id-token: write to its permissions"
	}
	fmt.Fprintf(io.Err, "%s: warning: job %q lacks permissions: id-token: write, so its pause cannot prove its host key and pitstop ssh will call it unverified; %s\n", name, res.Job, why)
}
