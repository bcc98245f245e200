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
//
// The API decides who logs in, and sees the token: apiURL must be https
// (plain http only to a loopback host, as for CheckKeysURL), a redirect
// to another host or to plain http is refused rather than followed with
// the token, and no answer may be larger than maxAPIAnswer.
func NewGitHubAPI(apiURL, token string, hc *http.Client) (*GitHubAPI, error) {
	base, err := url.Parse(strings.TrimRight(apiURL, "/") + "/")
	if err != nil {
		return nil, fmt.Errorf("parse API URL %q: %w", apiURL, err)
	}
	if base.Scheme != "https" && base.Scheme != "http" {
		return nil, fmt.Errorf("API URL %q is not an http(s) URL", apiURL)
	}
	if base.Scheme == "http" && !loopbackHost(base.Hostname()) {
		return nil, fmt.Errorf("API URL %s is not https: the answers decide who logs in and the requests carry the token "+
			"(plain http is allowed only for localhost)", base.Redacted())
	}
	c := github.NewClient(guardedClient(hc, base))
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
	for n := 1; ; n++ {
		if n > maxKeyPages {
			return nil, fmt.Errorf("fetch keys of %q from %s: more than %d pages of keys, more than any real account has; check GITHUB_API_URL",
				user, g.apiURL, maxKeyPages)
		}
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

// Bounds on what the GitHub API may send: a page of 100 keys of the
// largest type is well under a megabyte, and nobody has 1000 keys. An
// answer past them fails the lookup, closed, rather than filling memory.
const (
	maxAPIAnswer = maxKeysBody
	maxKeyPages  = 10
)

// guardedClient is hc (nil: http.DefaultClient's settings) with the
// API's guards: redirects stay on base's scheme and host, and answers
// are capped at maxAPIAnswer.
func guardedClient(hc *http.Client, base *url.URL) *http.Client {
	c := http.Client{}
	if hc != nil {
		c = *hc
	}
	next := c.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	c.Transport = cappedTransport{next: next, max: maxAPIAnswer}
	// go-github sets the token on every request, redirects included, so
	// a redirect elsewhere would hand it over.
	check := c.CheckRedirect
	c.CheckRedirect = func(r *http.Request, via []*http.Request) error {
		if !strings.EqualFold(r.URL.Scheme, base.Scheme) || !strings.EqualFold(r.URL.Host, base.Host) {
			return fmt.Errorf("refusing a redirect from %s to %s: the token is only sent to %s://%s",
				via[len(via)-1].URL.Redacted(), r.URL.Redacted(), base.Scheme, base.Host)
		}
		if check != nil {
			return check(r, via)
		}
		if len(via) >= 10 {
			return errors.New("stopped after 10 redirects")
		}
		return nil
	}
	return &c
}

// errAnswerTooLarge is returned for an answer larger than its cap.
var errAnswerTooLarge = fmt.Errorf("the answer is larger than %d bytes, more than any real account needs", maxAPIAnswer)

// cappedTransport fails responses whose body is larger than max.
type cappedTransport struct {
	next http.RoundTripper
	max  int64
}

// RoundTrip implements http.RoundTripper.
func (t cappedTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := t.next.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	if resp.ContentLength > t.max {
		resp.Body.Close()
		return nil, errAnswerTooLarge
	}
	resp.Body = &cappedBody{rc: resp.Body, left: t.max}
	return resp, nil
}

// cappedBody reads at most left bytes, and then fails if there is more.
type cappedBody struct {
	rc   io.ReadCloser
	left int64
}

func (b *cappedBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		var one [1]byte
		if n, err := b.rc.Read(one[:]); n > 0 {
			return 0, errAnswerTooLarge
		} else if err != nil {
			return 0, err
		}
		return 0, nil
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.rc.Read(p)
	b.left -= int64(n)
	return n, err
}

func (b *cappedBody) Close() error { return b.rc.Close() }

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
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxKeysBody+1))
	if err != nil {
		return nil, fmt.Errorf("read keys of %q from %s: %w", user, u, err)
	}
	if len(body) > maxKeysBody {
		// A cut list could end in half a key; fail closed instead.
		return nil, fmt.Errorf("read keys of %q from %s: %w", user, u, errAnswerTooLarge)
	}
	var keys []string
	for line := range strings.Lines(string(body)) {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			keys = append(keys, line)
		}
	}
	return keys, nil
}

// parseKeyLines reads authorized_keys text and returns each key with its
// comment. Options (from=, command=, ...) are refused rather than ignored:
// pitstop does not enforce them, and silently dropping a restriction
// would grant more than was written.
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
