package access

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"

	"github.com/pitstopci/pitstop/forge"
)

// Who may debug — rules on top of who may log in (access.go), checked
// before the agent listens:
//
//  7. The agent refuses pull_request_target runs and runs for pull
//     requests from forks (and workflow_run runs that a fork's pull
//     request set off): they hold the base repository's secrets, or run
//     code from outside the project, on behalf of someone who may not be
//     trusted with either. Config.AllowUntrustedPRs lets them through,
//     with a warning in the log.
//  8. With a token, every forge user who may log in (the triggering user
//     and each --github-user) must have at least Config.MinPermission
//     (default write) on GITHUB_REPOSITORY. A user below it, a user the
//     API does not know, or an API failure refuses the run: the check
//     fails closed. Without a token the check is skipped, and the log says
//     so in a warning.
//  9. Both apply on every platform, act included. Gitea and Forgejo
//     runners are built on act and look like it (ACT=true, no
//     RUNNER_ENVIRONMENT), yet run pull requests from forks with the
//     repository's secrets; on a laptop, act's event is the one the user
//     chose (push by default). The only act relaxation is rule 3 of
//     access.go: the actor's keys are not looked up when keys were given
//     directly, and then there is no user whose permission to check.
//
// Keys given directly (--authorized-keys) name no user whose permission
// could be checked: whoever configured the step vouches for them.

// DefaultMinPermission is the least repository permission a user needs
// to debug a run: the permission needed to push, and so to run any code
// with the repository's secrets anyway.
const DefaultMinPermission = "write"

// permissionRank orders levels; unknown ones rank below "none".
func permissionRank(p string) int { return slices.Index(forge.PermissionLevels(), p) }

// ValidMinPermission checks a --min-permission value.
func ValidMinPermission(p string) error {
	if permissionRank(p) <= 0 {
		return fmt.Errorf("minimum permission %q is not one of %s", p, strings.Join(forge.PermissionLevels()[1:], ", "))
	}
	return nil
}

// ErrNotAllowed is wrapped by every refusal to start because the run or
// its users may not be debugged (rules 7 and 8).
var ErrNotAllowed = errors.New("refusing to pause")

// CheckEvent applies rule 7. It reads the event payload only for the
// events whose trust depends on it.
func CheckEvent(cfg Config, j Job) error {
	why, err := untrustedEvent(j.Event, j.EventPath)
	if errors.Is(err, errNoPullRequest) && j.Platform == PlatformAct {
		// act without -e FILE makes up the payload {}: there is no pull
		// request in it, so no fork to refuse. Runners built on act
		// (Gitea, Forgejo) always send the pull request, and a fork's
		// is refused below like anywhere else.
		cfg.Log.Warn().Str("event", j.Event).
			Msg("the event payload holds no pull request (act without -e FILE), so there is no pull request to judge; " +
				"pass act a real event file to have it checked")
		return nil
	}
	if err != nil {
		return fmt.Errorf("%w: %w", ErrNotAllowed, err)
	}
	if why == "" {
		return nil
	}
	if cfg.AllowUntrustedPRs {
		cfg.Log.Warn().Str("event", j.Event).
			Msg(why + "; allowed by allow-untrusted-prs (--allow-untrusted-prs): whoever logs in can read this job's secrets")
		return nil
	}
	return fmt.Errorf("%w: %s; a shell here could expose the repository's secrets to someone outside the project. "+
		"If you trust this pull request, set allow-untrusted-prs: true on the pitstop step (--allow-untrusted-prs)", ErrNotAllowed, why)
}

// eventRepo is a repository as event payloads describe it.
type eventRepo struct {
	FullName string `json:"full_name"`
	Fork     bool   `json:"fork"`
}

// eventPayload is the part of GITHUB_EVENT_PATH's JSON that decides
// whether a run acts for someone outside the repository.
type eventPayload struct {
	PullRequest *struct {
		Number int `json:"number"`
		Head   struct {
			Repo *eventRepo `json:"repo"`
		} `json:"head"`
		Base struct {
			Repo *eventRepo `json:"repo"`
		} `json:"base"`
	} `json:"pull_request"`
	WorkflowRun *struct {
		Event          string     `json:"event"`
		HeadRepository *eventRepo `json:"head_repository"`
		Repository     *eventRepo `json:"repository"`
	} `json:"workflow_run"`
}

// errNoPullRequest is wrapped when a pull request or workflow_run event's
// payload lacks the object that would tell whether it comes from a fork.
var errNoPullRequest = errors.New("no pull request in the event")

// untrustedEvent says why the run's event is not to be trusted, or ""
// when it is: name is GITHUB_EVENT_NAME, path GITHUB_EVENT_PATH. An
// event whose payload cannot be read is an error: the check fails closed.
func untrustedEvent(name, path string) (string, error) {
	switch name {
	case "pull_request_target":
		return "this run was triggered by pull_request_target, which runs with the repository's secrets on behalf of a pull request", nil
	case "pull_request", "pull_request_review", "pull_request_review_comment", "workflow_run":
	default:
		return "", nil
	}
	if path == "" {
		return "", fmt.Errorf("this is a %s run but GITHUB_EVENT_PATH is not set, so it cannot tell whether the pull request comes from a fork", name)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("read the %s event to tell whether it comes from a fork: %w", name, err)
	}
	var ev eventPayload
	if err := json.Unmarshal(data, &ev); err != nil {
		return "", fmt.Errorf("parse the %s event %s: %w", name, path, err)
	}
	if name == "workflow_run" {
		wr := ev.WorkflowRun
		if wr == nil {
			return "", fmt.Errorf("the workflow_run event %s has no workflow_run object: %w", path, errNoPullRequest)
		}
		if fromFork(wr.HeadRepository, wr.Repository) {
			return fmt.Sprintf("this workflow_run follows a %s run from the fork %s", wr.Event, repoName(wr.HeadRepository)), nil
		}
		return "", nil
	}
	pr := ev.PullRequest
	if pr == nil {
		return "", fmt.Errorf("the %s event %s has no pull_request object: %w", name, path, errNoPullRequest)
	}
	if fromFork(pr.Head.Repo, pr.Base.Repo) {
		return fmt.Sprintf("pull request #%d comes from the fork %s, not from %s", pr.Number, repoName(pr.Head.Repo), repoName(pr.Base.Repo)), nil
	}
	return "", nil
}

// fromFork compares the head repository with the base: a pull request
// whose branch lives in another repository comes from a fork. The
// "fork" flag alone would be wrong for a repository that is itself a
// fork, whose own branches all have it; it is only the fallback when
// the names are missing. A head repository that is gone (a deleted
// fork) counts as a fork.
func fromFork(head, base *eventRepo) bool {
	switch {
	case head == nil:
		return true
	case head.FullName != "" && base != nil && base.FullName != "":
		return !strings.EqualFold(head.FullName, base.FullName)
	default:
		return head.Fork
	}
}

func repoName(r *eventRepo) string {
	if r == nil || r.FullName == "" {
		return "(deleted repository)"
	}
	return r.FullName
}

// CheckPermissions applies rule 8 to every forge user of the plan, on
// repo (GITHUB_REPOSITORY).
func CheckPermissions(ctx context.Context, cfg Config, repo string, plan Plan) error {
	log := cfg.Log
	if len(plan.Users) == 0 {
		return nil
	}
	if repo == "" && plan.Platform != PlatformGitHub {
		log.Info().Msg("not a GitHub Actions run (no GITHUB_REPOSITORY): repository permissions are not checked")
		return nil
	}
	src, done, err := cfg.permissionSource()
	if err != nil {
		return err
	}
	if src == nil {
		where := repo
		if where == "" {
			where = "the repository"
		}
		log.Warn().Str("repository", repo).Strs("github_users", plan.Users).
			Msg("no GitHub token: the repository permission of " + strings.Join(plan.Users, ", ") + " on " + where +
				" was NOT checked; pass github-token (GITHUB_TOKEN) so that only people with " + cfg.MinPermission + " access can debug")
		return nil
	}
	defer done()
	if repo == "" {
		return fmt.Errorf("%w: GITHUB_REPOSITORY is not set on a GitHub Actions run, so nobody's permission can be checked", ErrNotAllowed)
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.LookupTimeout)
	defer cancel()
	for _, u := range plan.Users {
		perm, err := src.RepoPermission(ctx, repo, u)
		if err != nil {
			return fmt.Errorf("%w: could not check that %q may debug %s: %w%s", ErrNotAllowed, u, repo, err, cfg.timedOut(ctx))
		}
		if permissionRank(perm) < permissionRank(cfg.MinPermission) {
			return fmt.Errorf("%w: user %q has %s permission on %s; debugging a run needs %s or more (--min-permission)",
				ErrNotAllowed, u, perm, repo, cfg.MinPermission)
		}
		log.Info().Str("github_user", u).Str("repository", repo).Str("permission", perm).
			Msgf("%s has %s permission on %s", u, perm, repo)
	}
	return nil
}

// permissionSource is what answers the permission check: the KeySource
// when it also implements forge.PermissionSource, else the GitHub API
// when there is a token. Nil means there is nothing to ask with.
func (cfg Config) permissionSource() (src forge.PermissionSource, done func(), err error) {
	if ps, ok := cfg.KeySource.(forge.PermissionSource); ok {
		return ps, func() {}, nil
	}
	if cfg.Token == "" {
		return nil, func() {}, nil
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	api, err := forge.NewGitHubAPI(cfg.APIURL, cfg.Token, &http.Client{Transport: tr})
	if err != nil {
		return nil, nil, err
	}
	return api, tr.CloseIdleConnections, nil
}
