package agent

import (
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/pitstopci/pitstop/agent/access"
	"github.com/pitstopci/pitstop/internal/ghfake"
)

// testRepo is the repository of the runs in these tests.
const testRepo = "octo-org/app"

// debugEnv is a GitHub Actions run of testRepo triggered by alice.
func debugEnv(f *ghfake.Server, more ...string) []string {
	return append([]string{"GITHUB_ACTIONS=true", "RUNNER_ENVIRONMENT=github-hosted", "GITHUB_ACTOR=alice",
		"GITHUB_REPOSITORY=" + testRepo, "GITHUB_API_URL=" + f.URL(), "GITHUB_EVENT_NAME=push"}, more...)
}

// TestWhoMayDebugRefusals: users below the minimum permission, users the
// API does not know, and an API that fails all refuse the run, naming
// the user, the repository and what was found.
func TestWhoMayDebugRefusals(t *testing.T) {
	alice, bob := newTestUser(t, "alice"), newTestUser(t, "bob")
	tests := []struct {
		name  string
		perms map[string]string
		edit  func(*Config)
		want  []string
	}{
		{name: "read-only actor", perms: map[string]string{"alice": "read"},
			want: []string{`"alice"`, "has read permission on " + testRepo, "needs write or more", "--min-permission"}},
		{name: "triage is not enough", perms: map[string]string{"alice": "read/triage"},
			want: []string{`"alice"`, "triage permission"}},
		{name: "an added user below the minimum", perms: map[string]string{"alice": "admin", "bob": "read"},
			edit: func(c *Config) { c.GitHubUsers = []string{"bob"} }, want: []string{`"bob"`, "read permission"}},
		{name: "not a collaborator", perms: map[string]string{},
			want: []string{`"alice"`, testRepo, "not a collaborator"}},
		{name: "a higher minimum", perms: map[string]string{"alice": "write"},
			edit: func(c *Config) { c.MinPermission = "maintain" }, want: []string{"write permission", "needs maintain or more"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeGitHub(t, alice, bob)
			f.ServePermissions(testRepo, tt.perms)
			cfg := Config{Env: debugEnv(f), Token: "t"}
			if tt.edit != nil {
				tt.edit(&cfg)
			}
			refuseToStartWith(t, access.ErrNotAllowed, cfg, tt.want...)
		})
	}
	t.Run("API down", func(t *testing.T) {
		f := newFakeGitHub(t, alice)
		f.Mux.HandleFunc("GET /repos/{owner}/{repo}/collaborators/{user}/permission", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusInternalServerError)
		})
		refuseToStartWith(t, access.ErrNotAllowed, Config{Env: debugEnv(f), Token: "t"}, `"alice"`, "500")
	})
	t.Run("no repository on a GitHub run", func(t *testing.T) {
		f := newFakeGitHub(t, alice)
		env := slices.DeleteFunc(debugEnv(f), func(kv string) bool { return strings.HasPrefix(kv, "GITHUB_REPOSITORY=") })
		refuseToStartWith(t, access.ErrNotAllowed, Config{Env: env, Token: "t"}, "GITHUB_REPOSITORY")
	})
}

func TestWhoMayDebugAdmits(t *testing.T) {
	withRepo := func(token string, perms map[string]string) func(*harness) {
		return func(h *harness) {
			h.gh.ServePermissions(testRepo, perms)
			h.cfg.Env = append(h.cfg.Env, "GITHUB_REPOSITORY="+testRepo)
			h.cfg.Token = token
		}
	}
	t.Run("write is enough", func(t *testing.T) {
		h := startAgent(t, withRepo("t", map[string]string{"alice": "write"}))
		if !h.logged("alice has write permission on " + testRepo) {
			t.Errorf("the permission found is not in the log:\n%s", h.logs)
		}
		h.mustDial(h.alice)
	})
	t.Run("maintain meets a maintain minimum", func(t *testing.T) {
		h := startAgent(t, func(h *harness) {
			withRepo("t", map[string]string{"alice": "write/maintain"})(h)
			h.cfg.MinPermission = "maintain"
		})
		h.mustDial(h.alice)
	})
	t.Run("without a token the check is skipped, and the log says so", func(t *testing.T) {
		h := startAgent(t, withRepo("", map[string]string{}))
		if !strings.Contains(h.logs.String(), "was NOT checked") {
			t.Errorf("no warning that the check was skipped:\n%s", h.logs)
		}
		for _, r := range h.gh.Requests() {
			if strings.Contains(r, "/permission") {
				t.Errorf("asked %s without a token", r)
			}
		}
	})
}

// actEnv is a run under act, or under a runner built on it (Gitea and
// Forgejo Actions): ACT=true and no RUNNER_ENVIRONMENT.
func actEnv(f *ghfake.Server, actor, event string, more ...string) []string {
	return append([]string{"ACT=true", "GITHUB_ACTIONS=true", "GITHUB_ACTOR=" + actor, "GITHUB_REPOSITORY=" + testRepo,
		"GITHUB_API_URL=" + f.URL(), "GITHUB_EVENT_NAME=" + event}, more...)
}

// TestWhoMayDebugUnderAct: under act, with keys given directly, the
// triggering user is not looked up (act has no API, and its actor is not
// a real user), so nobody's permission is asked for either.
func TestWhoMayDebugUnderAct(t *testing.T) {
	f := newFakeGitHub(t)
	f.ServePermissions(testRepo, map[string]string{}) // would refuse anyone
	me := newTestUser(t, "me")
	h := startAgent(t, func(h *harness) {
		h.cfg.Env = actEnv(f, "nektos/act", "push", "GITHUB_EVENT_PATH="+eventFile("push.json"), "GITHUB_WORKSPACE="+h.workspace)
		h.cfg.Token = "t"
		h.cfg.AuthorizedKeys = []KeyText{{Source: "laptop", Text: me.authorizedLine()}}
	})
	h.mustDial(me)
	if len(f.Requests()) != 0 {
		t.Errorf("under act the API was asked: %q", f.Requests())
	}
}

// TestActRelaxationIsOnlyTheActorLookup: Gitea and Forgejo runners look
// like act (ACT=true, no RUNNER_ENVIRONMENT) yet run for pull requests and
// for users the project may not trust. That look only spares the lookup
// of the actor's keys when keys were given directly: untrusted events are
// refused there as anywhere, and every user whose keys are looked up has
// their permission checked.
func TestActRelaxationIsOnlyTheActorLookup(t *testing.T) {
	alice, bob := newTestUser(t, "alice"), newTestUser(t, "bob")
	direct := []KeyText{{Source: "step", Text: newTestUser(t, "me").authorizedLine()}}
	tests := []struct {
		name string
		env  func(*ghfake.Server) []string
		edit func(*Config)
		want []string
	}{
		{name: "pull_request_target",
			env: func(f *ghfake.Server) []string {
				return actEnv(f, "alice", "pull_request_target", "GITHUB_EVENT_PATH="+eventFile("pull_request_target.json"))
			},
			edit: func(c *Config) { c.AuthorizedKeys = direct }, want: []string{"pull_request_target", "allow-untrusted-prs"}},
		{name: "a fork's pull request",
			env: func(f *ghfake.Server) []string {
				return actEnv(f, "alice", "pull_request", "GITHUB_EVENT_PATH="+eventFile("pull_request_fork.json"))
			},
			edit: func(c *Config) { c.AuthorizedKeys = direct }, want: []string{"fork mallory/app", "allow-untrusted-prs"}},
		{name: "the actor below the minimum",
			env: func(f *ghfake.Server) []string {
				return actEnv(f, "alice", "push", "GITHUB_EVENT_PATH="+eventFile("push.json"))
			},
			want: []string{`"alice"`, "has read permission on " + testRepo}},
		{name: "an added user below the minimum",
			env: func(f *ghfake.Server) []string {
				return actEnv(f, "nektos/act", "push", "GITHUB_EVENT_PATH="+eventFile("push.json"))
			},
			edit: func(c *Config) { c.AuthorizedKeys = direct; c.GitHubUsers = []string{"bob"} },
			want: []string{`"bob"`, "has read permission on " + testRepo}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeGitHub(t, alice, bob)
			f.ServePermissions(testRepo, map[string]string{"alice": "read", "bob": "read"})
			cfg := Config{Env: tt.env(f), Token: "t"}
			if tt.edit != nil {
				tt.edit(&cfg)
			}
			refuseToStartWith(t, access.ErrNotAllowed, cfg, tt.want...)
		})
	}
	t.Run("act's own empty pull request event", func(t *testing.T) {
		// act -- pull_request without -e FILE makes up the payload {}:
		// there is no pull request to judge, and so no fork. Gitea and
		// Forgejo always send the pull request.
		empty := filepath.Join(t.TempDir(), "event.json")
		if err := os.WriteFile(empty, []byte("{}"), 0o600); err != nil {
			t.Fatal(err)
		}
		f := newFakeGitHub(t)
		me := newTestUser(t, "me")
		h := startAgent(t, func(h *harness) {
			h.cfg.Env = actEnv(f, "nektos/act", "pull_request", "GITHUB_EVENT_PATH="+empty, "GITHUB_WORKSPACE="+h.workspace)
			h.cfg.AuthorizedKeys = []KeyText{{Source: "laptop", Text: me.authorizedLine()}}
		})
		if !strings.Contains(h.logs.String(), "no pull request to judge") {
			t.Errorf("no warning about the empty event:\n%s", h.logs)
		}
		h.mustDial(me)
	})
	t.Run("opted in", func(t *testing.T) {
		f := newFakeGitHub(t)
		me := newTestUser(t, "me")
		h := startAgent(t, func(h *harness) {
			h.cfg.Env = actEnv(f, "nektos/act", "pull_request_target", "GITHUB_EVENT_PATH="+eventFile("pull_request_target.json"),
				"GITHUB_WORKSPACE="+h.workspace)
			h.cfg.AuthorizedKeys = []KeyText{{Source: "laptop", Text: me.authorizedLine()}}
			h.cfg.AllowUntrustedPRs = true
		})
		if !strings.Contains(h.logs.String(), "allowed by allow-untrusted-prs") {
			t.Errorf("no warning about the opt-in:\n%s", h.logs)
		}
		h.mustDial(me)
	})
}

func eventFile(name string) string { return filepath.Join("testdata", "events", name) }

func TestUntrustedEventsAreRefused(t *testing.T) {
	tests := []struct {
		file, name string
		want       []string
	}{
		{"pull_request_target.json", "pull_request_target", []string{"pull_request_target", "secrets", "allow-untrusted-prs"}},
		{"pull_request_fork.json", "pull_request", []string{"pull request #42", "fork mallory/app", "not from octo-org/app", "allow-untrusted-prs"}},
		{"pull_request_deleted_fork.json", "pull_request", []string{"pull request #45", "(deleted repository)"}},
		{"workflow_run_fork.json", "workflow_run", []string{"workflow_run", "fork mallory/app"}},
		{"missing.json", "pull_request", []string{"read the pull_request event", "fork"}},
		{"push.json", "pull_request", []string{"no pull_request object"}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			f := newFakeGitHub(t, newTestUser(t, "alice"))
			cfg := Config{Env: debugEnv(f, "GITHUB_EVENT_NAME="+tt.name, "GITHUB_EVENT_PATH="+eventFile(tt.file))}
			refuseToStartWith(t, access.ErrNotAllowed, cfg, tt.want...)
			// The event is checked first: nobody's keys were fetched.
			if r := f.Requests(); len(r) != 0 {
				t.Errorf("the API was asked %q before the event was checked", r)
			}
		})
	}
}

func TestTrustedEventsAndOptIn(t *testing.T) {
	for _, tt := range []struct {
		file, name string
		optIn      bool
	}{
		{"pull_request_same_repo.json", "pull_request", false},
		{"push.json", "push", false},
		{"pull_request_fork.json", "pull_request", true},
		{"pull_request_target.json", "pull_request_target", true},
	} {
		t.Run(tt.file, func(t *testing.T) {
			h := startAgent(t, func(h *harness) {
				h.cfg.Env = append(h.cfg.Env, "GITHUB_EVENT_NAME="+tt.name, "GITHUB_EVENT_PATH="+eventFile(tt.file))
				h.cfg.AllowUntrustedPRs = tt.optIn
			})
			warned := strings.Contains(h.logs.String(), "allowed by allow-untrusted-prs")
			if warned != tt.optIn {
				t.Errorf("warning in the log: %v, want %v\n%s", warned, tt.optIn, h.logs)
			}
			h.mustDial(h.alice)
		})
	}
}
