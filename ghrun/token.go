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
// one the user names (--api-url or GITHUB_API_URL, else the checkout's
// remote and GH_HOST), github.com when nothing names one.

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

// home is the GitHub (or, with GH_HOST and a remote that differ, the
// two) that the environment's token is for, and what named it.
type home struct {
	hosts []string
	why   string
}

// homeHosts reads it: the API URL's host when one is given, else the
// checkout's remote and GH_HOST, else github.com.
func (o *Options) homeHosts(getenv func(string) string, remote *Repo) home {
	if o.APIURL != "" && webHost(o.APIURL) != "" {
		return home{[]string{webHost(o.APIURL)}, "the API URL " + o.APIURL}
	}
	var h home
	var why []string
	if remote != nil {
		h.hosts, why = append(h.hosts, strings.ToLower(remote.Host)), append(why, "the checkout's remote")
	}
	if g := strings.ToLower(strings.TrimSpace(getenv("GH_HOST"))); g != "" {
		h.hosts, why = append(h.hosts, g), append(why, "GH_HOST")
	}
	if len(h.hosts) == 0 {
		return home{[]string{"github.com"}, "the default"}
	}
	h.why = strings.Join(why, ", ")
	return h
}

// has reports whether the token is for host.
func (h home) has(host string) bool {
	for _, x := range h.hosts {
		if strings.EqualFold(x, host) {
			return true
		}
	}
	return false
}

func (h home) String() string { return strings.Join(h.hosts, " and ") }

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
	home := o.homeHosts(getenv, remote)
	var repo Repo
	switch {
	case o.Repo != nil:
		repo = *o.Repo
	case run != nil:
		repo = *run
		if !home.has(run.Host) {
			if o.APIURL != "" {
				return Repo{}, "", "", fmt.Errorf("the run is on %s but the API is %s's (%s); pass the run's ID, or an API URL of %s", run.Host, home, home.why, run.Host)
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
	host := webHost(api)
	if !home.has(host) {
		// A host only a run URL named: its token, if the user logged in
		// there with gh, is theirs to use; the environment's is not.
		if t := ghToken(host); t != "" {
			return repo, api, t, nil
		}
		return Repo{}, "", "", fmt.Errorf("the run is on %s, but your token is for %s (%s), and is sent nowhere else; "+
			"if %s is your GitHub Enterprise Server, say so with GH_HOST=%s (or --api-url https://%s/api/v3), or log in there with: gh auth login --hostname %s",
			host, home, home.why, host, host, host, host)
	}
	t, err := Token(getenv, host)
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
