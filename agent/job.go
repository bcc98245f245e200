package agent

import (
	"github.com/pitstopci/pitstop/agent/access"
	"github.com/pitstopci/pitstop/agent/shell"
)

// Job is what the step's environment says about the job the agent runs
// in: who triggered it, where its repository and API are, and where it
// runs (GitHub Actions, act, or neither). Run reads it once from
// Config.Env and hands each part only the fields it needs. ReadJob is
// the one place that decides what GITHUB_ACTIONS, ACT and
// RUNNER_ENVIRONMENT mean; they answer several questions, one field each.
type Job struct {
	// platform is where the job runs, for the access rules (package access).
	// It fails closed: ACT=true alone does not make a run act's.
	platform access.Platform
	// actions: GITHUB_ACTIONS=true. GitHub's runner and act both set it,
	// and both read workflow commands (annotations) from the step's
	// stdout and colour in the log.
	actions bool
	// act: ACT=true. act runs the job, or a workflow claims it does;
	// nothing that widens access may rest on it (see platform).
	act bool
	// hostedRunner: a GitHub-hosted runner, which accepts no incoming
	// connections. act in host mode inherits RUNNER_ENVIRONMENT from the
	// machine it runs on, but its jobs are reached directly.
	hostedRunner bool

	actor      string // the triggering user, rule 1 of package access; "" if none
	repository string // GITHUB_REPOSITORY, OWNER/NAME
	sha        string // GITHUB_SHA
	runID      string // GITHUB_RUN_ID
	runAttempt string // GITHUB_RUN_ATTEMPT
	workflow   string // GITHUB_WORKFLOW, its name
	name       string // GITHUB_JOB, the job's id in the workflow
	event      string // GITHUB_EVENT_NAME
	eventPath  string // GITHUB_EVENT_PATH, the event's JSON payload
	apiURL     string // GITHUB_API_URL; "" when unset
	serverURL  string // GITHUB_SERVER_URL; "" when unset
	// stepSummary is the file the runner shows as the step summary; ""
	// outside GitHub Actions, where nothing would show it.
	stepSummary string
	workspace   string // GITHUB_WORKSPACE, where the job's steps run
	user        string // USER
	home        string // HOME

	// idTokenURL and idTokenToken are ACTIONS_ID_TOKEN_REQUEST_URL and
	// _TOKEN, which the runner sets only for a job with id-token: write.
	idTokenURL, idTokenToken string
}

// ReadJob reads env, KEY=VALUE pairs as os.Environ returns them. Later
// duplicates win, as with exec.Cmd; missing variables are empty.
func ReadJob(env []string) Job {
	m := shell.ParseEnv(env)
	j := Job{
		actions:    m["GITHUB_ACTIONS"] == "true",
		act:        m["ACT"] == "true",
		repository: m["GITHUB_REPOSITORY"],
		sha:        m["GITHUB_SHA"],
		runID:      m["GITHUB_RUN_ID"],
		runAttempt: m["GITHUB_RUN_ATTEMPT"],
		workflow:   m["GITHUB_WORKFLOW"],
		name:       m["GITHUB_JOB"],
		event:      m["GITHUB_EVENT_NAME"],
		eventPath:  m["GITHUB_EVENT_PATH"],
		apiURL:     m["GITHUB_API_URL"],
		serverURL:  m["GITHUB_SERVER_URL"],
		workspace:  m["GITHUB_WORKSPACE"],
		user:       m["USER"],
		home:       m["HOME"],

		idTokenURL:   m["ACTIONS_ID_TOKEN_REQUEST_URL"],
		idTokenToken: m["ACTIONS_ID_TOKEN_REQUEST_TOKEN"],
	}
	// Rule 1 of package access: a re-run's triggering actor is who is there.
	j.actor = m["GITHUB_TRIGGERING_ACTOR"]
	if j.actor == "" {
		j.actor = m["GITHUB_ACTOR"]
	}
	// The GitHub runner always sets RUNNER_ENVIRONMENT (github-hosted or
	// self-hosted) and act never does: see the rules in package access.
	switch {
	case j.act && m["RUNNER_ENVIRONMENT"] == "":
		j.platform = access.PlatformAct
	case j.actions:
		j.platform = access.PlatformGitHub
	default:
		j.platform = access.PlatformOther
	}
	j.hostedRunner = m["RUNNER_ENVIRONMENT"] == "github-hosted" && !j.act
	if j.actions {
		j.stepSummary = m["GITHUB_STEP_SUMMARY"]
	}
	return j
}

// OnActions reports whether the job runs on GitHub Actions or act
// (GITHUB_ACTIONS=true): its log is shown by a viewer that understands
// colour and workflow commands.
func (j Job) OnActions() bool { return j.actions }

// UnderAct reports whether act says it runs the job (ACT=true). It
// widens no access (a workflow can set ACT on GitHub too); it only says
// that act may be the agent's parent process.
func (j Job) UnderAct() bool { return j.act }

// access is what the access rules need to know about the job.
func (j Job) access() access.Job {
	return access.Job{Platform: j.platform, Actor: j.actor, Repository: j.repository,
		Event: j.event, EventPath: j.eventPath, ServerURL: j.serverURL}
}
