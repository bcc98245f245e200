package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/google/go-github/v62/github"

	"github.com/pitstopci/pitstop/forge"
	"github.com/pitstopci/pitstop/internal/wire"
)

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
	info := wire.CheckRunInfo{
		RunID: j.runID, Job: j.name, RunAttempt: j.runAttempt, Label: cfg.Label,
		Address: r.Address, User: r.User, SSHCommand: r.SSHCommand, KnownHosts: r.KnownHosts,
		HostKeyFingerprint: r.HostKeyFingerprint, Jump: r.Jump, Deadline: r.Deadline, Proof: r.Proof,
	}
	text, err := json.MarshalIndent(info, "", "  ")
	if err != nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	cr, err := api.CreateCheckRun(ctx, owner, name, github.CreateCheckRunOptions{
		Name:       wire.CheckRunPrefix + info.Job,
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
	cfg.Log.Info().Int64("check_run_id", cr.GetID()).Msg("published the pause as check run " + wire.CheckRunPrefix + info.Job)
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
