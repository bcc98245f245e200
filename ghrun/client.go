package ghrun

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	"github.com/google/go-github/v62/github"

	"github.com/pitstopci/pitstop/forge"
)

// Repo is a repository on a GitHub instance.
type Repo struct {
	Host  string // "github.com" or a GitHub Enterprise Server host
	Owner string
	Name  string
}

func (r Repo) String() string { return r.Owner + "/" + r.Name }

// APIURL is the REST API root of the repository's instance.
func (r Repo) APIURL() string {
	if strings.EqualFold(r.Host, "github.com") {
		return "https://api.github.com"
	}
	return "https://" + r.Host + "/api/v3"
}

var scpLike = regexp.MustCompile(`^(?:[\w.-]+@)?([\w.-]+):(.+)$`)

// ParseRemote reads a git remote URL (https://HOST/OWNER/REPO(.git),
// ssh://git@HOST[:PORT]/OWNER/REPO.git, or git@HOST:OWNER/REPO.git).
func ParseRemote(remote string) (Repo, error) {
	var host, path string
	if u, err := url.Parse(remote); err == nil && u.Scheme != "" && u.Host != "" {
		host, path = u.Hostname(), u.Path
	} else if m := scpLike.FindStringSubmatch(remote); m != nil {
		host, path = m[1], m[2]
	} else {
		return Repo{}, fmt.Errorf("remote %q is not a GitHub repository URL", remote)
	}
	parts := strings.Split(strings.Trim(strings.TrimSuffix(path, ".git"), "/"), "/")
	if len(parts) != 2 || parts[0] == "" || parts[1] == "" {
		return Repo{}, fmt.Errorf("remote %q does not name OWNER/REPO", remote)
	}
	return Repo{Host: host, Owner: parts[0], Name: parts[1]}, nil
}

// Client is the GitHub API as ghrun uses it.
type Client struct {
	gh   *github.Client
	repo Repo
	api  string
}

// MaxAnswer bounds one answer of the API: a page of 100 check runs, each
// with up to 64 KiB of text, is the largest thing pitstop reads.
const MaxAnswer = 16 << 20

// NewClient returns a client for repo at apiURL (e.g.
// "https://api.github.com", or "https://HOST/api/v3" for Enterprise
// Server; taken as given, so a test server under a prefix works). It
// holds the user's token, so it is forge's guarded client: https only
// (http to loopback), no redirect off the API's host, capped answers,
// timeouts.
func NewClient(apiURL, token string, repo Repo, hc *http.Client) (*Client, error) {
	guarded, base, err := forge.HTTPClient(apiURL, hc, MaxAnswer)
	if err != nil {
		return nil, err
	}
	c := github.NewClient(guarded).WithAuthToken(token)
	c.BaseURL = base
	return &Client{gh: c, repo: repo, api: strings.TrimRight(apiURL, "/")}, nil
}

// scopes returns the classic token's scopes from X-OAuth-Scopes, and
// whether the header was there (fine-grained tokens and app tokens send
// none).
func scopes(resp *github.Response) ([]string, bool) {
	if resp == nil || resp.Response == nil {
		return nil, false
	}
	h, ok := resp.Header["X-Oauth-Scopes"]
	if !ok {
		return nil, false
	}
	var out []string
	for _, s := range strings.Split(strings.Join(h, ","), ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out, true
}

// CheckAccess reads the repository and, for a classic token, checks that
// it has the scopes pitstop run needs, before anything is created.
func (c *Client) CheckAccess(ctx context.Context) error {
	_, resp, err := c.gh.Repositories.Get(ctx, c.repo.Owner, c.repo.Name)
	if err != nil {
		return c.explain("read repository "+c.repo.String(), err)
	}
	have, classic := scopes(resp)
	if !classic {
		return nil
	}
	var missing []string
	if !hasScope(have, "repo") && !hasScope(have, "public_repo") {
		missing = append(missing, "repo")
	}
	if !hasScope(have, "workflow") {
		missing = append(missing, "workflow")
	}
	if len(missing) > 0 {
		return fmt.Errorf("the token lacks the %s scope%s that pitstop run needs to push a workflow file to a branch "+
			"(it has: %s); add %s with: gh auth refresh -s %s",
			strings.Join(missing, " and "), plural(len(missing)), orNone(have), plural2(len(missing)), strings.Join(missing, ","))
	}
	return nil
}

func hasScope(have []string, s string) bool {
	for _, h := range have {
		if h == s {
			return true
		}
	}
	return false
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

func plural2(n int) string {
	if n == 1 {
		return "it"
	}
	return "them"
}

func orNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}

// explain turns an API error into one that says what to do.
func (c *Client) explain(what string, err error) error {
	var resp *github.ErrorResponse
	if !errors.As(err, &resp) || resp.Response == nil {
		return fmt.Errorf("%s at %s: %w", what, c.api, err)
	}
	gr := &github.Response{Response: resp.Response}
	have, classic := scopes(gr)
	switch code := resp.Response.StatusCode; {
	case code == http.StatusUnauthorized:
		return fmt.Errorf("%s: GitHub refused the token (401); check GH_TOKEN/GITHUB_TOKEN or run 'gh auth login': %w", what, err)
	case (code == http.StatusForbidden || code == http.StatusNotFound) && strings.Contains(strings.ToLower(resp.Message), "workflow"):
		if classic {
			return fmt.Errorf("%s: the token lacks the workflow scope (it has: %s); add it with: gh auth refresh -s workflow: %w", what, orNone(have), err)
		}
		return fmt.Errorf("%s: the token may not push workflow files; a fine-grained token needs \"Workflows: write\" on %s: %w", what, c.repo, err)
	case code == http.StatusForbidden || code == http.StatusNotFound:
		hint := "a fine-grained token needs Contents: write, Workflows: write and Actions: write on " + c.repo.String()
		if classic {
			hint = "a classic token needs the repo and workflow scopes (it has: " + orNone(have) + ")"
		}
		return fmt.Errorf("%s: GitHub answered %d (no such repository, or no access); %s: %w", what, code, hint, err)
	}
	return fmt.Errorf("%s: %w", what, err)
}
