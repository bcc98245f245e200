package agent

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/pitstopci/pitstop/agent/control"
)

func TestStepFromEnv(t *testing.T) {
	env := []string{
		"PATH=/bin", "PITSTOP_STEP_NUMBER=4", "PITSTOP_STEP_NAME=Build", "PITSTOP_STEP_RUN=go build\n./check",
		"PITSTOP_STEP_SHELL=bash", "PITSTOP_STEP_WORKING_DIRECTORY=src", "PITSTOP_STEP_ENV=GOOS  GOARCH", "PITSTOP_STEP_FAILED=true",
	}
	want := &control.Step{Number: 4, Failed: true, Name: "Build", Run: "go build\n./check", Shell: "bash", WorkingDirectory: "src", Env: []string{"GOOS", "GOARCH"}}
	if got := control.StepFromEnv(env); !reflect.DeepEqual(got, want) {
		t.Errorf("StepFromEnv = %+v, want %+v", got, want)
	}
	// What the action passes when inject wrote no step-* inputs: empty.
	for _, n := range []string{"", "0", "x", "-1"} {
		if got := control.StepFromEnv([]string{"PITSTOP_STEP_NUMBER=" + n, "PITSTOP_STEP_RUN=make"}); got != nil {
			t.Errorf("number %q: %+v, want none", n, got)
		}
	}
	for _, kv := range env {
		if name, _, _ := strings.Cut(kv, "="); name != "PATH" && !keptFromSessions(name) {
			t.Errorf("%s reaches the sessions", name)
		}
	}
}

func TestStepBanner(t *testing.T) {
	if got := stepBanner(nil); got != "" {
		t.Errorf("no step: %q", got)
	}
	got := stepBanner(&control.Step{Number: 5, Run: "\n  make test\n"})
	if want := "  Step 5 (make test) runs after the pause; you have its environment.\n  show it: pitstop step    run it as the runner would: pitstop step run\n"; got != want {
		t.Errorf("banner:\n%q\nwant\n%q", got, want)
	}
	got = stepBanner(&control.Step{Number: 2, Failed: true, Name: "Set up", Uses: "actions/setup-go@v5"})
	if !strings.Contains(got, "Step 2 (Set up) failed, or a step before it did") || strings.Contains(got, "step run") {
		t.Errorf("banner of a failed uses: step:\n%s", got)
	}
	if _, err := control.RunStep(t.Context(), &control.Step{Number: 2, Uses: "x/y@v1"}, control.StepRun{}); !errors.Is(err, control.ErrUsesStep) {
		t.Errorf("RunStep of a uses: step: %v", err)
	}
}

// TestAttachErrorHasNoPrefix: the agent's refusal comes back as it is,
// for the command to prefix once ("pitstop attach: ...").
func TestAttachErrorHasNoPrefix(t *testing.T) {
	h := startAgent(t, nil)
	_, err := control.Attach(t.Context(), h.ready.ControlSocket, control.AttachOptions{Terminal: 9})
	if err == nil || strings.HasPrefix(err.Error(), "attach: ") || !strings.Contains(err.Error(), "PITSTOP_TERMINAL names none") {
		t.Errorf("Attach to terminal 9: %v", err)
	}
}
