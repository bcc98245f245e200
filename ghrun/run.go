package ghrun

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/google/go-github/v62/github"

	"github.com/pitstopci/pitstop/injector"
	"github.com/pitstopci/pitstop/internal/local"
)

// Options configures run, rerun and ssh. Zero values mean the defaults.
type Options struct {
	// Dir is the checkout pitstop runs in. Default ".".
	Dir string
	// APIURL overrides the API root derived from the remote (also taken
	// from GITHUB_API_URL by the caller).
	APIURL string
	// Repo overrides the repository derived from the remote.
	Repo *Repo
	// Token authenticates every call. Default: Token(Getenv, host) for
	// the user's own GitHub (see target), gh's token for another.
	Token string
	// Getenv reads the caller's environment, for the token and GH_HOST.
	// Default os.Getenv.
	Getenv func(string) string
	// Confirm asks whether to go on with a run URL of another repository
	// than the checkout's; nil refuses such a URL.
	Confirm func(question string) (bool, error)

	// Workflow is the workflow file's path in the repository, e.g.
	// ".github/workflows/ci.yml". Default: the one file under
	// .github/workflows in the checkout that has Job.
	Workflow string
	// Job, AfterStep, With and Matrix are as for injector.Options.
	Job       string
	AfterStep int
	With      []injector.Input
	Matrix    []injector.Input
	// Uses is the action the pause step runs. Default injector.DefaultUses.
	Uses string
	// Ref is the branch, tag or commit on GitHub to run. Default: the
	// current branch's upstream, which must contain the local HEAD.
	Ref string
	// Keep keeps the throwaway branch after the run.
	Keep bool

	// TrustUnverified connects to a pause whose proof does not check out
	// (or that has none), trusting its host key on first use, and says so.
	// Without it such a pause is an error.
	TrustUnverified bool

	// Mode says what to do once the pause is ready.
	Mode Mode
	// SSH is the ssh client. Default "ssh".
	SSH string
	// TTY draws progress as a rewriting line rather than plain lines.
	TTY bool
	// Env is the environment of ssh (HOME decides where known_hosts files
	// go). Default os.Environ().
	Env []string
	// Stdin, Stdout and Stderr: progress goes to Stderr, so Stdout carries
	// only the ssh command or JSON.
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	// Interrupt cancels the run (Ctrl-C).
	Interrupt <-chan os.Signal

	// Poll is how often the API is asked. Default 3s.
	Poll time.Duration
	// QueueTimeout gives up on a run no runner has started. Default 10m.
	QueueTimeout time.Duration
	// PauseTimeout is how long ssh waits for a pause to appear. Default 5m.
	PauseTimeout time.Duration

	progress *progress
}

func (o *Options) defaults() {
	if o.Dir == "" {
		o.Dir = "."
	}
	if o.SSH == "" {
		o.SSH = "ssh"
	}
	if o.Env == nil {
		o.Env = os.Environ()
	}
	if o.Stdout == nil {
		o.Stdout = io.Discard
	}
	if o.Stderr == nil {
		o.Stderr = io.Discard
	}
	if o.Poll == 0 {
		o.Poll = 3 * time.Second
	}
	if o.QueueTimeout == 0 {
		o.QueueTimeout = 10 * time.Minute
	}
	if o.PauseTimeout == 0 {
		o.PauseTimeout = 5 * time.Minute
	}
	o.progress = &progress{w: o.Stderr, tty: o.TTY}
}

// cacheDir is $XDG_CACHE_HOME, else $HOME/.cache, as Env has them.
func (o *Options) cacheDir() string {
	for _, kv := range o.Env {
		if v, ok := strings.CutPrefix(kv, "XDG_CACHE_HOME="); ok && filepath.IsAbs(v) {
			return v
		}
	}
	return filepath.Join(o.home(), ".cache")
}

func (o *Options) home() string {
	for _, kv := range o.Env {
		if v, ok := strings.CutPrefix(kv, "HOME="); ok {
			return v
		}
	}
	h, _ := os.UserHomeDir()
	return h
}

// client makes the API client for the repository: the run's (a run URL
// named it; nil otherwise) or the checkout's.
func (o *Options) client(run *Repo) (*Client, error) {
	repo, api, token, err := o.target(run)
	if err != nil {
		return nil, err
	}
	return NewClient(api, token, repo, nil)
}

// Run is pitstop run: it returns the paused job's exit status (0 when it
// succeeded) once the job is over and the branch deleted.
func Run(ctx context.Context, o Options) (int, error) {
	o.defaults()
	co, err := readCheckout(o.Dir)
	if err != nil {
		return 0, err
	}
	c, err := o.client(nil)
	if err != nil {
		return 0, err
	}
	if err := c.CheckAccess(ctx); err != nil {
		return 0, err
	}
	base := o.Ref
	if base == "" {
		if co.branch == "" {
			return 0, errors.New("the current branch has no upstream on GitHub; push it (git push -u) or say what to run with --ref")
		}
		sha, err := c.resolveRef(ctx, co.branch)
		if err != nil {
			return 0, err
		}
		if !co.onRemote(sha) {
			return 0, fmt.Errorf("local HEAD %.7s is not on %s (at %.7s on GitHub): push it first, or pass --ref to run what is on GitHub", co.head, co.upstream, sha)
		}
		base = sha
	} else if base, err = c.resolveRef(ctx, base); err != nil {
		return 0, err
	}
	path := o.Workflow
	if path == "" {
		abs, err := local.FindWorkflow(co.root, o.Job)
		if err != nil {
			return 0, err
		}
		if path, err = filepath.Rel(co.root, abs); err != nil {
			return 0, err
		}
	}
	path = filepath.ToSlash(path)
	return o.runAt(ctx, c, base, path)
}

// runAt runs the workflow at path as of commit base, paused.
func (o *Options) runAt(ctx context.Context, c *Client, base, path string) (int, error) {
	src, err := c.fileAt(ctx, path, base)
	if err != nil {
		return 0, err
	}
	p, err := prepare(path, src, injector.Options{Job: o.Job, After: o.AfterStep, Uses: o.Uses, With: o.With, Matrix: o.Matrix})
	if err != nil {
		return 0, err
	}
	for _, n := range p.notes {
		fmt.Fprintln(o.Stderr, n)
	}
	msg := fmt.Sprintf("pitstop: pause %s after step %d\n\nA throwaway commit made by pitstop run on top of %.12s; the branch is deleted after the run.", p.job, o.AfterStep, base)
	head, err := c.createBranch(ctx, base, path, p.out, p.branch, msg)
	if err != nil {
		return 0, err
	}
	o.progress.line("pushed %s to branch %s (%.7s on top of %.7s)", path, p.branch, head, base)
	cleanup := func() {
		if o.Keep {
			o.progress.line("kept branch %s (--keep); delete it with: git push origin --delete %s", p.branch, p.branch)
			return
		}
		dctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := c.deleteBranch(dctx, p.branch); err != nil {
			o.progress.line("%v", err)
			return
		}
		o.progress.line("deleted branch %s", p.branch)
	}
	defer cleanup()

	// An interrupt from here on cancels the run.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var interrupted atomic.Bool
	go func() {
		select {
		case <-o.Interrupt:
			interrupted.Store(true)
			cancel()
		case <-ctx.Done():
		}
	}()
	run, err := c.findRun(ctx, p.branch, head, o.Poll, 2*time.Minute)
	if err != nil {
		if interrupted.Load() {
			// The push may have started a run that was not listed yet.
			if run, err := c.findRun(context.Background(), p.branch, head, o.Poll, 10*time.Second); err == nil {
				o.cancelRun(c, run)
			}
			return 130, nil
		}
		return 0, err
	}
	code, err := o.follow(ctx, c, run, p.name, head, p.branch)
	if interrupted.Load() || (err != nil && ctx.Err() != nil) {
		o.cancelRun(c, run)
		return 130, nil
	}
	if err != nil {
		o.cancelRun(c, run)
	}
	return code, err
}

// cancelRun cancels a run that is not over, and waits a little for
// GitHub to say it is.
func (o *Options) cancelRun(c *Client, run *github.WorkflowRun) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if r, err := c.getRun(ctx, run.GetID()); err == nil && r.GetStatus() == "completed" {
		return
	}
	var accepted *github.AcceptedError
	if _, err := c.gh.Actions.CancelWorkflowRunByID(ctx, c.repo.Owner, c.repo.Name, run.GetID()); err != nil && !errors.As(err, &accepted) {
		o.progress.line("%v", c.explain(fmt.Sprintf("cancel run %d", run.GetID()), err))
		return
	}
	o.progress.line("cancelling run %d", run.GetID())
	for ctx.Err() == nil {
		if r, err := c.getRun(ctx, run.GetID()); err == nil && r.GetStatus() == "completed" {
			o.progress.line("run %d cancelled: %s", run.GetID(), run.GetHTMLURL())
			return
		}
		_ = sleep(ctx, o.Poll)
	}
}

// follow shows the run's progress, acts on the pause when it is ready,
// and returns the job's exit status when it is over.
func (o *Options) follow(ctx context.Context, c *Client, run *github.WorkflowRun, job, head, branch string) (int, error) {
	o.progress.line("run %d: %s", run.GetID(), run.GetHTMLURL())
	started := time.Now()
	paused := false
	for {
		r, err := c.getRun(ctx, run.GetID())
		if err != nil {
			return 0, err
		}
		jobs, err := c.jobs(ctx, run.GetID())
		if err != nil {
			return 0, err
		}
		var mine []*github.WorkflowJob
		for _, j := range jobs {
			if jobMatches(j.GetName(), job) {
				mine = append(mine, j)
			}
		}
		if len(mine) == 0 && len(jobs) > 0 && r.GetStatus() == "completed" {
			return 0, fmt.Errorf("run %d has no job %q (jobs: %s)", run.GetID(), job, jobNames(jobs))
		}
		queued := r.GetStatus() == "queued" || r.GetStatus() == "waiting" || r.GetStatus() == "pending" || len(mine) == 0 || mine[0].GetStatus() == "queued"
		if queued && r.GetStatus() != "completed" && time.Since(started) > o.QueueTimeout {
			return 0, fmt.Errorf("run %d was still queued after %v: no runner picked up job %s (check its runs-on labels and your runners); the run is cancelled", run.GetID(), o.QueueTimeout, job)
		}
		if !paused && len(mine) > 0 {
			ps, err := c.pauses(ctx, head, run.GetID(), "")
			if err != nil {
				return 0, err
			}
			if len(ps) == 0 && mine[0].GetStatus() == "in_progress" {
				p, err := c.annotationPause(ctx, mine[0], run.GetID())
				if err != nil {
					return 0, err
				}
				if p != nil {
					ps = append(ps, p)
				}
			}
			if len(ps) > 0 {
				if ps, err = o.trusted(ctx, c, ps, run.GetID(), r.GetRunAttempt(), []int64{mine[0].GetID()}); err != nil {
					return 0, err
				}
			}
			if len(ps) > 0 {
				paused = true
				o.progress.line("job %s is paused: %s", mine[0].GetName(), ps[0].Label)
				if err := o.ready(ps[0], run.GetHTMLURL(), branch); err != nil {
					return 0, err
				}
				if o.Mode == Connect {
					o.progress.line("the job goes on; following it to its end")
				}
			}
		}
		if len(mine) > 0 && mine[0].GetStatus() == "completed" {
			j := mine[0]
			if !paused {
				return 0, errors.New(whyNoPause(j))
			}
			o.progress.line("job %s: %s; the run: %s", j.GetName(), j.GetConclusion(), run.GetHTMLURL())
			if j.GetConclusion() == "success" {
				return 0, nil
			}
			return 1, nil
		}
		switch {
		case queued:
			o.progress.status("run %d queued (%s)", run.GetID(), time.Since(started).Round(time.Second))
		default:
			o.progress.status("%s", jobState(mine[0]))
		}
		if err := sleep(ctx, o.Poll); err != nil {
			return 0, err
		}
	}
}

func jobNames(jobs []*github.WorkflowJob) string {
	var n []string
	for _, j := range jobs {
		n = append(n, strconv.Quote(j.GetName()))
	}
	return strings.Join(n, ", ")
}
