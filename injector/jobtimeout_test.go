package injector

import (
	"slices"
	"testing"

	"github.com/pitstopci/pitstop/workflows"
)

func TestWithJobTimeout(t *testing.T) {
	user := []Input{{Key: "max-duration", Value: "2h"}}
	for _, tc := range []struct {
		minutes string
		with    []Input
		want    []Input
	}{
		{"30", user, append(slices.Clone(user), Input{Key: JobTimeoutInput, Value: "30"})},
		{"12.5", nil, []Input{{Key: JobTimeoutInput, Value: "12.5"}}},
		// Given by the user: theirs stands.
		{"30", []Input{{Key: JobTimeoutInput, Value: "20"}}, []Input{{Key: JobTimeoutInput, Value: "20"}}},
		// Not a plain number: left to the agent's default.
		{"", user, user},
		{"${{ inputs.minutes }}", user, user},
		{"1e3", nil, nil},
		{"0x10", nil, nil},
		{"-5", nil, nil},
		{"Inf", nil, nil},
	} {
		got := withJobTimeout("", tc.with, &workflows.Job{TimeoutMinutes: tc.minutes})
		if !slices.Equal(got, tc.want) {
			t.Errorf("timeout-minutes %q, with %v: got %v, want %v", tc.minutes, tc.with, got, tc.want)
		}
	}
	// Only pitstop's action, or a local one, is given the input.
	job := &workflows.Job{TimeoutMinutes: "30"}
	for uses, want := range map[string]bool{
		DefaultUses: true, "someone/pitstop/agent@main": true, "./agent": true,
		"mxschmitt/action-tmate@v3": false, "docker://alpine:3": false, "pitstopci/pitstop/agent": false,
	} {
		if got := len(withJobTimeout(uses, nil, job)) == 1; got != want {
			t.Errorf("uses %q: input added %v, want %v", uses, got, want)
		}
	}
	// The caller's list is not changed underneath it.
	with := make([]Input, 1, 4)
	with[0] = Input{Key: "a", Value: "b"}
	withJobTimeout("", with, &workflows.Job{TimeoutMinutes: "30"})
	if got := with[:2]; got[1] != (Input{}) {
		t.Errorf("the caller's slice was written to: %v", got)
	}
}

func TestIsPitstopAction(t *testing.T) {
	for uses, want := range map[string]bool{
		"":                            true,
		DefaultUses:                   true,
		"pitstopci/pitstop/agent@v2":  true,
		"someone/pitstop/agent@main":  true,
		"pitstopci/pitstop/agent":     false,
		"pitstopci/pitstop@v1":        false,
		"actions/checkout@v4":         false,
		"someone/pitstop/other@v1":    false,
		"./agent":                     false,
		"docker://alpine:3":           false,
		"pitstopci/pitstop/agent/x@v": false,
	} {
		if got := IsPitstopAction(uses); got != want {
			t.Errorf("IsPitstopAction(%q) = %v, want %v", uses, got, want)
		}
	}
}
