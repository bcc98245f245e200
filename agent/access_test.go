package agent

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/pitstopci/pitstop/agent/access"
	"github.com/pitstopci/pitstop/internal/ghfake"
)

// TestPlanAccess pins the access rules written at the top of access/access.go,
// above all that the act relaxation never applies on a real GitHub run.
func TestPlanAccess(t *testing.T) {
	github := []string{"GITHUB_ACTIONS=true", "RUNNER_ENVIRONMENT=github-hosted", "GITHUB_ACTOR=alice"}
	act := []string{"GITHUB_ACTIONS=true", "ACT=true", "GITHUB_ACTOR=nektos/act"}
	tests := []struct {
		name       string
		env        []string
		extra      []string
		directKeys int
		wantUsers  string // comma-separated
		skipped    bool
		wantErr    string
	}{
		{name: "github: the actor", env: github, wantUsers: "alice"},
		{name: "github: direct keys only add", env: github, directKeys: 2, wantUsers: "alice"},
		{name: "github: the re-runner, not the original actor", env: append(github, "GITHUB_TRIGGERING_ACTOR=bob"), wantUsers: "bob"},
		{name: "github: extra users add", env: github, extra: []string{"bob", "ALICE"}, wantUsers: "alice,bob"},
		{name: "github: no actor is refused", env: []string{"GITHUB_ACTIONS=true", "RUNNER_ENVIRONMENT=self-hosted"}, directKeys: 1, wantErr: "GITHUB_ACTOR is not set"},
		{
			name:       "github: ACT=true set by a workflow does not relax the rules",
			env:        append(github, "ACT=true"),
			directKeys: 1,
			wantUsers:  "alice",
		},
		{
			name:       "github without ACTIONS flag but a runner environment: still not act",
			env:        []string{"ACT=true", "RUNNER_ENVIRONMENT=self-hosted", "GITHUB_ACTOR=alice"},
			directKeys: 1,
			wantUsers:  "alice",
		},
		{name: "act with direct keys: actor not looked up", env: act, directKeys: 1, skipped: true},
		{name: "act with direct keys and extra users", env: act, directKeys: 1, extra: []string{"bob"}, wantUsers: "bob", skipped: true},
		{name: "act without keys: clear error", env: act, wantErr: "pass keys with --authorized-keys"},
		{name: "act with --actor and no keys: looked up", env: []string{"ACT=true", "GITHUB_ACTIONS=true", "GITHUB_ACTOR=carol"}, wantUsers: "carol"},
		{name: "elsewhere: keys alone", env: nil, directKeys: 1},
		{name: "elsewhere: actor when named", env: []string{"GITHUB_ACTOR=dave"}, directKeys: 1, wantUsers: "dave"},
		{name: "elsewhere: nothing at all", env: nil, wantErr: "no --github-user and no --authorized-keys"},
		{name: "bad extra user", env: github, extra: []string{"../admin"}, wantErr: `"../admin" is not a valid user name`},
		{name: "bad actor on github", env: []string{"GITHUB_ACTIONS=true", "GITHUB_ACTOR=a/b"}, wantErr: "not a valid user name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := access.PlanAccess(ReadJob(tt.env).access(), tt.extra, tt.directKeys)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(p.Users, ","); got != tt.wantUsers {
				t.Errorf("users = %q, want %q", got, tt.wantUsers)
			}
			if (p.ActorSkipped != "") != tt.skipped {
				t.Errorf("actor skipped = %q, want skipped %v", p.ActorSkipped, tt.skipped)
			}
		})
	}
}

func TestDetectPlatform(t *testing.T) {
	for env, want := range map[string]access.Platform{
		"GITHUB_ACTIONS=true RUNNER_ENVIRONMENT=github-hosted": access.PlatformGitHub,
		"GITHUB_ACTIONS=true":          access.PlatformGitHub,
		"GITHUB_ACTIONS=true ACT=true": access.PlatformAct,
		"GITHUB_ACTIONS=true ACT=true RUNNER_ENVIRONMENT=github-hosted": access.PlatformGitHub,
		"CI=true": access.PlatformOther,
	} {
		if got := ReadJob(strings.Fields(env)).platform; got != want {
			t.Errorf("%s: %v, want %v", env, got, want)
		}
	}
}

// refuseToStart runs the agent expecting it to refuse, and checks that it
// never listened: no ready file.
func refuseToStart(t *testing.T, cfg Config, want ...string) {
	t.Helper()
	refuseToStartWith(t, access.ErrNoKeys, cfg, want...)
}

// refuseToStartWith is refuseToStart for errors that wrap sentinel.
func refuseToStartWith(t *testing.T, sentinel error, cfg Config, want ...string) {
	t.Helper()
	checkGoroutines(t)
	dir := t.TempDir()
	cfg.ReadyFile = filepath.Join(dir, "ready.json")
	cfg.Listen = "127.0.0.1:0"
	// An agent that wrongly starts ends at once when nobody comes,
	// instead of holding the test for the default 15 minutes.
	if cfg.WaitTimeout == 0 {
		cfg.WaitTimeout = time.Second
	}
	var logs syncBuffer
	cfg.Log = zerolog.New(&logs)
	err := Run(context.Background(), cfg)
	if err == nil {
		t.Fatalf("Run started although it had to refuse\nlog:\n%s", logs.String())
	}
	if !errors.Is(err, sentinel) {
		t.Errorf("error %v does not wrap %v", err, sentinel)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not contain %q", err, w)
		}
	}
	if _, statErr := os.Stat(cfg.ReadyFile); statErr == nil {
		t.Errorf("a ready file was written although the agent refused to start")
	}
}

func TestRunFailsClosed(t *testing.T) {
	env := func(f *ghfake.Server, more ...string) []string {
		return append([]string{"GITHUB_ACTIONS=true", "RUNNER_ENVIRONMENT=github-hosted", "GITHUB_ACTOR=alice",
			"GITHUB_API_URL=" + f.URL(), "GITHUB_SERVER_URL=https://ghe.example"}, more...)
	}
	t.Run("actor without keys", func(t *testing.T) {
		f := newFakeGitHub(t)
		f.SetKeys("alice")
		refuseToStart(t, Config{Env: env(f)}, `"alice"`, "https://ghe.example/settings/keys")
	})
	t.Run("actor without keys, direct keys given on GitHub", func(t *testing.T) {
		f := newFakeGitHub(t)
		f.SetKeys("alice")
		other := newTestUser(t, "other")
		refuseToStart(t, Config{Env: env(f, "ACT=true"), AuthorizedKeys: []KeyText{{Source: "k", Text: other.authorizedLine()}}}, `"alice"`)
	})
	t.Run("unknown actor", func(t *testing.T) {
		f := newFakeGitHub(t)
		refuseToStart(t, Config{Env: env(f)}, `"alice"`, "404")
	})
	t.Run("extra user without keys", func(t *testing.T) {
		a := newTestUser(t, "alice")
		f := newFakeGitHub(t, a)
		f.SetKeys("bob")
		refuseToStart(t, Config{Env: env(f), GitHubUsers: []string{"bob"}}, `"bob"`, "settings/keys")
	})
	t.Run("only unusable keys", func(t *testing.T) {
		f := newFakeGitHub(t)
		f.SetKeys("alice", "ssh-unknown AAAA")
		refuseToStart(t, Config{Env: env(f)}, "no usable SSH keys")
	})
	t.Run("only keys with options", func(t *testing.T) {
		// Options pitstop does not enforce would grant more than was
		// written; cert-authority names a CA, not a key.
		a := newTestUser(t, "alice")
		f := newFakeGitHub(t)
		f.SetKeys("alice", `from="10.9.9.9" `+a.authorizedLine(), `command="true" `+a.authorizedLine(), "cert-authority "+a.authorizedLine())
		refuseToStart(t, Config{Env: env(f)}, "no usable SSH keys")
	})
	t.Run("API down", func(t *testing.T) {
		f := newFakeGitHub(t)
		f.Mux.HandleFunc("GET /users/alice/keys", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusServiceUnavailable)
		})
		refuseToStart(t, Config{Env: env(f)}, `"alice"`, "503")
	})
	t.Run("API too slow", func(t *testing.T) {
		f := newFakeGitHub(t)
		a := newTestUser(t, "alice")
		f.Mux.HandleFunc("GET /users/alice/keys", func(w http.ResponseWriter, r *http.Request) {
			// It does answer, much later: an agent that waited past its
			// lookup timeout would start.
			select {
			case <-r.Context().Done():
			case <-time.After(10 * time.Second):
				json.NewEncoder(w).Encode([]map[string]any{{"id": 1, "key": a.authorizedLine()}}) //nolint:errcheck // the test fails on what the agent does
			}
		})
		refuseToStart(t, Config{Env: env(f), LookupTimeout: 300 * time.Millisecond}, "no answer in time", "time limit, 300ms, ran out")
	})
	t.Run("keys URL forge unreachable", func(t *testing.T) {
		refuseToStart(t, Config{Env: []string{"GITHUB_ACTOR=alice"}, KeysURL: "http://127.0.0.1:1/{user}.keys", LookupTimeout: time.Second}, `"alice"`)
	})
}
