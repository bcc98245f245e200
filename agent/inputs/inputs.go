// Package inputs knows the inputs of the pitstop action (agent/action.yml):
// their names and defaults, and what values the agent accepts for them,
// so that `pitstop inject --with` and `pitstop act --with` can refuse a
// misspelt name or a bad value before anything is written or run, rather
// than the step failing on the runner. CheckFor does the same for the
// action a pause step may use instead: a local one's action.yml.
//
// It reads the action.yml embedded in package agent, so the names are
// always those of this build's action. It does not write workflows
// (injector does) and the agent does not depend on it.
package inputs

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/pitstopci/pitstop/agent"
	"github.com/pitstopci/pitstop/injector"
)

// Input is one input the action declares.
type Input struct {
	Name        string
	Default     string
	Description string
}

// enums are the inputs that take one of a few words, with those words.
// They are not in action.yml in a form a program can read; a test checks
// that each word is named in the input's description there.
var enums = map[string][]string{
	"log-format":     {"console", "json"},
	"min-permission": {"read", "triage", "write", "maintain", "admin"},
	"install":        {"auto", "release", "source"},
	"hold":           {"always", "failure", "never"},
	"role":           {"pause", "hold"},
}

// durations are the inputs that take a duration although their default
// does not show it: an empty default lets the agent choose by mode.
var durations = map[string]bool{"wait-timeout": true}

// minutes are the inputs that take a number of minutes, as a workflow's
// timeout-minutes is written.
var minutes = map[string]bool{"job-timeout-minutes": true}

// paths are the enum inputs that also take an absolute path.
var paths = map[string]bool{"install": true}

var all = sync.OnceValues(func() ([]Input, error) { return parse(agent.ActionYAML) })

// All returns the action's inputs in the order action.yml declares them.
func All() ([]Input, error) { return all() }

func parse(data []byte) ([]Input, error) {
	var doc struct {
		Inputs yaml.Node `yaml:"inputs"`
	}
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("read the action's inputs: %w", err)
	}
	m := doc.Inputs
	if m.Kind == 0 {
		return nil, nil // an action may declare no inputs
	}
	if m.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("read the action's inputs: no inputs mapping")
	}
	var out []Input
	for i := 0; i+1 < len(m.Content); i += 2 {
		var in struct {
			Default     string `yaml:"default"`
			Description string `yaml:"description"`
		}
		if err := m.Content[i+1].Decode(&in); err != nil {
			return nil, fmt.Errorf("read the action's input %q: %w", m.Content[i].Value, err)
		}
		out = append(out, Input{Name: m.Content[i].Value, Default: in.Default, Description: in.Description})
	}
	return out, nil
}

// Check returns an error for the first of with that the action would not
// take: a name it does not declare (with the nearest one it does), or a
// value the agent would refuse. The error reads "--with NAME=VALUE: why".
// Values holding an expression (${{ }}) are only known on the runner and
// pass; so does an empty value, which leaves the action's default.
func Check(with []injector.Input) error {
	list, err := All()
	if err != nil {
		return err
	}
	return check(list, true, with)
}

// check checks with against the inputs in list: their names, and with
// values their values as pitstop's agent takes them.
func check(list []Input, values bool, with []injector.Input) error {
	byName := map[string]Input{}
	var names []string
	for _, in := range list {
		byName[in.Name] = in
		names = append(names, in.Name)
	}
	for _, w := range with {
		in, ok := byName[w.Key]
		if !ok {
			msg := fmt.Sprintf("--with %s: the action has no input %q", w.Key, w.Key)
			if near := nearest(w.Key, names); near != "" {
				msg += fmt.Sprintf("; did you mean %q?", near)
			} else if len(names) == 0 {
				msg += "; it declares none"
			} else {
				msg += "; its inputs are: " + strings.Join(names, ", ")
			}
			return fmt.Errorf("%s", msg)
		}
		if !values || w.Value == "" || strings.Contains(w.Value, "${{") {
			continue
		}
		if why := badValue(in, w.Value); why != "" {
			return fmt.Errorf("--with %s=%s: %s", w.Key, w.Value, why)
		}
	}
	return nil
}

// badValue says why the agent would refuse value for in, or "". The kind
// of value comes from the default: a duration, a boolean, or one of the
// words in enums.
func badValue(in Input, value string) string {
	if words, ok := enums[in.Name]; ok {
		if slices.Contains(words, value) || paths[in.Name] && strings.HasPrefix(value, "/") {
			return ""
		}
		also := ""
		if paths[in.Name] {
			also = ", or the absolute path of a pitstop binary"
		}
		return fmt.Sprintf("want one of %s%s", strings.Join(words, ", "), also)
	}
	if minutes[in.Name] {
		if m, err := time.ParseDuration(value + "m"); err != nil || m <= 0 || strings.ContainsAny(value, "+-") {
			return "want a number of minutes such as 30"
		}
		return ""
	}
	if _, err := strconv.ParseBool(in.Default); err == nil {
		if _, err := strconv.ParseBool(value); err != nil {
			return "want true or false"
		}
		return ""
	}
	if d, err := time.ParseDuration(in.Default); durations[in.Name] || err == nil && d > 0 {
		if v, err := time.ParseDuration(value); err != nil || v <= 0 {
			example := in.Default
			if example == "" {
				example = "15m"
			}
			return fmt.Sprintf("want a duration such as %s or 1h30m (with its unit)", example)
		}
	}
	return ""
}

// nearest returns the name closest to s, if it is close enough to be
// what was meant: a typo or two away.
func nearest(s string, names []string) string {
	best, bestDist := "", 3
	for _, n := range names {
		if d := distance(s, n); d < bestDist {
			best, bestDist = n, d
		}
	}
	return best
}

// distance is the Levenshtein distance between a and b.
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
