package actrun

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/pitstopci/pitstop/injector"
	"github.com/pitstopci/pitstop/internal/local"
	"github.com/pitstopci/pitstop/internal/wire"
	"github.com/pitstopci/pitstop/workflows"
)

// HostListen is where the agent listens under pitstop act: the loopback
// interface, since the user is on the same machine (host mode, or Docker
// with act's default host network), and port 0 so runs never clash.
const HostListen = "127.0.0.1:0"

// Options configures one run of pitstop act. Zero values mean the
// defaults; Job and AfterStep are what the user must decide.
type Options struct {
	// Dir is where pitstop act was started; the repository is the nearest
	// parent with .git. Default ".".
	Dir string
	// Workflow is the workflow file, relative to Dir. Default: the one
	// file under .github/workflows that defines Job.
	Workflow string
	// Job is the ID of the job to run and pause. It may be empty when the
	// workflow has a single job.
	Job string
	// AfterStep is the step after which the job pauses; 0 pauses before
	// step 1.
	AfterStep int
	// WaitTimeout and MaxDuration are passed to the agent; zero leaves the
	// action's defaults (15m and 1h).
	WaitTimeout time.Duration
	MaxDuration time.Duration

	// ActionSource is a pitstop source tree act uses in place of the
	// action's repository. Default: the checkout Dir or the running
	// binary is in, if any; otherwise act fetches the action itself.
	ActionSource string
	// Uses is the action reference the pause step uses. Default
	// injector.DefaultUses.
	Uses string
	// AgentBinary is the pitstop binary the pause step runs (the action's
	// install input), instead of building the action's source, which
	// takes most of a minute on a cold Go cache. Default: the running
	// executable, when the job runs on this machine and the action comes
	// from a local source (a released action may not take a path).
	AgentBinary string
	// With are more inputs for the pause step (allow-untrusted-prs,
	// min-permission, ...), after pitstop act's own.
	With []injector.Input
	// Matrix chooses one leg of a matrix job, as KEY=VALUE pairs: act
	// runs only that leg, and the pause is only in it.
	Matrix []injector.Input
	// Detached starts the pause in the background at AfterStep and lets
	// the job go on; a step at the end of the job holds it as Hold says
	// (injector.HoldAlways when empty). See injector.Options.
	Detached bool
	Hold     string
	// OnFailure pauses only when an earlier step failed; with End, after
	// the job's last step instead of AfterStep.
	OnFailure bool
	End       bool
	// Docker runs the job in act's containers instead of on this machine.
	Docker bool
	// ActArgs are more arguments for act, after pitstop's own (so they
	// win), e.g. an event name or --secret-file.
	ActArgs []string
	// Act is the act binary. Default: FindAct.
	Act string
	// AuthorizedKeys may log in to the pause, in authorized_keys format.
	// Default: LocalKeys of the user's HOME and ssh-agent.
	AuthorizedKeys []byte

	// Connect runs ssh when the pause is ready, on Stdin/Stdout/Stderr
	// (which must then be the terminal). Otherwise the connect command is
	// printed on Stdout, alone on its line, for a person or a script.
	Connect bool
	// SSH is the ssh client used by Connect. Default "ssh" from PATH.
	SSH string

	// Env is the environment act and ssh run with. Default os.Environ().
	Env []string
	// Stdin, Stdout and Stderr: act's output is streamed to Stderr, so
	// Stdout carries only the connect command. Nil discards.
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	// NoColor takes colour codes out of act's output (the agent's log is
	// coloured, as on GitHub): set it when Stderr is not a terminal.
	NoColor bool
	// Interrupt delivers signals meant for the run (Ctrl-C); each is
	// passed on to act, which cancels the job: the pause ends and
	// `if: always()` steps still run. A SIGHUP (the terminal is gone)
	// reaches act as SIGTERM, which act handles the same way, and act is
	// killed if it has not ended within KillAfter.
	Interrupt <-chan os.Signal
	// KillAfter is how long act may take to end after a SIGHUP before it
	// is killed, with whatever it started. Default 10s.
	KillAfter time.Duration
	// PollInterval is how often the ready file is looked for. Default
	// 100ms.
	PollInterval time.Duration
}

// Run injects the pause into a temporary copy of the workflow, runs act
// on it, and connects the user (or prints how to) once the pause is ready.
// It returns act's exit status, which is the job's result: 0 when the job
// succeeded. An error means act could not be run at all.
func Run(ctx context.Context, o Options) (int, error) {
	if err := o.defaults(); err != nil {
		return 0, err
	}
	act := o.Act
	if act == "" {
		var err error
		if act, err = FindAct(o.Env); err != nil {
			return 0, err
		}
	}
	root, err := local.RepoRoot(o.Dir)
	if err != nil {
		return 0, err
	}
	workflow := o.Workflow
	if workflow == "" {
		if workflow, err = local.FindWorkflow(root, o.Job); err != nil {
			return 0, err
		}
	} else if !filepath.IsAbs(workflow) {
		workflow = filepath.Join(o.Dir, workflow)
	}
	keys := o.AuthorizedKeys
	if len(keys) == 0 {
		if keys, err = LocalKeys(lookup(o.Env, "HOME"), SSHAgentKeys(o.Env)); err != nil {
			return 0, err
		}
	}
	source, err := o.actionSource()
	if err != nil {
		return 0, err
	}

	tmp, err := makeTemp(o.Stderr)
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(tmp)
	readyFile := filepath.Join(tmp, "ready.json")

	matrix, err := o.matrix()
	if err != nil {
		return 0, err
	}
	if len(matrix) == 0 {
		if matrix, err = o.chooseLeg(workflow, nil); err != nil {
			return 0, err
		}
		// act's own filter, set below from o.Matrix, then runs that leg only.
		o.Matrix = matrix
	}
	// A job with container:, or any job with --docker, runs in Docker;
	// the pause then needs a static binary and a directory shared with
	// the job's container (see container.go).
	spec := o.jobSpec(workflow)
	pause := pauseInputs{listen: HostListen, readyFile: readyFile}
	var ctr *containerSetup
	actionDir := source
	if o.Docker || spec.Image != "" {
		if ctr, err = o.setupContainer(tmp, spec, source); err != nil {
			return 0, err
		}
		pause = ctr.pause
		readyFile = ctr.pause.readyFile
		if ctr.actionDir != "" {
			actionDir = ctr.actionDir
		}
	}
	if ctr == nil && checkDocker(o.Env) == nil {
		removeOrphans(o.Env, o.Stderr) // what a killed run in Docker left
	}
	if ctr == nil && len(spec.Services) > 0 {
		fmt.Fprintf(o.Stderr, "pitstop: the job's services (%s) run only in Docker; on this machine act does not start them. Add --docker to have them\n", strings.Join(spec.Services, ", "))
	}
	localRepo := ""
	if actionDir != "" {
		if localRepo, err = localRepository(o.Uses, actionDir); err != nil {
			return 0, err
		}
	}
	// On this machine the pause runs this very binary (or AgentBinary):
	// no Go build in the step. The released action, fetched by act when
	// there is no local source, installs its own release instead.
	if ctr == nil && localRepo != "" {
		pause.install = o.AgentBinary
		if pause.install == "" {
			if exe, err := os.Executable(); err == nil {
				pause.install = exe
			}
		}
	}

	injected, job, labels, err := o.inject(workflow, pause, keys, matrix)
	if err != nil {
		return 0, err
	}
	o.warnForeignOS(job, labels)
	if ctr != nil {
		if injected, err = ctr.editWorkflow(injected, job, spec); err != nil {
			return 0, err
		}
	}
	// The copy keeps the file's name: act names the workflow after it when
	// it has no name:, and prefixes every log line with that.
	copyPath := filepath.Join(tmp, filepath.Base(workflow))
	if err := os.WriteFile(copyPath, injected, 0o644); err != nil {
		return 0, fmt.Errorf("write workflow copy: %w", err)
	}

	cfg := actConfig{
		Workflow:  copyPath,
		Dir:       root,
		Job:       job,
		Labels:    append(labels, hostLabels()...),
		Docker:    o.Docker,
		LocalRepo: localRepo,
		Extra:     o.ActArgs,
	}
	for _, m := range o.Matrix {
		// act's own filter, KEY:VALUE; it may be given more than once.
		cfg.Extra = append([]string{"--matrix", m.Key + ":" + m.Value}, cfg.Extra...)
	}
	if ctr != nil {
		ctr.configure(&cfg)
	}
	if localRepo == "" {
		fmt.Fprintf(o.Stderr, "pitstop: no pitstop source found (--action-source); act fetches %s\n", o.Uses)
	}
	r := &run{o: o, tmp: tmp, readyFile: readyFile, out: &gate{w: o.Stderr}, job: job, jobIf: jobIf(injected, job)}
	r.log = &actLog{next: r.out, noColor: o.NoColor}
	code, err := r.act(ctx, act, cfg.args())
	if ctr != nil {
		removeContainers(o.Env, ctr.label, o.Stderr)
	}
	r.explainClones(localRepo != "")
	return code, err
}

func (o *Options) defaults() error {
	if o.Dir == "" {
		o.Dir = "."
	}
	if o.Uses == "" {
		o.Uses = injector.DefaultUses
	}
	if o.Env == nil {
		o.Env = os.Environ()
	}
	if o.SSH == "" {
		o.SSH = "ssh"
	}
	if o.Stdout == nil {
		o.Stdout = io.Discard
	}
	if o.Stderr == nil {
		o.Stderr = io.Discard
	}
	if o.PollInterval == 0 {
		o.PollInterval = 100 * time.Millisecond
	}
	if o.KillAfter == 0 {
		o.KillAfter = 10 * time.Second
	}
	if o.WaitTimeout < 0 || o.MaxDuration < 0 {
		return errors.New("wait timeout and max duration must not be negative")
	}
	return nil
}

// actionSource decides where act finds the action: the source given,
// else a checkout around the working directory or the running binary, else
// "" (act fetches it).
func (o *Options) actionSource() (string, error) {
	src := o.ActionSource
	if src != "" {
		abs, err := filepath.Abs(src)
		if err != nil {
			return "", fmt.Errorf("find action source: %w", err)
		}
		if err := CheckSource(abs); err != nil {
			return "", err
		}
		src = abs
	} else {
		src = FindSource(o.Dir)
		if src == "" {
			if exe, err := os.Executable(); err == nil {
				if resolved, err := filepath.EvalSymlinks(exe); err == nil {
					exe = resolved
				}
				src = FindSource(filepath.Dir(exe))
			}
		}
	}
	return src, nil
}

// inject returns the workflow with the pause inserted, the job it is in,
// and that job's literal runs-on labels. Injector warnings go to Stderr.
func (o *Options) inject(workflow string, pause pauseInputs, keys []byte, matrix []injector.Input) ([]byte, string, []string, error) {
	src, err := workflows.ReadFile(workflow)
	if errors.Is(err, os.ErrNotExist) {
		return nil, "", nil, fmt.Errorf("%s: no such file", workflow)
	}
	if err != nil {
		return nil, "", nil, err
	}
	with := []injector.Input{
		{Key: "listen", Value: pause.listen},
		{Key: "ready-file", Value: pause.readyFile},
		{Key: "authorized-keys", Value: strings.TrimSpace(string(keys))},
	}
	if o.WaitTimeout > 0 {
		with = append(with, injector.Input{Key: "wait-timeout", Value: o.WaitTimeout.String()})
	}
	if o.MaxDuration > 0 {
		with = append(with, injector.Input{Key: "max-duration", Value: o.MaxDuration.String()})
	}
	if pause.install != "" && !hasInput(o.With, "install") {
		with = append(with, injector.Input{Key: "install", Value: pause.install})
	}
	with = append(with, o.With...)
	// Messages name the file as the user would: relative to where pitstop
	// act was started.
	name := workflow
	if abs, err := filepath.Abs(o.Dir); err == nil {
		if r, err := filepath.Rel(abs, workflow); err == nil && !strings.HasPrefix(r, "..") {
			name = r
		}
	}
	res, err := injector.Insert(name, src, injector.Options{
		Job:       o.Job,
		After:     o.AfterStep,
		Uses:      o.Uses,
		With:      with,
		Matrix:    matrix,
		Detached:  o.Detached,
		Hold:      o.Hold,
		OnFailure: o.OnFailure,
		End:       o.End,
	})
	if err != nil {
		return nil, "", nil, err
	}
	for _, w := range res.Warnings {
		fmt.Fprintln(o.Stderr, w.String())
	}
	return res.Out, res.Job, runsOn(src, res.Job), nil
}

// removeJobDir removes what act left of the job on this machine (the copy
// of the repository the job worked in, the action, RUNNER_TEMP). act
// removes it itself, given --rm, unless it was killed.
func (r *run) removeJobDir() {
	dir := r.log.jobDir()
	if dir == "" {
		return
	}
	if _, err := os.Stat(dir); err != nil {
		return
	}
	if err := os.RemoveAll(dir); err != nil {
		fmt.Fprintf(r.o.Stderr, "pitstop: remove act's job directory: %v\n", err)
	}
}

func hasInput(with []injector.Input, key string) bool {
	for _, in := range with {
		if in.Key == key {
			return true
		}
	}
	return false
}

// matrix is the leg the pause is in: Matrix, and any of act's own
// --matrix KEY:VALUE among ActArgs, which choose the legs act runs.
func (o *Options) matrix() ([]injector.Input, error) {
	out := slices.Clone(o.Matrix)
	for i := 0; i < len(o.ActArgs); i++ {
		a := o.ActArgs[i]
		v, ok := strings.CutPrefix(a, "--matrix=")
		if !ok && a == "--matrix" && i+1 < len(o.ActArgs) {
			i++
			v, ok = o.ActArgs[i], true
		}
		if !ok {
			continue
		}
		k, val, found := strings.Cut(v, ":")
		if !found || k == "" {
			return nil, fmt.Errorf("act's --matrix wants KEY:VALUE, got %q", v)
		}
		if !slices.ContainsFunc(out, func(in injector.Input) bool { return in.Key == k }) {
			out = append(out, injector.Input{Key: k, Value: val})
		}
	}
	return out, nil
}

// run is one act process and what happens around it.
type run struct {
	o         Options
	tmp       string
	readyFile string
	out       *gate
	log       *actLog // act's output, on its way to out
	job       string
	jobIf     string // the job's if:, to say why it may not have run
	line      string // the connect command, for messages after ssh
	sshArgs   []string
	logins    int // logins seen when ssh was started
}

// act runs act with args until it exits, watching for the pause.
func (r *run) act(ctx context.Context, act string, args []string) (int, error) {
	cmd := exec.Command(act, args...)
	cmd.Env = actEnv(r.o.Env)
	cmd.Stdout = r.log
	cmd.Stderr = r.log
	// act gets no terminal input (the pause is reached over SSH, and a
	// prompt would hang the run) and its own process group, so a Ctrl-C on
	// the terminal reaches it once, through us, rather than twice: act
	// takes a second interrupt as "kill now".
	setProcessGroup(cmd)
	fmt.Fprintf(r.o.Stderr, "pitstop: %s\n", shellJoin(append([]string{"act"}, args...)))
	if err := cmd.Start(); err != nil {
		return 0, fmt.Errorf("start act: %w", err)
	}
	started := time.Now()
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()

	tick := time.NewTicker(r.o.PollInterval)
	defer tick.Stop()
	var sshDone chan error
	var enter chan struct{} // Enter pressed: reconnect
	var kill <-chan time.Time
	ready, hungUp := false, false
	for {
		select {
		case err := <-exited:
			if sshDone != nil {
				// The job is over, so the pause is too and the agent has
				// closed the connection; ssh ends by itself.
				r.sshFinished(<-sshDone)
			}
			r.log.flush()
			r.out.release()
			r.removeJobDir()
			code, err := exitStatus(err)
			if err == nil && !ready && !hungUp {
				code = r.notReached(code)
			}
			return code, err
		case <-kill:
			// act did not end on SIGTERM: nobody is there to wait for it.
			killGroup(cmd)
		case sig := <-r.o.Interrupt:
			if isHangup(sig) {
				// The terminal is gone, and with it the user: end the
				// job as a cancellation would, and do not connect again.
				hungUp, enter = true, nil
				sig = syscall.SIGTERM
				if kill == nil {
					kill = time.After(r.o.KillAfter)
				}
			}
			_ = cmd.Process.Signal(sig)
		case <-enter:
			enter = nil
			var err error
			if sshDone, err = r.connect(); err != nil {
				fmt.Fprintf(r.o.Stderr, "pitstop: %v\n", err)
			}
		case <-ctx.Done():
			// The caller gave up: cancel the job as a Ctrl-C would, and
			// keep waiting for act to clean up.
			_ = cmd.Process.Signal(os.Interrupt)
			ctx = context.Background()
		case err := <-sshDone:
			sshDone = nil
			if (r.sshFinished(err) || r.leftDetached(err)) && !hungUp {
				enter = r.waitEnter()
			}
		case <-tick.C:
			if ready || hungUp {
				continue
			}
			rd, err := wire.ReadReady(r.readyFile)
			if errors.Is(err, wire.ErrNotReady) {
				continue
			}
			ready = true
			if err != nil {
				fmt.Fprintf(r.o.Stderr, "pitstop: %v\n", err)
				continue
			}
			if sshDone, err = r.ready(rd, time.Since(started)); err != nil {
				fmt.Fprintf(r.o.Stderr, "pitstop: %v\n", err)
			}
		}
	}
}

// ready pins the host key and connects the user, or prints the command.
// It returns a channel for ssh's result when ssh was started.
func (r *run) ready(rd *wire.Ready, after time.Duration) (chan error, error) {
	knownHosts := filepath.Join(r.tmp, "known_hosts")
	if err := os.WriteFile(knownHosts, []byte(strings.TrimSpace(rd.KnownHosts)+"\n"), 0o600); err != nil {
		return nil, fmt.Errorf("write known_hosts: %w", err)
	}
	// The user's own keys go on the printed line too, so that it works
	// pasted as it is, as pitstop act's own ssh does.
	var args []string
	for _, f := range local.IdentityFiles(lookup(r.o.Env, "HOME")) {
		args = append(args, "-i", f)
	}
	args = append(args, SSHArgs(rd, knownHosts)...)
	r.line = "ssh " + shellJoin(args)
	state, until := "is paused", "the job goes on when you exit"
	if r.o.Detached {
		state, until = "runs on with a detached pause", "the end of the job holds until you exit"
	}
	r.out.printf("pitstop: the job %s (ready %.1fs after act started); host key %s\n",
		state, after.Seconds(), rd.HostKeyFingerprint)
	if !r.o.Connect {
		r.out.printf("pitstop: connect with the command on stdout; %s\n", until)
		fmt.Fprintln(r.o.Stdout, r.line)
		return nil, nil
	}
	r.sshArgs = append(r.sshArgs, args...)
	return r.connect()
}

// notReached explains a job that ended without reaching the pause, and
// returns the exit status for it: act's own when the job failed, else 1,
// since the user asked for a pause and got none.
func (r *run) notReached(code int) int {
	started, failed, _ := r.log.state()
	if r.o.OnFailure && started && failed == "" && code == 0 {
		// Not reaching an on-failure pause is the good outcome.
		fmt.Fprintf(r.o.Stderr, "pitstop: no step failed, so the pause (--on-failure) did not run; the job succeeded\n")
		return 0
	}
	why := ""
	switch {
	case !started && r.jobIf != "":
		why = fmt.Sprintf("act ran no step of job %q: its if: (%s) was false, so the job was skipped", r.job, r.jobIf)
	case !started:
		why = fmt.Sprintf("act ran no step of job %q (act exited with status %d)", r.job, code)
	case failed == injector.PauseName:
		why = "the pause step itself failed before the agent was ready (see its output above)"
	case failed != "":
		why = fmt.Sprintf("step %q failed before it", failed)
	default:
		why = fmt.Sprintf("job %q ended before it (act exited with status %d)", r.job, code)
	}
	fmt.Fprintf(r.o.Stderr, "pitstop: the pause was not reached: %s\n", why)
	if code == 0 {
		return 1
	}
	return code
}

// exitStatus turns act's end into pitstop act's exit status.
func exitStatus(err error) (int, error) {
	if err == nil {
		return 0, nil
	}
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		if code := exit.ExitCode(); code > 0 {
			return code, nil
		}
		return 1, nil // killed by a signal
	}
	return 0, fmt.Errorf("run act: %w", err)
}
