package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/pitstopci/pitstop/ghrun"
	"github.com/pitstopci/pitstop/injector"
)

const runHelp = `Usage:
  pitstop run [--workflow FILE] [--job ID] --ssh-after-step N [--ref REF] [--with K=V]... [flags]

Runs a workflow job on GitHub, paused after step N, and puts you in a
shell inside it; when you exit, the job goes on, and pitstop run follows
it to its end and exits with its result (0 when it succeeded).

Your branches are not touched: the workflow, with the pause in it, is
committed on top of REF (default: your branch's upstream, which must hold
your local HEAD) to a throwaway branch pitstop/JOB-XXXXXX through the API,
made to run on a push to that branch; the branch is deleted afterwards
(--keep keeps it). Ctrl-C cancels the run and deletes the branch.

The connect command and host key come from a check run the paused job
creates, with a GitHub OIDC token that binds the host key to the job; it is
pinned only once that token checks out (the job needs id-token: write,
which pitstop grants where the workflow has permissions). A pause without a
valid token is refused, unless --trust-unverified says to trust its key on
first use.

On a terminal pitstop run connects you itself; otherwise it prints the ssh
command on stdout (--info does that on a terminal too; --output json
prints everything as JSON) and follows the job while you connect.

Token: GH_TOKEN, GITHUB_TOKEN, else 'gh auth token'. A classic token needs
the repo and workflow scopes; a fine-grained one Contents, Workflows and
Actions: write. The API is the remote's (github.com or GitHub Enterprise
Server); --api-url or GITHUB_API_URL overrides it. The token goes to that
API only, never to a host that only a run URL names.

Examples:
  $ pitstop run --job build --ssh-after-step 4
  $ pitstop run --workflow .github/workflows/ci.yml --job test --ssh-after-step 0 --ref main
  $ pitstop run --job test --ssh-after-step 2 --matrix os=ubuntu-latest --info
`

const rerunHelp = `Usage:
  pitstop rerun RUN [--job J] [--ssh-after-step N] [flags]

Runs the failed job of RUN (a run's URL or ID) again, from the run's own
commit, paused right before the step that failed, and puts you in a shell
there; then as pitstop run. With several failed jobs, --job picks one (on
a terminal you are asked). For a matrix leg, only that leg pauses.

The shell has the failed step's environment (its env: included): pitstop
step shows the step, and pitstop step run runs it as the runner would, so
you can watch it fail, change things and run it again.

When the run's steps cannot be matched with the workflow's for certain,
pitstop rerun says so; pass --ssh-after-step.

Examples:
  $ pitstop rerun https://github.com/octo/app/actions/runs/123456789
  $ pitstop rerun 123456789 --job test --ssh-after-step 3
`

const sshHelp = `Usage:
  pitstop ssh RUN [--job J] [--info] [--output json]

Attaches to a pause already running in RUN (a run's URL or ID), however
the run was started: a pushed 'pitstop inject', pitstop run or rerun. It
waits up to --timeout for the pause to appear. The host key is pinned from
the pause's check run on GitHub once the GitHub OIDC token in it proves
that key is the job's (--trust-unverified: trust it on first use anyway).
A run URL on another host than your GitHub's, or of another repository
than this checkout's, is refused (asked about, on a terminal).

Examples:
  $ pitstop ssh https://github.com/octo/app/actions/runs/123456789
  $ pitstop ssh 123456789 --job build --info --output json
`

// ghFlags are the flags run, rerun and ssh share.
type ghFlags struct {
	job, apiURL, output   string
	info, trustUnverified bool
	timeout               time.Duration
}

func (g *ghFlags) register(fs interface {
	StringVar(*string, string, string, string)
	BoolVar(*bool, string, bool, string)
}) {
	fs.StringVar(&g.job, "job", "", "the job: its `ID` (run, ssh, rerun), or its name as the run shows it (rerun)")
	fs.StringVar(&g.apiURL, "api-url", "", "GitHub API `url` (default $GITHUB_API_URL, else the remote's)")
	fs.StringVar(&g.output, "output", "", "`json` prints the connect information as JSON on stdout instead of connecting")
	fs.BoolVar(&g.info, "info", false, "print the ssh command instead of connecting, even on a terminal")
	fs.BoolVar(&g.trustUnverified, "trust-unverified", false, "connect to a pause GitHub does not vouch for (no valid OIDC proof), trusting its host key on first use")
}

// parseRun parses the flags and the one argument of a command that acts
// on a run (rerun, ssh): the run's URL or ID, returned with the options.
func (g *ghFlags) parseRun(io *IO, fs *flag.FlagSet, args []string) (string, ghrun.Options, error) {
	pos, err := parseArgs(fs, args)
	if err != nil {
		return "", ghrun.Options{}, err
	}
	if len(pos) != 1 {
		return "", ghrun.Options{}, usagef("name one run, by its URL or ID")
	}
	o, err := g.options(io)
	return pos[0], o, err
}

// options turns the shared flags into ghrun.Options.
func (g *ghFlags) options(io *IO) (ghrun.Options, error) {
	o := ghrun.Options{
		Job: g.job, APIURL: g.apiURL, Getenv: io.Getenv, TTY: io.IsTerminal, TrustUnverified: g.trustUnverified,
		Stdin: io.In, Stdout: io.Out, Stderr: io.Err,
	}
	if o.APIURL == "" {
		o.APIURL = io.Getenv("GITHUB_API_URL")
	}
	if io.IsTerminal {
		o.Confirm = func(q string) (bool, error) { return confirm(io, q) }
	}
	switch {
	case g.output != "" && g.output != "json":
		return o, usagef("--output wants json, not %q", g.output)
	case g.output == "json":
		o.Mode = ghrun.PrintJSON
	case g.info || !io.IsTerminal:
		o.Mode = ghrun.PrintCommand
	default:
		o.Mode = ghrun.Connect
	}
	if s := io.Getenv("PITSTOP_POLL_INTERVAL"); s != "" {
		// For tests and impatient people; GitHub's rate limits apply.
		d, err := time.ParseDuration(s)
		if err != nil || d <= 0 {
			return o, usagef("PITSTOP_POLL_INTERVAL wants a positive duration, not %q", s)
		}
		o.Poll = d
	}
	return o, nil
}

// interrupts delivers Ctrl-C and SIGTERM to the run, which cancels it.
func interrupts() (chan os.Signal, func()) {
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	return sigs, func() { signal.Stop(sigs) }
}

func exitFor(code int, err error) error {
	if err != nil {
		return err
	}
	if code != 0 {
		return &silentError{code: code}
	}
	return nil
}

func runRun(io *IO, args []string) error {
	var g ghFlags
	var workflow, after, ref, uses string
	var with, matrix multiFlag
	var keep bool
	var queue time.Duration
	fs := flagSet("run", runHelp, io)
	g.register(fs)
	fs.StringVar(&workflow, "workflow", "", "the workflow `FILE`'s path in the repository (default: the one under .github/workflows with the job)")
	fs.StringVar(&after, "ssh-after-step", "", "pause after step `N` (counted from 1; 0 pauses before the first step)")
	fs.StringVar(&ref, "ref", "", "the branch, tag or commit on GitHub to run (default: the current branch's upstream)")
	fs.StringVar(&uses, "uses", injector.DefaultUses, "the action `REF` the pause step uses")
	fs.Var(&with, "with", "another input for the pause step as `KEY=VALUE` (repeatable)")
	fs.Var(&matrix, "matrix", "pause only the matrix leg where `KEY=VALUE` (repeatable)")
	fs.BoolVar(&keep, "keep", false, "keep the throwaway branch after the run")
	fs.DurationVar(&queue, "queue-timeout", 10*time.Minute, "give up when no runner has started the job after this `duration`")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("unexpected argument %q; name the workflow with --workflow", pos[0])
	}
	if after == "" {
		return usagef("say where to pause with --ssh-after-step N (see the step numbers with 'pitstop inject --list FILE')")
	}
	n, err := strconv.Atoi(after)
	if err != nil || n < 0 {
		return usagef("--ssh-after-step wants a step number (0 pauses before the first step), got %q", after)
	}
	o, err := g.options(io)
	if err != nil {
		return err
	}
	if o.With, err = keyValues("--with", with); err != nil {
		return err
	}
	// The workflow runs from REF, which holds the local HEAD: a local
	// action (./dir) is read from the repository around the current
	// directory, as pitstop act does (--workflow is a path in that
	// repository, not one from here).
	if err := checkWith(io, uses, workflowRoot(""), o.With); err != nil {
		return err
	}
	if o.Matrix, err = keyValues("--matrix", matrix); err != nil {
		return err
	}
	o.Workflow, o.AfterStep, o.Ref, o.Uses, o.Keep, o.QueueTimeout = workflow, n, ref, uses, keep, queue
	sigs, stop := interrupts()
	defer stop()
	o.Interrupt = sigs
	return exitFor(ghrun.Run(context.Background(), o))
}

func runRerun(io *IO, args []string) error {
	var g ghFlags
	var after, uses string
	var with multiFlag
	var keep bool
	fs := flagSet("rerun", rerunHelp, io)
	g.register(fs)
	fs.StringVar(&after, "ssh-after-step", "", "pause after step `N` instead of right before the failed step")
	fs.StringVar(&uses, "uses", injector.DefaultUses, "the action `REF` the pause step uses")
	fs.Var(&with, "with", "another input for the pause step as `KEY=VALUE` (repeatable)")
	fs.BoolVar(&keep, "keep", false, "keep the throwaway branch after the run")
	run, o, err := g.parseRun(io, fs, args)
	if err != nil {
		return err
	}
	if after != "" {
		if o.AfterStep, err = strconv.Atoi(after); err != nil || o.AfterStep < 0 {
			return usagef("--ssh-after-step wants a step number (0 pauses before the first step), got %q", after)
		}
	}
	if o.With, err = keyValues("--with", with); err != nil {
		return err
	}
	// A rerun runs the failed run's own commit, whose local actions the
	// checkout here may not match: only pitstop's own inputs are known.
	if injector.IsPitstopAction(uses) {
		if err := checkWith(io, uses, "", o.With); err != nil {
			return err
		}
	} else if len(o.With) > 0 {
		fmt.Fprintf(io.Err, "pitstop: --with was not checked: %s is not pitstop's action, and a rerun runs the failed run's commit, not this checkout\n", uses)
	}
	o.Uses, o.Keep = uses, keep
	var pick func(string, []string) (int, error)
	if io.IsTerminal {
		pick = func(what string, choices []string) (int, error) { return prompt(io, what, choices) }
	}
	sigs, stop := interrupts()
	defer stop()
	o.Interrupt = sigs
	return exitFor(ghrun.Rerun(context.Background(), o, run, after != "", pick))
}

// prompt asks on the terminal which of choices to take.
func prompt(io *IO, what string, choices []string) (int, error) {
	fmt.Fprintln(io.Err, what)
	for i, c := range choices {
		fmt.Fprintf(io.Err, "  %d) %s\n", i+1, c)
	}
	in := bufio.NewReader(io.In)
	for {
		fmt.Fprintf(io.Err, "Number (1-%d): ", len(choices))
		line, err := in.ReadString('\n')
		if n, convErr := strconv.Atoi(strings.TrimSpace(line)); convErr == nil && n >= 1 && n <= len(choices) {
			return n - 1, nil
		}
		if err != nil {
			return 0, fmt.Errorf("no choice made: %w", err)
		}
	}
}

// confirm asks a yes/no question on the terminal; only "y" or "yes" is
// yes.
func confirm(io *IO, q string) (bool, error) {
	fmt.Fprintf(io.Err, "%s [y/N] ", q)
	line, err := bufio.NewReader(io.In).ReadString('\n')
	if err != nil && line == "" {
		return false, fmt.Errorf("no answer: %w", err)
	}
	a := strings.ToLower(strings.TrimSpace(line))
	return a == "y" || a == "yes", nil
}

func runSSH(io *IO, args []string) error {
	var g ghFlags
	fs := flagSet("ssh", sshHelp, io)
	g.register(fs)
	fs.DurationVar(&g.timeout, "timeout", 5*time.Minute, "how long to wait for the pause to appear")
	run, o, err := g.parseRun(io, fs, args)
	if err != nil {
		return err
	}
	o.PauseTimeout = g.timeout
	sigs, stop := interrupts()
	defer stop()
	o.Interrupt = sigs
	return ghrun.SSH(context.Background(), o, run)
}
