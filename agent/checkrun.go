package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/google/go-github/v62/github"

	"github.com/pitstopci/pitstop/forge"
)

// CheckRunPrefix starts the name of the check run a pause publishes on
// the run's head commit: "pitstop: JOB".
//
// The check run is how "pitstop run", "rerun" and "ssh" learn where to
// connect. A running job's log is not a dependable channel, while a check
// run is a documented, live API object; made with the job's own
// GITHUB_TOKEN, GitHub names the "github-actions" app as its author, which
// is what makes its content (the host key above all) trustworthy to the
// CLI. It needs "checks: write", which the workflows pitstop run writes
// grant; without it the agent goes on with the ::notice:: annotation only.
const CheckRunPrefix = "pitstop: "

// CheckRunInfo is the JSON document in the check run's output text.
type CheckRunInfo struct {
	// RunID and Job say which run and job (GITHUB_RUN_ID, GITHUB_JOB)
	// paused, since several runs can share a head commit.
	RunID string `json:"run_id"`
	Job   string `json:"job"`
	// RunAttempt is GITHUB_RUN_ATTEMPT.
	RunAttempt string `json:"run_attempt,omitempty"`
	Label      string `json:"label"`
	// The rest is copied from Ready.
	Address            string    `json:"address"`
	User               string    `json:"user"`
	SSHCommand         string    `json:"ssh_command"`
	KnownHosts         string    `json:"known_hosts"`
	HostKeyFingerprint string    `json:"host_key_fingerprint"`
	Jump               string    `json:"jump,omitempty"`
	Deadline           time.Time `json:"deadline"`
}

// checkRun is a published check run, to be completed when the pause ends.
type checkRun struct {
	api         *forge.GitHubAPI
	owner, repo string
	name        string
	id          int64
}

// publishCheckRun creates the pause's check run when this is GitHub
// Actions and a token is at hand. Failing to is not fatal: the pause goes
// on, with a warning saying why (usually a token without checks: write).
func publishCheckRun(ctx context.Context, cfg Config, j Job, r Ready) *checkRun {
	sha := j.sha
	owner, name, ok := strings.Cut(j.repository, "/")
	if !j.actions || cfg.Token == "" || !ok || sha == "" {
		return nil
	}
	api, err := forge.NewGitHubAPI(cfg.APIURL, cfg.Token, nil)
	if err != nil {
		cfg.Log.Warn().Err(err).Msg("could not publish the pause as a check run")
		return nil
	}
	info := CheckRunInfo{
		RunID: j.runID, Job: j.name, RunAttempt: j.runAttempt, Label: cfg.Label,
		Address: r.Address, User: r.User, SSHCommand: r.SSHCommand, KnownHosts: r.KnownHosts,
		HostKeyFingerprint: r.HostKeyFingerprint, Jump: r.Jump, Deadline: r.Deadline,
	}
	text, err := json.MarshalIndent(info, "", "  ")
	if err != nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	cr, err := api.CreateCheckRun(ctx, owner, name, github.CreateCheckRunOptions{
		Name:       CheckRunPrefix + info.Job,
		HeadSHA:    sha,
		ExternalID: github.String(info.RunID + "/" + info.Job),
		Status:     github.String("in_progress"),
		Output: &github.CheckRunOutput{
			Title:   github.String("paused: " + r.SSHCommand),
			Summary: github.String(fmt.Sprintf("%s is paused. Connect with `%s` (host key `%s`), or `pitstop ssh %s`.", cfg.Label, r.SSHCommand, r.HostKeyFingerprint, info.RunID)),
			Text:    github.String(string(text)),
		},
	})
	if err != nil {
		cfg.Log.Warn().Err(api.Explain("publish the pause as a check run", "no such repository or commit (404)", err)).
			Msg("the connect command is only in this log and the annotation; grant the job checks: write for pitstop run and pitstop ssh")
		return nil
	}
	cfg.Log.Info().Int64("check_run_id", cr.GetID()).Msg("published the pause as check run " + CheckRunPrefix + info.Job)
	return &checkRun{api: api, owner: owner, repo: name, name: cr.GetName(), id: cr.GetID()}
}

// finish completes the check run, so that nobody is sent to a pause
// that is over.
func (c *checkRun) finish(cfg Config, reason EndReason) {
	if c == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := c.api.UpdateCheckRun(ctx, c.owner, c.repo, c.id, github.UpdateCheckRunOptions{
		Name:       c.name, // required by go-github, and unchanged
		Status:     github.String("completed"),
		Conclusion: github.String("neutral"),
		Output: &github.CheckRunOutput{
			Title:   github.String("the pause is over"),
			Summary: github.String("The pause ended: " + reason.Describe() + "."),
		},
	})
	if err != nil {
		cfg.Log.Warn().Err(err).Msg("could not mark the pause's check run completed")
	}
}
