package agent

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/google/go-github/v62/github"
	gossh "golang.org/x/crypto/ssh"
)

// KeySource fetches the SSH public keys a forge user has published. It is
// the agent's one external service, kept behind this interface so tests
// and other forges can stand in.
type KeySource interface {
	// UserKeys returns the user's public keys, each one authorized_keys
	// line. A user with no keys is not an error: the result is empty.
	// Errors should say what the person reading the job log can do.
	UserKeys(ctx context.Context, user string) ([]string, error)
}

// GitHubAPI is a KeySource backed by GET /users/{user}/keys of the GitHub
// REST API (github.com or GitHub Enterprise Server).
type GitHubAPI struct {
	client   *github.Client
	apiURL   string
	hasToken bool
}

// NewGitHubAPI returns a KeySource for the API at apiURL, e.g.
// "https://api.github.com" or "https://ghe.example.com/api/v3". token may
// be empty; hc may be nil for http.DefaultClient's settings.
func NewGitHubAPI(apiURL, token string, hc *http.Client) (*GitHubAPI, error) {
	base, err := url.Parse(strings.TrimRight(apiURL, "/") + "/")
	if err != nil {
		return nil, fmt.Errorf("parse API URL %q: %w", apiURL, err)
	}
	if base.Scheme != "https" && base.Scheme != "http" {
		return nil, fmt.Errorf("API URL %q is not an http(s) URL", apiURL)
	}
	c := github.NewClient(hc)
	if token != "" {
		c = c.WithAuthToken(token)
	}
	// Set the base URL as given: GITHUB_API_URL on Enterprise Server
	// already ends in /api/v3, so WithEnterpriseURLs' rewriting would be
	// wrong for it.
	c.BaseURL = base
	return &GitHubAPI{client: c, apiURL: strings.TrimRight(apiURL, "/"), hasToken: token != ""}, nil
}

// UserKeys fetches every page of the user's keys.
func (g *GitHubAPI) UserKeys(ctx context.Context, user string) ([]string, error) {
	var keys []string
	opts := &github.ListOptions{PerPage: 100}
	for {
		page, resp, err := g.client.Users.ListKeys(ctx, user, opts)
		if err != nil {
			return nil, g.explain(fmt.Sprintf("fetch keys of %q", user), "no such user (404); check the user name", err)
		}
		for _, k := range page {
			keys = append(keys, k.GetKey())
		}
		if resp.NextPage == 0 {
			return keys, nil
		}
		opts.Page = resp.NextPage
	}
}

// explain turns a go-github error into one that says what to do. what
// is the failed action ("fetch keys of \"alice\""), notFound what a 404
// means for it.
func (g *GitHubAPI) explain(what, notFound string, err error) error {
	var rate *github.RateLimitError
	var abuse *github.AbuseRateLimitError
	var resp *github.ErrorResponse
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &rate):
		hint := "pass a token (the action's github-token input, or GITHUB_TOKEN) or re-run later"
		if g.hasToken {
			hint = "re-run the job after the limit resets"
		}
		return fmt.Errorf("%s from %s: API rate limit exceeded (resets at %s); %s: %w",
			what, g.apiURL, rate.Rate.Reset.UTC().Format(time.TimeOnly+" MST"), hint, err)
	case errors.As(err, &abuse):
		return fmt.Errorf("%s from %s: secondary rate limit; re-run the job later: %w", what, g.apiURL, err)
	case errors.As(err, &resp) && resp.Response != nil && resp.Response.StatusCode == http.StatusNotFound:
		return fmt.Errorf("%s from %s: %s: %w", what, g.apiURL, notFound, err)
	case errors.As(err, &resp) && resp.Response != nil && resp.Response.StatusCode == http.StatusForbidden:
		return fmt.Errorf("%s from %s: the token may not read this (403); check the token's permissions: %w", what, g.apiURL, err)
	case errors.As(err, &resp) && resp.Response != nil && resp.Response.StatusCode == http.StatusUnauthorized:
		return fmt.Errorf("%s from %s: the token was refused (401); pass a valid token or none: %w", what, g.apiURL, err)
	case errors.As(err, &resp) && resp.Response != nil && resp.Response.StatusCode >= 500:
		return fmt.Errorf("%s from %s: the API failed (%d); re-run the job later: %w", what, g.apiURL, resp.Response.StatusCode, err)
	case errors.As(err, &syntax), errors.As(err, &typ):
		return fmt.Errorf("%s from %s: the answer is not the JSON the GitHub API sends; check GITHUB_API_URL: %w", what, g.apiURL, err)
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("%s from %s: no answer in time; check that the runner can reach the API: %w", what, g.apiURL, err)
	default:
		return fmt.Errorf("%s from %s: %w", what, g.apiURL, err)
	}
}

// maxKeysBody bounds a forge's answer: nobody has a megabyte of keys.
const maxKeysBody = 1 << 20

// KeysURL is a KeySource for forges that serve a user's keys as plain
// authorized_keys text at a URL such as https://gitlab.com/{user}.keys
// (GitLab, Gitea, Forgejo, and github.com itself).
type KeysURL struct {
	// Template is the URL with "{user}" where the user name goes.
	Template string
	// Client makes the requests; nil means http.DefaultClient.
	Client *http.Client
}

// CheckKeysURL refuses a key list URL (template) that anyone in the
// network path could answer: whoever rewrites the list decides who logs
// in. It must be https, or http to a loopback host (localhost,
// 127.0.0.0/8, ::1), where nobody is in the path.
func CheckKeysURL(template string) error {
	u, err := url.Parse(strings.ReplaceAll(template, "{user}", "user"))
	if err != nil {
		return fmt.Errorf("parse key list URL %q: %w", template, err)
	}
	return checkKeysURL(u)
}

func checkKeysURL(u *url.URL) error {
	switch {
	case strings.EqualFold(u.Scheme, "https") && u.Host != "":
		return nil
	case strings.EqualFold(u.Scheme, "http") && loopbackHost(u.Hostname()):
		return nil
	}
	return fmt.Errorf("key list URL %s is not https: a key list anyone in the network path can rewrite decides who logs in "+
		"(plain http is allowed only for localhost)", u.Redacted())
}

// loopbackHost reports whether host is a name or address of this
// machine's loopback interface.
func loopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// UserKeys fetches and splits the user's key list. It refuses URLs, and
// redirects to URLs, that CheckKeysURL refuses.
func (k KeysURL) UserKeys(ctx context.Context, user string) ([]string, error) {
	u := strings.ReplaceAll(k.Template, "{user}", url.PathEscape(user))
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("build request for %s: %w", u, err)
	}
	if err := checkKeysURL(req.URL); err != nil {
		return nil, fmt.Errorf("fetch keys of %q: %w", user, err)
	}
	hc := http.Client{}
	if k.Client != nil {
		hc = *k.Client
	}
	// A redirect is held to the same rule: an https list that points to
	// plain http is as open to rewriting as a plain http one.
	next := hc.CheckRedirect
	hc.CheckRedirect = func(r *http.Request, via []*http.Request) error {
		if err := checkKeysURL(r.URL); err != nil {
			return fmt.Errorf("redirected: %w", err)
		}
		if next != nil {
			return next(r, via)
		}
		if len(via) >= 10 {
			return errors.New("stopped after 10 redirects")
		}
		return nil
	}
	resp, err := hc.Do(req)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return nil, fmt.Errorf("fetch keys of %q from %s: no answer in time; check that the runner can reach it: %w", user, u, err)
		}
		return nil, fmt.Errorf("fetch keys of %q from %s: %w", user, u, err)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotFound:
		return nil, fmt.Errorf("fetch keys of %q from %s: no such user (404); check the user name", user, u)
	case resp.StatusCode != http.StatusOK:
		return nil, fmt.Errorf("fetch keys of %q from %s: %s; re-run the job later", user, u, resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxKeysBody))
	if err != nil {
		return nil, fmt.Errorf("read keys of %q from %s: %w", user, u, err)
	}
	var keys []string
	for line := range strings.Lines(string(body)) {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			keys = append(keys, line)
		}
	}
	return keys, nil
}

// parseKeyText reads authorized_keys text. Options (from=, command=, ...)
// are refused rather than ignored: pitstop does not enforce them, and
// silently dropping a restriction would grant more than was written.
func parseKeyText(kt KeyText) ([]gossh.PublicKey, error) {
	keys, _, err := parseKeyLines(kt)
	return keys, err
}

// parseKeyLines is parseKeyText that also returns each key's comment.
func parseKeyLines(kt KeyText) ([]gossh.PublicKey, []string, error) {
	var keys []gossh.PublicKey
	var comments []string
	sc := bufio.NewScanner(strings.NewReader(kt.Text))
	sc.Buffer(make([]byte, 64*1024), maxKeysBody)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		key, comment, options, _, err := gossh.ParseAuthorizedKey([]byte(line))
		if err != nil {
			return nil, nil, fmt.Errorf("%s:%d: not a public key line: %w", kt.Source, n, err)
		}
		if len(options) > 0 {
			return nil, nil, fmt.Errorf("%s:%d: key options (%s) are not supported; remove them", kt.Source, n, strings.Join(options, ","))
		}
		keys = append(keys, key)
		comments = append(comments, comment)
	}
	if err := sc.Err(); err != nil {
		return nil, nil, fmt.Errorf("read %s: %w", kt.Source, err)
	}
	return keys, comments, nil
}
