package ghrun

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// checkoutOf makes a git checkout whose origin is remote ("" for none).
func checkoutOf(t *testing.T, remote string) string {
	t.Helper()
	dir := t.TempDir()
	run := func(args ...string) {
		cmd := exec.Command("git", append([]string{"-c", "user.name=Me", "-c", "user.email=me@example.com"}, args...)...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	run("init", "-q")
	run("commit", "-q", "--allow-empty", "-m", "x")
	if remote != "" {
		run("remote", "add", "origin", remote)
	}
	return dir
}

// TestTargetKeepsTheTokenHome: the environment's token goes only to the
// API of the GitHub the user named (the remote, GH_HOST, the API URL,
// else github.com); a run URL on any other host gets gh's token for that
// host or nothing, and a run of another repository than the checkout's
// is not followed unconfirmed.
func TestTargetKeepsTheTokenHome(t *testing.T) {
	// gh as logged in on one host only: its token for that host, and a
	// failure (as gh exits when not logged in) for any other.
	bin := t.TempDir()
	gh := "#!/bin/sh\n[ \"$1 $2 $3 $4\" = 'auth token --hostname ghe.partner.example' ] && { echo gho_partner; exit 0; }\nexit 1\n"
	if err := os.WriteFile(filepath.Join(bin, "gh"), []byte(gh), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))

	dotcom := checkoutOf(t, "git@github.com:octo/app.git")
	ghes := checkoutOf(t, "https://ghe.corp.example/octo/app.git")
	none := t.TempDir()
	yes := func(string) (bool, error) { return true, nil }
	no := func(string) (bool, error) { return false, nil }
	for _, tc := range []struct {
		name             string
		dir, run, apiURL string
		env              map[string]string
		confirm          func(string) (bool, error)
		api, token       string // want, on success
		err              string // want, a part of the error
	}{
		{name: "the remote's repository", dir: dotcom, api: "https://api.github.com", token: "ghp_env"},
		{name: "a run URL of the remote's repository", dir: dotcom, run: "https://github.com/octo/app/actions/runs/7", api: "https://api.github.com", token: "ghp_env"},
		{name: "a run URL on another host", dir: dotcom, run: "https://evil.example/octo/app/actions/runs/77",
			err: "the run is on evil.example, but your token is for github.com (the checkout's remote), and is sent nowhere else; if evil.example is your GitHub Enterprise Server, say so with GH_HOST=evil.example"},
		{name: "a run URL on another host outside a checkout", dir: none, run: "https://evil.example/o/r/actions/runs/77",
			err: "your token is for github.com (the default)"},
		{name: "a run URL on another host, with a port", dir: dotcom, run: "https://github.com:8443/octo/app/actions/runs/77",
			err: "the run is on github.com:8443, but your token is for github.com"},
		{name: "a run URL on a host gh is logged in to", dir: dotcom, run: "https://ghe.partner.example/o/r/actions/runs/5",
			api: "https://ghe.partner.example/api/v3", token: "gho_partner"},
		{name: "GH_HOST names the run's host", dir: dotcom, run: "https://ghe.partner.example/o/r/actions/runs/5",
			env: map[string]string{"GH_HOST": "ghe.partner.example"}, confirm: yes, api: "https://ghe.partner.example/api/v3", token: "ghp_env"},
		{name: "a GHES remote", dir: ghes, api: "https://ghe.corp.example/api/v3", token: "ghp_env"},
		// In a checkout the remote still counts: GH_HOST adds a host.
		{name: "GH_HOST in a github.com checkout", dir: dotcom, env: map[string]string{"GH_HOST": "ghe.partner.example"}, api: "https://api.github.com", token: "ghp_env"},
		{name: "GH_HOST outside a checkout", dir: none, env: map[string]string{"GH_HOST": "ghe.partner.example"}, run: "https://github.com/x/y/actions/runs/7",
			err: "your token is for ghe.partner.example (GH_HOST)"},
		{name: "a github.com run URL from a GHES checkout", dir: ghes, run: "https://github.com/octo/app/actions/runs/7",
			err: "your token is for ghe.corp.example (the checkout's remote)"},
		{name: "the API URL and the run URL disagree", dir: dotcom, apiURL: "https://ghe.corp.example/api/v3", run: "https://evil.example/o/r/actions/runs/1",
			err: "the run is on evil.example but the API is ghe.corp.example's (the API URL https://ghe.corp.example/api/v3)"},
		{name: "the API URL names the GitHub", dir: dotcom, apiURL: "https://ghe.corp.example/api/v3", run: "https://ghe.corp.example/octo/app/actions/runs/1",
			api: "https://ghe.corp.example/api/v3", token: "ghp_env"},
		{name: "another repository, unconfirmed", dir: dotcom, run: "https://github.com/evil/fork/actions/runs/7",
			err: "the run URL names evil/fork, the remote octo/app; run pitstop outside this checkout"},
		{name: "another repository, refused", dir: dotcom, run: "https://github.com/evil/fork/actions/runs/7", confirm: no, err: "not confirmed"},
		{name: "another repository, confirmed", dir: dotcom, run: "https://github.com/evil/fork/actions/runs/7", confirm: yes,
			api: "https://api.github.com", token: "ghp_env"},
		{name: "outside a checkout", dir: none, run: "https://github.com/x/y/actions/runs/7", api: "https://api.github.com", token: "ghp_env"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := map[string]string{"GH_TOKEN": "ghp_env"}
			for k, v := range tc.env {
				env[k] = v
			}
			o := Options{Dir: tc.dir, APIURL: tc.apiURL, Getenv: func(k string) string { return env[k] }, Confirm: tc.confirm}
			var run *Repo
			if tc.run != "" {
				var err error
				if _, run, err = ParseRun(tc.run); err != nil {
					t.Fatal(err)
				}
			}
			_, api, token, err := o.target(run)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("got %q, %q, %v; want an error with %q", api, token, err, tc.err)
				}
				if strings.Contains(tc.err, "the remote") && !errors.Is(err, errOtherRepo) {
					t.Errorf("%v does not wrap errOtherRepo", err)
				}
				return
			}
			if err != nil || api != tc.api || token != tc.token {
				t.Fatalf("got %q, %q, %v; want %q, %q", api, token, err, tc.api, tc.token)
			}
		})
	}
}
