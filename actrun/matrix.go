package actrun

import (
	"fmt"
	"strings"

	"github.com/pitstopci/pitstop/injector"
	"github.com/pitstopci/pitstop/workflows"
)

// chooseLeg decides which leg of a matrix job pitstop act runs when none
// was named. act alone would run every leg at once on this machine, each
// would pause, and pitstop act connects to one: the others would sit
// paused with nobody told. So it runs one leg, says which and how to pick
// another, and leaves out legs for macOS or Windows runners, which this
// host is not, unless they are asked for by name. Where the legs are only
// known at run time, it refuses and says how to choose. given is the leg
// the user named; it is returned as it is when there is one.
func (o *Options) chooseLeg(workflow string, given []injector.Input) ([]injector.Input, error) {
	if len(given) > 0 {
		return given, nil
	}
	src, err := workflows.ReadFile(workflow)
	if err != nil {
		return nil, nil // inject reads it again and reports the error
	}
	w, err := workflows.Parse(workflow, src)
	if err != nil {
		return nil, nil
	}
	job, err := w.Job(o.Job)
	if err != nil || job.Matrix == nil {
		return nil, nil
	}
	mx := job.Matrix
	if mx.Legs == nil {
		keys := "its keys are only known when the job runs"
		if len(mx.Keys) > 0 {
			keys = "keys: " + strings.Join(mx.Keys, ", ")
		}
		return nil, fmt.Errorf("job %q is a matrix job whose legs are only known when it runs; act would run and pause every one of them: choose one with --matrix KEY=VALUE (%s)", job.ID, keys)
	}
	if len(mx.Legs) < 2 {
		return nil, nil
	}
	var here, away []map[string]string
	for _, leg := range mx.Legs {
		if foreignLeg(leg) {
			away = append(away, leg)
		} else {
			here = append(here, leg)
		}
	}
	if len(here) == 0 {
		return nil, fmt.Errorf("job %q is a matrix job whose legs all run on macOS or Windows, which this machine is not; to run one here anyway, choose it with --matrix: %s", job.ID, legList(mx, mx.Legs))
	}
	keys := filterKeys(mx)
	if len(keys) == 0 {
		return nil, fmt.Errorf("job %q is a matrix job with %d legs that share no key; act would run and pause every one of them: choose one with --matrix KEY=VALUE (keys: %s)", job.ID, len(mx.Legs), strings.Join(mx.Keys, ", "))
	}
	leg := make([]injector.Input, 0, len(keys))
	for _, k := range keys {
		leg = append(leg, injector.Input{Key: k, Value: here[0][k]})
	}
	fmt.Fprintf(o.Stderr, "pitstop: job %q is a matrix job with %d legs; act runs and pauses only %s. Another: %s\n",
		job.ID, len(mx.Legs), legText(leg), legList(mx, here[1:]))
	if len(away) > 0 {
		fmt.Fprintf(o.Stderr, "pitstop: left out, as they are for macOS or Windows runners: %s (ask for one with --matrix to run it here anyway)\n", legList(mx, away))
	}
	return leg, nil
}

// foreignLeg reports whether a leg is meant for a macOS or Windows
// runner, by the names GitHub gives those runners (macos-14,
// windows-latest), which a matrix usually lists for runs-on.
func foreignLeg(leg map[string]string) bool {
	for _, v := range leg {
		v = strings.ToLower(v)
		if strings.HasPrefix(v, "macos") || strings.HasPrefix(v, "windows") {
			return true
		}
	}
	return false
}

// filterKeys are the keys that name a leg: those every leg has (an
// "include" may add a key to some legs only), in the matrix's order.
func filterKeys(mx *workflows.Matrix) []string {
	var keys []string
	for _, k := range mx.Keys {
		all := true
		for _, leg := range mx.Legs {
			if _, ok := leg[k]; !ok {
				all = false
			}
		}
		if all {
			keys = append(keys, k)
		}
	}
	return keys
}

// legText writes a leg as the flags that choose it.
func legText(leg []injector.Input) string {
	parts := make([]string, len(leg))
	for i, in := range leg {
		parts[i] = "--matrix " + in.Key + "=" + in.Value
	}
	return strings.Join(parts, " ")
}

// legList writes legs as the flags that choose each, separated by "; ".
func legList(mx *workflows.Matrix, legs []map[string]string) string {
	if len(legs) == 0 {
		return "(none)"
	}
	keys := filterKeys(mx)
	parts := make([]string, len(legs))
	for i, l := range legs {
		in := make([]injector.Input, len(keys))
		for j, k := range keys {
			in[j] = injector.Input{Key: k, Value: l[k]}
		}
		parts[i] = legText(in)
	}
	return strings.Join(parts, "; ")
}
