package ghrun

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-github/v62/github"
	"golang.org/x/crypto/ssh"

	"github.com/pitstopci/pitstop/internal/ghfake"
	"github.com/pitstopci/pitstop/internal/testutil"
	"github.com/pitstopci/pitstop/internal/wire"
	"github.com/pitstopci/pitstop/proof"
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

// TestTrustedNeedsGitHubsWord: a pause is used only when its proof is
// GitHub's token for the run's job and the host key it names; a forged
// check run (no proof, or a proof for another key or job) is an error
// that says why, unless the user said to trust it on first use, which
// is then said too.
func TestTrustedNeedsGitHubsWord(t *testing.T) {
	fake, c, _ := pausesClient(t)
	key, other := testutil.SSHPublicKey(t), testutil.SSHPublicKey(t)
	line := "[127.0.0.1]:2222 " + strings.TrimSpace(string(ssh.MarshalAuthorizedKey(key)))
	pause := func(token string) *Pause {
		return &Pause{CheckRunInfo: wire.CheckRunInfo{RunID: "7", Job: "build", Address: "127.0.0.1:2222", KnownHosts: line, HostKeyFingerprint: "SHA256:claimed", Proof: token}}
	}
	ctx := context.Background()
	var stderr strings.Builder
	o := Options{Stderr: &stderr}
	o.defaults()

	good := pause(fake.MintIDToken(fake.JobClaims(7, 70, proof.Audience(key))))
	ps, err := o.trusted(ctx, c, []*Pause{pause(""), good}, 7, 1, []int64{70})
	if err != nil || len(ps) != 1 || ps[0] != good || !good.Verified || good.HostKeyFingerprint != ssh.FingerprintSHA256(key) {
		t.Fatalf("got %v, %v; want only the proven pause, with its key's own fingerprint", ps, err)
	}
	for name, tc := range map[string]struct {
		token, why string
	}{
		"forged, no proof":     {"", "carries no proof"},
		"a proof of other key": {fake.MintIDToken(fake.JobClaims(7, 70, proof.Audience(other))), "for host key " + ssh.FingerprintSHA256(key)},
		"a proof of other job": {fake.MintIDToken(fake.JobClaims(7, 71, proof.Audience(key))), "the proof is for job 71"},
		"a proof of other run": {fake.MintIDToken(fake.JobClaims(8, 70, proof.Audience(key))), `the proof is for run "8"`},
	} {
		t.Run(name, func(t *testing.T) {
			o.TrustUnverified = false
			ps, err := o.trusted(ctx, c, []*Pause{pause(tc.token)}, 7, 1, []int64{70})
			if !errors.Is(err, errUnverified) || !strings.Contains(err.Error(), tc.why) || !strings.Contains(err.Error(), "--trust-unverified") || len(ps) != 0 {
				t.Fatalf("got %v, %v; want an unverified pause refused because %q", ps, err, tc.why)
			}
			o.TrustUnverified = true
			stderr.Reset()
			ps, err = o.trusted(ctx, c, []*Pause{pause(tc.token)}, 7, 1, []int64{70})
			if err != nil || len(ps) != 1 || ps[0].Verified || !strings.Contains(stderr.String(), "UNVERIFIED pause (job build)") ||
				!strings.Contains(stderr.String(), "on first use") || ps[0].trust() != "UNVERIFIED: trusted on first use" {
				t.Fatalf("with --trust-unverified: %v, %v, stderr %q", ps, err, stderr.String())
			}
		})
	}
}
