package workflows

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const sample = `name: CI # a comment
on: push
jobs:
  build:
    name: Build it
    runs-on: ubuntu-latest
    timeout-minutes: 30
    strategy:
      matrix:
        os: [a, b]
        include:
          - os: c
            extra: true
    steps:
      - uses: actions/checkout@v4
      -   name: Compile
          id: compile
          run: make
      -
        run: |
          first line

          second
  flow:
    concurrency: {group: x, cancel-in-progress: true}
    steps: [ {run: a}, &b {name: B, run: b} ]
  call:
    uses: ./.github/workflows/reusable.yml
`

func TestParsePositions(t *testing.T) {
	w, err := Parse("ci.yml", []byte(sample))
	if err != nil {
		t.Fatal(err)
	}
	if w.JobsPos != (Pos{3, 1}) || len(w.Jobs) != 3 {
		t.Fatalf("jobs at %v, %d jobs", w.JobsPos, len(w.Jobs))
	}
	b := w.Jobs[0]
	if b.ID != "build" || b.Name != "Build it" || b.Pos != (Pos{4, 3}) || b.TimeoutMinutes != "30" || b.TimeoutPos != (Pos{7, 22}) {
		t.Errorf("build = %+v", b)
	}
	if b.StepsKeyPos != (Pos{14, 5}) || b.StepsPos != (Pos{15, 7}) || b.StepsFlow {
		t.Errorf("steps key %v, list %v, flow %v", b.StepsKeyPos, b.StepsPos, b.StepsFlow)
	}
	if b.Matrix == nil || strings.Join(b.Matrix.Keys, ",") != "os,extra" || b.Matrix.Pos != (Pos{10, 9}) {
		t.Errorf("matrix = %+v", b.Matrix)
	}
	want := []struct {
		pos, item Pos
		last      int
		label     string
	}{
		{Pos{15, 7}, Pos{15, 9}, 15, "uses: actions/checkout@v4"},
		{Pos{16, 7}, Pos{16, 11}, 18, "Compile"},
		{Pos{19, 7}, Pos{20, 9}, 20, "first line"}, // the dash alone on its line
	}
	for i, s := range b.Steps {
		if s.Number != i+1 || s.Pos != want[i].pos || s.ItemPos != want[i].item || s.LastLine != want[i].last || s.Label() != want[i].label {
			t.Errorf("step %d = %+v (label %q), want %+v", i+1, s, s.Label(), want[i])
		}
	}
	if b.Steps[1].ID != "compile" || b.Steps[1].Run != "make" {
		t.Errorf("step 2 = %+v", b.Steps[1])
	}
	f := w.Jobs[1]
	if !f.StepsFlow || f.StepsPos != (Pos{26, 12}) || len(f.Steps) != 2 || f.Steps[1].Pos != (Pos{26, 24}) {
		t.Errorf("flow = %+v, steps %+v", f, f.Steps)
	}
	if f.Concurrency == nil || f.Concurrency.CancelInProgress != "true" || f.Concurrency.Group != "x" {
		t.Errorf("flow concurrency = %+v", f.Concurrency)
	}
	c := w.Jobs[2]
	if c.Uses != "./.github/workflows/reusable.yml" || c.Steps != nil || c.Summary() != "calls a reusable workflow" {
		t.Errorf("call = %+v", c)
	}
}

func TestPositionsAfterBOMAndCRLF(t *testing.T) {
	src := "\ufeffon: push\r\njobs:\r\n  é:\r\n    steps: [ {run: a} ]\r\n"
	w, err := Parse("ci.yml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if j := w.Jobs[0]; j.Pos != (Pos{3, 3}) || j.StepsPos != (Pos{4, 12}) {
		t.Errorf("job at %v, steps at %v", j.Pos, j.StepsPos)
	}
}

func TestJob(t *testing.T) {
	w, err := Parse("ci.yml", []byte(sample))
	if err != nil {
		t.Fatal(err)
	}
	if j, err := w.Job("flow"); err != nil || j.ID != "flow" {
		t.Errorf("Job(flow) = %v, %v", j, err)
	}
	_, err = w.Job("nope")
	const list = `"build" (3 steps), "flow" (2 steps), "call" (calls a reusable workflow)`
	if err == nil || err.Error() != `ci.yml:3:1: unknown job "nope"; jobs are: `+list {
		t.Errorf("Job(nope) error = %v", err)
	}
	_, err = w.Job("")
	if err == nil || err.Error() != `ci.yml:3:1: the workflow has 3 jobs; choose one with --job: `+list {
		t.Errorf("Job(\"\") error = %v", err)
	}
	one, err := Parse("one.yml", []byte("on: push\njobs:\n  only:\n    steps:\n      - run: x\n"))
	if err != nil {
		t.Fatal(err)
	}
	if j, err := one.Job(""); err != nil || j.ID != "only" || j.Summary() != "1 step" {
		t.Errorf("Job(\"\") of a one-job workflow = %v, %v", j, err)
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct{ src, want string }{
		{"", "x.yml: file is empty; a workflow needs \"on\" and \"jobs\""},
		{"# only a comment\n", "x.yml: file is empty; a workflow needs \"on\" and \"jobs\""},
		{"on: push\njobs:\n  a: [\n", "x.yml:3:6: invalid YAML: sequence end token ']' not found"},
		// yaml.v3 alone would say line 3, where the mapping starts.
		{"jobs:\n  a:\n    steps:\n      - run: x\n     - run: y\n", "x.yml:5:6: invalid YAML: value is not allowed in this context"},
		{"on: push\njobs:\x00\n", "x.yml:2:6: binary file (NUL byte); a workflow is UTF-8 text"},
		{"on: push\nname: \xff\n", "x.yml:2:7: not UTF-8 text (invalid byte 0xff); a workflow is UTF-8 text"},
		{"on: push\rjobs: {}\n", "x.yml:1:9: carriage return without line feed; use LF or CRLF line endings"},
		{"on: push\nname: a\u2028b\n", "x.yml:2:8: character U+2028 is a line break in YAML but not in editors; replace it with a newline or remove it"},
		{"on: push\n", `x.yml:1:1: no "jobs" in the workflow; pitstop pauses a job, so it needs at least one`},
		{"[1]\n", `x.yml:1:1: a workflow is a mapping with "on" and "jobs"; this document is a list`},
		{"jobs: 3\n", `x.yml:1:7: "jobs" must be a mapping of job ids to jobs; it is the scalar "3"`},
		{"jobs:\n  a: x\n", `x.yml:2:6: job "a" must be a mapping; it is the scalar "x"`},
		{"jobs:\n  a:\n    steps: {}\n", `x.yml:3:12: steps of job "a" must be a list; they are a mapping`},
		{"jobs:\n  a:\n    steps:\n      - [x]\n", `x.yml:4:9: step 1 of job "a" must be a mapping; it is a list`},
		{"jobs:\n  a:\n    steps: []\n    steps: []\n", `x.yml:4:5: duplicate key "steps" (first at line 3)`},
		{"jobs: {a: {}}\n---\njobs: {}\n", "x.yml:2: a second YAML document starts here; a workflow file holds exactly one"},
	} {
		_, err := Parse("x.yml", []byte(tc.src))
		var we *Error
		if !errors.As(err, &we) {
			t.Errorf("Parse(%q) = %v, want an *Error", tc.src, err)
			continue
		}
		if err.Error() != tc.want {
			t.Errorf("Parse(%q)\n got %s\nwant %s", tc.src, err, tc.want)
		}
	}
}

func TestSharing(t *testing.T) {
	src := "jobs:\n  a:\n    steps: &s\n      - run: x\n  b:\n    steps: *s\n  c:\n    steps: &unused\n      - run: y\n"
	w, err := Parse("x.yml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	a, b, c := w.Jobs[0].StepsShared, w.Jobs[1].StepsShared, w.Jobs[2].StepsShared
	if a == nil || !a.Here || a.Anchor != "s" || a.AliasPos != (Pos{6, 12}) || strings.Join(a.Jobs, ",") != "b" {
		t.Errorf("a: %+v", a)
	}
	if b == nil || b.Here || b.AnchorPos != (Pos{3, 12}) || strings.Join(b.Jobs, ",") != "a" {
		t.Errorf("b: %+v", b)
	}
	if c != nil {
		t.Errorf("c: %+v, want nil (anchored but never aliased)", c)
	}
	if len(w.Jobs[1].Steps) != 1 || w.Jobs[1].Steps[0].Run != "x" {
		t.Errorf("b's steps through the alias: %+v", w.Jobs[1].Steps)
	}
}

func TestCompare(t *testing.T) {
	a, err := Parse("x.yml", []byte("jobs:\n  j:\n    steps:\n      - run: a # one\n      - run: b\n"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := Parse("x.yml", []byte("jobs:\n  j:\n\n    steps:\n      - run: a\n      - run: new\n      - run: b # two\n"))
	if err != nil {
		t.Fatal(err)
	}
	if err := Compare(a, b, &StepRef{Job: "j", Index: 1}); err != nil {
		t.Errorf("equal apart from step 2: %v", err)
	}
	if err := Compare(a, b, &StepRef{Job: "j", Index: 0}); err == nil || err.Error() != "x.yml:6:14: the value differs" {
		t.Errorf("skipping the wrong step: %v", err)
	}
	if err := Compare(a, b, nil); err == nil {
		t.Error("different documents compare equal")
	}
	c, _ := Parse("x.yml", []byte("jobs:\n  j:\n    steps:\n      - run: 'a'\n      - run: b\n"))
	if err := Compare(a, c, nil); err == nil || !strings.Contains(err.Error(), "style") {
		t.Errorf("quoting change not seen: %v", err)
	}
}

func TestRead(t *testing.T) {
	dir := t.TempDir()
	if _, err := ReadFile(dir); err == nil || !strings.Contains(err.Error(), "is a directory") {
		t.Errorf("ReadFile(dir) = %v", err)
	}
	big := filepath.Join(dir, "big.yml")
	if err := os.WriteFile(big, make([]byte, MaxSize+1), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadFile(big); err == nil || err.Error() != big+": file is larger than 4 MiB; this is not a workflow file" {
		t.Errorf("ReadFile(big) = %v", err)
	}
	if _, err := ReadAll("-", strings.NewReader(strings.Repeat("x", MaxSize+1))); err == nil {
		t.Error("ReadAll over MaxSize succeeded")
	}
	if b, err := ReadAll("-", strings.NewReader("on: push\n")); err != nil || string(b) != "on: push\n" {
		t.Errorf("ReadAll = %q, %v", b, err)
	}
	if _, err := ReadFile(filepath.Join(dir, "missing.yml")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("ReadFile(missing) = %v, want os.ErrNotExist wrapped", err)
	}
}

func TestErrorFormat(t *testing.T) {
	for _, tc := range []struct {
		e    Error
		want string
	}{
		{Error{"ci.yml", Pos{12, 7}, "m"}, "ci.yml:12:7: m"},
		{Error{"ci.yml", Pos{12, 0}, "m"}, "ci.yml:12: m"},
		{Error{"ci.yml", Pos{}, "m"}, "ci.yml: m"},
		{Error{"", Pos{}, "m"}, "m"},
	} {
		if got := tc.e.Error(); got != tc.want {
			t.Errorf("%+v: got %q, want %q", tc.e, got, tc.want)
		}
	}
}

func TestParseStepEnvAndRunDefaults(t *testing.T) {
	src := `on: push
defaults:
  run:
    shell: sh
    working-directory: top
env:
  COMMON: x
jobs:
  build:
    defaults:
      run:
        working-directory: ${{ matrix.dir }}
    steps:
      - name: Build
        shell: bash
        env:
          <<: &base {GOOS: linux, EXTRA: "1"}
          GOOS: ${{ matrix.goos }}
          CGO_ENABLED: 0
          QUOTED: "0"
          NESTED: {a: b}
        run: go build
      - run: make
        working-directory: sub
`
	w, err := Parse("ci.yml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	j := w.Jobs[0]
	b, m := j.Steps[0], j.Steps[1]
	var got []string
	for _, kv := range b.Env {
		got = append(got, fmt.Sprintf("%s=%s plain=%v %v", kv.Key, kv.Value, kv.Plain, kv.Pos))
	}
	want := []string{
		"GOOS=${{ matrix.goos }} plain=false 18:11",
		"CGO_ENABLED=0 plain=true 19:11",
		"QUOTED=0 plain=false 20:11",
		"EXTRA=1 plain=false 17:35",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("env:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if b.EnvPos != (Pos{16, 9}) || m.EnvPos != (Pos{}) || m.Env != nil {
		t.Errorf("env positions %v, %v (%v)", b.EnvPos, m.EnvPos, m.Env)
	}
	for _, c := range []struct{ got, want string }{
		{w.RunShell(j, b), "bash"},
		{w.RunShell(j, m), "sh"},
		{w.RunWorkingDirectory(j, b), "${{ matrix.dir }}"},
		{w.RunWorkingDirectory(j, m), "sub"},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
}
