package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/pitstopci/pitstop/agent"
	"github.com/pitstopci/pitstop/agent/control"
	"github.com/pitstopci/pitstop/agent/proc"
	"github.com/pitstopci/pitstop/forge"
)

const agentHelp = `Usage: pitstop agent [flags]

Runs the SSH server that holds a CI job until the person who triggered the
run is done; the pitstop action runs it, and you rarely type it yourself.
Only public keys log in: those the triggering user published on GitHub
(GITHUB_TRIGGERING_ACTOR, else GITHUB_ACTOR; the token comes from
PITSTOP_GITHUB_TOKEN or GITHUB_TOKEN, never from a flag), plus
--github-user and --authorized-keys; with no key to admit, the agent
refuses to start (exit 1). The pause ends, and the agent exits 0, when the
last shell exits, on "pitstop continue", when a time limit runs out, or on
SIGTERM/SIGINT. More: https://github.com/pitstopci/pitstop/blob/main/docs/action.md

With --detached the agent runs next to the job instead: none of this ends it
while the job runs (only --max-duration, counted from the first connection,
"pitstop continue", a signal, or the exit of --watch-pid). The job's last
step, "pitstop hold", then tells it how the job went, and from there on it
ends as above, waiting --wait-timeout only if nobody has connected yet.

Examples:
  $ pitstop agent --github-user alice --github-user bob --wait-timeout 5m
  $ ssh-add -L | pitstop agent --authorized-keys - --listen 127.0.0.1:0 --ready-file ready.json
  $ pitstop agent --relay upterm                # through upterm's public relay, which cannot read the session
  $ pitstop agent --relay pitstop@bastion.example.com --relay-key relay_ed25519 --relay-known-hosts bastion.known_hosts
`

// agentFlagGroups order the flags of pitstop agent --help by what they
// are about.
var agentFlagGroups = []flagGroup{
	{"Who may log in", []string{"github-user", "authorized-keys", "authorized-keys-data", "keys-url", "api-url", "lookup-timeout", "min-permission", "allow-untrusted-prs"}},
	{"How long the pause lasts", []string{"wait-timeout", "max-duration", "reconnect-grace", "job-timeout", "client-alive-interval", "client-alive-count-max"}},
	{"Where users connect", []string{"listen", "advertise-host", "ready-file"}},
	{"Through a relay, for runners behind NAT (ssh -J)", []string{"relay", "relay-key", "relay-known-hosts", "relay-jump", "relay-port", "relay-socket", "relay-keepalive", "relay-insecure-ignore-host-key"}},
	{"What sessions may do", []string{"shell", "allow-local-forwarding", "allow-remote-forwarding", "allow-agent-forwarding"}},
	{"Logs", []string{"log-format", "audit-log", "label"}},
	{"Running next to the job (detached mode)", []string{"detached", "watch-pid"}},
}

// agentOptions are the flags of "pitstop agent".
type agentOptions struct {
	listen, advertise             string
	users, keyFiles, keyData      multiFlag
	keysURL, apiURL               string
	waitTimeout, maxDuration      time.Duration
	reconnectGrace, lookupTimeout time.Duration
	// aliveInterval, aliveCountMax: keepalives on users' connections.
	aliveInterval           time.Duration
	aliveCountMax           int
	readyFile, label, shell string
	logFormat               string
	relay                   relayOptions
	security                securityOptions
	// detached, watchPID: a pause that runs next to the job (detached.go).
	detached bool
	watchPID int
	waitSet  bool // --wait-timeout was given; its default depends on --detached
	// jobTimeout is the job's timeout-minutes (0: GitHub's default).
	jobTimeout time.Duration
}

func agentFlags(io *IO) (*agentOptions, func([]string) ([]string, error)) {
	o := &agentOptions{}
	fs := groupedFlagSet("agent", agentHelp, io, agentFlagGroups)
	fs.StringVar(&o.listen, "listen", "", "TCP `address` to listen on; port 0 picks a free port (default "+agent.DefaultListen+"; with --relay, none)")
	fs.StringVar(&o.advertise, "advertise-host", "", "`host` users are told to dial (default: this machine's outbound address)")
	fs.Var(&o.users, "github-user", "also admit this forge `user`'s published keys (repeatable, or comma-separated)")
	fs.Var(&o.keyFiles, "authorized-keys", "also admit the keys in this authorized_keys `file`; - reads stdin (repeatable)")
	fs.Var(&o.keyData, "authorized-keys-data", "also admit these keys, given as authorized_keys `text`, one key per line (repeatable)")
	fs.StringVar(&o.keysURL, "keys-url", "", "fetch keys from this https URL `template` instead of the GitHub API, e.g. https://gitlab.com/{user}.keys")
	fs.StringVar(&o.apiURL, "api-url", "", "GitHub API `url` (default $GITHUB_API_URL, else "+agent.DefaultAPIURL+")")
	fs.DurationVar(&o.waitTimeout, "wait-timeout", agent.DefaultWaitTimeout, "end the pause if nobody connects within this `duration`")
	fs.DurationVar(&o.maxDuration, "max-duration", agent.DefaultMaxDuration, "end the pause this `duration` after the first connection at the latest (pitstop extend adds time)")
	fs.DurationVar(&o.reconnectGrace, "reconnect-grace", agent.DefaultReconnectGrace, "after everyone left without being done, wait this `duration` for a reconnect")
	fs.DurationVar(&o.aliveInterval, "client-alive-interval", agent.DefaultClientAliveInterval, "ask a client that has been silent for this `duration` for a reply, as OpenSSH's ClientAliveInterval; 0 turns keepalives off")
	fs.IntVar(&o.aliveCountMax, "client-alive-count-max", agent.DefaultClientAliveCountMax, "close a connection that left this `number` of requests in a row unanswered: the user dropped, and the reconnect grace starts")
	fs.DurationVar(&o.lookupTimeout, "lookup-timeout", agent.DefaultLookupTimeout, "give up fetching keys after this `duration`")
	fs.StringVar(&o.readyFile, "ready-file", "", "once listening, write the connection details as JSON to this `file`")
	fs.StringVar(&o.label, "label", "", "what is paused, e.g. \"after step 4 (Run tests)\", shown in the banner and log")
	fs.StringVar(&o.shell, "shell", "", "`program` for sessions (default: bash from the step's PATH, else /bin/sh; on Windows pwsh, else powershell, else cmd)")
	fs.StringVar(&o.logFormat, "log-format", agent.LogConsole, "job log `format`: console or json")
	o.relay.register(fs)
	o.security.register(fs)
	fs.BoolVar(&o.detached, "detached", false, "run next to the job: it goes on; the end-of-job step (pitstop hold) decides whether it then holds (default --wait-timeout "+agent.DefaultDetachedWaitTimeout.String()+", counted from the end of the job)")
	fs.IntVar(&o.watchPID, "watch-pid", 0, "end when the process `PID` (the runner, or act) exits; on Windows a detached agent finds the runner without it")
	fs.DurationVar(&o.jobTimeout, "job-timeout", 0, "the job's time limit, its timeout-minutes, counted from the job's start: pitstop extend stops there (default "+agent.DefaultJobLimit.String()+", GitHub's)")
	return o, func(args []string) ([]string, error) {
		rest, err := parseArgs(fs, args)
		fs.Visit(func(f *flag.Flag) { o.waitSet = o.waitSet || f.Name == "wait-timeout" })
		return rest, err
	}
}

// config turns the flags and the environment into an agent.Config.
func (o *agentOptions) config(io *IO) (agent.Config, error) {
	cfg := agent.Config{
		Listen:         o.listen,
		AdvertiseHost:  o.advertise,
		KeysURL:        o.keysURL,
		APIURL:         o.apiURL,
		WaitTimeout:    o.waitTimeout,
		MaxDuration:    o.maxDuration,
		ReconnectGrace: o.reconnectGrace,
		LookupTimeout:  o.lookupTimeout,
		ReadyFile:      o.readyFile,
		Label:          o.label,
		Shell:          o.shell,
		Token:          io.Getenv("PITSTOP_GITHUB_TOKEN"),
		Detached:       o.detached,
		WatchPID:       o.watchPID,
		JobLimit:       o.jobTimeout,

		ClientAliveInterval: o.aliveInterval,
		ClientAliveCountMax: o.aliveCountMax,
	}
	if o.aliveInterval == 0 {
		cfg.ClientAliveInterval = -1 // off, as 0 is in OpenSSH; the agent's zero means its default
	}
	if o.aliveInterval < 0 {
		return cfg, usagef("--client-alive-interval must be positive, or 0 for none, not %v", o.aliveInterval)
	}
	if o.aliveCountMax <= 0 {
		return cfg, usagef("--client-alive-count-max must be at least 1, not %d", o.aliveCountMax)
	}
	if o.detached && !o.waitSet {
		cfg.WaitTimeout = agent.DefaultDetachedWaitTimeout
	}
	if o.jobTimeout < 0 {
		return cfg, usagef("--job-timeout must be positive, not %v", o.jobTimeout)
	}
	if o.watchPID < 0 {
		return cfg, usagef("--watch-pid must be a process id, not %d", o.watchPID)
	}
	for _, d := range []struct {
		flag string
		v    time.Duration
	}{{"--wait-timeout", o.waitTimeout}, {"--max-duration", o.maxDuration}, {"--reconnect-grace", o.reconnectGrace}, {"--lookup-timeout", o.lookupTimeout}} {
		if d.v <= 0 {
			return cfg, usagef("%s must be positive, not %v", d.flag, d.v)
		}
	}
	if o.logFormat != agent.LogConsole && o.logFormat != agent.LogJSON {
		return cfg, usagef("--log-format must be %q or %q, not %q", agent.LogConsole, agent.LogJSON, o.logFormat)
	}
	if o.keysURL != "" && !strings.Contains(o.keysURL, "{user}") {
		return cfg, usagef("--keys-url %q has no {user} placeholder", o.keysURL)
	}
	if o.keysURL != "" {
		if err := forge.CheckKeysURL(o.keysURL); err != nil {
			return cfg, usagef("--keys-url: %v", err)
		}
	}
	if cfg.Token == "" {
		cfg.Token = io.Getenv("GITHUB_TOKEN")
	}
	relay, err := o.relay.config(io.Getenv("PITSTOP_RELAY_KEY"))
	if err != nil {
		return cfg, err
	}
	cfg.Relay = relay
	if err := o.security.apply(&cfg); err != nil {
		return cfg, err
	}
	for _, u := range o.users {
		for _, name := range strings.FieldsFunc(u, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' }) {
			cfg.GitHubUsers = append(cfg.GitHubUsers, name)
		}
	}
	for _, f := range o.keyFiles {
		var data []byte
		var err error
		if f == "-" {
			data, err = readAllFrom(io.In)
			f = "stdin"
		} else {
			data, err = os.ReadFile(f)
		}
		if err != nil {
			return cfg, fmt.Errorf("read --authorized-keys %s: %w", f, err)
		}
		cfg.AuthorizedKeys = append(cfg.AuthorizedKeys, agent.KeyText{Source: f, Text: string(data)})
	}
	for _, d := range o.keyData {
		cfg.AuthorizedKeys = append(cfg.AuthorizedKeys, agent.KeyText{Source: "--authorized-keys-data", Text: d})
	}
	return cfg, nil
}

func readAllFrom(r io.Reader) ([]byte, error) {
	if r == nil {
		return nil, fmt.Errorf("no standard input")
	}
	return io.ReadAll(r)
}

func runAgent(io *IO, args []string) error {
	// First, before the token or a relay key is read into memory.
	if err := protectAgentProcess(); err != nil {
		return err
	}
	o, parse := agentFlags(io)
	rest, err := parse(args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usagef("unexpected argument %q; pitstop agent takes only flags", rest[0])
	}
	cfg, err := o.config(io)
	if err != nil {
		return err
	}
	// The step's environment is the process's own: the runner applied
	// GITHUB_ENV and GITHUB_PATH before starting this step.
	cfg.Env = os.Environ()
	cfg.Step = control.StepFromEnv(cfg.Env)
	job := agent.ReadJob(cfg.Env)
	cfg.Job = &job // read once, here, and handed down
	// The log goes to stderr, so it is stderr that must be a terminal
	// (or GitHub's log viewer) for colour; a redirected log gets none.
	color := (isTerminal(io.Err) || job.OnActions()) && io.Getenv("NO_COLOR") == ""
	log, err := agent.NewLogger(io.Err, o.logFormat, color)
	if err != nil {
		return usagef("%v", err)
	}
	cfg.Log = log
	cfg.Annotations = io.Out

	jobStart(&cfg, o.watchPID)

	// Job cancellation arrives as SIGINT, then SIGTERM: both end the
	// pause cleanly, and the step still exits 0.
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	// Under act the parent is act itself (the step's shell execs the
	// agent): if act is killed, nothing else would end the pause, and the
	// agent would hold its port, and the user's shell, until its
	// timeouts, reparented to PID 1. The parent is polled because a
	// parent death signal would fire when act's forking thread ends, not
	// act. A detached agent's parent, the step's shell, exits at once by
	// design; --watch-pid names what it must outlive instead.
	if job.UnderAct() && !o.detached && cfg.WatchPID == 0 {
		cfg.WatchPID = os.Getppid()
	}
	// On Windows the action's shell (Git Bash) cannot name the runner by
	// a Windows process id: a detached agent finds it above itself.
	if o.detached && cfg.WatchPID == 0 {
		if pid, ok := proc.RunnerPID(os.Getpid()); ok {
			cfg.WatchPID = pid
		}
	}
	return agent.Run(ctx, cfg)
}
