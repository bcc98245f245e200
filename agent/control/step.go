package control

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"

	"github.com/pitstopci/pitstop/agent/shell"
)

// Step is the job step a pause stands for: the step after it, or, for an
// on-failure pause, the step it follows. pitstop inject writes it into
// the pause step's inputs as the workflow has it, and the runner
// evaluates the expressions in it before the agent starts, so the values
// here are what that step would get.
type Step struct {
	Number int    `json:"number"`
	Failed bool   `json:"failed,omitempty"` // an on-failure pause: this step, or one before it, failed
	Name   string `json:"name,omitempty"`
	// A run: step: its script, its shell ("" leaves the choice to the
	// runner) and its working directory ("" is the workspace).
	Run              string `json:"run,omitempty"`
	Shell            string `json:"shell,omitempty"`
	WorkingDirectory string `json:"working_directory,omitempty"`
	// A uses: step: the action, and its inputs as text for a person.
	Uses string `json:"uses,omitempty"`
	With string `json:"with,omitempty"`
	// Env names the step's own env: variables. Their values are in the
	// sessions' environment: the pause step had the same env:.
	Env []string `json:"env,omitempty"`
}

// stepEnvPrefix starts the variables the action passes the step in
// (agent/action.yml). Like every PITSTOP_* variable they stay out of the
// sessions.
const stepEnvPrefix = "PITSTOP_STEP_"

// StepFromEnv reads the step a pause stands for from the PITSTOP_STEP_*
// variables in env, which agent/action.yml sets from its step-* inputs.
// It returns nil when there is none, or when its number is not one.
func StepFromEnv(env []string) *Step {
	m := shell.ParseEnv(env)
	get := func(k string) string { return m.Get(stepEnvPrefix + k) }
	n, err := strconv.Atoi(get("NUMBER"))
	if err != nil || n < 1 {
		return nil
	}
	return &Step{
		Number:           n,
		Failed:           get("FAILED") == "true",
		Name:             get("NAME"),
		Run:              get("RUN"),
		Shell:            get("SHELL"),
		WorkingDirectory: get("WORKING_DIRECTORY"),
		Uses:             get("USES"),
		With:             get("WITH"),
		Env:              strings.Fields(get("ENV")),
	}
}

// Label is what a person calls the step: its name, else "uses: X", else
// the first line of its script, as pitstop inject --list shows it.
func (s *Step) Label() string {
	switch {
	case s.Name != "":
		return s.Name
	case s.Uses != "":
		return "uses: " + s.Uses
	}
	for _, l := range strings.Split(s.Run, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			return l
		}
	}
	return "step " + strconv.Itoa(s.Number)
}

// Describe says in one line which step this is and why, for the banner
// and for pitstop step.
func (s *Step) Describe() string {
	what := fmt.Sprintf("Step %d (%s)", s.Number, s.Label())
	if s.Failed {
		return what + " failed, or a step before it did and it was skipped"
	}
	return what + " runs after the pause"
}

// ErrUsesStep is returned by RunStep for a step that runs an action:
// only the runner can run one.
var ErrUsesStep = errors.New("the step runs an action, which only the runner can run; its inputs are shown by pitstop step")

// StepCommand is how the runner runs a run: step with a shell: the
// program, its arguments with the script's path in them, and the
// extension the script file gets. lookPath finds a program (bash) for the
// default shell; nil uses exec.LookPath.
func StepCommand(shell, script string, lookPath func(string) (string, error)) (prog string, args []string, ext string, err error) {
	if lookPath == nil {
		lookPath = exec.LookPath
	}
	// GitHub's runner: a run: step without a shell gets bash -e, or sh -e
	// where there is no bash (pwsh on Windows); a named shell gets the
	// options in its documentation; anything else is a command line with
	// {0} where the script's path goes.
	switch shell {
	case "":
		if runtime.GOOS == "windows" {
			return StepCommand("pwsh", script, lookPath)
		}
		if _, err := lookPath("bash"); err == nil {
			return "bash", []string{"-e", script}, ".sh", nil
		}
		return "sh", []string{"-e", script}, ".sh", nil
	case "bash":
		return "bash", []string{"--noprofile", "--norc", "-eo", "pipefail", script}, ".sh", nil
	case "sh":
		return "sh", []string{"-e", script}, ".sh", nil
	case "pwsh", "powershell":
		return shell, []string{"-command", ". '" + script + "'"}, ".ps1", nil
	case "python":
		return "python", []string{script}, ".py", nil
	case "cmd":
		return "cmd", []string{"/D", "/E:ON", "/V:OFF", "/S", "/C", `CALL "` + script + `"`}, ".cmd", nil
	}
	if !strings.Contains(shell, "{0}") {
		return "", nil, "", fmt.Errorf("shell %q is neither bash, sh, pwsh, powershell, python nor cmd, nor a command with {0} where the script goes", shell)
	}
	words := strings.Fields(shell)
	for i, w := range words[1:] {
		words[i+1] = strings.ReplaceAll(w, "{0}", script)
	}
	ext = ""
	switch strings.TrimSuffix(filepath.Base(words[0]), ".exe") {
	case "bash", "sh":
		ext = ".sh"
	case "pwsh", "powershell":
		ext = ".ps1"
	case "python":
		ext = ".py"
	}
	return words[0], words[1:], ext, nil
}

// StepRun says where and how RunStep runs a step.
type StepRun struct {
	Env       []string  // the step's environment; the session's, normally
	Workspace string    // GITHUB_WORKSPACE: the default working directory, and what a relative one is under
	TempDir   string    // where the script file goes: RUNNER_TEMP, as the runner puts it; default os.TempDir()
	Stdout    io.Writer // the script's output
	Stderr    io.Writer
}

// RunStep runs a run: step as GitHub's runner does: its script in a file,
// run by its shell with that shell's options, in its working directory,
// with r.Env, and with no input (the runner gives a step none). It
// returns the script's exit status; err is set only when it could not be
// started.
func RunStep(ctx context.Context, s *Step, r StepRun) (int, error) {
	if s.Uses != "" {
		return 0, ErrUsesStep
	}
	dir := r.TempDir
	if dir == "" {
		dir = os.TempDir()
	}
	// The shell is looked up on the step's PATH, as the runner would.
	look := func(p string) (string, error) {
		if f := shell.LookPath(p, r.Env); f != "" {
			return f, nil
		}
		return "", exec.ErrNotFound
	}
	prog, _, ext, err := StepCommand(s.Shell, "", look)
	if err != nil {
		return 0, err
	}
	f, err := os.CreateTemp(dir, "pitstop-step-*"+ext)
	if err != nil {
		return 0, fmt.Errorf("write the step's script: %w", err)
	}
	defer os.Remove(f.Name())
	script := s.Run
	if ext == ".ps1" {
		// What the runner wraps a PowerShell script in: stop at the first
		// error, and exit with the last program's status.
		script = "$ErrorActionPreference = 'stop'\n" + script + "\nif ((Test-Path -LiteralPath variable:\\LASTEXITCODE)) { exit $LASTEXITCODE }\n"
	}
	_, werr := f.WriteString(script)
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		return 0, fmt.Errorf("write the step's script: %w", werr)
	}
	_, args, _, _ := StepCommand(s.Shell, f.Name(), look)
	full, err := look(prog)
	if err != nil {
		return 0, fmt.Errorf("the step's shell %q is not on its PATH", prog)
	}
	wd := r.Workspace
	if s.WorkingDirectory != "" {
		wd = s.WorkingDirectory
		if !filepath.IsAbs(wd) && r.Workspace != "" {
			wd = filepath.Join(r.Workspace, wd)
		}
	}
	cmd := exec.CommandContext(ctx, full, args...)
	cmd.Dir, cmd.Env = wd, r.Env
	cmd.Stdout, cmd.Stderr = r.Stdout, r.Stderr
	err = cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return 0, nil
	case errors.As(err, &exit):
		if code := exit.ExitCode(); code >= 0 {
			return code, nil
		}
		// Killed by a signal: report it the way a shell does.
		if ws, ok := exit.Sys().(interface{ Signal() syscall.Signal }); ok && ws.Signal() > 0 {
			return 128 + int(ws.Signal()), nil
		}
		return 1, nil
	case wd != "" && isNotExist(wd):
		return 0, fmt.Errorf("the step's working directory %s does not exist", wd)
	}
	return 0, fmt.Errorf("run the step: %w", err)
}

func isNotExist(dir string) bool {
	_, err := os.Stat(dir)
	return errors.Is(err, os.ErrNotExist)
}
