package ghrun

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"os/exec"
	"strings"

	"github.com/google/go-github/v62/github"

	"github.com/pitstopci/pitstop/injector"
	"github.com/pitstopci/pitstop/workflows"
)

// gitOut runs git in dir and returns its trimmed output.
func gitOut(dir string, args ...string) (string, error) {
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return "", fmt.Errorf("git %s: %s", strings.Join(args, " "), strings.TrimSpace(string(ee.Stderr)))
		}
		return "", fmt.Errorf("git %s: %w", strings.Join(args, " "), err)
	}
	return strings.TrimSpace(string(out)), nil
}

// checkout is what pitstop run needs to know of the local checkout.
type checkout struct {
	root     string
	remote   string // the remote's name, e.g. "origin"
	branch   string // the upstream branch on the remote, e.g. "main"; "" without one
	head     string // local HEAD
	upstream string // "origin/main", for messages
}

// readCheckout finds the repository around dir, its upstream and remote.
func readCheckout(dir string) (*checkout, error) {
	root, err := gitOut(dir, "rev-parse", "--show-toplevel")
	if err != nil {
		return nil, fmt.Errorf("%s is not in a git checkout: %w", dir, err)
	}
	co := &checkout{root: root, remote: "origin"}
	if co.head, err = gitOut(root, "rev-parse", "HEAD"); err != nil {
		return nil, err
	}
	if up, err := gitOut(root, "rev-parse", "--abbrev-ref", "--symbolic-full-name", "@{upstream}"); err == nil {
		co.upstream = up
		if remote, err := gitOut(root, "config", "branch."+currentBranch(root)+".remote"); err == nil && remote != "" {
			co.remote = remote
		}
		co.branch = strings.TrimPrefix(up, co.remote+"/")
	}
	return co, nil
}

func currentBranch(root string) string {
	b, _ := gitOut(root, "symbolic-ref", "--short", "HEAD")
	return b
}

// remoteRepo reads the checkout's remote URL as a GitHub repository.
func (co *checkout) remoteRepo() (Repo, error) {
	u, err := gitOut(co.root, "remote", "get-url", co.remote)
	if err != nil {
		return Repo{}, fmt.Errorf("the checkout has no remote %q: %w", co.remote, err)
	}
	r, err := ParseRemote(u)
	if err != nil {
		return Repo{}, fmt.Errorf("remote %s: %w", co.remote, err)
	}
	return r, nil
}

// onRemote reports whether the local HEAD is sha or an ancestor of it,
// i.e. everything the user has is on GitHub.
func (co *checkout) onRemote(sha string) bool {
	if co.head == sha {
		return true
	}
	_, err := gitOut(co.root, "merge-base", "--is-ancestor", co.head, sha)
	return err == nil
}

// resolveRef turns --ref (a branch, a tag or a commit SHA on GitHub) into
// a commit SHA.
func (c *Client) resolveRef(ctx context.Context, ref string) (string, error) {
	for _, kind := range []string{"heads/", "tags/"} {
		r, resp, err := c.gh.Git.GetRef(ctx, c.repo.Owner, c.repo.Name, kind+ref)
		if err == nil {
			sha := r.GetObject().GetSHA()
			if r.GetObject().GetType() == "tag" {
				t, _, err := c.gh.Git.GetTag(ctx, c.repo.Owner, c.repo.Name, sha)
				if err != nil {
					return "", c.explain("read tag "+ref, err)
				}
				sha = t.GetObject().GetSHA()
			}
			return sha, nil
		}
		if resp == nil || resp.StatusCode != http.StatusNotFound {
			return "", c.explain("read "+kind+ref, err)
		}
	}
	commit, _, err := c.gh.Git.GetCommit(ctx, c.repo.Owner, c.repo.Name, ref)
	if err != nil {
		return "", fmt.Errorf("%q is not a branch, tag or commit of %s on GitHub: %w", ref, c.repo, err)
	}
	return commit.GetSHA(), nil
}

// fileAt reads a file at a commit.
func (c *Client) fileAt(ctx context.Context, path, sha string) ([]byte, error) {
	fc, _, _, err := c.gh.Repositories.GetContents(ctx, c.repo.Owner, c.repo.Name, path, &github.RepositoryContentGetOptions{Ref: sha})
	if err != nil {
		return nil, c.explain(fmt.Sprintf("read %s at %.7s", path, sha), err)
	}
	if fc == nil {
		return nil, fmt.Errorf("%s at %.7s is a directory", path, sha)
	}
	s, err := fc.GetContent()
	if err != nil {
		return nil, fmt.Errorf("decode %s: %w", path, err)
	}
	return []byte(s), nil
}

// prepared is the workflow as it goes to the throwaway branch.
type prepared struct {
	out    []byte
	job    string // its ID
	name   string // what the API calls it: its name:, else its ID
	branch string
	notes  []string
}

// prepare injects the pause, makes the workflow start on a push to a new
// throwaway branch, and grants the job checks: write and id-token: write
// where it can.
func prepare(path string, src []byte, opts injector.Options) (*prepared, error) {
	res, err := injector.Insert(path, src, opts)
	if err != nil {
		return nil, err
	}
	p := &prepared{job: res.Job, name: res.Job}
	if wf, err := workflows.Parse(path, res.Out); err == nil {
		if j, err := wf.Job(res.Job); err == nil && j.Name != "" {
			p.name = j.Name
		}
	}
	for _, w := range res.Warnings {
		p.notes = append(p.notes, w.String())
	}
	var b [3]byte
	_, _ = rand.Read(b[:])
	p.branch = "pitstop/" + branchSafe(res.Job) + "-" + hex.EncodeToString(b[:])
	out, err := injector.OnPush(path, res.Out, p.branch)
	if err != nil {
		return nil, err
	}
	g, err := injector.GrantWrite(path, out, res.Job, "checks")
	if err != nil {
		return nil, err
	}
	if !g.Granted {
		p.notes = append(p.notes, "pitstop: "+g.Note+"; if the pause cannot publish its check run, use the connect command in the job's log")
	}
	// id-token: write lets the pause prove its host key (package proof).
	id, err := injector.GrantWrite(path, g.Out, res.Job, "id-token")
	if err != nil {
		return nil, err
	}
	if !id.Granted {
		p.notes = append(p.notes, "pitstop: "+id.Note+"; without id-token: write the pause cannot prove its host key, and pitstop calls it unverified")
	}
	p.out = id.Out
	return p, nil
}

// branchSafe keeps what is safe in a ref name.
func branchSafe(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r < 0x80 && (r == '-' || r == '_' || r == '.' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			b.WriteRune(r)
		} else {
			b.WriteByte('-')
		}
	}
	return strings.Trim(b.String(), ".")
}

// createBranch commits content at path on top of base and points a new
// branch at it, all through the Git Data API. It returns the commit.
func (c *Client) createBranch(ctx context.Context, base, path string, content []byte, branch, msg string) (string, error) {
	o, n := c.repo.Owner, c.repo.Name
	bc, _, err := c.gh.Git.GetCommit(ctx, o, n, base)
	if err != nil {
		return "", c.explain("read commit "+base, err)
	}
	tree, _, err := c.gh.Git.CreateTree(ctx, o, n, bc.GetTree().GetSHA(), []*github.TreeEntry{{
		Path: github.String(path), Mode: github.String("100644"), Type: github.String("blob"), Content: github.String(string(content)),
	}})
	if err != nil {
		return "", c.explain("create the workflow's tree", err)
	}
	commit, _, err := c.gh.Git.CreateCommit(ctx, o, n, &github.Commit{
		Message: github.String(msg), Tree: &github.Tree{SHA: tree.SHA}, Parents: []*github.Commit{{SHA: github.String(base)}},
	}, nil)
	if err != nil {
		return "", c.explain("create the commit", err)
	}
	if _, _, err := c.gh.Git.CreateRef(ctx, o, n, &github.Reference{Ref: github.String("refs/heads/" + branch), Object: &github.GitObject{SHA: commit.SHA}}); err != nil {
		return "", c.explain("create branch "+branch, err)
	}
	return commit.GetSHA(), nil
}

// deleteBranch deletes the throwaway branch.
func (c *Client) deleteBranch(ctx context.Context, branch string) error {
	if _, err := c.gh.Git.DeleteRef(ctx, c.repo.Owner, c.repo.Name, "heads/"+branch); err != nil {
		return c.explain("delete branch "+branch, err)
	}
	return nil
}
