package ghrun

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-github/v62/github"

	"github.com/pitstopci/pitstop/internal/wire"
)

// runInfo is a workflow run with the workflow's path, which GitHub sends
// but go-github v62 does not decode.
type runInfo struct {
	github.WorkflowRun
	Path string `json:"path"`
}

func (c *Client) getRun(ctx context.Context, id int64) (*runInfo, error) {
	req, err := c.gh.NewRequest(http.MethodGet, fmt.Sprintf("repos/%s/%s/actions/runs/%d", c.repo.Owner, c.repo.Name, id), nil)
	if err != nil {
		return nil, err
	}
	var r runInfo
	if resp, err := c.gh.Do(ctx, req, &r); err != nil {
		if resp != nil && resp.StatusCode == http.StatusNotFound {
			// Reading a run needs read access only: say that, not what
			// pushing a workflow would need.
			hint := "a fine-grained token needs Actions: read on " + c.repo.String()
			if have, classic := scopes(resp); classic {
				hint = "a classic token needs the repo scope (it has: " + orNone(have) + ")"
			}
			return nil, fmt.Errorf("no run %d in %s (or no access: %s)", id, c.repo, hint)
		}
		return nil, c.explain(fmt.Sprintf("read run %d", id), err)
	}
	return &r, nil
}

// findRun waits for the run a push of branch at sha started.
func (c *Client) findRun(ctx context.Context, branch, sha string, poll, limit time.Duration) (*github.WorkflowRun, error) {
	deadline := time.Now().Add(limit)
	for {
		runs, _, err := c.gh.Actions.ListRepositoryWorkflowRuns(ctx, c.repo.Owner, c.repo.Name, &github.ListWorkflowRunsOptions{Branch: branch, HeadSHA: sha})
		if err != nil {
			return nil, c.explain("list the runs of "+branch, err)
		}
		for _, r := range runs.WorkflowRuns {
			if r.GetHeadSHA() == sha {
				return r, nil
			}
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("no run started for branch %s within %v; GitHub may have rejected the workflow (see the repository's Actions tab)", branch, limit)
		}
		if err := sleep(ctx, poll); err != nil {
			return nil, err
		}
	}
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// jobs lists the run's jobs (latest attempt).
func (c *Client) jobs(ctx context.Context, runID int64) ([]*github.WorkflowJob, error) {
	var all []*github.WorkflowJob
	opts := &github.ListWorkflowJobsOptions{ListOptions: github.ListOptions{PerPage: 100}}
	for {
		js, resp, err := c.gh.Actions.ListWorkflowJobs(ctx, c.repo.Owner, c.repo.Name, runID, opts)
		if err != nil {
			return nil, c.explain(fmt.Sprintf("list the jobs of run %d", runID), err)
		}
		all = append(all, js.Jobs...)
		if resp.NextPage == 0 {
			return all, nil
		}
		opts.Page = resp.NextPage
	}
}

// jobMatches reports whether an API job (named "NAME" or, for a matrix
// leg, "NAME (a, b)") is the workflow job named name.
func jobMatches(apiName, name string) bool {
	return apiName == name || strings.HasPrefix(apiName, name+" (")
}

// Pause is a running pause, as its check run describes it: the check
// run's document, and where the check run is on GitHub.
type Pause struct {
	wire.CheckRunInfo
	CheckRunURL string `json:"-"`
	// Verified is set once Proof checked out; Unverified says why not.
	Verified   bool   `json:"-"`
	Unverified string `json:"-"`
}

// pauses lists the pauses running for runID on sha, newest first. Only
// check runs by the github-actions app count: those were made with a
// job's token. Any job's, though: the caller verifies each pause's proof
// before it trusts its address or key.
func (c *Client) pauses(ctx context.Context, sha string, runID int64, job string) ([]*Pause, error) {
	res, _, err := c.gh.Checks.ListCheckRunsForRef(ctx, c.repo.Owner, c.repo.Name, sha, &github.ListCheckRunsOptions{
		Filter: github.String("latest"), ListOptions: github.ListOptions{PerPage: 100},
	})
	if err != nil {
		return nil, c.explain("list the check runs of "+sha, err)
	}
	var out []*Pause
	for _, cr := range res.CheckRuns {
		if !strings.HasPrefix(cr.GetName(), wire.CheckRunPrefix) || cr.GetApp().GetSlug() != "github-actions" || cr.GetStatus() == "completed" {
			continue
		}
		var p Pause
		if err := json.Unmarshal([]byte(cr.GetOutput().GetText()), &p); err != nil || p.KnownHosts == "" || p.Address == "" {
			continue
		}
		if p.RunID != strconv.FormatInt(runID, 10) || (job != "" && p.Job != job) {
			continue
		}
		p.CheckRunURL = cr.GetHTMLURL()
		out = append(out, &p)
	}
	return out, nil
}

// progress prints what the run is doing: a line that rewrites itself on
// a terminal, plain lines otherwise, each printed once.
type progress struct {
	w    io.Writer
	tty  bool
	last string
	spin int
}

func (p *progress) status(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if p.tty {
		p.spin++
		fmt.Fprintf(p.w, "\r\033[K%c %s", `|/-\`[p.spin%4], msg)
		if msg != p.last {
			p.last = msg
		}
		return
	}
	if msg != p.last {
		p.last = msg
		fmt.Fprintf(p.w, "pitstop: %s\n", msg)
	}
}

// line prints a message on a line of its own.
func (p *progress) line(format string, args ...any) {
	if p.tty && p.last != "" {
		fmt.Fprint(p.w, "\r\033[K")
	}
	p.last = ""
	fmt.Fprintf(p.w, "pitstop: "+format+"\n", args...)
}

// jobState describes an API job for the progress line.
func jobState(j *github.WorkflowJob) string {
	if j.GetStatus() != "in_progress" {
		return fmt.Sprintf("job %s %s", j.GetName(), strings.ReplaceAll(j.GetStatus(), "_", " "))
	}
	n := len(j.Steps)
	for _, s := range j.Steps {
		if s.GetStatus() == "in_progress" {
			return fmt.Sprintf("job %s: step %d of %d: %s", j.GetName(), s.GetNumber(), n, s.GetName())
		}
	}
	return fmt.Sprintf("job %s started", j.GetName())
}

// whyNoPause explains a job that ended without reaching the pause.
func whyNoPause(j *github.WorkflowJob) string {
	if j.GetConclusion() == "skipped" {
		return fmt.Sprintf("job %s was skipped (its if: was false, or a job it needs failed), so the pause was never reached", j.GetName())
	}
	for _, s := range j.Steps {
		if s.GetConclusion() == "failure" {
			return fmt.Sprintf("job %s ended (%s) before the pause: step %d %q failed", j.GetName(), j.GetConclusion(), s.GetNumber(), s.GetName())
		}
	}
	return fmt.Sprintf("job %s ended (%s) without a pause; see the job's log", j.GetName(), j.GetConclusion())
}

// annotationPause reads the pause from its ::notice:: annotation on the
// job's check run (a job's ID is its check run's): the fallback for a job
// whose token may not create check runs. The runner writes annotations
// from the job's own output, so they are the job's word as much as a
// check run is; the agent puts the known_hosts line in them so that the
// host key is still pinned from GitHub's answer. A pause whose annotation
// lacks it is not used.
func (c *Client) annotationPause(ctx context.Context, j *github.WorkflowJob, runID int64) (*Pause, error) {
	anns, resp, err := c.gh.Checks.ListCheckRunAnnotations(ctx, c.repo.Owner, c.repo.Name, j.GetID(), &github.ListOptions{PerPage: 100})
	if err != nil {
		if resp != nil && resp.StatusCode == http.StatusNotFound {
			return nil, nil
		}
		return nil, c.explain(fmt.Sprintf("read the annotations of job %s", j.GetName()), err)
	}
	for i := len(anns) - 1; i >= 0; i-- {
		a := anns[i]
		if a.GetAnnotationLevel() != "notice" {
			continue
		}
		n, ok := wire.ParseNotice(a.GetTitle(), a.GetMessage())
		if !ok {
			continue
		}
		p, err := parseSSHCommand(n.SSHCommand)
		if err != nil {
			continue
		}
		p.KnownHosts, p.HostKeyFingerprint, p.Proof = n.KnownHosts, n.HostKeyFingerprint, n.Proof
		p.RunID, p.Job = strconv.FormatInt(runID, 10), j.GetName()
		p.Label = n.Label
		return p, nil
	}
	return nil, nil
}

// parseSSHCommand reads the agent's connect command,
// "ssh [-J JUMP] [-p PORT] USER@HOST".
func parseSSHCommand(cmd string) (*Pause, error) {
	f := strings.Fields(cmd)
	if len(f) < 2 || f[0] != "ssh" {
		return nil, fmt.Errorf("not an ssh command: %q", cmd)
	}
	p := &Pause{}
	port := "22"
	for i := 1; i < len(f)-1; i++ {
		switch f[i] {
		case "-p":
			i++
			port = f[i]
		case "-J":
			i++
			p.Jump = f[i]
		case "-o":
			i++
		default:
			return nil, fmt.Errorf("unexpected %q in %q", f[i], cmd)
		}
	}
	user, host, ok := strings.Cut(f[len(f)-1], "@")
	if !ok || host == "" {
		return nil, fmt.Errorf("no USER@HOST in %q", cmd)
	}
	p.User, p.Address = user, net.JoinHostPort(strings.Trim(host, "[]"), port)
	return p, nil
}
