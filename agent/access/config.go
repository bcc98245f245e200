package access

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/rs/zerolog"

	"github.com/pitstopci/pitstop/forge"
)

// Job is what the access rules need to know about the job: where it runs
// and on whose behalf. The agent reads it from the step's environment
// (agent.ReadJob decides what the variables mean) and fills it in.
type Job struct {
	// Platform is where the job runs. It fails closed: ACT=true alone
	// does not make a run act's.
	Platform   Platform
	Actor      string // the triggering user, rule 1; "" if none
	Repository string // GITHUB_REPOSITORY, OWNER/NAME
	Event      string // GITHUB_EVENT_NAME
	EventPath  string // GITHUB_EVENT_PATH, the event's JSON payload
	ServerURL  string // GITHUB_SERVER_URL; "" when unset
}

// Config is how the agent was told to find keys and check permissions:
// the parts of agent.Config the rules read, with its defaults applied.
type Config struct {
	// AuthorizedKeys are keys given directly (--authorized-keys).
	AuthorizedKeys []KeyText
	// GitHubUsers are more forge users whose published keys may log in.
	GitHubUsers []string
	// APIURL is the GitHub REST API root.
	APIURL string
	// Token authenticates API calls; without one, permissions are not
	// checked.
	Token string
	// KeysURL, when set, fetches keys from a forge that serves plain
	// authorized_keys text ({user} is replaced by the user name).
	KeysURL string
	// KeySource overrides APIURL, Token and KeysURL; when it also
	// implements forge.PermissionSource, it answers permissions too.
	KeySource forge.KeySource
	// LookupTimeout bounds the whole key lookup, and the permission
	// checks.
	LookupTimeout time.Duration
	// MinPermission is the least permission a forge user needs (rule 8).
	MinPermission string
	// AllowUntrustedPRs lets untrusted events through (rule 7).
	AllowUntrustedPRs bool
	// Log receives the warnings the rules give when they let something
	// through.
	Log zerolog.Logger
}

// KeyText is a block of authorized_keys text and where it came from (a
// file name, "stdin", "--authorized-keys-data"), for error messages.
type KeyText struct {
	Source string
	Text   string
}

// defaultServerURL is where keys are added when the job names no
// GITHUB_SERVER_URL.
const defaultServerURL = "https://github.com"

// ErrNoKeys is wrapped by every refusal to start because nobody could be
// authorized; callers can tell it from other start-up failures.
var ErrNoKeys = errors.New("no SSH key may log in")

// timedOut says, for an error of a lookup under ctx, that the lookup's
// time limit ran out, and which it was; "" when it did not.
func (cfg Config) timedOut(ctx context.Context) string {
	if !errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return ""
	}
	return fmt.Sprintf(" (the lookup's time limit, %v, ran out: --lookup-timeout)", cfg.LookupTimeout)
}
