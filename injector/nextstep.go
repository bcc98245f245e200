package injector

import (
	"slices"
	"strconv"
	"strings"

	"github.com/pitstopci/pitstop/workflows"
)

// The inputs that tell the agent which step the pause stands for: the
// step after it, or for an on-failure pause the step it follows, which
// failed or was skipped after an earlier failure. Their values are the
// step's own text, as written: the runner evaluates the ${{ }} in them
// when the pause runs, in the same contexts it would use for that step
// (see withStep), so the agent gets what the step would get.
const (
	StepNumberInput  = "step-number"            // the step's number, counted as inject counts
	StepFailedInput  = "step-failed"            // "true" for an on-failure pause
	StepNameInput    = "step-name"              // its name:, if any
	StepRunInput     = "step-run"               // a run: step's script
	StepShellInput   = "step-shell"             // its shell, defaults.run included
	StepWorkDirInput = "step-working-directory" // its working-directory, defaults.run included
	StepUsesInput    = "step-uses"              // a uses: step's action
	StepWithInput    = "step-with"              // a uses: step's inputs, as "key: value" text for reading
	StepEnvInput     = "step-env"               // the names of the step's own env:, space-separated
)

// withStep makes p carry what the step it stands for needs, when p runs
// pitstop's action (or a local copy: another action would warn of inputs
// it does not know). The step's env: entries become the pause's own env:,
// written as they are, so the runner evaluates each in the context it
// would for that step (workflow and job env, GITHUB_ENV, matrix, steps,
// secrets), and the agent's process, and so every session, has them. The
// script, shell and working directory go in as with: inputs: the runner
// evaluates those with the step's own env: in the env context, as it
// does for a run: step's script. A detached pause stands for no step:
// the job goes on at once. Inputs the user set with --with are kept.
func withStep(p pause, opts Options, w *workflows.Workflow, job *workflows.Job) pause {
	if opts.Detached || !IsPitstopAction(opts.Uses) && !strings.HasPrefix(opts.Uses, "./") {
		return p
	}
	var s *workflows.Step
	switch {
	case opts.OnFailure && opts.After > 0 && opts.After <= len(job.Steps):
		s = job.Steps[opts.After-1]
	case !opts.OnFailure && opts.After >= 0 && opts.After < len(job.Steps):
		s = job.Steps[opts.After]
	default:
		return p
	}
	var add []Input
	if opts.OnFailure {
		add = append(add, Input{Key: StepFailedInput, Value: "true"})
	}
	if s.Name != "" {
		add = append(add, Input{Key: StepNameInput, Value: s.Name})
	}
	if s.Uses != "" {
		add = append(add, Input{Key: StepUsesInput, Value: s.Uses})
		if with := withText(s.With); with != "" {
			add = append(add, Input{Key: StepWithInput, Value: with, block: true})
		}
	} else {
		add = append(add, Input{Key: StepRunInput, Value: s.Run, block: true})
		if sh := w.RunShell(job, s); sh != "" {
			add = append(add, Input{Key: StepShellInput, Value: sh})
		}
		if wd := w.RunWorkingDirectory(job, s); wd != "" {
			add = append(add, Input{Key: StepWorkDirInput, Value: wd})
		}
	}
	if len(s.Env) > 0 {
		names := make([]string, len(s.Env))
		for i, kv := range s.Env {
			names[i] = kv.Key
		}
		add = append(add, Input{Key: StepEnvInput, Value: strings.Join(names, " ")})
	}
	// Last, so that the pause never ends in a block scalar: at the end of
	// a file without a final newline, that would lose its line break.
	add = append(add, Input{Key: StepNumberInput, Value: strconv.Itoa(s.Number)})
	with := slices.Clone(p.with)
	for _, in := range add {
		if !slices.ContainsFunc(p.with, func(u Input) bool { return u.Key == in.Key }) {
			with = append(with, in)
		}
	}
	p.with, p.env = with, s.Env
	return p
}

// withText shows a uses: step's inputs for a person to read, one
// "key: value" a line, a multi-line value indented under "key: |".
func withText(with []workflows.KeyValue) string {
	var b strings.Builder
	for _, kv := range with {
		if !strings.Contains(kv.Value, "\n") {
			b.WriteString(kv.Key + ": " + kv.Value + "\n")
			continue
		}
		b.WriteString(kv.Key + ": |\n")
		for _, l := range strings.Split(strings.TrimSuffix(kv.Value, "\n"), "\n") {
			b.WriteString("  " + l + "\n")
		}
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// valueText writes a value after "key: " in a block mapping whose
// entries are indented by ind. A multi-line string marked block (the
// step's own text; never the user's --with) becomes a literal
// block scalar ("|" or "|-"), which a person can read in a diff; it is
// used only when it reads back as exactly v, else v is double-quoted.
// Not "|+": it would take in any blank lines that follow the pause. plain writes v as it was written (a number, boolean or
// null), so that it keeps its type.
func valueText(in Input, ind string) []string {
	if in.plain {
		return []string{in.Value}
	}
	if in.block {
		if lit := literal(in.Value, ind); lit != nil {
			return lit
		}
	}
	return []string{doubleQuote(in.Value)}
}

// literal lays v out as a literal block scalar, or returns nil when that
// would not read back as v.
func literal(v, ind string) []string {
	if !strings.Contains(v, "\n") || strings.HasPrefix(v, " ") || strings.HasPrefix(v, "\n") {
		return nil
	}
	for _, r := range v {
		if r != '\n' && r != '\t' && (r < 0x20 || r == 0x7f || r == 0x85 || r == 0x2028 || r == 0x2029 || r == 0xfeff || (r >= 0x80 && r < 0xa0)) {
			return nil
		}
	}
	body, head := v, "|-"
	if strings.HasSuffix(body, "\n") {
		body, head = body[:len(body)-1], "|"
		if strings.HasSuffix(body, "\n") {
			return nil
		}
	}
	out := []string{head}
	for _, l := range strings.Split(body, "\n") {
		if l == "" {
			out = append(out, "")
		} else {
			out = append(out, ind+l)
		}
	}
	// The YAML reader has the last word: read it back as a value of a
	// mapping.
	if got, ok := workflows.StringValue(strings.Join(out, "\n")); !ok || got != v {
		return nil
	}
	return out
}
