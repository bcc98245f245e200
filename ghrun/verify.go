package ghrun

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/google/go-github/v62/github"
	"golang.org/x/crypto/ssh"

	"github.com/pitstopci/pitstop/proof"
)

// A pause's address and host key come from a check run or an annotation,
// which any job of the repository with checks: write (or a relay, for a
// notice) can forge. They are trusted only when the pause's proof, an
// OIDC token GitHub signed for the run's job with an audience that binds
// the host key, checks out (package proof). Otherwise the pause is
// unverified: pitstop says why and connects only with TrustUnverified.

// pinnedKey reads the host key of the pause's known_hosts line, the one
// ssh will be told to accept.
func (p *Pause) pinnedKey() (ssh.PublicKey, error) {
	_, hosts, key, _, _, err := ssh.ParseKnownHosts([]byte(p.KnownHosts))
	if err != nil || len(hosts) == 0 {
		return nil, fmt.Errorf("the pause's known_hosts line %q is not one", p.KnownHosts)
	}
	return key, nil
}

// verify checks p's proof for the run, its attempt and one of jobIDs, and
// marks p verified. The fingerprint shown is the pinned key's own, not the
// one the pause claims.
func (c *Client) verify(ctx context.Context, p *Pause, runID int64, attempt int, jobIDs []int64) error {
	key, err := p.pinnedKey()
	if err != nil {
		return err
	}
	p.HostKeyFingerprint = ssh.FingerprintSHA256(key)
	issuer, err := proof.Issuer(c.api)
	if err != nil {
		return err
	}
	if _, err := proof.Verify(ctx, p.Proof, proof.Want{
		Issuer: issuer, Repository: c.repo.String(), RunID: runID, RunAttempt: attempt, JobIDs: jobIDs, HostKey: key,
	}); err != nil {
		return err
	}
	p.Verified = true
	return nil
}

// errUnverified is wrapped when no pause could be verified and the user
// did not say to trust one anyway.
var errUnverified = errors.New("unverified pause")

// trusted verifies each pause and returns those to use: the verified
// ones, else, with o.TrustUnverified, the rest, said to be trusted on
// first use. Without it, an unverified pause is an error saying why.
func (o *Options) trusted(ctx context.Context, c *Client, ps []*Pause, runID int64, attempt int, jobIDs []int64) ([]*Pause, error) {
	var ok, bad []*Pause
	var why []string
	for _, p := range ps {
		if err := c.verify(ctx, p, runID, attempt, jobIDs); err != nil {
			p.Unverified = err.Error()
			bad = append(bad, p)
			why = append(why, fmt.Sprintf("job %s: %v", p.Job, err))
			continue
		}
		ok = append(ok, p)
	}
	if len(ok) > 0 || len(bad) == 0 {
		return ok, nil
	}
	if !o.TrustUnverified {
		return nil, fmt.Errorf("%w in run %d: GitHub does not vouch for its host key (%s); pitstop neither pins it nor connects. "+
			"Grant the job permissions: id-token: write so that it can prove itself, or pass --trust-unverified to trust this key on first use",
			errUnverified, runID, strings.Join(why, "; "))
	}
	for _, p := range bad {
		o.progress.line("UNVERIFIED pause (job %s): %s; trusting its host key %s on first use, as --trust-unverified says", p.Job, p.Unverified, p.HostKeyFingerprint)
	}
	return bad, nil
}

// runningJobIDs are the IDs of the run's jobs in progress, those that
// match job when it is given (by the name the run shows), or all of them
// when none does (job may be the workflow's ID for a job with a name).
func runningJobIDs(jobs []*github.WorkflowJob, job string) []int64 {
	var all, named []int64
	for _, j := range jobs {
		if j.GetStatus() != "in_progress" {
			continue
		}
		all = append(all, j.GetID())
		if job != "" && jobMatches(j.GetName(), job) {
			named = append(named, j.GetID())
		}
	}
	if len(named) > 0 {
		return named
	}
	return all
}
