package agent

import (
	"fmt"
	"io"
	"os"
	"os/user"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/pitstopci/pitstop/agent/access"
	"github.com/pitstopci/pitstop/agent/clock"
	"github.com/pitstopci/pitstop/agent/control"
	"github.com/pitstopci/pitstop/forge"
	"github.com/pitstopci/pitstop/internal/wire"
	"github.com/pitstopci/pitstop/relay"
)

// Defaults for the zero values of Config.
const (
	DefaultListen         = ":0" // any free port: jobs sharing a host never clash
	DefaultWaitTimeout    = wire.DefaultWaitTimeout
	DefaultMaxDuration    = time.Hour
	DefaultReconnectGrace = wire.DefaultReconnectGrace
	// DefaultDetachedWaitTimeout is WaitTimeout's default for a detached
	// pause, whose wait only starts at the end of the job: the 10 minutes
	// CircleCI keeps a job with SSH after it ends.
	DefaultDetachedWaitTimeout = 10 * time.Minute
	DefaultLookupTimeout       = 20 * time.Second
	DefaultAPIURL              = "https://api.github.com"
	defaultServerURL           = "https://github.com"
)

// DefaultJobLimit is how long a job may run unless its timeout-minutes
// says otherwise (GitHub's default, 360 minutes, on every kind of
// runner): pitstop extend does not take a pause past it, since the job
// would be cancelled mid-session.
const DefaultJobLimit = 6 * time.Hour

// DefaultWarnBefore says when sessions are warned that --max-duration is
// about to run out, counted back from the deadline.
var DefaultWarnBefore = []time.Duration{5 * time.Minute, time.Minute}

// Config is everything Run needs. The zero value of every field means its
// default, so Config{} is a working agent for the triggering GitHub user.
type Config struct {
	// Listen is the TCP address to listen on. Default ":0": all interfaces,
	// a port the kernel picks, so several jobs on one host never clash.
	// With Relay set, the default is no local listener at all.
	Listen string
	// Relay, when set, makes the agent reachable through a relay it
	// dials, for runners that accept no incoming connections: an OpenSSH
	// server (a bastion) or an uptermd. See relay.Config. Nil on a
	// GitHub-hosted runner (RUNNER_ENVIRONMENT=github-hosted in Env, and
	// not under act: see Job) with no Listen means upterm's public relay;
	// elsewhere, a local listener.
	Relay *relay.Config
	// AdvertiseHost is the host users are told to dial. Default: when
	// Listen names a host, that host; otherwise the address this machine
	// uses for outbound traffic, falling back to a non-loopback interface
	// address and finally 127.0.0.1.
	AdvertiseHost string
	// LoginUser is the user name shown in the connect command. Any name is
	// accepted at login (the session always runs as the runner's user);
	// this only makes the printed command look familiar. Default: the
	// current user.
	LoginUser string

	// Env is the step's environment, as KEY=VALUE pairs. It decides who
	// the triggering user is (GITHUB_TRIGGERING_ACTOR, GITHUB_ACTOR),
	// where the API is (GITHUB_API_URL) and whether this is a real GitHub
	// run, act, or neither (ReadJob); sessions inherit it. Default
	// os.Environ().
	Env []string
	// Job is what Env says about the job, for a caller that has read it
	// already with ReadJob(Env); nil means Run reads it. Either way it is
	// read once and handed down.
	Job *Job

	// GitHubUsers are more forge users whose published keys may log in,
	// in addition to the triggering user.
	GitHubUsers []string
	// AuthorizedKeys are extra keys in authorized_keys format. On a real
	// GitHub run they only add to the triggering user's keys; under act
	// they may replace them (see the access rules in package access).
	AuthorizedKeys []KeyText
	// APIURL is the GitHub REST API root. Default: GITHUB_API_URL from
	// Env, else https://api.github.com. GitHub Enterprise Server URLs
	// (https://HOST/api/v3) work as they are.
	APIURL string
	// Token authenticates API calls (higher rate limits, GHES). Optional;
	// never logged and never passed to sessions.
	Token string
	// KeysURL, when set, fetches keys from a forge that serves plain
	// authorized_keys text instead of the GitHub API, e.g.
	// "https://gitlab.example.com/{user}.keys". "{user}" is replaced by
	// the user name.
	KeysURL string
	// KeySource overrides APIURL, Token and KeysURL. Tests use it; so can
	// programs embedding the agent. One that also implements
	// forge.PermissionSource answers the permission check too.
	KeySource forge.KeySource
	// LookupTimeout bounds the whole key lookup, all users and all pages.
	// Default 20s.
	LookupTimeout time.Duration

	// WaitTimeout ends the pause when nobody has connected by then.
	// Default 15m.
	WaitTimeout time.Duration
	// MaxDuration ends the pause this long after the first connection,
	// however busy the sessions are; "pitstop extend" moves it. Before
	// anyone connects it also bounds an ordinary pause from its start.
	// Default 1h.
	MaxDuration time.Duration
	// JobLimit is the job's own time limit (its timeout-minutes), past
	// which the job would be cancelled; "pitstop extend" stops there. It
	// counts from JobStarted when that is set, else from the pause's
	// start. Default DefaultJobLimit.
	JobLimit time.Duration
	// JobStarted is when the job started, where it can be found (see
	// proc.JobStart); zero counts JobLimit from the pause's start instead.
	JobStarted time.Time
	// ReconnectGrace is how long the agent waits for someone to come back
	// once every connection has gone without the user being done (a
	// dropped connection, or only an scp so far). Default 5m.
	ReconnectGrace time.Duration
	// WarnBefore lists when sessions are warned before MaxDuration runs
	// out. Default DefaultWarnBefore.
	WarnBefore []time.Duration
	// ClientAliveInterval is how long a logged-in connection may be
	// silent before the agent asks its client for a reply, as OpenSSH's
	// ClientAliveInterval. Default DefaultClientAliveInterval; negative
	// turns keepalives off. A relay may never say that a user left
	// (keepalive.go): without keepalives, neither does the agent.
	ClientAliveInterval time.Duration
	// ClientAliveCountMax is how many requests in a row a client may
	// leave unanswered; the connection is closed at the next interval.
	// Default DefaultClientAliveCountMax.
	ClientAliveCountMax int

	// Detached runs the pause alongside the job instead of holding it:
	// the process that started the agent goes on, users connect at any
	// time, and the end-of-job step (HoldRequest) decides whether the job
	// then holds for them. WaitTimeout then counts from the end of the
	// job, MaxDuration from the first connection. See detached.go.
	Detached bool
	// WatchPID, when set, is the process whose exit means the job is over
	// (the runner, or act): the pause ends then, as if the job had been
	// cancelled, even if a detached pause's end-of-job step never ran.
	// Run watches it from its start.
	WatchPID int

	// ReadyFile, when set, receives a JSON Ready document once the agent
	// listens. It is written atomically.
	ReadyFile string
	// Label describes what is paused, e.g. "after step 4 (Run tests)". It
	// appears in the banner, the log and the step summary. Default: built
	// from GITHUB_WORKFLOW and GITHUB_JOB.
	Label string
	// Step is the job step the pause stands for (control.StepFromEnv reads it
	// from what the action passes); pitstop step shows it and runs it.
	// Nil: none (a pause at the end of the job, a detached one).
	Step *control.Step
	// Shell is the program run for interactive sessions and, with -c, for
	// exec requests. Default: bash from the step's PATH, else /bin/sh; on
	// Windows pwsh, else powershell, else cmd (see shell.Default).
	Shell string
	// BinDir is put first on the sessions' PATH so "pitstop continue"
	// finds this very binary. Default: the directory of os.Executable.
	BinDir string
	// ControlDir is where the private directory holding the control
	// socket is created. Default os.TempDir(). Unix sockets have a short
	// path limit (about 100 bytes), so keep it short.
	ControlDir string

	// Log receives the job log. The zero Logger discards everything.
	Log zerolog.Logger
	// Annotations receives GitHub workflow commands (the ::notice:: with
	// the connect command) when Env says this is GitHub Actions. It must be
	// the step's stdout, where the runner looks for them. Nil: none.
	Annotations io.Writer
	// Now is the clock, for tests. Default time.Now.
	Now func() time.Time
	// testClock, when set, arms the agent's timeouts (the pause's, the
	// login grace time, a detached terminal's grace) instead of the real
	// clock, so tests can advance time by hand; Now should read it too.
	testClock clock.Clock

	// MinPermission is the least permission on GITHUB_REPOSITORY that
	// every forge user who may log in must have, checked with Token:
	// read, triage, write, maintain or admin. Default write. See the
	// rules in package access (permission.go).
	MinPermission string
	// AllowUntrustedPRs lets the agent pause pull_request_target runs and
	// runs for pull requests from forks, which it refuses by default.
	AllowUntrustedPRs bool
	// AuditLog, when set, is a file that receives one JSON object per line
	// for every login, refusal, session, file transfer and forward. It is
	// appended to, and created with mode 0600.
	AuditLog string

	// NoLocalForwarding refuses "ssh -L" (direct-tcpip), which is allowed
	// by default: it reaches only what the session's shell could reach.
	NoLocalForwarding bool
	// AllowRemoteForwarding allows "ssh -R" (tcpip-forward): listeners on
	// the runner's loopback interface. Off by default.
	AllowRemoteForwarding bool
	// AllowAgentForwarding allows "ssh -A": sessions get an SSH_AUTH_SOCK
	// leading to the user's own agent. Off by default, as anything on the
	// runner could then sign with the user's keys while they are logged in.
	AllowAgentForwarding bool

	// MaxAuthTries is how many failed authentication attempts a
	// connection gets before it is closed. Default DefaultMaxAuthTries.
	MaxAuthTries int
	// LoginGraceTime closes connections that have not logged in by then.
	// Default DefaultLoginGraceTime.
	LoginGraceTime time.Duration
	// MaxUnauthenticated caps the connections that have not logged in
	// yet; more wait their turn (agent/limits). Default
	// DefaultMaxUnauthenticated.
	MaxUnauthenticated int
}

// Defaults of the connection limits, close to OpenSSH's (MaxAuthTries 6,
// LoginGraceTime 120, MaxStartups 10:30:100) but with more attempts per
// connection, so a user whose agent holds many keys still gets in, and
// a shorter grace time, as nobody types a password here.
const (
	DefaultMaxAuthTries       = 10
	DefaultLoginGraceTime     = 30 * time.Second
	DefaultMaxUnauthenticated = 30
)

// KeyText is a block of authorized_keys text and where it came from (a
// file name, "stdin", "--authorized-keys-data"), for error messages.
type KeyText = access.KeyText

// DefaultMinPermission is the least repository permission a user needs
// to debug a run, unless Config.MinPermission says otherwise.
const DefaultMinPermission = access.DefaultMinPermission

// withJob fills in the defaults that come from the job's environment.
// Run calls it before withDefaults, which fills in the rest.
func (cfg Config) withJob(j Job) Config {
	if cfg.APIURL == "" {
		cfg.APIURL = j.apiURL
	}
	if cfg.LoginUser == "" {
		cfg.LoginUser = currentUser(j)
	}
	if cfg.Label == "" {
		cfg.Label = defaultLabel(j)
	}
	return cfg
}

// withDefaults returns cfg with every zero field filled in, or an error
// for values that can never work. The defaults taken from the job's
// environment are withJob's.
func (cfg Config) withDefaults() (Config, error) {
	for _, d := range []struct {
		name string
		v    time.Duration
	}{
		{"wait timeout", cfg.WaitTimeout},
		{"max duration", cfg.MaxDuration},
		{"reconnect grace", cfg.ReconnectGrace},
		{"lookup timeout", cfg.LookupTimeout},
	} {
		if d.v < 0 {
			return cfg, fmt.Errorf("%s %v is negative", d.name, d.v)
		}
	}
	if cfg.Listen == "" && cfg.Relay == nil {
		cfg.Listen = DefaultListen
	}
	if cfg.APIURL == "" {
		cfg.APIURL = DefaultAPIURL
	}
	if cfg.KeysURL != "" && !strings.Contains(cfg.KeysURL, "{user}") {
		return cfg, fmt.Errorf("keys URL %q has no {user} placeholder", cfg.KeysURL)
	}
	if cfg.LookupTimeout == 0 {
		cfg.LookupTimeout = DefaultLookupTimeout
	}
	if cfg.WaitTimeout == 0 && cfg.Detached {
		cfg.WaitTimeout = DefaultDetachedWaitTimeout
	}
	if cfg.WaitTimeout == 0 {
		cfg.WaitTimeout = DefaultWaitTimeout
	}
	if cfg.MaxDuration == 0 {
		cfg.MaxDuration = DefaultMaxDuration
	}
	if cfg.ReconnectGrace == 0 {
		cfg.ReconnectGrace = DefaultReconnectGrace
	}
	if cfg.JobLimit == 0 {
		cfg.JobLimit = DefaultJobLimit
	}
	if cfg.ClientAliveInterval == 0 {
		cfg.ClientAliveInterval = DefaultClientAliveInterval
	}
	if cfg.ClientAliveCountMax <= 0 {
		cfg.ClientAliveCountMax = DefaultClientAliveCountMax
	}
	if cfg.WarnBefore == nil {
		cfg.WarnBefore = DefaultWarnBefore
	}
	if cfg.BinDir == "" {
		exe, err := os.Executable()
		if err != nil {
			return cfg, fmt.Errorf("find own executable: %w", err)
		}
		if resolved, err := filepath.EvalSymlinks(exe); err == nil {
			exe = resolved
		}
		cfg.BinDir = filepath.Dir(exe)
	}
	if cfg.ControlDir == "" {
		cfg.ControlDir = os.TempDir()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.MinPermission == "" {
		cfg.MinPermission = access.DefaultMinPermission
	}
	if err := access.ValidMinPermission(cfg.MinPermission); err != nil {
		return cfg, err
	}
	if cfg.MaxAuthTries <= 0 {
		cfg.MaxAuthTries = DefaultMaxAuthTries
	}
	if cfg.LoginGraceTime <= 0 {
		cfg.LoginGraceTime = DefaultLoginGraceTime
	}
	if cfg.MaxUnauthenticated <= 0 {
		cfg.MaxUnauthenticated = DefaultMaxUnauthenticated
	}
	return cfg.jobLimitLeft()
}

func currentUser(j Job) string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		// Windows names users DOMAIN\name; the name is what ssh takes.
		_, name, ok := strings.Cut(u.Username, `\`)
		if ok && runtime.GOOS == "windows" {
			return name
		}
		return u.Username
	}
	if j.user != "" {
		return j.user
	}
	return "runner"
}

func defaultLabel(j Job) string {
	wf, job := j.workflow, j.name
	switch {
	case wf != "" && job != "":
		return fmt.Sprintf("job %q of workflow %q", job, wf)
	case job != "":
		return fmt.Sprintf("job %q", job)
	default:
		return "this job"
	}
}

// access is how the access rules find keys and check permissions.
func (cfg Config) access() access.Config {
	return access.Config{AuthorizedKeys: cfg.AuthorizedKeys, GitHubUsers: cfg.GitHubUsers,
		APIURL: cfg.APIURL, Token: cfg.Token, KeysURL: cfg.KeysURL, KeySource: cfg.KeySource,
		LookupTimeout: cfg.LookupTimeout, MinPermission: cfg.MinPermission,
		AllowUntrustedPRs: cfg.AllowUntrustedPRs, Log: cfg.Log}
}

// clock returns the clock the agent's timeouts keep time by:
// Config.testClock if a test set one, otherwise real timers with
// Config.Now.
func (cfg Config) clock() clock.Clock {
	if cfg.testClock != nil {
		return cfg.testClock
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	return clock.Real(now)
}
