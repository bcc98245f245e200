package agent

import (
	"testing"
	"time"
)

func TestJobLimitCountsFromTheJobsStart(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name    string
		limit   time.Duration
		started time.Time
		want    time.Duration
	}{
		{"start unknown: from the pause", 0, time.Time{}, DefaultJobLimit},
		{"default limit, job ran 2h", 0, now.Add(-2 * time.Hour), 4 * time.Hour},
		{"timeout-minutes 90, job ran 30m", 90 * time.Minute, now.Add(-30 * time.Minute), time.Hour},
		{"past the limit", 30 * time.Minute, now.Add(-time.Hour), time.Nanosecond},
		{"a start in the future", time.Hour, now.Add(time.Minute), time.Hour},
	} {
		cfg, err := Config{JobLimit: tc.limit, JobStarted: tc.started, BinDir: "/x", Env: []string{}, Now: func() time.Time { return now }}.withDefaults()
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if cfg.JobLimit != tc.want || !cfg.JobStarted.IsZero() {
			t.Errorf("%s: JobLimit %v (JobStarted %v), want %v", tc.name, cfg.JobLimit, cfg.JobStarted, tc.want)
		}
		// Applied twice, nothing more changes.
		if again, err := cfg.withDefaults(); err != nil || again.JobLimit != cfg.JobLimit {
			t.Errorf("%s: again %v, %v", tc.name, again.JobLimit, err)
		}
	}
	if _, err := (Config{JobLimit: -time.Minute, BinDir: "/x", Env: []string{}}).withDefaults(); err == nil {
		t.Error("a negative job limit was accepted")
	}
}

// The pause's limit, where pitstop extend stops, is what is left of the
// job's.
func TestPauseLimitIsWhatIsLeftOfTheJobs(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 0, 0, 0, time.UTC)
	cfg, err := Config{JobLimit: 3 * time.Hour, JobStarted: now.Add(-time.Hour), BinDir: "/x", Env: []string{}, Now: func() time.Time { return now }}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	p := newPause(cfg, func(time.Duration, time.Time) {})
	defer p.finish(EndCancelled)
	if got, want := p.times().Limit, now.Add(2*time.Hour); !got.Equal(want) {
		t.Errorf("limit %v, want %v", got, want)
	}
}
