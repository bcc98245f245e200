package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/pitstopci/pitstop/agent/control"
	"github.com/pitstopci/pitstop/internal/wire"
)

const holdHelp = `Usage: pitstop hold --state DIR [--hold always|failure|never] --job-status STATUS

The end-of-job step of a detached pause (what the action runs with
role: hold; you rarely type it). It tells the agent that the job's steps
are done and how the job went, prints the connection details again, follows
the agent's log, and returns once the agent has exited:

  always    hold while someone is connected; if nobody has connected yet,
            wait --wait-timeout (of the pause step) for a first connection
  failure   the same, but only when STATUS is failure
  never     stop the agent now

A cancelled job never holds: the pause ends at once. pitstop hold always
exits 0 when it could talk to the agent: the job's result is its own.

Example:
  $ pitstop hold --state "$RUNNER_TEMP/pitstop.abc123" --hold failure --job-status failure
`

// holdPoll is how often pitstop hold copies the agent's log and checks
// whether it has exited.
const holdPoll = 200 * time.Millisecond

func runHold(io *IO, args []string) error {
	fs := flagSet("hold", holdHelp, io)
	state := fs.String("state", "", "the detached pause's state `DIR` (the pause step's output state)")
	hold := fs.String("hold", wire.HoldAlways, "when to hold: `always`, failure or never")
	status := fs.String("job-status", "", "the job's status so far: success, failure or cancelled (job.status)")
	rest, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usagef("unexpected argument %q", rest[0])
	}
	req := wire.HoldRequest{Hold: *hold, JobStatus: *status}
	if err := holdCheck(req); err != nil {
		return err
	}
	if *state == "" {
		// The pause step was skipped or failed before it had a state.
		fmt.Fprintln(io.Out, "pitstop: no detached pause was started in this job; nothing to hold")
		return nil
	}
	ready, err := readReadyFile(filepath.Join(*state, "ready.json"))
	if err != nil {
		fmt.Fprintf(io.Out, "pitstop: the detached pause did not start (%v); nothing to hold\n", err)
		return nil
	}

	log := &logFollower{path: filepath.Join(*state, "agent.log"), out: io.Out}
	log.offset = readOffset(filepath.Join(*state, "agent.log.offset"))

	// Job cancellation reaches this step as SIGINT, then SIGTERM: the
	// agent is stopped with it, so nothing outlives the job.
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	st, err := control.Hold(ctx, ready.ControlSocket, req)
	log.copy()
	if err != nil {
		if _, serr := os.Stat(ready.ControlSocket); errors.Is(serr, os.ErrNotExist) {
			fmt.Fprintln(io.Out, "pitstop: the detached pause has already ended")
			return nil
		}
		// The job's result is its own: a pause that cannot be reached is
		// worth a warning, not a failed job.
		fmt.Fprintf(io.Out, "::warning title=pitstop::could not tell the detached pause that the job's steps are done: %s\n",
			strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A").Replace(err.Error()))
		return nil
	}
	if st.Mode == control.ModeHolding {
		fmt.Fprintf(io.Out, "pitstop: the job holds for SSH (%s). Connect with:\n  %s\n  host key %s\n",
			*status, ready.SSHCommand, ready.HostKeyFingerprint)
		if !st.WaitingUntil.IsZero() {
			fmt.Fprintf(io.Out, "  nobody is connected; waiting until %s\n", st.WaitingUntil.UTC().Format("15:04:05 MST"))
		}
	}
	for {
		waitCtx, cancel := context.WithTimeout(ctx, holdPoll)
		err := control.WaitGone(waitCtx, ready.ControlSocket, holdPoll/4)
		cancel()
		log.copy()
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			break
		}
	}
	// Cancelled: stop the agent and give it a moment to say goodbye.
	stop()
	cctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := control.Cancel(cctx, ready.ControlSocket); err == nil {
		_ = control.WaitGone(cctx, ready.ControlSocket, holdPoll/4)
	}
	log.copy()
	fmt.Fprintln(io.Out, "pitstop: cancelled; the detached pause is stopped")
	return nil
}

// holdCheck is wire.HoldRequest.Check in the words of the flags.
func holdCheck(r wire.HoldRequest) error {
	if !wire.ValidHold(r.Hold) {
		return usagef("--hold %q is not one of %s, %s, %s", r.Hold, wire.HoldAlways, wire.HoldFailure, wire.HoldNever)
	}
	if !wire.ValidJobStatus(r.JobStatus) {
		return usagef("--job-status %q is not one of success, failure, cancelled (pass ${{ job.status }})", r.JobStatus)
	}
	return nil
}

// readReadyFile reads the detached pause's ready file, which must name
// the control socket the hold talks to.
func readReadyFile(path string) (*wire.Ready, error) {
	r, err := wire.LoadReady(path)
	if err != nil {
		return nil, err
	}
	if r.ControlSocket == "" {
		return nil, fmt.Errorf("%s names no control socket", path)
	}
	return r, nil
}

// readOffset reads the size of the agent's log that the pause step has
// already shown; 0 when unknown, so the whole log is shown.
func readOffset(path string) int64 {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	if err != nil || n < 0 {
		return 0
	}
	return n
}

// logFollower copies what a detached agent appends to its log file into
// this step's log, so logins and logouts show up in the job.
type logFollower struct {
	path   string
	offset int64
	out    io.Writer
}

func (l *logFollower) copy() {
	f, err := os.Open(l.path)
	if err != nil {
		return
	}
	defer f.Close()
	if _, err := f.Seek(l.offset, io.SeekStart); err != nil {
		return
	}
	n, _ := io.Copy(l.out, f)
	l.offset += n
}
