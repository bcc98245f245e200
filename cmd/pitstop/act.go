package main

import (
	"context"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/pitstopci/pitstop/actrun"
	"github.com/pitstopci/pitstop/injector"
)

const actHelp = `Usage:
  pitstop act [-W FILE] [--job ID] --ssh-after-step N [--matrix KEY=VALUE]... [flags] [-- ACT ARGS...]
  pitstop act [-W FILE] [--job ID] --on-failure [--ssh-after-step N] [flags] [-- ACT ARGS...]
  pitstop act [-W FILE] [--job ID] --detached [--ssh-after-step N] [--hold WHEN] [flags] [-- ACT ARGS...]

Runs a workflow job on this machine with act (https://nektosact.com),
paused after step N, and puts you in a shell inside the paused job: its
workspace, its environment, what earlier steps added to PATH and GITHUB_ENV.
When you exit the shell, the job carries on; pitstop act exits with the
job's result (0 when it succeeded).

With --on-failure the job pauses only if an earlier step failed: after
step N, or at the end of the job. With --detached the job does not stop: the SSH server starts at step N
(default: before the first step) and the job runs on while you are
connected; at its end the job holds until you exit (--hold always, the
default), only if it failed (--hold failure), or not at all (--hold never).

The pause is injected into a temporary copy of the workflow; your files are
not changed. The job runs on this machine (act's host mode) unless --docker
is given or the job has container:; those need Docker, and get a static
pitstop built for the container (see docs/containers.md). The job works in
act's copy of the repository: edits made in the session do not reach your
checkout, and the copy is deleted when the job ends. Your public keys
(~/.ssh/*.pub and the ssh-agent's) may log in, and the pause's host key is
pinned for you. If the job ends without reaching the pause, pitstop act
says why and exits non-zero (with --on-failure, a job where no step failed
exits 0).

On a terminal, pitstop act connects you itself. Otherwise (or with
--no-connect) it prints the command to connect on stdout, one line starting
with "ssh ", while act's output goes to stderr.

The action comes from --action-source, or from the pitstop checkout you run
this from; without either, act fetches the released action.

Needs act ` + actrun.ActVersion + ` or later: go install github.com/nektos/act@` + actrun.ActVersion + `
More: https://github.com/pitstopci/pitstop/blob/main/docs/act.md

Examples:
  $ pitstop act --job build --ssh-after-step 4
  $ pitstop act -W .github/workflows/ci.yml --job test --ssh-after-step 0 --wait-timeout 5m
  $ pitstop act --job build --ssh-after-step 2 -- pull_request --secret-file .secrets
  $ pitstop act --job test --ssh-after-step 3 --matrix go=1.23
  $ pitstop act --job build --detached --hold failure
`

// actOptions are the flags of pitstop act.
type actOptions struct {
	workflow    string
	job         string
	after       string // kept as text so a bad number gets our own message
	waitTimeout time.Duration
	maxDuration time.Duration
	source      string
	uses        string
	with        multiFlag
	matrix      multiFlag
	docker      bool
	noConnect   bool
	detached    bool
	hold        string
	onFailure   bool
	act         string
}

func runAct(io *IO, args []string) error {
	var o actOptions
	fs := flagSet("act", actHelp, io)
	fs.StringVar(&o.workflow, "W", "", "the workflow `FILE` (default: the one under .github/workflows with the job)")
	fs.StringVar(&o.job, "job", "", "the job to run, by its `ID` (optional when the workflow has one job)")
	fs.StringVar(&o.after, "ssh-after-step", "", "pause after step `N` (counted from 1; 0 pauses before the first step)")
	fs.DurationVar(&o.waitTimeout, "wait-timeout", 0, "how long the pause waits for a first connection (default 15m; 10m with --detached)")
	fs.DurationVar(&o.maxDuration, "max-duration", 0, "longest the pause may last (default 1h)")
	fs.StringVar(&o.source, "action-source", "", "a pitstop source `DIR` to take the action from (default: the checkout pitstop runs from)")
	fs.StringVar(&o.uses, "uses", injector.DefaultUses, "the action `REF` the pause step uses")
	fs.Var(&o.with, "with", "another input for the pause step as `KEY=VALUE`, e.g. allow-untrusted-prs=true (repeatable)")
	fs.Var(&o.matrix, "matrix", "run and pause only the matrix leg where `KEY=VALUE` (repeatable)")
	fs.BoolVar(&o.detached, "detached", false, "start the SSH server at step N (default 0) and let the job run on; hold at its end")
	fs.StringVar(&o.hold, "hold", "", "with --detached: when the end of the job holds, `always`, failure or never (default always)")
	fs.BoolVar(&o.onFailure, "on-failure", false, "pause only if an earlier step failed (after step N, or at the end of the job)")
	fs.BoolVar(&o.docker, "docker", false, "run the job in act's Docker containers instead of on this machine")
	fs.BoolVar(&o.noConnect, "no-connect", false, "print the ssh command instead of connecting, even on a terminal")
	fs.StringVar(&o.act, "act", "", "the act `BINARY` (default: act on PATH or in the Go bin directories)")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if o.hold != "" && !o.detached {
		return usagef("--hold applies to a detached pause only; add --detached")
	}
	end := o.onFailure && o.after == ""
	if end {
		o.after = "0" // ignored: the pause goes after the last step
	}
	if o.after == "" && o.detached {
		o.after = "0" // a detached pause starts before the first step by default
	}
	if o.after == "" {
		return usagef("say where to pause with --ssh-after-step N (see the step numbers with 'pitstop inject --list FILE')")
	}
	after, err := strconv.Atoi(o.after)
	if err != nil || after < 0 {
		return usagef("--ssh-after-step wants a step number (0 pauses before the first step), got %q", o.after)
	}
	if o.waitTimeout < 0 || o.maxDuration < 0 {
		return usagef("--wait-timeout and --max-duration must not be negative")
	}
	with, err := keyValues("--with", o.with)
	if err != nil {
		return err
	}
	if err := checkWith(io, o.uses, workflowRoot(""), with); err != nil {
		return err
	}
	matrix, err := keyValues("--matrix", o.matrix)
	if err != nil {
		return err
	}

	// Interrupts are act's to handle (it cancels the job, and the pause
	// with it); pitstop act only passes them on and waits for act to end.
	// A closed terminal (SIGHUP) cancels the job the same way.
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer signal.Stop(sigs)

	code, err := actrun.Run(context.Background(), actrun.Options{
		Workflow:     o.workflow,
		Job:          o.job,
		AfterStep:    after,
		WaitTimeout:  o.waitTimeout,
		MaxDuration:  o.maxDuration,
		ActionSource: o.source,
		Uses:         o.uses,
		With:         with,
		Matrix:       matrix,
		Docker:       o.docker,
		Detached:     o.detached,
		Hold:         o.hold,
		OnFailure:    o.onFailure,
		End:          end,
		ActArgs:      pos,
		Act:          o.act,
		Connect:      io.IsTerminal && !o.noConnect,
		Stdin:        io.In,
		Stdout:       io.Out,
		Stderr:       io.Err,
		NoColor:      io.Getenv("NO_COLOR") != "" || !isTerminal(io.Err),
		Interrupt:    sigs,
	})
	if err != nil {
		return err
	}
	if code != 0 {
		// act has already said why the job failed.
		return &silentError{code: code}
	}
	return nil
}
