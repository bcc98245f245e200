package agent

import (
	"errors"
	"os/exec"
	"reflect"
	"strings"
	"testing"
)

func TestStepFromEnv(t *testing.T) {
	env := []string{
		"PATH=/bin", "PITSTOP_STEP_NUMBER=4", "PITSTOP_STEP_NAME=Build", "PITSTOP_STEP_RUN=go build\n./check",
		"PITSTOP_STEP_SHELL=bash", "PITSTOP_STEP_WORKING_DIRECTORY=src", "PITSTOP_STEP_ENV=GOOS  GOARCH", "PITSTOP_STEP_FAILED=true",
	}
	want := &Step{Number: 4, Failed: true, Name: "Build", Run: "go build\n./check", Shell: "bash", WorkingDirectory: "src", Env: []string{"GOOS", "GOARCH"}}
	if got := StepFromEnv(env); !reflect.DeepEqual(got, want) {
		t.Errorf("StepFromEnv = %+v, want %+v", got, want)
	}
	// What the action passes when inject wrote no step-* inputs: empty.
	for _, n := range []string{"", "0", "x", "-1"} {
		if got := StepFromEnv([]string{"PITSTOP_STEP_NUMBER=" + n, "PITSTOP_STEP_RUN=make"}); got != nil {
			t.Errorf("number %q: %+v, want none", n, got)
		}
	}
	for _, kv := range env {
		if name, _, _ := strings.Cut(kv, "="); name != "PATH" && !keptFromSessions(name) {
			t.Errorf("%s reaches the sessions", name)
		}
	}
}

func TestStepCommand(t *testing.T) {
	bash := func(string) (string, error) { return "/bin/bash", nil }
	noBash := func(string) (string, error) { return "", exec.ErrNotFound }
	for _, c := range []struct {
		shell string
		look  func(string) (string, error)
		want  string
		ext   string
	}{
		{"", bash, "bash -e S", ".sh"},
		{"", noBash, "sh -e S", ".sh"},
		{"bash", bash, "bash --noprofile --norc -eo pipefail S", ".sh"},
		{"sh", bash, "sh -e S", ".sh"},
		{"pwsh", bash, "pwsh -command . 'S'", ".ps1"},
		{"python", bash, "python S", ".py"},
		{"perl {0}", bash, "perl S", ""},
		{"/usr/bin/bash -x {0}", bash, "/usr/bin/bash -x S", ".sh"},
	} {
		prog, args, ext, err := StepCommand(c.shell, "S", c.look)
		if got := strings.Join(append([]string{prog}, args...), " "); err != nil || got != c.want || ext != c.ext {
			t.Errorf("shell %q: %q %q %v, want %q %q", c.shell, got, ext, err, c.want, c.ext)
		}
	}
	if _, _, _, err := StepCommand("zsh", "S", bash); err == nil || !strings.Contains(err.Error(), "{0}") {
		t.Errorf("zsh: %v", err)
	}
}

func TestStepBanner(t *testing.T) {
	if got := stepBanner(nil); got != "" {
		t.Errorf("no step: %q", got)
	}
	got := stepBanner(&Step{Number: 5, Run: "\n  make test\n"})
	if want := "  Step 5 (make test) runs after the pause; you have its environment.\n  show it: pitstop step    run it as the runner would: pitstop step run\n"; got != want {
		t.Errorf("banner:\n%q\nwant\n%q", got, want)
	}
	got = stepBanner(&Step{Number: 2, Failed: true, Name: "Set up", Uses: "actions/setup-go@v5"})
	if !strings.Contains(got, "Step 2 (Set up) failed, or a step before it did") || strings.Contains(got, "step run") {
		t.Errorf("banner of a failed uses: step:\n%s", got)
	}
	if _, err := RunStep(t.Context(), &Step{Number: 2, Uses: "x/y@v1"}, StepRun{}); !errors.Is(err, ErrUsesStep) {
		t.Errorf("RunStep of a uses: step: %v", err)
	}
}

// TestAttachErrorHasNoPrefix: the agent's refusal comes back as it is,
// for the command to prefix once ("pitstop attach: ...").
func TestAttachErrorHasNoPrefix(t *testing.T) {
	h := startAgent(t, nil)
	_, err := Attach(t.Context(), h.ready.ControlSocket, AttachOptions{Terminal: 9})
	if err == nil || strings.HasPrefix(err.Error(), "attach: ") || !strings.Contains(err.Error(), "PITSTOP_TERMINAL names none") {
		t.Errorf("Attach to terminal 9: %v", err)
	}
}
