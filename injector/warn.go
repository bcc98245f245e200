package injector

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pitstopci/pitstop/workflows"
)

// defaultMaxPause is how long the agent lets a pause last unless its
// "max-duration" input says otherwise.
const defaultMaxPause = time.Hour

// githubJobLimit is what GitHub-hosted runners allow a job when it sets no
// timeout-minutes.
const githubJobLimit = 360 * time.Minute

// warnings lists what the user should know before pushing, and rejects a
// --matrix that cannot match the job.
func warnings(w *workflows.Workflow, job *workflows.Job, opts Options) ([]Warning, error) {
	var ws []Warning
	warn := func(p workflows.Pos, format string, args ...any) {
		ws = append(ws, Warning{File: w.File, Pos: p, Msg: fmt.Sprintf(format, args...)})
	}
	maxPause, maxSet := defaultMaxPause, false
	for _, in := range opts.With {
		if in.Key != "max-duration" {
			continue
		}
		d, err := time.ParseDuration(in.Value)
		if err != nil || d <= 0 {
			return nil, &workflows.Error{File: w.File, Msg: fmt.Sprintf("--with max-duration=%q is not a duration such as 30m or 2h", in.Value)}
		}
		maxPause, maxSet = d, true
	}
	source := "the default max-duration"
	if maxSet {
		source = "max-duration"
	}
	if job.TimeoutMinutes != "" {
		// An expression cannot be judged here; only plain numbers are.
		if m, err := strconv.ParseFloat(job.TimeoutMinutes, 64); err == nil {
			if limit := time.Duration(m * float64(time.Minute)); limit <= maxPause {
				fix := "raise timeout-minutes or pass a shorter --with max-duration=..."
				if maxSet {
					fix = "raise timeout-minutes or shorten max-duration"
				}
				warn(job.TimeoutPos, "job %q has timeout-minutes: %s, but the pause may last %s (%s); the job would be cancelled during the SSH session: %s",
					job.ID, job.TimeoutMinutes, fmtDuration(maxPause), source, fix)
			}
		}
	} else if maxPause >= githubJobLimit {
		warn(job.Pos, "the pause may last %s (%s), but GitHub-hosted runners cancel a job after %s; set timeout-minutes or a shorter max-duration",
			fmtDuration(maxPause), source, fmtDuration(githubJobLimit))
	}
	for _, c := range []struct {
		c     *workflows.Concurrency
		whose string
	}{{w.Concurrency, "the workflow's"}, {job.Concurrency, fmt.Sprintf("job %q's", job.ID)}} {
		if c.c == nil || c.c.CancelInProgress == "" || c.c.CancelInProgress == "false" {
			continue
		}
		verb := "cancels"
		if c.c.CancelInProgress != "true" {
			verb = "may cancel" // an expression
		}
		warn(c.c.Pos, "%s concurrency group %s in-progress runs (cancel-in-progress: %s): a new run in the same group ends the paused job and its SSH session",
			c.whose, verb, c.c.CancelInProgress)
	}
	mx := job.Matrix
	switch {
	case len(opts.Matrix) > 0 && mx == nil:
		return nil, &workflows.Error{File: w.File, Pos: job.Pos, Msg: fmt.Sprintf("job %q has no strategy.matrix, so --matrix cannot choose a leg of it", job.ID)}
	case len(opts.Matrix) > 0 && mx.Expr != "":
		warn(mx.Pos, "the matrix of job %q is an expression, so --matrix %s cannot be checked before the run", job.ID, opts.Matrix[0].Key)
	case len(opts.Matrix) > 0:
		for _, m := range opts.Matrix {
			if !slices.Contains(mx.Keys, m.Key) {
				return nil, &workflows.Error{File: w.File, Pos: mx.Pos, Msg: fmt.Sprintf("job %q has no matrix key %q; keys are: %s", job.ID, m.Key, quoteAll(mx.Keys))}
			}
		}
		if msg := noLeg(job.ID, mx.Legs, opts.Matrix); msg != "" {
			return nil, &workflows.Error{File: w.File, Pos: mx.Pos, Msg: msg}
		}
	case mx != nil && mx.Expr != "":
		warn(mx.Pos, "job %q is a matrix job: every leg will pause; pass --matrix KEY=VALUE to pause one leg only", job.ID)
	case mx != nil:
		warn(mx.Pos, "job %q is a matrix job: every leg will pause; pass --matrix KEY=VALUE to pause one leg only (keys: %s)", job.ID, quoteAll(mx.Keys))
	}
	slices.SortStableFunc(ws, func(a, b Warning) int {
		if a.Pos.Line != b.Pos.Line {
			return a.Pos.Line - b.Pos.Line
		}
		return a.Pos.Col - b.Pos.Col
	})
	return ws, nil
}

// noLeg says why no leg of the matrix matches every --matrix KEY=VALUE
// (the pause's if: would never be true), or returns "" when one does or
// the legs are only known at run time.
func noLeg(job string, legs []map[string]string, want []Input) string {
	if legs == nil {
		return ""
	}
	match := func(leg map[string]string, want []Input) bool {
		for _, m := range want {
			if v, ok := leg[m.Key]; !ok || v != m.Value {
				return false
			}
		}
		return true
	}
	if slices.ContainsFunc(legs, func(l map[string]string) bool { return match(l, want) }) {
		return ""
	}
	// One value that is nowhere: name the values there are for its key.
	for _, m := range want {
		if slices.ContainsFunc(legs, func(l map[string]string) bool { return match(l, []Input{m}) }) {
			continue
		}
		var vals []string
		for _, l := range legs {
			if v, ok := l[m.Key]; ok && !slices.Contains(vals, v) {
				vals = append(vals, v)
			}
		}
		return fmt.Sprintf("no leg of job %q's matrix has %s=%s, so the pause would never run; after include and exclude its values are: %s", job, m.Key, m.Value, quoteAll(vals))
	}
	// Each value is somewhere, but not together.
	var pairs, combos []string
	for _, m := range want {
		pairs = append(pairs, m.Key+"="+m.Value)
	}
	for _, l := range legs {
		var kv []string
		for _, m := range want {
			kv = append(kv, m.Key+"="+l[m.Key])
		}
		if c := strings.Join(kv, " "); !slices.Contains(combos, c) {
			combos = append(combos, c)
		}
	}
	return fmt.Sprintf("no leg of job %q's matrix has %s together, so the pause would never run; after include and exclude the legs have: %s", job, strings.Join(pairs, " and "), strings.Join(combos, ", "))
}

func quoteAll(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = strconv.Quote(s)
	}
	return strings.Join(q, ", ")
}

// fmtDuration writes d the way people write it: "1h", "90m", "1h30m".
func fmtDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
