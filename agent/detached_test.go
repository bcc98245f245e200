package agent

import (
	"testing"
	"time"
)

// newDetached is a detached pause's state machine alone, with short
// timers.
func newDetached(t *testing.T, wait time.Duration) *pause {
	t.Helper()
	cfg, err := Config{Detached: true, WaitTimeout: wait, MaxDuration: time.Hour, ReconnectGrace: time.Hour, BinDir: "/x", Env: []string{}}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	p := newPause(cfg, func(time.Duration, time.Time) {})
	t.Cleanup(func() { p.finish(EndCancelled) })
	return p
}

func ended(p *pause, within time.Duration) bool {
	select {
	case <-p.Done():
		return true
	case <-time.After(within):
		return false
	}
}

// While the job runs, nothing ends a detached pause by itself: no wait
// for a first connection, no shell exiting, no one leaving.
func TestDetachedOutlastsTheJobsSteps(t *testing.T) {
	p := newDetached(t, 50*time.Millisecond)
	if tm := p.times(); !tm.Deadline.IsZero() || !tm.WaitUntil.IsZero() {
		t.Errorf("clocks running before anyone connected: %+v", tm)
	}
	p.connOpened()
	if p.times().Deadline.IsZero() {
		t.Error("no deadline after the first connection")
	}
	p.shellStarted()
	p.shellEnded(true)
	p.connClosed()
	if ended(p, 300*time.Millisecond) {
		t.Fatalf("ended while the job runs: %s", p.Reason())
	}
	if tm := p.times(); !tm.GraceUntil.IsZero() {
		t.Errorf("a reconnect grace runs while the job runs: %v", tm.GraceUntil)
	}
}

func TestDetachedHoldWaitsForAFirstConnection(t *testing.T) {
	p := newDetached(t, 200*time.Millisecond)
	holding, why, err := p.endOfJob(HoldRequest{Hold: HoldAlways, JobStatus: "failure"})
	if err != nil || !holding {
		t.Fatalf("endOfJob: holding %v (%s), err %v", holding, why, err)
	}
	if tm := p.times(); tm.WaitUntil.IsZero() || !tm.Holding {
		t.Errorf("no wait while holding for nobody: %+v", tm)
	}
	if !ended(p, 5*time.Second) || p.Reason() != EndWaitTimeout {
		t.Fatalf("did not end with the wait timeout (reason %q)", p.Reason())
	}
}

func TestDetachedHoldLastsWhileConnected(t *testing.T) {
	p := newDetached(t, 50*time.Millisecond)
	p.connOpened()
	p.shellStarted()
	holding, _, err := p.endOfJob(HoldRequest{Hold: HoldAlways, JobStatus: "success"})
	if err != nil || !holding {
		t.Fatalf("endOfJob: holding %v, err %v", holding, err)
	}
	if ended(p, 300*time.Millisecond) {
		t.Fatalf("a connected user's hold ended: %s", p.Reason())
	}
	p.shellEnded(true)
	if !ended(p, time.Second) || p.Reason() != EndShellsExited {
		t.Fatalf("the hold did not end with the shell (reason %q)", p.Reason())
	}
}

// Each case where the end of the job does not hold ends the pause at once.
func TestDetachedNoHold(t *testing.T) {
	for _, tt := range []struct {
		name      string
		req       HoldRequest
		connected bool
	}{
		{"never", HoldRequest{Hold: HoldNever, JobStatus: "failure"}, true},
		{"failure policy, job succeeded", HoldRequest{Hold: HoldFailure, JobStatus: "success"}, true},
		{"cancelled, nobody connected", HoldRequest{Hold: HoldAlways, JobStatus: "cancelled"}, false},
		{"cancelled, someone connected", HoldRequest{Hold: HoldAlways, JobStatus: "cancelled"}, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := newDetached(t, time.Hour)
			if tt.connected {
				p.connOpened()
			}
			holding, why, err := p.endOfJob(tt.req)
			if err != nil || holding || why == "" {
				t.Fatalf("endOfJob: holding %v, why %q, err %v", holding, why, err)
			}
			if !ended(p, time.Second) || p.Reason() != EndJobEnded {
				t.Errorf("reason %q, want %q", p.Reason(), EndJobEnded)
			}
		})
	}
	t.Run("failure policy, job failed", func(t *testing.T) {
		p := newDetached(t, time.Hour)
		if holding, why, err := p.endOfJob(HoldRequest{Hold: HoldFailure, JobStatus: "failure"}); !holding || err != nil {
			t.Errorf("a failed job with hold: failure does not hold (%s, %v)", why, err)
		}
	})
}

func TestHoldRequestChecked(t *testing.T) {
	p := newDetached(t, time.Hour)
	for _, r := range []HoldRequest{{Hold: "sometimes", JobStatus: "success"}, {Hold: HoldAlways, JobStatus: ""}} {
		if _, _, err := p.endOfJob(r); err == nil {
			t.Errorf("%+v accepted", r)
		}
	}
	cfg, err := Config{BinDir: "/x", Env: []string{}}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	plain := newPause(cfg, func(time.Duration, time.Time) {})
	defer plain.finish(EndCancelled)
	if _, _, err := plain.endOfJob(HoldRequest{Hold: HoldAlways, JobStatus: "success"}); err == nil {
		t.Error("an ordinary pause accepted an end-of-job hold")
	}
}

// Timeouts follow people in an ordinary pause too: whoever connects late
// still gets the whole max-duration, counted from their connection.
func TestFirstConnectionGetsTheWholeMaxDuration(t *testing.T) {
	start := time.Date(2026, 1, 2, 3, 0, 0, 0, time.UTC)
	now := start
	cfg, err := Config{WaitTimeout: time.Hour, MaxDuration: time.Hour, BinDir: "/x", Env: []string{}, Now: func() time.Time { return now }}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	p := newPause(cfg, func(time.Duration, time.Time) {})
	defer p.finish(EndCancelled)
	if got := p.times().Deadline; !got.Equal(start.Add(time.Hour)) {
		t.Errorf("deadline before anyone connected %v, want %v", got, start.Add(time.Hour))
	}
	now = start.Add(40 * time.Minute)
	p.connOpened()
	if got, want := p.times().Deadline, now.Add(time.Hour); !got.Equal(want) {
		t.Errorf("deadline after a connection at +40m is %v, want %v", got, want)
	}
	// Later connections do not move it again.
	p.connClosed()
	now = start.Add(50 * time.Minute)
	p.connOpened()
	if got, want := p.times().Deadline, start.Add(100*time.Minute); !got.Equal(want) {
		t.Errorf("a second connection moved the deadline to %v, want %v", got, want)
	}
}
