package actrun

import (
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"
)

// runsOn returns the literal runs-on labels of job in a workflow: a label,
// a list of labels, or the labels of a {group, labels} runner. Expressions
// (${{ matrix.os }}) are left out: they are only known once act evaluates
// them. Errors leave the labels empty; the workflow has been parsed by the
// injector already, so they cannot hide a problem.
func runsOn(src []byte, job string) []string {
	var doc struct {
		Jobs map[string]struct {
			RunsOn any `yaml:"runs-on"`
		} `yaml:"jobs"`
	}
	if err := yaml.Unmarshal(src, &doc); err != nil {
		return nil
	}
	var labels []string
	var collect func(v any)
	collect = func(v any) {
		switch v := v.(type) {
		case string:
			if v != "" && !strings.Contains(v, "${{") {
				labels = append(labels, v)
			}
		case []any:
			for _, e := range v {
				collect(e)
			}
		case map[string]any:
			collect(v["labels"])
		}
	}
	collect(doc.Jobs[job].RunsOn)
	return labels
}

// jobIf returns the job's own if: condition as written, or "".
func jobIf(src []byte, job string) string {
	var doc struct {
		Jobs map[string]struct {
			If any `yaml:"if"`
		} `yaml:"jobs"`
	}
	if err := yaml.Unmarshal(src, &doc); err != nil {
		return ""
	}
	if v := doc.Jobs[job].If; v != nil {
		return strings.TrimSpace(fmt.Sprint(v))
	}
	return ""
}
