package agent

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pitstopci/pitstop/agent/clock"
)

// The pause's state machine alone, on a fake clock: each case is what
// happens to a pause (connections, shells, extend, the end-of-job hold)
// and when, on a timeline counted from the pause's start, with checks in
// between. Times are the defaults (wait 15m, max 1h, grace 5m, warnings 5m
// and 1m before the deadline, job limit 6h) unless a case says otherwise.
// The end-to-end tests (lifecycle_test.go, session_test.go) check that the
// server feeds it the events; this checks what it makes of them.

// pauseRun is one pause being driven.
type pauseRun struct {
	t      *testing.T
	clock  *clock.Fake
	start  time.Time
	p      *pause
	step   int
	warned []time.Duration // the time left at each warning, in order
}

// step is something that happens to the pause, or a check.
type step func(r *pauseRun)

func (r *pauseRun) fatalf(format string, args ...any) {
	r.t.Helper()
	r.t.Fatalf("step %d (at +%v): %s", r.step+1, r.clock.Now().Sub(r.start), fmt.Sprintf(format, args...))
}

func (r *pauseRun) isOver() bool {
	select {
	case <-r.p.Done():
		return true
	default:
		return false
	}
}

// at moves the clock to d after the start, firing what falls due.
func at(d time.Duration) step {
	return func(r *pauseRun) {
		if end := r.start.Add(d); end.Before(r.clock.Now()) {
			r.fatalf("the table goes back in time to +%v", d)
		} else {
			r.clock.AdvanceTo(end)
		}
	}
}

var (
	connect      step = func(r *pauseRun) { r.p.connOpened() }
	disconnect   step = func(r *pauseRun) { r.p.connClosed() }
	shellStarts  step = func(r *pauseRun) { r.p.shellStarted() }
	shellExits   step = func(r *pauseRun) { r.p.shellEnded(true) }  // the user typed exit
	shellHungUp  step = func(r *pauseRun) { r.p.shellEnded(false) } // its connection dropped
	continueNow  step = func(r *pauseRun) { r.p.finish(EndContinue) }
	cancelNow    step = func(r *pauseRun) { r.p.finish(EndCancelled) }
	stillRunning step = func(r *pauseRun) {
		if r.isOver() {
			r.fatalf("the pause ended (%s), want it running", r.p.Reason())
		}
	}
)

// endsNow checks that the pause has ended, for reason.
func endsNow(reason EndReason) step {
	return func(r *pauseRun) {
		if !r.isOver() {
			r.fatalf("the pause runs on, want it ended (%s)", reason)
		}
		if got := r.p.Reason(); got != reason {
			r.fatalf("the pause ended with %q, want %q", got, reason)
		}
	}
}

// endsAt checks that the pause runs until just before d after the start,
// and has ended at d, for reason.
func endsAt(d time.Duration, reason EndReason) step {
	return func(r *pauseRun) {
		at(d - time.Nanosecond)(r)
		stillRunning(r)
		at(d)(r)
		endsNow(reason)(r)
	}
}

// extend asks for d more and checks the new deadline, d after the start.
func extend(d, wantDeadline time.Duration) step {
	return func(r *pauseRun) {
		got, err := r.p.extend(d)
		if err != nil {
			r.fatalf("extend %v: %v", d, err)
		}
		if want := r.start.Add(wantDeadline); !got.Equal(want) {
			r.fatalf("extend %v: deadline +%v, want +%v", d, got.Sub(r.start), wantDeadline)
		}
	}
}

// extendFails checks that extend refuses d with an error saying want.
func extendFails(d time.Duration, want string) step {
	return func(r *pauseRun) {
		before := r.p.times().Deadline
		if _, err := r.p.extend(d); err == nil || !strings.Contains(err.Error(), want) {
			r.fatalf("extend %v: error %v, want one saying %q", d, err, want)
		}
		if after := r.p.times().Deadline; !after.Equal(before) {
			r.fatalf("a refused extend moved the deadline by %v", after.Sub(before))
		}
	}
}

// hold is the end-of-job step of a detached pause; holds says whether
// the pause must now hold the job.
func hold(policy, jobStatus string, holds bool) step {
	return func(r *pauseRun) {
		holding, why, err := r.p.endOfJob(HoldRequest{Hold: policy, JobStatus: jobStatus})
		switch {
		case err != nil:
			r.fatalf("hold %s, job %s: %v", policy, jobStatus, err)
		case holding != holds:
			r.fatalf("hold %s, job %s: holding %v (%s), want %v", policy, jobStatus, holding, why, holds)
		case !holding && why == "":
			r.fatalf("hold %s, job %s: not holding, and no reason why", policy, jobStatus)
		case holding != r.p.times().Holding:
			r.fatalf("endOfJob said holding %v, times say %v", holding, r.p.times().Holding)
		}
	}
}

// timesAre checks the pause's clocks, as durations after the start; -1
// means unset (zero).
func timesAre(deadline, waitUntil, graceUntil time.Duration) step {
	return func(r *pauseRun) {
		tm := r.p.times()
		for _, c := range []struct {
			name string
			got  time.Time
			want time.Duration
		}{{"deadline", tm.Deadline, deadline}, {"wait until", tm.WaitUntil, waitUntil}, {"grace until", tm.GraceUntil, graceUntil}} {
			switch {
			case c.want < 0 && !c.got.IsZero():
				r.fatalf("%s is +%v, want unset", c.name, c.got.Sub(r.start))
			case c.want >= 0 && c.got.IsZero():
				r.fatalf("%s is unset, want +%v", c.name, c.want)
			case c.want >= 0 && !c.got.Equal(r.start.Add(c.want)):
				r.fatalf("%s is +%v, want +%v", c.name, c.got.Sub(r.start), c.want)
			}
		}
	}
}

// warnedSoFar checks the warnings given until now, by the time left at
// each.
func warnedSoFar(left ...time.Duration) step {
	return func(r *pauseRun) {
		if !slices.Equal(r.warned, left) {
			r.fatalf("warnings with %v left, want %v", r.warned, left)
		}
	}
}

const unset = -1

var pauseCases = []struct {
	name  string
	cfg   Config
	late  bool // timers stopped too late fire anyway (clock.Fake.LateStops)
	steps []step
}{
	{name: "nobody connects: the wait timeout ends it", steps: []step{
		timesAre(time.Hour, 15*time.Minute, unset),
		endsAt(15*time.Minute, EndWaitTimeout),
		warnedSoFar(),
	}},
	{name: "a connection stops the wait", steps: []step{
		at(14 * time.Minute), connect, shellStarts,
		timesAre(74*time.Minute, unset, unset),
		at(20 * time.Minute), stillRunning,
	}},
	{name: "max duration, with warnings before it", steps: []step{
		connect, shellStarts,
		at(55*time.Minute - time.Nanosecond), warnedSoFar(),
		at(55 * time.Minute), warnedSoFar(5 * time.Minute),
		at(59 * time.Minute), warnedSoFar(5*time.Minute, time.Minute),
		endsAt(time.Hour, EndMaxDuration),
	}},
	{name: "a warning that would come before the deadline is armed is skipped", cfg: Config{MaxDuration: 3 * time.Minute}, steps: []step{
		connect, shellStarts,
		endsAt(3*time.Minute, EndMaxDuration),
		warnedSoFar(time.Minute),
	}},
	{name: "whoever connects first gets the whole max duration", steps: []step{
		at(10 * time.Minute), connect,
		timesAre(70*time.Minute, unset, unset),
		disconnect,
		at(12 * time.Minute), connect, // later connections do not move it again
		timesAre(70*time.Minute, unset, unset),
		endsAt(70*time.Minute, EndMaxDuration),
	}},
	{name: "but not past the job's limit", cfg: Config{JobLimit: 80 * time.Minute, WaitTimeout: time.Hour}, steps: []step{
		at(40 * time.Minute), connect,
		timesAre(80*time.Minute, unset, unset),
		endsAt(80*time.Minute, EndMaxDuration),
	}},
	{name: "the last connection drops: the reconnect grace ends it", steps: []step{
		at(time.Minute), connect, shellStarts,
		at(10 * time.Minute), disconnect, // the shell lives on, detached
		timesAre(61*time.Minute, unset, 15*time.Minute),
		endsAt(15*time.Minute, EndReconnectGrace),
	}},
	{name: "a reconnect within the grace keeps it", steps: []step{
		connect, shellStarts,
		at(10 * time.Minute), disconnect,
		at(14 * time.Minute), connect,
		timesAre(time.Hour, unset, unset),
		at(30 * time.Minute), stillRunning,
		shellExits, endsNow(EndShellsExited),
	}},
	{name: "the grace waits for the last connection", steps: []step{
		connect, connect,
		at(time.Minute), disconnect,
		timesAre(time.Hour, unset, unset),
		at(10 * time.Minute), stillRunning, disconnect,
		endsAt(15*time.Minute, EndReconnectGrace),
	}},
	{name: "each drop restarts the grace", steps: []step{
		connect,
		at(time.Minute), disconnect,
		at(5 * time.Minute), connect,
		at(7 * time.Minute), disconnect,
		timesAre(time.Hour, unset, 12*time.Minute),
		endsAt(12*time.Minute, EndReconnectGrace),
	}},
	{name: "the last shell exiting is the user being done", steps: []step{
		connect, shellStarts, shellStarts,
		at(time.Minute), shellExits, stillRunning,
		at(2 * time.Minute), shellExits, endsNow(EndShellsExited),
	}},
	{name: "a shell hung up is not the user being done", steps: []step{
		connect, shellStarts, shellHungUp,
		at(30 * time.Minute), stillRunning,
	}},
	{name: "extend within the job's limit", steps: []step{
		connect, shellStarts,
		at(10 * time.Minute), extend(30*time.Minute, 90*time.Minute),
		at(time.Hour), stillRunning, warnedSoFar(), // the old deadline and its warnings are gone
		at(85 * time.Minute), warnedSoFar(5 * time.Minute),
		extend(time.Minute, 91*time.Minute), // warnings again, for the new deadline
		at(86 * time.Minute), warnedSoFar(5*time.Minute, 5*time.Minute),
		endsAt(91*time.Minute, EndMaxDuration),
		warnedSoFar(5*time.Minute, 5*time.Minute, time.Minute),
		extendFails(time.Minute, "already ended"),
	}},
	{name: "extend over the job's limit stops at it", cfg: Config{JobLimit: 90 * time.Minute}, steps: []step{
		connect,
		extend(time.Hour, 90*time.Minute),
		extendFails(time.Minute, ErrJobLimit.Error()),
		extendFails(time.Minute, "(1h30m0s after the pause started)"),
		endsAt(90*time.Minute, EndMaxDuration),
	}},
	{name: "extend by nothing", steps: []step{
		connect,
		extendFails(0, "not positive"),
		extendFails(-time.Minute, "not positive"),
	}},
	{name: "a stale timer that fires after extend is ignored", late: true, steps: []step{
		connect,
		extend(time.Hour, 2*time.Hour),
		at(time.Hour), stillRunning, warnedSoFar(), // the old deadline's timers fired, late
		endsAt(2*time.Hour, EndMaxDuration),
	}},
	{name: "a stale grace timer after a reconnect is ignored", late: true, steps: []step{
		connect,
		at(time.Minute), disconnect,
		at(2 * time.Minute), connect,
		at(30 * time.Minute), stillRunning,
	}},
	{name: "continue ends it at once, shells or not", steps: []step{
		connect, shellStarts,
		at(time.Minute), continueNow, endsNow(EndContinue),
		at(2 * time.Hour), endsNow(EndContinue), // no timer changes the reason
		extendFails(time.Minute, "already ended"),
	}},
	{name: "cancelled before anyone came", steps: []step{
		at(time.Minute), cancelNow, endsNow(EndCancelled),
		at(time.Hour), endsNow(EndCancelled),
	}},
	{name: "only the first end counts", steps: []step{
		connect, shellStarts, shellExits, endsNow(EndShellsExited),
		continueNow, cancelNow, endsNow(EndShellsExited),
	}},

	// Detached: the job runs on until its end-of-job step says whether
	// to hold it.
	{name: "detached: nothing ends it while the job runs", cfg: Config{Detached: true}, steps: []step{
		timesAre(unset, unset, unset),
		extendFails(time.Minute, "starts with the first connection"),
		at(5 * time.Hour), stillRunning,
		connect, shellStarts,
		timesAre(6*time.Hour, unset, unset), // the whole max duration, up to the job's limit
		at(5*time.Hour + time.Minute), shellExits, disconnect,
		timesAre(6*time.Hour, unset, unset), // no reconnect grace either
		at(6*time.Hour - time.Second), stillRunning,
	}},
	{name: "detached: a session still lasts at most max duration", cfg: Config{Detached: true}, steps: []step{
		at(time.Hour), connect, shellStarts,
		endsAt(2*time.Hour, EndMaxDuration),
	}},
	{name: "detached: hold always, and nobody came: the wait after the job's end", cfg: Config{Detached: true}, steps: []step{
		at(2 * time.Hour), hold(HoldAlways, "failure", true),
		timesAre(unset, 2*time.Hour+10*time.Minute, unset),
		endsAt(2*time.Hour+10*time.Minute, EndWaitTimeout),
	}},
	{name: "detached: someone comes during the wait after the job's end", cfg: Config{Detached: true, WaitTimeout: 20 * time.Minute}, steps: []step{
		at(2 * time.Hour), hold(HoldAlways, "success", true),
		at(2*time.Hour + 5*time.Minute), connect, shellStarts,
		timesAre(3*time.Hour+5*time.Minute, unset, unset),
		at(2*time.Hour + 30*time.Minute), stillRunning,
		shellExits, endsNow(EndShellsExited),
	}},
	{name: "detached: holding while connected, until the shell exits", cfg: Config{Detached: true}, steps: []step{
		at(30 * time.Minute), connect, shellStarts,
		at(40 * time.Minute), hold(HoldAlways, "success", true),
		timesAre(90*time.Minute, unset, unset),
		at(80 * time.Minute), stillRunning,
		shellExits, endsNow(EndShellsExited),
	}},
	{name: "detached: holding while connected, until max duration", cfg: Config{Detached: true}, steps: []step{
		at(30 * time.Minute), connect, shellStarts,
		at(40 * time.Minute), hold(HoldFailure, "failure", true),
		endsAt(90*time.Minute, EndMaxDuration),
	}},
	{name: "detached: holding, the connection drops: the reconnect grace", cfg: Config{Detached: true}, steps: []step{
		at(30 * time.Minute), connect, shellStarts,
		at(40 * time.Minute), hold(HoldAlways, "success", true),
		at(50 * time.Minute), disconnect,
		timesAre(90*time.Minute, unset, 55*time.Minute),
		endsAt(55*time.Minute, EndReconnectGrace),
	}},
	{name: "detached: hold never", cfg: Config{Detached: true}, steps: []step{
		connect, hold(HoldNever, "failure", false), endsNow(EndJobEnded),
	}},
	{name: "detached: hold on failure, the job succeeded", cfg: Config{Detached: true}, steps: []step{
		connect, hold(HoldFailure, "success", false), endsNow(EndJobEnded),
	}},
	{name: "detached: hold on failure, the job failed, nobody came", cfg: Config{Detached: true}, steps: []step{
		hold(HoldFailure, "failure", true), endsAt(10*time.Minute, EndWaitTimeout),
	}},
	{name: "detached: the job was cancelled, someone connected", cfg: Config{Detached: true}, steps: []step{
		connect, shellStarts, hold(HoldAlways, "cancelled", false), endsNow(EndJobEnded),
	}},
	{name: "detached: the job was cancelled, nobody came", cfg: Config{Detached: true}, steps: []step{
		hold(HoldAlways, "cancelled", false), endsNow(EndJobEnded),
	}},
	{name: "detached: everyone who connected has left", cfg: Config{Detached: true}, steps: []step{
		connect, shellStarts, shellExits, disconnect,
		hold(HoldAlways, "failure", false), endsNow(EndJobEnded),
	}},
	{name: "detached: the job ends after the pause did", cfg: Config{Detached: true}, steps: []step{
		cancelNow, hold(HoldAlways, "failure", false), endsNow(EndCancelled),
	}},
}

func TestPauseStateMachine(t *testing.T) {
	for _, tt := range pauseCases {
		t.Run(tt.name, func(t *testing.T) {
			cfg := tt.cfg
			cfg.BinDir, cfg.Env = "/x", []string{}
			clock := useFakeClock(&cfg)
			clock.LateStops = tt.late
			cfg, err := cfg.withDefaults()
			if err != nil {
				t.Fatal(err)
			}
			r := &pauseRun{t: t, clock: clock, start: clock.Now()}
			r.p = newPause(cfg, func(left time.Duration, deadline time.Time) {
				if want := deadline.Sub(clock.Now()); left != want {
					t.Errorf("warned with %v left, %v before the deadline", left, want)
				}
				r.warned = append(r.warned, left)
			})
			defer r.p.finish(EndCancelled)
			for i, s := range tt.steps {
				r.step = i
				s(r)
			}
		})
	}
}

func TestHoldRequestChecked(t *testing.T) {
	for _, detached := range []bool{true, false} {
		cfg := Config{Detached: detached, BinDir: "/x", Env: []string{}}
		useFakeClock(&cfg)
		cfg, err := cfg.withDefaults()
		if err != nil {
			t.Fatal(err)
		}
		p := newPause(cfg, func(time.Duration, time.Time) {})
		for _, r := range []HoldRequest{{Hold: "sometimes", JobStatus: "success"}, {Hold: HoldAlways, JobStatus: ""}} {
			if _, _, err := p.endOfJob(r); err == nil {
				t.Errorf("%+v accepted", r)
			}
		}
		_, _, err = p.endOfJob(HoldRequest{Hold: HoldAlways, JobStatus: "success"})
		if !detached && (err == nil || !strings.Contains(err.Error(), "not detached")) {
			t.Errorf("an ordinary pause accepted an end-of-job hold: %v", err)
		}
		if r := p.Reason(); r != "" {
			t.Errorf("a refused request ended the pause (%s)", r)
		}
		p.finish(EndCancelled)
	}
}
