package ghrun

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-github/v62/github"

	"github.com/pitstopci/pitstop/injector"
	"github.com/pitstopci/pitstop/workflows"
)

// ParseRun reads RUN: a run's ID, or its URL
// (https://HOST/OWNER/REPO/actions/runs/ID[/...]), which also names the
// repository.
func ParseRun(s string) (int64, *Repo, error) {
	if id, err := strconv.ParseInt(s, 10, 64); err == nil && id > 0 {
		return id, nil, nil
	}
	u, err := url.Parse(s)
	if err == nil && u.Host != "" {
		parts := strings.Split(strings.Trim(u.Path, "/"), "/")
		if len(parts) >= 5 && parts[2] == "actions" && parts[3] == "runs" {
			if id, err := strconv.ParseInt(parts[4], 10, 64); err == nil && id > 0 {
				return id, &Repo{Host: strings.ToLower(u.Host), Owner: parts[0], Name: parts[1]}, nil
			}
		}
	}
	return 0, nil, fmt.Errorf("%q is neither a run ID nor a run URL (https://github.com/OWNER/REPO/actions/runs/ID)", s)
}

// forRun makes the client for RUN's repository: a run URL's, else the
// checkout's.
func (o *Options) forRun(run string) (int64, *Client, error) {
	id, repo, err := ParseRun(run)
	if err != nil {
		return 0, nil, err
	}
	c, err := o.client(repo)
	return id, c, err
}

// Rerun is pitstop rerun: the failed job of a finished run, run again
// from the run's head commit and paused right before the step that
// failed (or after o.AfterStep when afterSet). pick chooses among several
// failed jobs on a terminal; nil makes that an error.
func Rerun(ctx context.Context, o Options, run string, afterSet bool, pick func(what string, choices []string) (int, error)) (int, error) {
	o.defaults()
	id, c, err := o.forRun(run)
	if err != nil {
		return 0, err
	}
	if err := c.CheckAccess(ctx); err != nil {
		return 0, err
	}
	r, err := c.getRun(ctx, id)
	if err != nil {
		return 0, err
	}
	if r.GetStatus() != "completed" {
		return 0, fmt.Errorf("run %d is still %s; wait for it to end, or attach to a pause in it with: pitstop ssh %d", id, strings.ReplaceAll(r.GetStatus(), "_", " "), id)
	}
	if r.Path == "" {
		return 0, fmt.Errorf("run %d does not say which workflow file it ran", id)
	}
	path := r.Path
	if i := strings.Index(path, "@"); i >= 0 {
		path = path[:i] // "path@ref" for reusable workflows
	}
	src, err := c.fileAt(ctx, path, r.GetHeadSHA())
	if err != nil {
		return 0, err
	}
	wf, err := workflows.Parse(path, src)
	if err != nil {
		return 0, err
	}
	jobs, err := c.jobs(ctx, id)
	if err != nil {
		return 0, err
	}
	// --job is the name the run shows, or the job's ID in the workflow.
	want := o.Job
	if wj, err := wf.Job(o.Job); o.Job != "" && err == nil && wj.Name != "" {
		want = wj.Name
	}
	var failed []*github.WorkflowJob
	for _, j := range jobs {
		if j.GetConclusion() == "failure" || j.GetConclusion() == "timed_out" {
			if o.Job == "" || jobMatches(j.GetName(), o.Job) || jobMatches(j.GetName(), want) {
				failed = append(failed, j)
			}
		}
	}
	var j *github.WorkflowJob
	switch {
	case len(failed) == 1:
		j = failed[0]
	case len(failed) == 0 && o.Job != "":
		return 0, fmt.Errorf("run %d has no failed job %q; its jobs: %s", id, o.Job, jobSummary(jobs))
	case len(failed) == 0:
		return 0, fmt.Errorf("run %d has no failed job (%s); pick one with --job and say where to pause with --ssh-after-step", id, jobSummary(jobs))
	case pick == nil:
		return 0, fmt.Errorf("run %d has %d failed jobs (%s); choose one with --job", id, len(failed), jobNames(failed))
	default:
		names := make([]string, len(failed))
		for i, f := range failed {
			names[i] = f.GetName()
		}
		k, err := pick("Which failed job?", names)
		if err != nil {
			return 0, err
		}
		j = failed[k]
	}
	wj, matrix, err := workflowJob(wf, j.GetName())
	if err != nil {
		return 0, err
	}
	o.Job, o.Matrix, o.Workflow = wj.ID, matrix, path
	if !afterSet {
		n, err := failedStep(wj, j)
		if err != nil {
			return 0, err
		}
		o.AfterStep = n - 1
		o.progress.line("job %s failed at step %d %q; pausing right before it", j.GetName(), n, wj.Steps[n-1].Label())
	}
	return o.runAt(ctx, c, r.GetHeadSHA(), path)
}

func jobSummary(jobs []*github.WorkflowJob) string {
	var s []string
	for _, j := range jobs {
		s = append(s, fmt.Sprintf("%q %s", j.GetName(), j.GetConclusion()))
	}
	return strings.Join(s, ", ")
}

// workflowJob finds the workflow job behind an API job name, and for a
// matrix leg ("test (ubuntu-latest, 1.22)") the leg's values, which the
// API lists in the order of the matrix's keys.
func workflowJob(wf *workflows.Workflow, apiName string) (*workflows.Job, []injector.Input, error) {
	for _, j := range wf.Jobs {
		name := j.Name
		if name == "" {
			name = j.ID
		}
		if apiName == name {
			return j, nil, nil
		}
		if !strings.HasPrefix(apiName, name+" (") || !strings.HasSuffix(apiName, ")") {
			continue
		}
		if j.Matrix == nil || j.Matrix.Expr != "" {
			return nil, nil, fmt.Errorf("cannot tell which matrix leg %q is; rerun it with pitstop run --matrix", apiName)
		}
		vals := strings.Split(strings.TrimSuffix(strings.TrimPrefix(apiName, name+" ("), ")"), ", ")
		if len(vals) != len(j.Matrix.Keys) {
			return nil, nil, fmt.Errorf("matrix leg %q has %d values for %d keys (%s); rerun it with pitstop run --matrix", apiName, len(vals), len(j.Matrix.Keys), strings.Join(j.Matrix.Keys, ", "))
		}
		var m []injector.Input
		for i, k := range j.Matrix.Keys {
			m = append(m, injector.Input{Key: k, Value: vals[i]})
		}
		return j, m, nil
	}
	return nil, nil, fmt.Errorf("no job of %s is called %q (a name with an expression cannot be matched); pass --job and --ssh-after-step", wf.File, apiName)
}

// apiStepName is the name GitHub gives a step in the jobs API.
func apiStepName(s *workflows.Step) string {
	switch {
	case s.Name != "":
		return s.Name
	case s.Uses != "":
		return "Run " + s.Uses
	default:
		line, _, _ := strings.Cut(strings.TrimSpace(s.Run), "\n")
		return "Run " + strings.TrimSpace(line)
	}
}

// errUncertain is wrapped when the API's steps cannot be matched with the
// workflow's.
var errUncertain = errors.New("cannot match the run's steps to the workflow's with certainty")

// failedStep returns the workflow step number (from 1) of the job's first
// failed step. The API numbers "Set up job" 1 and the workflow's steps
// from 2, followed by post steps and "Complete job"; the mapping is only
// trusted when every step's name is where the workflow says it is.
func failedStep(wj *workflows.Job, j *github.WorkflowJob) (int, error) {
	steps := j.Steps
	n := len(wj.Steps)
	if len(steps) < n+2 || steps[0].GetName() != "Set up job" {
		return 0, fmt.Errorf("%w (the job has %d steps in the API, the workflow %d); say where to pause with --ssh-after-step", errUncertain, len(steps), n)
	}
	for i, ws := range wj.Steps {
		want := apiStepName(ws)
		if strings.Contains(want, "${{") {
			continue // an expression: only the run knows its value
		}
		if got := steps[i+1].GetName(); got != want {
			return 0, fmt.Errorf("%w (API step %d is %q, workflow step %d is %q); say where to pause with --ssh-after-step", errUncertain, i+2, got, i+1, want)
		}
	}
	for i := 1; i <= n; i++ {
		if steps[i].GetConclusion() == "failure" {
			return i, nil
		}
	}
	for _, s := range steps {
		if s.GetConclusion() == "failure" {
			return 0, fmt.Errorf("job %s failed in %q, which is not one of the workflow's steps; say where to pause with --ssh-after-step", j.GetName(), s.GetName())
		}
	}
	return 0, fmt.Errorf("job %s failed without a failed step (cancelled or timed out?); say where to pause with --ssh-after-step", j.GetName())
}

// SSH is pitstop ssh: it waits (up to o.PauseTimeout) for a pause in the
// run, then connects, or prints the command or JSON.
func SSH(ctx context.Context, o Options, run string) error {
	o.defaults()
	id, c, err := o.forRun(run)
	if err != nil {
		return err
	}
	r, err := c.getRun(ctx, id)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-o.Interrupt:
			cancel()
		case <-ctx.Done():
		}
	}()
	started := time.Now()
	for {
		ps, err := c.pauses(ctx, r.GetHeadSHA(), id, o.Job)
		if err != nil {
			return err
		}
		if len(ps) == 0 && r.GetStatus() == "in_progress" {
			if ps, err = c.annotationPauses(ctx, id, o.Job); err != nil {
				return err
			}
		}
		if len(ps) > 0 {
			jobs, err := c.jobs(ctx, id)
			if err != nil {
				return err
			}
			if ps, err = o.trusted(ctx, c, ps, id, r.GetRunAttempt(), runningJobIDs(jobs, o.Job)); err != nil {
				return err
			}
		}
		switch {
		case len(ps) == 1:
			o.progress.line("run %d, job %s is paused: %s", id, ps[0].Job, ps[0].Label)
			return o.ready(ps[0], r.GetHTMLURL(), "")
		case len(ps) > 1:
			var jobs []string
			for _, p := range ps {
				jobs = append(jobs, p.Job)
			}
			return fmt.Errorf("run %d has %d pauses (jobs %s); choose one with --job", id, len(ps), strings.Join(jobs, ", "))
		}
		if r.GetStatus() == "completed" {
			return fmt.Errorf("run %d is over (%s) and has no pause to attach to: %s", id, r.GetConclusion(), r.GetHTMLURL())
		}
		if time.Since(started) > o.PauseTimeout {
			return fmt.Errorf("no pause appeared in run %d within %v: %s", id, o.PauseTimeout, r.GetHTMLURL())
		}
		o.progress.status("waiting for a pause in run %d (%s, %s)", id, strings.ReplaceAll(r.GetStatus(), "_", " "), time.Since(started).Round(time.Second))
		if err := sleep(ctx, o.Poll); err != nil {
			return fmt.Errorf("stopped waiting for a pause in run %d: %w", id, err)
		}
		if r, err = c.getRun(ctx, id); err != nil {
			return err
		}
	}
}

// annotationPauses finds the pauses of a run's running jobs through their
// annotations (see annotationPause).
func (c *Client) annotationPauses(ctx context.Context, runID int64, job string) ([]*Pause, error) {
	jobs, err := c.jobs(ctx, runID)
	if err != nil {
		return nil, err
	}
	var out []*Pause
	for _, j := range jobs {
		if j.GetStatus() != "in_progress" || (job != "" && !jobMatches(j.GetName(), job)) {
			continue
		}
		p, err := c.annotationPause(ctx, j, runID)
		if err != nil {
			return nil, err
		}
		if p != nil {
			out = append(out, p)
		}
	}
	return out, nil
}
