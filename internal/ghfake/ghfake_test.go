package ghfake

import (
	"context"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-github/v62/github"
)

const workflow = `name: ci
on: push
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - name: Prepare
        run: echo ready
      - run: exit 3
      - name: Never
        run: echo never
`

func actBinary(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("act"); err == nil {
		return p
	}
	p, _ := filepath.Abs("../../bin/act")
	if _, err := os.Stat(p); err != nil {
		t.Fatal("act is not installed; install it with: task tools")
	}
	return p
}

// TestPushRunsWorkflowWithAct creates a branch through the Git Data API
// the way pitstop run does, and follows the run act makes of it.
func TestPushRunsWorkflowWithAct(t *testing.T) {
	s := New(t, Options{
		Owner: "octo", Repo: "app", Files: map[string]string{"README": "hi\n"},
		Tokens: map[string]string{"tok": "repo, workflow"}, Actor: "octocat",
		Act: actBinary(t), Env: os.Environ(), Log: t.Logf,
	})
	c := github.NewClient(nil).WithAuthToken("tok")
	c.BaseURL, _ = url.Parse(s.URL() + "/")
	ctx := context.Background()

	ref, _, err := c.Git.GetRef(ctx, "octo", "app", "heads/main")
	if err != nil {
		t.Fatal(err)
	}
	base, _, err := c.Git.GetCommit(ctx, "octo", "app", ref.GetObject().GetSHA())
	if err != nil {
		t.Fatal(err)
	}
	tree, _, err := c.Git.CreateTree(ctx, "octo", "app", base.GetTree().GetSHA(), []*github.TreeEntry{{
		Path: github.String(".github/workflows/ci.yml"), Mode: github.String("100644"), Type: github.String("blob"), Content: github.String(workflow),
	}})
	if err != nil {
		t.Fatal(err)
	}
	commit, _, err := c.Git.CreateCommit(ctx, "octo", "app", &github.Commit{Message: github.String("add ci"), Tree: tree, Parents: []*github.Commit{{SHA: base.SHA}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.Git.CreateRef(ctx, "octo", "app", &github.Reference{Ref: github.String("refs/heads/topic"), Object: &github.GitObject{SHA: commit.SHA}}); err != nil {
		t.Fatal(err)
	}
	runs, _, err := c.Actions.ListRepositoryWorkflowRuns(ctx, "octo", "app", &github.ListWorkflowRunsOptions{Branch: "topic"})
	if err != nil || len(runs.WorkflowRuns) != 1 {
		t.Fatalf("runs: %v, %v", runs, err)
	}
	id := runs.WorkflowRuns[0].GetID()
	deadline := time.Now().Add(2 * time.Minute)
	var run *github.WorkflowRun
	for {
		run, _, err = c.Actions.GetWorkflowRunByID(ctx, "octo", "app", id)
		if err != nil {
			t.Fatal(err)
		}
		if run.GetStatus() == "completed" || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if run.GetConclusion() != "failure" || run.GetHeadSHA() != commit.GetSHA() {
		t.Fatalf("run %s/%s at %s, want completed/failure at %s", run.GetStatus(), run.GetConclusion(), run.GetHeadSHA(), commit.GetSHA())
	}
	jobs, _, err := c.Actions.ListWorkflowJobs(ctx, "octo", "app", id, nil)
	if err != nil || len(jobs.Jobs) != 1 {
		t.Fatalf("jobs: %v %v", jobs, err)
	}
	want := []struct{ name, conclusion string }{
		{"Set up job", "success"}, {"Prepare", "success"}, {"Run exit 3", "failure"}, {"Never", "skipped"}, {"Complete job", "success"},
	}
	steps := jobs.Jobs[0].Steps
	if len(steps) != len(want) {
		t.Fatalf("%d steps, want %d: %v", len(steps), len(want), steps)
	}
	for i, w := range want {
		if steps[i].GetName() != w.name || steps[i].GetConclusion() != w.conclusion || steps[i].GetNumber() != int64(i+1) {
			t.Errorf("step %d: %s %s (#%d), want %s %s", i+1, steps[i].GetName(), steps[i].GetConclusion(), steps[i].GetNumber(), w.name, w.conclusion)
		}
	}
	if jobs.Jobs[0].GetConclusion() != "failure" {
		t.Errorf("job conclusion %q", jobs.Jobs[0].GetConclusion())
	}
}

// TestRefusesWorkflowWithoutScope is GitHub's rule for pushing workflow
// files with a classic token that lacks the workflow scope.
func TestRefusesWorkflowWithoutScope(t *testing.T) {
	s := New(t, Options{Owner: "octo", Repo: "app", Files: map[string]string{".github/workflows/ci.yml": workflow},
		Tokens: map[string]string{"tok": "repo"}, Actor: "octocat"})
	sha, err := s.Commit("scratch", map[string]string{".github/workflows/ci.yml": workflow + "# changed\n"}, "change")
	if err != nil {
		t.Fatal(err)
	}
	c := github.NewClient(nil).WithAuthToken("tok")
	c.BaseURL, _ = url.Parse(s.URL() + "/")
	_, resp, err := c.Git.CreateRef(context.Background(), "octo", "app", &github.Reference{Ref: github.String("refs/heads/x"), Object: &github.GitObject{SHA: github.String(sha)}})
	if err == nil || resp.StatusCode != 403 || resp.Header.Get("X-OAuth-Scopes") != "repo" {
		t.Fatalf("got %v (%v), want a 403 with the token's scopes", err, resp)
	}
}
