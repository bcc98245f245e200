package ghrun

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"strings"
)

// The user's token (GH_TOKEN, GITHUB_TOKEN) can push workflows, so it goes
// only to the API of the GitHub it is for, whatever a run URL says: a
// pasted link must not be able to send it elsewhere. That GitHub is the
// one the user names (--api-url or GITHUB_API_URL, else GH_HOST, else the
// checkout's remote), github.com when nothing names one.

// webHost is the GitHub host an API root belongs to: github.com for
// api.github.com, else the API's own host and port (GitHub Enterprise
// Server serves its API under https://HOST/api/v3).
func webHost(apiURL string) string {
	u, err := url.Parse(apiURL)
	if err != nil || u.Host == "" {
		return ""
	}
	if h := strings.ToLower(u.Host); h != "api.github.com" {
		return h
	}
	return "github.com"
}

// homeHost is the GitHub the environment's token is for, and what named
// it (for messages).
func (o *Options) homeHost(getenv func(string) string, remote *Repo) (host, why string) {
	switch {
	case o.APIURL != "" && webHost(o.APIURL) != "":
		return webHost(o.APIURL), "the API URL " + o.APIURL
	case strings.TrimSpace(getenv("GH_HOST")) != "":
		return strings.ToLower(strings.TrimSpace(getenv("GH_HOST"))), "GH_HOST"
	case remote != nil:
		return strings.ToLower(remote.Host), "the checkout's remote"
	}
	return "github.com", "the default"
}

// errOtherRepo is wrapped when a run URL names another repository than
// the checkout's, and nobody confirmed it.
var errOtherRepo = errors.New("the run is in another repository than this checkout's")

// target decides which repository and API the command talks to, and with
// which token. run is the repository a run URL named, nil for a run ID or
// pitstop run.
func (o *Options) target(run *Repo) (Repo, string, string, error) {
	getenv := o.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	var remote *Repo
	co, noRemote := readCheckout(o.Dir)
	if noRemote == nil {
		var r Repo
		if r, noRemote = co.remoteRepo(); noRemote == nil {
			remote = &r
		}
	}
	home, why := o.homeHost(getenv, remote)
	var repo Repo
	switch {
	case o.Repo != nil:
		repo = *o.Repo
	case run != nil:
		repo = *run
		if !strings.EqualFold(run.Host, home) {
			if o.APIURL != "" {
				return Repo{}, "", "", fmt.Errorf("the run is on %s but the API is %s's (%s); pass the run's ID, or an API URL of %s", run.Host, home, why, run.Host)
			}
		} else if remote != nil && !strings.EqualFold(run.String(), remote.String()) {
			q := fmt.Sprintf("The run is in %s, but this checkout is of %s. Go on with %s?", run, remote, run)
			if o.Confirm == nil {
				return Repo{}, "", "", fmt.Errorf("%w: the run URL names %s, the remote %s; run pitstop outside this checkout (or in one of %s) to use it",
					errOtherRepo, run, remote, run)
			}
			ok, err := o.Confirm(q)
			if err != nil {
				return Repo{}, "", "", err
			}
			if !ok {
				return Repo{}, "", "", fmt.Errorf("%w: not confirmed", errOtherRepo)
			}
		}
	case remote != nil:
		repo = *remote
	default:
		return Repo{}, "", "", noRemote
	}
	api := o.APIURL
	if api == "" {
		api = repo.APIURL()
	}
	if o.Token != "" {
		return repo, api, o.Token, nil
	}
	if host := webHost(api); !strings.EqualFold(host, home) {
		// A host only a run URL named: its token, if the user logged in
		// there with gh, is theirs to use; the environment's is not.
		if t := ghToken(host); t != "" {
			return repo, api, t, nil
		}
		return Repo{}, "", "", fmt.Errorf("the run is on %s, but your token is for %s (%s), and is sent nowhere else; "+
			"if %s is your GitHub Enterprise Server, say so with GH_HOST=%s (or --api-url https://%s/api/v3), or log in there with: gh auth login --hostname %s",
			host, home, why, host, host, host, host)
	}
	t, err := Token(getenv, home)
	if err != nil {
		return Repo{}, "", "", err
	}
	return repo, api, t, nil
}

// Token finds the user's token for host: GH_TOKEN, GITHUB_TOKEN, else
// what `gh auth token` prints when gh is installed and logged in there.
// The caller decides that host is the user's GitHub (see target).
func Token(getenv func(string) string, host string) (string, error) {
	for _, k := range []string{"GH_TOKEN", "GITHUB_TOKEN"} {
		if v := strings.TrimSpace(getenv(k)); v != "" {
			return v, nil
		}
	}
	if t := ghToken(host); t != "" {
		return t, nil
	}
	return "", errors.New("no GitHub token: set GH_TOKEN or GITHUB_TOKEN, or log in with 'gh auth login' " +
		"(a classic token needs the repo and workflow scopes; a fine-grained one Contents, Workflows and Actions: write)")
}

// ghToken is gh's token for host, "" when gh is missing or not logged in
// there. gh keeps one token per host, so it never hands one host's
// token to another.
func ghToken(host string) string {
	gh, err := exec.LookPath("gh")
	if err != nil {
		return ""
	}
	args := []string{"auth", "token"}
	if host != "" && !strings.EqualFold(host, "github.com") {
		args = append(args, "--hostname", host)
	}
	out, err := exec.Command(gh, args...).Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}
