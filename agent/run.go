package agent

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/pitstopci/pitstop/agent/access"
	"github.com/pitstopci/pitstop/agent/audit"
	"github.com/pitstopci/pitstop/agent/control"
	"github.com/pitstopci/pitstop/agent/limits"
	"github.com/pitstopci/pitstop/agent/proc"
	"github.com/pitstopci/pitstop/agent/term"
	"github.com/pitstopci/pitstop/internal/wire"
)

// shutdownTimeout bounds how long the agent waits, once the pause is
// over, for sessions to send their exit statuses and connections to
// close. The job must go on even if a session is stuck.
const shutdownTimeout = 5 * time.Second

// Run holds the job: it loads the keys that may log in, listens, and
// returns when the pause is over. Every normal end returns nil, so the
// step succeeds and the job continues — nobody came, the user is done,
// time ran out, or ctx was cancelled (the job was cancelled). Only a
// failure to start is an error, and then nothing was listening: in
// particular, Run refuses to start when no key may log in.
func Run(ctx context.Context, cfg Config) error {
	if !term.Supported {
		return fmt.Errorf("start agent: %w", errUnsupported)
	}
	if cfg.Env == nil {
		cfg.Env = os.Environ()
	}
	if cfg.Job == nil {
		j := ReadJob(cfg.Env)
		cfg.Job = &j
	}
	job := *cfg.Job
	cfg, reachNote := chooseRelay(cfg, job.hostedRunner)
	cfg, err := cfg.withJob(job).withDefaults()
	if err != nil {
		return fmt.Errorf("configure agent: %w", err)
	}
	log := cfg.Log
	reachNote(log)
	ctx, stopWatch := watchJob(ctx, cfg)
	defer stopWatch()
	audit, err := audit.Open(cfg.Log, cfg.AuditLog)
	if err != nil {
		return err
	}
	defer audit.Close()
	// Who may debug (agent/access, permission.go): the event first, as it needs no
	// network; then the keys; then each user's permission.
	if err := access.CheckEvent(cfg.access(), job.access()); err != nil {
		return audit.Refused(err)
	}

	ring, plan, err := access.LoadKeys(ctx, cfg.access(), job.access())
	if err == nil {
		err = access.CheckPermissions(ctx, cfg.access(), job.repository, plan)
	}
	if err != nil {
		if ctx.Err() != nil {
			// Cancelled while starting: the job is going away, which is
			// not the agent failing.
			log.Info().Msg("cancelled before the pause began")
			return nil
		}
		return audit.Refused(err)
	}
	logAccess(log, ring, plan)

	s, err := startServer(ctx, cfg, job, audit, ring)
	if err != nil {
		return err
	}
	// Whatever happens from here on, close stops the server, then the
	// relay connection, then removes the control directory.
	defer s.close()
	if cfg.Relay == nil && plan.Platform != access.PlatformAct && inContainer() {
		// pitstop act connects from the machine that runs the container,
		// which reaches its network; nobody else does.
		log.Warn().Msg("this job runs in a container: the address below is on the container's network, which only the runner's machine reaches. " +
			"To connect from elsewhere use a relay (input relay; on GitHub-hosted runners there is no other way in), " +
			"or on a self-hosted runner publish the port: container options -p PORT:PORT with listen 0.0.0.0:PORT")
	}
	published, err := s.announce(ctx, job, plan)
	if err != nil {
		return err // close ends the pause as cancelled
	}

	reason := s.wait(ctx)
	log.Info().Str("reason", string(reason)).Msg("the pause is over: " + reason.Describe())
	s.stop(reason)
	published.finish(cfg, reason)

	t := s.pause.times()
	if err := appendSummary(job.stepSummary, summaryEnd(reason, s.loginList(), cfg.Now().Sub(t.Started))); err != nil {
		log.Warn().Err(err).Msg("could not write the step summary")
	}
	log.Info().Msg("the job continues")
	return nil
}

// watchEvery is how often the agent checks that the process that runs
// the job (Config.WatchPID) is still there.
const watchEvery = 500 * time.Millisecond

// watchJob returns ctx, cancelled as well when the process Config.WatchPID
// names ends: the job is over then, whether the pause has begun or not,
// and a cancelled ctx ends either. It is the agent's one process watcher;
// stop ends it.
func watchJob(ctx context.Context, cfg Config) (_ context.Context, stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	if pid := cfg.WatchPID; pid > 0 {
		go proc.Watch(ctx, pid, watchEvery, func() {
			cfg.Log.Warn().Int("pid", pid).Msg("the process that runs the job has exited; ending the pause")
			cancel()
		})
	}
	return ctx, cancel
}

// logAccess says in the job log who may log in, and with which keys.
func logAccess(log zerolog.Logger, ring *access.Keyring, plan access.Plan) {
	ev := log.Info().Str("platform", plan.Platform.String()).Strs("github_users", plan.Users).Int("keys", ring.Len())
	if plan.ActorSkipped != "" {
		ev = ev.Str("actor_not_looked_up", plan.Actor).Str("why", plan.ActorSkipped)
	}
	ev.Msg("who may log in: " + describeOwners(ring))
	for _, k := range ring.Keys() {
		log.Info().Str("owner", k.Owner).Str("key_type", k.Key.Type()).Str("key_fingerprint", k.Fingerprint).Msg("authorized key")
	}
}

// announce tells everyone who needs it how to connect, once the server
// serves: the ready file (an error if it cannot be written), the job
// log, the run's annotation and check run, and the step summary. The
// check run is returned, to be completed when the pause ends.
func (s *server) announce(ctx context.Context, job Job, plan access.Plan) (*checkRun, error) {
	cfg, log := s.cfg, s.log
	ready, err := newReady(cfg, s.ln.Addr(), s.hostKey, s.socket, s.ring, plan, s.pause.times())
	if err == nil && s.rl != nil {
		ready = throughRelay(ready, s.rl.Access())
	}
	if err == nil && cfg.ReadyFile != "" {
		err = wire.WriteReady(cfg.ReadyFile, ready)
	}
	if err != nil {
		return nil, err
	}
	log.Info().Str("ssh_command", ready.SSHCommand).Str("listen", ready.Listen).Msg("connect with: " + ready.SSHCommand)
	log.Info().Str("host_key_fingerprint", ready.HostKeyFingerprint).Msg("host key " + ready.HostKeyFingerprint)
	log.Info().Str("known_hosts", ready.KnownHosts).Msg("for strict host key checking, add to known_hosts: " + ready.KnownHosts)
	if cfg.Detached {
		log.Info().Msgf("detached: the job goes on; connect at any time while it runs. At its end the job holds while someone is connected, or waits %s for a first connection; a session lasts at most %s",
			cfg.WaitTimeout, cfg.MaxDuration)
	} else {
		log.Info().Time("wait_deadline", ready.WaitDeadline).Time("deadline", ready.Deadline).
			Msgf("waiting %s for a first connection; from then on the pause lasts at most %s", cfg.WaitTimeout, cfg.MaxDuration)
	}
	if st := cfg.Step; st != nil {
		// Which step, and for an on-failure pause that a step failed:
		// the log is where the run's reader looks first.
		log.Info().Int("step_number", st.Number).Str("step", st.Label()).
			Msg(st.Describe() + "; sessions have its environment (pitstop step shows it, pitstop step run runs it)")
	}
	if cfg.JobLimit < cfg.MaxDuration {
		// The pause itself is not cut to the job's limit: a misjudged
		// job start would end it at once. Say when GitHub will.
		log.Warn().Str("job_time_left", cfg.JobLimit.Round(time.Second).String()).
			Msgf("the job's time limit leaves %s, less than max-duration (%s): when it runs out the job is cancelled, session or not",
				cfg.JobLimit.Round(time.Second), cfg.MaxDuration)
	}
	if job.actions {
		ready.Proof = requestProof(ctx, cfg, job, s.hostKey)
		notice(cfg, ready)
	}
	published := publishCheckRun(ctx, cfg, job, ready)
	if s.rl != nil {
		followReady(cfg, s.rl, ready, s.pause.times, job.actions)
	}
	if err := appendSummary(job.stepSummary, summaryStart(cfg, ready)); err != nil {
		log.Warn().Err(err).Msg("could not write the step summary")
	}
	return published, nil
}

// startServer does every step of the start that can fail: the host key,
// the private control directory and the sessions' rc file in it, the
// control socket, and the listener (in relay mode, the connection to the
// relay). Then it serves both. It returns a serving server, which owns
// both listeners from then on and closes them in stop, or an error,
// having released whatever it made.
func startServer(ctx context.Context, cfg Config, job Job, audit *audit.Trail, ring *access.Keyring) (_ *server, err error) {
	signer, err := newHostKey()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp(cfg.ControlDir, "pitstop-")
	if err != nil {
		return nil, fmt.Errorf("create control directory: %w", err)
	}
	defer func() {
		if err != nil {
			os.RemoveAll(dir)
		}
	}()
	socket := control.Address(dir)
	env := baseEnv(cfg, socket)
	rcFile, err := writeRC(dir, env)
	if err != nil {
		return nil, err
	}
	ctlLn, err := control.Listen(socket)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			ctlLn.Close()
		}
	}()
	// In relay mode this dials the relay: one that cannot be reached or
	// refuses the agent stops the start here, before any waiting.
	ln, rl, err := listen(ctx, cfg, signer.PublicKey(), ring.PublicKeys())
	if err != nil {
		return nil, err
	}
	// Nothing below can fail.

	s := &server{
		cfg:       cfg,
		log:       cfg.Log,
		ring:      ring,
		hostKey:   signer.PublicKey(),
		shell:     pickShell(cfg, env),
		env:       env,
		rcFile:    rcFile,
		socket:    socket,
		workspace: job.workspace,
		home:      job.home,
		dir:       dir,
		ln:        ln,
		rl:        rl,
		serveErr:  make(chan error, 1),
		audit:     audit,
		limits:    limits.New(cfg.MaxUnauthenticated, cfg.clock()),
		budget:    newPreLoginBudget(cfg.Now),
		sessions:  map[int]*liveSession{},
		conns:     map[*connState]*connInfo{},
		raw:       map[*trackedConn]struct{}{},
	}
	s.srv = s.sshServer(signer)
	log := cfg.Log
	s.pause = newPause(cfg, func(left time.Duration, deadline time.Time) {
		msg := fmt.Sprintf("pitstop: %s left in this pause (until %s). Run 'pitstop extend 30m' for more time.",
			left.Round(time.Second), deadline.UTC().Format("15:04 MST"))
		log.Warn().Str("time_left", left.Round(time.Second).String()).Msg("the pause ends soon")
		s.tellAll(msg)
	})
	s.ctl = &controlServer{ln: ctlLn, h: s}
	s.start()
	return s, nil
}

// wait returns why the pause ended, once it has; a cancelled ctx ends it.
func (s *server) wait(ctx context.Context) EndReason {
	select {
	case <-s.pause.Done():
	case <-ctx.Done():
		s.pause.finish(EndCancelled)
	}
	return s.pause.Reason()
}

// stop ends the pause for reason, if it is not over yet, and shuts the
// SSH server and the control socket down. It is the one place a started
// server's listeners close: SSH's first, so nobody logs in to a pause
// that is over, and the control socket's once the sessions have ended,
// so their "pitstop" commands are answered until then. Only the first
// call counts.
func (s *server) stop(reason EndReason) {
	if s.stopped {
		return
	}
	s.stopped = true
	s.pause.finish(reason)
	s.ln.Close()
	s.shutdown(reason, shutdownTimeout)
	s.ctl.close()
}

// close releases everything startServer made, in the one order that
// works: the server stops first (as cancelled, unless stop ran), then
// the relay connection, which the users' connections ran through, then
// the control directory.
func (s *server) close() {
	s.stop(EndCancelled)
	s.rl.Close()
	os.RemoveAll(s.dir)
}

// status is the control socket's answer.
func (s *server) status() control.Status {
	t := s.pause.times()
	st := control.Status{
		Label:       s.cfg.Label,
		Now:         s.cfg.Now(),
		StartedAt:   t.Started,
		Deadline:    t.Deadline,
		Limit:       t.Limit,
		Connections: t.Conns,
		Sessions:    s.sessionsSnapshot(),
		Mode:        mode(t),
		Terminals:   s.terms.Infos(),
		Step:        s.cfg.Step,
	}
	if t.Detached && !t.Holding {
		st.JobStep = proc.CurrentStep(s.cfg.WatchPID)
	}
	switch {
	case !t.WaitUntil.IsZero():
		st.WaitingUntil = t.WaitUntil
	case !t.GraceUntil.IsZero():
		st.WaitingUntil = t.GraceUntil
	}
	return st
}

// continuePause ends the pause: "pitstop continue" was run.
func (s *server) continuePause() {
	s.log.Info().Msg("pitstop continue was run")
	s.pause.finish(EndContinue)
}

// extendPause adds d to the pause: "pitstop extend" was run.
func (s *server) extendPause(d time.Duration) error {
	deadline, err := s.pause.extend(d)
	if err == nil {
		s.log.Info().Str("added", d.String()).Time("deadline", deadline).Msg("pause extended")
	}
	return err
}

// cancelEndOfJob ends a detached pause whose end-of-job step was
// cancelled.
func (s *server) cancelEndOfJob() {
	s.log.Info().Msg("the end-of-job step was cancelled")
	s.pause.finish(EndCancelled)
}

// endOfJob answers a detached pause's end-of-job step, and says in the
// log what happens next.
func (s *server) endOfJob(r HoldRequest) error {
	holding, why, err := s.pause.endOfJob(r)
	switch {
	case err != nil:
		return err
	case holding:
		t := s.pause.times()
		if t.Conns > 0 {
			s.cfg.Log.Info().Str("job_status", r.JobStatus).Int("connections", t.Conns).
				Msg("the job's steps are done; it holds while you are connected (exit the shell or run 'pitstop continue' to end it)")
			s.tellAll(fmt.Sprintf("pitstop: the job's steps are done (%s); it holds until you exit or run 'pitstop continue'.", r.JobStatus))
		} else {
			s.cfg.Log.Info().Str("job_status", r.JobStatus).Time("wait_deadline", t.WaitUntil).
				Msgf("the job's steps are done; waiting %s for a first connection", s.cfg.WaitTimeout)
		}
	default:
		s.cfg.Log.Info().Str("job_status", r.JobStatus).Msg("the job's steps are done; no hold: " + why)
	}
	return nil
}

// loginList is everyone who logged in during the pause, for the summary.
func (s *server) loginList() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.logins...)
}

func describeOwners(r *access.Keyring) string {
	owners := r.Owners()
	if len(owners) == 0 {
		return "nobody"
	}
	return strings.Join(owners, ", ")
}

// errUnsupported is returned by Run on systems without session support.
var errUnsupported = errors.New("the agent runs on Linux, macOS, other Unix systems and Windows only")
