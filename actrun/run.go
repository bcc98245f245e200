package actrun

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/pitstopci/pitstop/injector"
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
	// With are more inputs for the pause step (allow-untrusted-prs,
	// min-permission, ...), after pitstop act's own.
	With []injector.Input
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
	// Interrupt delivers signals meant for the run (Ctrl-C); each is
	// passed on to act, which cancels the job: the pause ends and
	// `if: always()` steps still run.
	Interrupt <-chan os.Signal
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
	root, err := RepoRoot(o.Dir)
	if err != nil {
		return 0, err
	}
	workflow := o.Workflow
	if workflow == "" {
		if workflow, err = FindWorkflow(root, o.Job); err != nil {
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

	tmp, err := os.MkdirTemp("", "pitstop-act-")
	if err != nil {
		return 0, fmt.Errorf("create temporary directory: %w", err)
	}
	defer os.RemoveAll(tmp)
	readyFile := filepath.Join(tmp, "ready.json")

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
	if ctr == nil && len(spec.Services) > 0 {
		fmt.Fprintf(o.Stderr, "pitstop: the job's services (%s) run only in Docker; on this machine act does not start them. Add --docker to have them\n", strings.Join(spec.Services, ", "))
	}
	localRepo := ""
	if actionDir != "" {
		if localRepo, err = localRepository(o.Uses, actionDir); err != nil {
			return 0, err
		}
	}

	injected, job, labels, err := o.inject(workflow, pause, keys)
	if err != nil {
		return 0, err
	}
	if ctr != nil && spec.Image != "" {
		if injected, err = withContainerOptions(injected, job, ctr.options); err != nil {
			return 0, fmt.Errorf("give the job's container pitstop's directory: %w", err)
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
	if ctr != nil {
		ctr.configure(&cfg)
	}
	if localRepo == "" {
		fmt.Fprintf(o.Stderr, "pitstop: no pitstop source found (--action-source); act fetches %s\n", o.Uses)
	}
	r := &run{o: o, tmp: tmp, readyFile: readyFile, out: &gate{w: o.Stderr}}
	code, err := r.act(ctx, act, cfg.args())
	if ctr != nil {
		removeContainers(o.Env, ctr.label, o.Stderr)
	}
	if localRepo == "" && r.out.saw("Unable to clone") {
		fmt.Fprintf(o.Stderr, "pitstop: act could not fetch %s (offline?); point pitstop act at a pitstop source tree with --action-source DIR\n", o.Uses)
	}
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
func (o *Options) inject(workflow string, pause pauseInputs, keys []byte) ([]byte, string, []string, error) {
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
	if pause.install != "" {
		with = append(with, injector.Input{Key: "install", Value: pause.install})
	}
	if o.WaitTimeout > 0 {
		with = append(with, injector.Input{Key: "wait-timeout", Value: o.WaitTimeout.String()})
	}
	if o.MaxDuration > 0 {
		with = append(with, injector.Input{Key: "max-duration", Value: o.MaxDuration.String()})
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
		Job:   o.Job,
		After: o.AfterStep,
		Uses:  o.Uses,
		With:  with,
	})
	if err != nil {
		return nil, "", nil, err
	}
	for _, w := range res.Warnings {
		fmt.Fprintln(o.Stderr, w.String())
	}
	return res.Out, res.Job, runsOn(src, res.Job), nil
}

// run is one act process and what happens around it.
type run struct {
	o         Options
	tmp       string
	readyFile string
	out       *gate
	line      string // the connect command, for messages after ssh
}

// act runs act with args until it exits, watching for the pause.
func (r *run) act(ctx context.Context, act string, args []string) (int, error) {
	cmd := exec.Command(act, args...)
	cmd.Env = actEnv(r.o.Env)
	cmd.Stdout = r.out
	cmd.Stderr = r.out
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
	ready := false
	for {
		select {
		case err := <-exited:
			if sshDone != nil {
				// The job is over, so the pause is too and the agent has
				// closed the connection; ssh ends by itself.
				r.sshFinished(<-sshDone)
			}
			r.out.release()
			return exitStatus(err)
		case sig := <-r.o.Interrupt:
			_ = cmd.Process.Signal(sig)
		case <-ctx.Done():
			// The caller gave up: cancel the job as a Ctrl-C would, and
			// keep waiting for act to clean up.
			_ = cmd.Process.Signal(os.Interrupt)
			ctx = context.Background()
		case err := <-sshDone:
			sshDone = nil
			r.sshFinished(err)
		case <-tick.C:
			if ready {
				continue
			}
			rd, err := ReadReady(r.readyFile)
			if errors.Is(err, errNotReady) {
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
func (r *run) ready(rd *Ready, after time.Duration) (chan error, error) {
	knownHosts := filepath.Join(r.tmp, "known_hosts")
	if err := os.WriteFile(knownHosts, []byte(strings.TrimSpace(rd.KnownHosts)+"\n"), 0o600); err != nil {
		return nil, fmt.Errorf("write known_hosts: %w", err)
	}
	line := rd.SSHCommand(knownHosts)
	r.out.printf("pitstop: the job is paused (ready %.1fs after act started); host key %s\n",
		after.Seconds(), rd.HostKeyFingerprint)
	if !r.o.Connect {
		r.out.printf("pitstop: connect with the command on stdout; the job goes on when you exit\n")
		fmt.Fprintln(r.o.Stdout, line)
		return nil, nil
	}
	var args []string
	for _, f := range IdentityFiles(lookup(r.o.Env, "HOME")) {
		args = append(args, "-i", f)
	}
	args = append(args, rd.SSHArgs(knownHosts)...)
	r.out.printf("pitstop: connecting: ssh %s\n", shellJoin(args))
	cmd := exec.Command(r.o.SSH, args...)
	cmd.Env = r.o.Env
	cmd.Stdin, cmd.Stdout, cmd.Stderr = r.o.Stdin, r.o.Stdout, r.o.Stderr
	// act's output would scribble over the shell; it waits until ssh ends.
	r.out.hold()
	if err := cmd.Start(); err != nil {
		r.out.release()
		return nil, fmt.Errorf("start ssh: %w; connect yourself with: %s", err, line)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	r.line = line
	return done, nil
}

func (r *run) sshFinished(err error) {
	r.out.release()
	var exit *exec.ExitError
	if errors.As(err, &exit) && exit.ExitCode() == 255 {
		// 255 is ssh's own failure (connection, authentication), not the
		// exit status of a remote shell.
		fmt.Fprintf(r.o.Stderr, "pitstop: ssh could not connect; the pause waits until its timeout, connect with: %s\n", r.line)
	}
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

// gate passes act's output through, except while the user is in an ssh
// session on the same terminal: then it is kept and written out when the
// session ends, so that nothing interleaves with the user's shell.
type gate struct {
	mu   sync.Mutex
	w    io.Writer
	held bool
	buf  bytes.Buffer
	// What act said that pitstop act explains afterwards (watched), and
	// the end of the output so far, for a message split across writes.
	seen map[string]bool
	tail []byte
}

// watched are messages of act's that pitstop act adds a hint to.
var watched = []string{"Unable to clone"}

func (g *gate) Write(p []byte) (int, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.tail = append(g.tail, p...)
	for _, w := range watched {
		if bytes.Contains(g.tail, []byte(w)) {
			if g.seen == nil {
				g.seen = map[string]bool{}
			}
			g.seen[w] = true
		}
	}
	if n := len(g.tail); n > 256 {
		g.tail = append(g.tail[:0], g.tail[n-256:]...)
	}
	if g.held {
		return g.buf.Write(p)
	}
	return g.w.Write(p)
}

// saw reports whether act printed one of the watched messages.
func (g *gate) saw(msg string) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.seen[msg]
}

func (g *gate) printf(format string, args ...any) {
	fmt.Fprintf(g, format, args...)
}

func (g *gate) hold() {
	g.mu.Lock()
	g.held = true
	g.mu.Unlock()
}

func (g *gate) release() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.held {
		g.held = false
		_, _ = g.buf.WriteTo(g.w)
	}
}
