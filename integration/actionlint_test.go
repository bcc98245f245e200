//go:build unix

package integration

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pitstopci/pitstop/injector"
	"github.com/pitstopci/pitstop/workflows"
)

// actionlintInstall says how to get the pinned actionlint the tests expect.
const actionlintInstall = "go install github.com/rhysd/actionlint/cmd/actionlint@v1.7.12 (or: task tools)"

// TestActionlintAcceptsExamples checks that every example is a valid
// workflow and stays valid with a pause injected before its first, after
// its middle and after its last step, in every job.
func TestActionlintAcceptsExamples(t *testing.T) {
	lint := actionlint(t)
	files, err := filepath.Glob(filepath.Join(sourceRoot, "examples", "*.yml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no examples found (%v)", err)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			src, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			if msg, ok := lint(src); !ok {
				t.Fatalf("the example itself fails actionlint:\n%s", msg)
			}
			wf, err := workflows.Parse(file, src)
			if err != nil {
				t.Fatal(err)
			}
			checked := 0
			for _, job := range wf.Jobs {
				n := len(job.Steps)
				if n == 0 {
					continue
				}
				for _, after := range []int{0, n / 2, n} {
					res, err := injector.Insert(file, src, injector.Options{Job: job.ID, After: after})
					if err != nil {
						t.Fatalf("job %q after %d: %v", job.ID, after, err)
					}
					if msg, ok := lint(res.Out); !ok {
						t.Errorf("job %q after step %d: the injected workflow fails actionlint:\n%s\n--- output ---\n%s", job.ID, after, msg, res.Out)
					}
					checked++
				}
			}
			if checked == 0 {
				t.Fatal("no job with steps in this example")
			}
		})
	}
}

// TestActionlintAcceptsGoldenOutputs checks the injector's expected outputs:
// wherever a golden input passes actionlint, its output must pass too.
func TestActionlintAcceptsGoldenOutputs(t *testing.T) {
	lint := actionlint(t)
	ins, err := filepath.Glob(filepath.Join(sourceRoot, "injector", "testdata", "*", "in.yml"))
	if err != nil || len(ins) == 0 {
		t.Fatalf("no golden cases found under injector/testdata (%v)", err)
	}
	valid := 0
	for _, in := range ins {
		dir := filepath.Dir(in)
		src, err := os.ReadFile(in)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := lint(src); !ok {
			continue // a deliberately odd input; the injector tests cover it
		}
		want, err := os.ReadFile(filepath.Join(dir, "want.yml"))
		if err != nil {
			continue // an error case: no output to check
		}
		valid++
		if msg, ok := lint(want); !ok {
			t.Errorf("%s: input passes actionlint but the output does not:\n%s", filepath.Base(dir), msg)
		}
	}
	t.Logf("%d of %d golden inputs pass actionlint; their outputs were checked", valid, len(ins))
	if valid == 0 {
		t.Fatal("no golden input passes actionlint, so nothing was checked")
	}
}

// actionlint returns a function that lints one workflow given as bytes and
// reports actionlint's findings and whether there were none.
func actionlint(t *testing.T) func([]byte) (string, bool) {
	t.Helper()
	bin := tool(t, "actionlint", actionlintInstall)
	lint := func(src []byte) (string, bool) {
		cmd := exec.Command(bin, "-no-color", "-oneline", "-stdin-filename", "workflow.yml", "-")
		cmd.Stdin = bytes.NewReader(src)
		out, err := cmd.CombinedOutput()
		if err != nil {
			// Exit status 1 means "found problems"; anything else means
			// actionlint itself failed, which must not read as a verdict.
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != 1 {
				t.Fatalf("run actionlint: %v\n%s", err, out)
			}
			return strings.TrimSpace(string(out)), false
		}
		return "", true
	}
	// A lint that passes everything would make these tests pass for
	// nothing: make sure it catches a job without runs-on.
	if _, ok := lint([]byte("on: push\njobs:\n  x:\n    steps:\n      - run: echo\n")); ok {
		t.Fatal("actionlint accepted a job without runs-on; the lint is not working")
	}
	return lint
}
