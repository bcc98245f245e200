package forge

import (
	"context"

	"github.com/google/go-github/v62/github"
)

// CreateCheckRun creates a check run on owner/repo. Its errors are
// go-github's: the caller words them with Explain.
func (g *GitHubAPI) CreateCheckRun(ctx context.Context, owner, repo string, opts github.CreateCheckRunOptions) (*github.CheckRun, error) {
	cr, _, err := g.client.Checks.CreateCheckRun(ctx, owner, repo, opts)
	return cr, err
}

// UpdateCheckRun updates the check run id on owner/repo. Its errors are
// go-github's, as for CreateCheckRun.
func (g *GitHubAPI) UpdateCheckRun(ctx context.Context, owner, repo string, id int64, opts github.UpdateCheckRunOptions) error {
	_, _, err := g.client.Checks.UpdateCheckRun(ctx, owner, repo, id, opts)
	return err
}
