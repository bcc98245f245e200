package forge

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/google/go-github/v62/github"
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

// UserKeys fetches every page of the user's keys.
func (g *GitHubAPI) UserKeys(ctx context.Context, user string) ([]string, error) {
	var keys []string
	opts := &github.ListOptions{PerPage: 100}
	for n := 1; ; n++ {
		if n > maxKeyPages {
			return nil, fmt.Errorf("fetch keys of %q from %s: more than %d pages of keys, more than any real account has; check GITHUB_API_URL",
				user, g.apiURL, maxKeyPages)
		}
		page, resp, err := g.client.Users.ListKeys(ctx, user, opts)
		if err != nil {
			return nil, g.Explain(fmt.Sprintf("fetch keys of %q", user), "no such user (404); check the user name", err)
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
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxKeysBody+1))
	if err != nil {
		return nil, fmt.Errorf("read keys of %q from %s: %w", user, u, err)
	}
	if len(body) > maxKeysBody {
		// A cut list could end in half a key; fail closed instead.
		return nil, fmt.Errorf("read keys of %q from %s: %w", user, u, answerTooLarge(maxKeysBody))
	}
	var keys []string
	for line := range strings.Lines(string(body)) {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			keys = append(keys, line)
		}
	}
	return keys, nil
}
