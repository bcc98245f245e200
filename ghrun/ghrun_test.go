package ghrun

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-github/v62/github"

	"github.com/pitstopci/pitstop/injector"
	"github.com/pitstopci/pitstop/workflows"
)

func TestParseRemote(t *testing.T) {
	for _, c := range []struct{ in, host, owner, name, api string }{
		{"https://github.com/octo/app.git", "github.com", "octo", "app", "https://api.github.com"},
		{"https://github.com/octo/app", "github.com", "octo", "app", "https://api.github.com"},
		{"git@github.com:octo/app.git", "github.com", "octo", "app", "https://api.github.com"},
		{"ssh://git@ghe.example.com:2222/octo/app.git", "ghe.example.com", "octo", "app", "https://ghe.example.com/api/v3"},
	} {
		r, err := ParseRemote(c.in)
		if err != nil || r.Host != c.host || r.Owner != c.owner || r.Name != c.name || r.APIURL() != c.api {
			t.Errorf("ParseRemote(%q) = %+v (%s), %v", c.in, r, r.APIURL(), err)
		}
	}
	for _, bad := range []string{"/srv/git/app.git", "https://github.com/octo", "https://github.com/a/b/c"} {
		if _, err := ParseRemote(bad); err == nil {
			t.Errorf("ParseRemote(%q) should fail", bad)
		}
	}
}

func TestParseRun(t *testing.T) {
	id, repo, err := ParseRun("https://github.com/octo/app/actions/runs/123/job/456")
	if err != nil || id != 123 || repo == nil || repo.String() != "octo/app" || repo.Host != "github.com" {
		t.Errorf("got %d %v %v", id, repo, err)
	}
	if id, repo, err := ParseRun("789"); err != nil || id != 789 || repo != nil {
		t.Errorf("got %d %v %v", id, repo, err)
	}
	if _, _, err := ParseRun("https://github.com/octo/app/pull/1"); err == nil || !strings.Contains(err.Error(), "neither a run ID nor a run URL") {
		t.Errorf("a pull request URL gave %v", err)
	}
}

const matrixWorkflow = `on: push
jobs:
  test:
    name: Test
    runs-on: ubuntu-latest
    strategy:
      matrix:
        os: [ubuntu-latest, macos-latest]
        go: ["1.22", "1.23"]
    steps:
      - uses: actions/checkout@v4
      - name: Build
        run: go build ./...
      - run: |
          go test ./...
          echo done
`

func apiJob(names []string, failed int) *github.WorkflowJob {
	j := &github.WorkflowJob{Name: github.String("Test (macos-latest, 1.23)")}
	for i, n := range names {
		c := "success"
		if i+1 == failed {
			c = "failure"
		}
		j.Steps = append(j.Steps, &github.TaskStep{Name: github.String(n), Number: github.Int64(int64(i + 1)), Conclusion: github.String(c)})
	}
	return j
}

func TestFailedStep(t *testing.T) {
	wf, err := workflows.Parse("ci.yml", []byte(matrixWorkflow))
	if err != nil {
		t.Fatal(err)
	}
	wj, matrix, err := workflowJob(wf, "Test (macos-latest, 1.23)")
	if err != nil || wj.ID != "test" || len(matrix) != 2 || matrix[0].Value != "macos-latest" || matrix[1].Value != "1.23" {
		t.Fatalf("workflowJob: %v %v %v", wj, matrix, err)
	}
	good := []string{"Set up job", "Run actions/checkout@v4", "Build", "Run go test ./...", "Post Run actions/checkout@v4", "Complete job"}
	if n, err := failedStep(wj, apiJob(good, 4)); err != nil || n != 3 {
		t.Errorf("failed API step 4 is workflow step 3; got %d, %v", n, err)
	}
	renamed := append([]string{}, good...)
	renamed[2] = "Compile"
	if _, err := failedStep(wj, apiJob(renamed, 4)); !errors.Is(err, errUncertain) || !strings.Contains(err.Error(), "--ssh-after-step") {
		t.Errorf("a name mismatch must be uncertain and ask for --ssh-after-step: %v", err)
	}
	if _, err := failedStep(wj, apiJob(good[:3], 2)); !errors.Is(err, errUncertain) {
		t.Errorf("too few steps must be uncertain: %v", err)
	}
	if _, err := failedStep(wj, apiJob(good, 5)); err == nil || !strings.Contains(err.Error(), `failed in "Post Run actions/checkout@v4"`) {
		t.Errorf("a failed post step: %v", err)
	}
	if _, _, err := workflowJob(wf, "Lint"); err == nil || !strings.Contains(err.Error(), `no job of ci.yml is called "Lint"`) {
		t.Errorf("unknown job: %v", err)
	}
}

func TestPrepare(t *testing.T) {
	src := []byte("on: pull_request\npermissions:\n  contents: read\njobs:\n  b:\n    runs-on: x\n    steps:\n      - run: echo\n")
	p, err := prepare("ci.yml", src, injectorOptions("b", 1))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(p.branch, "pitstop/b-") || len(p.branch) != len("pitstop/b-")+6 {
		t.Errorf("branch %q", p.branch)
	}
	out := string(p.out)
	for _, want := range []string{`branches: ["` + p.branch + `"]`, "  id-token: write\n  checks: write\n  contents: read\n", "id: pitstop-pause"} {
		if !strings.Contains(out, want) {
			t.Errorf("the prepared workflow lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "pull_request") {
		t.Errorf("the original trigger is still there:\n%s", out)
	}
	if len(p.notes) != 0 {
		t.Errorf("notes: %q", p.notes)
	}
	// Without permissions, neither can be added without narrowing the
	// token: the notes say so, the second one why the pause is unverified.
	p, err = prepare("ci.yml", []byte("on: push\njobs:\n  b:\n    runs-on: x\n    steps:\n      - run: echo\n"), injectorOptions("b", 1))
	if err != nil {
		t.Fatal(err)
	}
	if len(p.notes) != 2 || !strings.Contains(p.notes[1], "id-token: write is never among the defaults") || !strings.Contains(p.notes[1], "pitstop calls it unverified") {
		t.Errorf("notes: %q", p.notes)
	}
}

func injectorOptions(job string, after int) injector.Options {
	return injector.Options{Job: job, After: after}
}
