package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pitstopci/pitstop/agent"
	"github.com/pitstopci/pitstop/agent/control"
)

// stepScript fails only under bash's pipefail: the runner's bash runs it
// with -eo pipefail, its default shell (bash -e) and sh -e do not stop.
const stepScript = `echo "goos=$STEP_GOOS in $(basename "$(pwd)")"
false | true
echo "after the pipe"
`

// TestStepShowsAndRunsTheStep runs pitstop step and pitstop step run
// against an agent whose pause stands for a run: step: the script runs
// with the shell and options the runner gives that shell, in the step's
// working directory under the workspace, with the session's environment.
func TestStepShowsAndRunsTheStep(t *testing.T) {
	ws := t.TempDir()
	if err := os.Mkdir(filepath.Join(ws, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("STEP_GOOS", "plan9")
	for _, c := range []struct {
		shell string
		code  int
		after bool
	}{
		{"bash", 1, false}, // bash --noprofile --norc -eo pipefail
		{"", exitOK, true}, // bash -e
		{"sh", exitOK, true},
		{"bash -e -o pipefail {0}", 1, false},
	} {
		step := &control.Step{Number: 3, Name: "Build", Run: stepScript, Shell: c.shell, WorkingDirectory: "sub", Env: []string{"STEP_GOOS"}}
		env, _ := startControlAgent(t, func(cfg *agent.Config) { cfg.Step = step })
		env["GITHUB_WORKSPACE"], env["RUNNER_TEMP"] = ws, t.TempDir()

		io, out, errOut := testIO(env, "")
		code := Main([]string{"step", "run"}, io)
		if code != c.code || !strings.Contains(out.String(), "goos=plan9 in sub\n") || strings.Contains(out.String(), "after the pipe") != c.after {
			t.Errorf("shell %q: step run: exit %d, want %d\n%s%s", c.shell, code, c.code, out, errOut)
		}
		if want := "pitstop: step 3 exited with status " + string(rune('0'+c.code)) + "\n"; !strings.HasSuffix(errOut.String(), want) {
			t.Errorf("shell %q: stderr does not end with %q:\n%s", c.shell, want, errOut)
		}
		if left, _ := filepath.Glob(filepath.Join(env["RUNNER_TEMP"], "*")); len(left) > 0 {
			t.Errorf("shell %q: the script file stays behind: %v", c.shell, left)
		}
	}

	step := &control.Step{Number: 3, Name: "Build", Run: stepScript, Shell: "bash", WorkingDirectory: "sub", Env: []string{"STEP_GOOS"}}
	env, _ := startControlAgent(t, func(cfg *agent.Config) { cfg.Step = step })
	io, out, errOut := testIO(env, "")
	if code := Main([]string{"step"}, io); code != exitOK {
		t.Fatalf("step: exit %d\n%s", code, errOut)
	}
	for _, want := range []string{"Step 3 (Build) runs after the pause.\n", "shell: bash\n", "working-directory: sub\n",
		"run:\n  echo \"goos=$STEP_GOOS", "env (set in this session): STEP_GOOS\n", "pitstop step run\n"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("pitstop step lacks %q:\n%s", want, out)
		}
	}
	io, out, _ = testIO(env, "")
	var got control.Step
	if code := Main([]string{"step", "--json"}, io); code != exitOK || json.Unmarshal(out.Bytes(), &got) != nil || got.Run != stepScript {
		t.Errorf("step --json: exit %d\n%s", code, out)
	}
}

// TestStepOfAnAction: a uses: step is shown with its inputs, and step
// run says that only the runner can run it.
func TestStepOfAnAction(t *testing.T) {
	step := &control.Step{Number: 2, Failed: true, Uses: "actions/setup-go@v5", With: "go-version: 1.22"}
	env, _ := startControlAgent(t, func(cfg *agent.Config) { cfg.Step = step })
	io, out, errOut := testIO(env, "")
	if code := Main([]string{"step"}, io); code != exitOK ||
		!strings.Contains(out.String(), "Step 2 (uses: actions/setup-go@v5) failed, or a step before it did and it was skipped.\n") ||
		!strings.Contains(out.String(), "with:\n  go-version: 1.22\n") {
		t.Errorf("step: exit %d\n%s%s", code, out, errOut)
	}
	io, _, errOut = testIO(env, "")
	if code := Main([]string{"step", "run"}, io); code != exitError || !strings.Contains(errOut.String(), "only the runner can run") {
		t.Errorf("step run: exit %d\n%s", code, errOut)
	}

	env, _ = startControlAgent(t, nil)
	io, _, errOut = testIO(env, "")
	if code := Main([]string{"step", "run"}, io); code != exitError || !strings.Contains(errOut.String(), "this pause stands for no step") {
		t.Errorf("step run without a step: exit %d\n%s", code, errOut)
	}
	io, _, errOut = testIO(env, "")
	if code := Main([]string{"step", "walk"}, io); code != exitUsage {
		t.Errorf("step walk: exit %d\n%s", code, errOut)
	}
}
