package ghrun

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-github/v62/github"

	"github.com/pitstopci/pitstop/internal/ghfake"
	"github.com/pitstopci/pitstop/internal/wire"
)

// TestPausesTrustsOnlyJobTokens: a check run with the pause's name made
// by any other app (anyone with an app on the repository could make one)
// is not believed; neither is one that is completed or for another run.
func TestPausesTrustsOnlyJobTokens(t *testing.T) {
	fake, c, sha := pausesClient(t)
	ctx := context.Background()
	info := func(run, key string) *github.CheckRunOutput {
		return &github.CheckRunOutput{Text: github.String(`{"run_id":"` + run + `","job":"build","address":"127.0.0.1:2222","known_hosts":"[127.0.0.1]:2222 ssh-ed25519 ` + key + `"}`)}
	}
	add := func(slug, status, run, key string) {
		fake.AddCheckRun(&github.CheckRun{ID: github.Int64(int64(len(key))), Name: github.String("pitstop: build"), HeadSHA: github.String(sha),
			Status: github.String(status), App: &github.App{Slug: github.String(slug)}, Output: info(run, key)})
	}
	add("evil-app", "in_progress", "7", "AAAAevil")
	add("github-actions", "completed", "7", "AAAAold")
	add("github-actions", "in_progress", "8", "AAAAotherrun")
	add("github-actions", "in_progress", "7", "AAAAgood")
	ps, err := c.pauses(ctx, sha, 7, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 1 || ps[0].KnownHosts != "[127.0.0.1]:2222 ssh-ed25519 AAAAgood" {
		t.Fatalf("got %d pauses: %+v; want only the github-actions one for run 7", len(ps), ps)
	}
	if ps, _ := c.pauses(ctx, sha, 7, "test"); len(ps) != 0 {
		t.Errorf("--job test matched job build: %+v", ps)
	}
}

// TestPausesReadCheckRunDocument: the check run's text, encoded as the
// agent encodes it, reads back as the same document, run attempt included.
func TestPausesReadCheckRunDocument(t *testing.T) {
	fake, c, sha := pausesClient(t)
	ctx := context.Background()
	want := wire.CheckRunInfo{
		RunID: "7", Job: "build", RunAttempt: "3", Label: "build (ubuntu-latest)",
		Address: "127.0.0.1:2222", User: "runner", SSHCommand: "ssh -p 2222 runner@127.0.0.1",
		KnownHosts: "[127.0.0.1]:2222 ssh-ed25519 AAAA", HostKeyFingerprint: "SHA256:abc",
		Jump: "pitstop@relay.example", Deadline: time.Date(2026, 3, 1, 13, 0, 0, 0, time.UTC),
	}
	text, err := json.MarshalIndent(want, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	fake.AddCheckRun(&github.CheckRun{ID: github.Int64(1), Name: github.String(wire.CheckRunPrefix + "build"), HeadSHA: github.String(sha),
		Status: github.String("in_progress"), App: &github.App{Slug: github.String("github-actions")},
		Output: &github.CheckRunOutput{Text: github.String(string(text))}})
	ps, err := c.pauses(ctx, sha, 7, "build")
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 1 || ps[0].CheckRunInfo != want {
		t.Fatalf("got %d pauses: %+v; want %+v", len(ps), ps, want)
	}
}

// pausesClient is a client of a fake repository and its main commit.
func pausesClient(t *testing.T) (*ghfake.Server, *Client, string) {
	t.Helper()
	fake := ghfake.New(t, ghfake.Options{Owner: "octo", Repo: "app", Files: map[string]string{"README": "x\n"},
		Tokens: map[string]string{"tok": "repo, workflow"}, Actor: "octocat"})
	c, err := NewClient(fake.URL(), "tok", Repo{Host: "github.com", Owner: "octo", Name: "app"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	sha, err := c.resolveRef(context.Background(), "main")
	if err != nil {
		t.Fatal(err)
	}
	return fake, c, sha
}
