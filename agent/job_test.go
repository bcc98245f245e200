package agent

import (
	"strings"
	"testing"

	"github.com/pitstopci/pitstop/agent/access"
)

// TestReadJob pins what each kind of runner's environment means: the
// platform the access rules go by, the GitHub-hosted runner the relay
// default goes by, and the fields the rest of the agent reads.
func TestReadJob(t *testing.T) {
	hosted := []string{
		"GITHUB_ACTIONS=true", "RUNNER_ENVIRONMENT=github-hosted", "CI=true",
		"GITHUB_ACTOR=alice", "GITHUB_REPOSITORY=octo/app", "GITHUB_SHA=abc123",
		"GITHUB_RUN_ID=77", "GITHUB_RUN_ATTEMPT=2", "GITHUB_WORKFLOW=CI", "GITHUB_JOB=build",
		"GITHUB_EVENT_NAME=push", "GITHUB_EVENT_PATH=/home/runner/work/_temp/_github_workflow/event.json",
		"GITHUB_API_URL=https://api.github.com", "GITHUB_SERVER_URL=https://github.com",
		"GITHUB_STEP_SUMMARY=/home/runner/work/_temp/_runner_file_commands/step_summary_1",
		"GITHUB_WORKSPACE=/home/runner/work/app/app", "USER=runner", "HOME=/home/runner",
	}
	selfHosted := []string{"GITHUB_ACTIONS=true", "RUNNER_ENVIRONMENT=self-hosted", "GITHUB_ACTOR=alice", "GITHUB_STEP_SUMMARY=/tmp/summary"}
	// act sets no RUNNER_ENVIRONMENT, and its own actor.
	act := []string{"GITHUB_ACTIONS=true", "ACT=true", "GITHUB_ACTOR=nektos/act", "GITHUB_STEP_SUMMARY=/tmp/act-summary"}
	tests := []struct {
		name     string
		env      []string
		platform access.Platform
		actions  bool
		act      bool
		hosted   bool
		actor    string
		summary  string
	}{
		{name: "GitHub-hosted", env: hosted, platform: access.PlatformGitHub, actions: true, hosted: true, actor: "alice",
			summary: "/home/runner/work/_temp/_runner_file_commands/step_summary_1"},
		{name: "self-hosted", env: selfHosted, platform: access.PlatformGitHub, actions: true, actor: "alice", summary: "/tmp/summary"},
		{name: "act", env: act, platform: access.PlatformAct, actions: true, act: true, actor: "nektos/act", summary: "/tmp/act-summary"},
		{
			// act in host mode on a GitHub-hosted runner inherits
			// RUNNER_ENVIRONMENT: the access rules stay GitHub's (a
			// workflow can set ACT=true there too), yet it is not the
			// hosted runner itself, and act may be the agent's parent.
			name: "act on a GitHub-hosted runner's environment", env: append(append([]string{}, act...), "RUNNER_ENVIRONMENT=github-hosted"),
			platform: access.PlatformGitHub, actions: true, act: true, actor: "nektos/act", summary: "/tmp/act-summary",
		},
		{name: "neither: a laptop", env: []string{"USER=dev", "HOME=/home/dev", "GITHUB_ACTOR=dave", "GITHUB_STEP_SUMMARY=/tmp/s"},
			platform: access.PlatformOther, actor: "dave"},
		{name: "nothing at all", env: nil, platform: access.PlatformOther},
		{name: "re-run: the triggering actor wins", env: append(append([]string{}, selfHosted...), "GITHUB_TRIGGERING_ACTOR=bob"),
			platform: access.PlatformGitHub, actions: true, actor: "bob", summary: "/tmp/summary"},
		{name: "empty triggering actor falls back", env: []string{"GITHUB_TRIGGERING_ACTOR=", "GITHUB_ACTOR=alice"}, platform: access.PlatformOther, actor: "alice"},
		{name: "GITHUB_ACTIONS must be exactly true", env: []string{"GITHUB_ACTIONS=TRUE", "GITHUB_STEP_SUMMARY=/tmp/s"}, platform: access.PlatformOther},
		{name: "ACT must be exactly true", env: []string{"GITHUB_ACTIONS=true", "ACT=1"}, platform: access.PlatformGitHub, actions: true},
		{name: "ACT alone is act", env: []string{"ACT=true"}, platform: access.PlatformAct, act: true},
		{name: "a hosted runner needs the exact value", env: []string{"GITHUB_ACTIONS=true", "RUNNER_ENVIRONMENT=GitHub-Hosted"}, platform: access.PlatformGitHub, actions: true},
		{name: "the last duplicate wins", env: []string{"GITHUB_ACTIONS=true", "GITHUB_ACTIONS=false", "GITHUB_ACTOR=a", "GITHUB_ACTOR=b"}, platform: access.PlatformOther, actor: "b"},
		{name: "entries without = or name are ignored", env: []string{"GITHUB_ACTIONS", "=true", "GITHUB_ACTOR"}, platform: access.PlatformOther},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j := ReadJob(tt.env)
			if j.platform != tt.platform || j.actions != tt.actions || j.act != tt.act || j.hostedRunner != tt.hosted {
				t.Errorf("platform %v actions %v act %v hosted %v, want %v %v %v %v",
					j.platform, j.actions, j.act, j.hostedRunner, tt.platform, tt.actions, tt.act, tt.hosted)
			}
			if j.OnActions() != tt.actions || j.UnderAct() != tt.act {
				t.Errorf("OnActions %v UnderAct %v, want %v %v", j.OnActions(), j.UnderAct(), tt.actions, tt.act)
			}
			if j.actor != tt.actor {
				t.Errorf("actor %q, want %q", j.actor, tt.actor)
			}
			if j.stepSummary != tt.summary {
				t.Errorf("step summary %q, want %q", j.stepSummary, tt.summary)
			}
		})
	}

	// Every field of a full GitHub environment lands where it belongs.
	j := ReadJob(hosted)
	got := strings.Join([]string{j.repository, j.sha, j.runID, j.runAttempt, j.workflow, j.name, j.event, j.eventPath,
		j.apiURL, j.serverURL, j.workspace, j.user, j.home}, " ")
	want := "octo/app abc123 77 2 CI build push /home/runner/work/_temp/_github_workflow/event.json " +
		"https://api.github.com https://github.com /home/runner/work/app/app runner /home/runner"
	if got != want {
		t.Errorf("fields:\n got %s\nwant %s", got, want)
	}
	// A value may hold "=".
	if j := ReadJob([]string{"GITHUB_WORKFLOW=a=b"}); j.workflow != "a=b" {
		t.Errorf("workflow %q, want %q", j.workflow, "a=b")
	}
}

// TestJobDefaults: the Config defaults taken from the environment.
func TestJobDefaults(t *testing.T) {
	for _, tt := range []struct {
		env           []string
		label, apiURL string
	}{
		{[]string{"GITHUB_WORKFLOW=CI", "GITHUB_JOB=build", "GITHUB_API_URL=https://ghe.example/api/v3"}, `job "build" of workflow "CI"`, "https://ghe.example/api/v3"},
		{[]string{"GITHUB_JOB=build"}, `job "build"`, DefaultAPIURL},
		{nil, "this job", DefaultAPIURL},
	} {
		cfg, err := Config{Env: tt.env, BinDir: "/x"}.withJob(ReadJob(tt.env)).withDefaults()
		if err != nil {
			t.Fatal(err)
		}
		if cfg.Label != tt.label || cfg.APIURL != tt.apiURL || cfg.LoginUser == "" {
			t.Errorf("%q: label %q API %q login user %q, want %q %q and a user", tt.env, cfg.Label, cfg.APIURL, cfg.LoginUser, tt.label, tt.apiURL)
		}
	}
	// What the caller set is kept.
	cfg := Config{APIURL: "https://api.example", Label: "after step 4", LoginUser: "me"}.withJob(ReadJob([]string{"GITHUB_API_URL=https://x", "GITHUB_JOB=b"}))
	if cfg.APIURL != "https://api.example" || cfg.Label != "after step 4" || cfg.LoginUser != "me" {
		t.Errorf("withJob overrode the configuration: %+v", cfg)
	}
}
