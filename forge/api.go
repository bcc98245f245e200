package forge

import (
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
)

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
// the token, and no answer may be larger than MaxAnswer.
func NewGitHubAPI(apiURL, token string, hc *http.Client) (*GitHubAPI, error) {
	guarded, base, err := HTTPClient(apiURL, hc, maxAPIAnswer)
	if err != nil {
		return nil, err
	}
	c := github.NewClient(guarded)
	if token != "" {
		c = c.WithAuthToken(token)
	}
	// Set the base URL as given: GITHUB_API_URL on Enterprise Server
	// already ends in /api/v3, so WithEnterpriseURLs' rewriting would be
	// wrong for it.
	c.BaseURL = base
	return &GitHubAPI{client: c, apiURL: strings.TrimRight(apiURL, "/"), hasToken: token != ""}, nil
}

// Explain turns an error from one of g's requests into one that says
// what to do. what is the failed action ("fetch keys of \"alice\""),
// notFound what a 404 means for it.
func (g *GitHubAPI) Explain(what, notFound string, err error) error {
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

// MaxAnswer bounds what a forge may send in one answer, a key list or a
// page of the API: nobody has a megabyte of keys. An answer past it
// fails the lookup, closed, rather than filling memory.
const MaxAnswer = 1 << 20

// Bounds on what the GitHub API may send: a page of 100 keys of the
// largest type is well under a megabyte, and nobody has 1000 keys.
const (
	maxKeysBody  = MaxAnswer
	maxAPIAnswer = MaxAnswer
	maxKeyPages  = 10
)

// DefaultTimeout bounds one request of a guarded client whose caller set
// no timeout of its own: an API that stops answering must not hang a
// job or a command for ever.
const DefaultTimeout = time.Minute

// HTTPClient returns an http.Client for the GitHub API at apiURL, and
// the API root as a URL, for any code that sends a token there (the
// agent's lookups, the pitstop run/rerun/ssh commands). hc may be nil for
// http.DefaultClient's settings.
//
// apiURL must be https (plain http only to a loopback host); a redirect
// that would leave the API's scheme and host is refused rather than
// followed with the token; an answer larger than maxAnswer fails; and a
// request takes at most hc's Timeout, DefaultTimeout when it has none.
func HTTPClient(apiURL string, hc *http.Client, maxAnswer int64) (*http.Client, *url.URL, error) {
	base, err := url.Parse(strings.TrimRight(apiURL, "/") + "/")
	if err != nil {
		return nil, nil, fmt.Errorf("parse API URL %q: %w", apiURL, err)
	}
	if (base.Scheme != "https" && base.Scheme != "http") || base.Host == "" {
		return nil, nil, fmt.Errorf("API URL %q is not an http(s) URL", apiURL)
	}
	if base.Scheme == "http" && !loopbackHost(base.Hostname()) {
		return nil, nil, fmt.Errorf("API URL %s is not https: the requests carry the token and the answers are trusted "+
			"(plain http is allowed only for localhost)", base.Redacted())
	}
	return guardedClient(hc, base, maxAnswer), base, nil
}

// guardedClient is hc (nil: http.DefaultClient's settings) with the
// API's guards: redirects stay on base's scheme and host, answers are
// capped at max, and requests time out.
func guardedClient(hc *http.Client, base *url.URL, max int64) *http.Client {
	c := http.Client{}
	if hc != nil {
		c = *hc
	}
	timeout := DefaultTimeout
	if c.Timeout != 0 {
		timeout, c.Timeout = c.Timeout, 0
	}
	next := c.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	c.Transport = cappedTransport{next: next, max: max, timeout: timeout}
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

// answerTooLarge is the error for an answer larger than max.
func answerTooLarge(max int64) error {
	return fmt.Errorf("the answer is larger than %d bytes, more than any real account needs", max)
}

// cappedTransport fails responses whose body is larger than max, and
// requests (body included) that take longer than timeout. The timeout is
// kept here rather than in http.Client.Timeout, whose watcher outlives a
// body that go-github reads to its end but never closes.
type cappedTransport struct {
	next    http.RoundTripper
	max     int64
	timeout time.Duration
}

// RoundTrip implements http.RoundTripper.
func (t cappedTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	ctx, cancel := context.WithTimeout(r.Context(), t.timeout)
	resp, err := t.next.RoundTrip(r.WithContext(ctx))
	if err != nil {
		cancel()
		return nil, err
	}
	if resp.ContentLength > t.max {
		resp.Body.Close()
		cancel()
		return nil, answerTooLarge(t.max)
	}
	resp.Body = &cappedBody{rc: resp.Body, left: t.max, max: t.max, done: cancel}
	return resp, nil
}

// cappedBody reads at most left bytes, and then fails if there is more.
// done ends the request's timeout once the body is read or closed.
type cappedBody struct {
	rc        io.ReadCloser
	left, max int64
	done      context.CancelFunc
}

func (b *cappedBody) Read(p []byte) (n int, err error) {
	defer func() {
		if err != nil {
			b.done()
		}
	}()
	if b.left <= 0 {
		var one [1]byte
		if m, rerr := b.rc.Read(one[:]); m > 0 {
			return 0, answerTooLarge(b.max)
		} else if rerr != nil {
			return 0, rerr
		}
		return 0, nil
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err = b.rc.Read(p)
	b.left -= int64(n)
	return n, err
}

func (b *cappedBody) Close() error {
	defer b.done()
	return b.rc.Close()
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
