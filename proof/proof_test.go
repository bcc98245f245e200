package proof

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/pitstopci/pitstop/internal/ghfake"
	"github.com/pitstopci/pitstop/internal/testutil"
)

func newFake(t *testing.T) *ghfake.Server {
	return ghfake.New(t, ghfake.Options{Owner: "octo", Repo: "app", Files: map[string]string{"README": "x\n"}, Actor: "octocat"})
}

// TestIssuer: github.com's tokens come from GitHub's token service, a
// server's from its own, which is where the fake serves its issuer.
func TestIssuer(t *testing.T) {
	fake := newFake(t)
	for api, want := range map[string]string{
		"https://api.github.com":           GitHubIssuer,
		"https://ghe.example.com/api/v3":   "https://ghe.example.com/_services/token",
		"https://ghe.example.com:8443/api": "https://ghe.example.com:8443/_services/token",
		fake.URL():                         fake.Issuer(),
	} {
		if got, err := Issuer(api); err != nil || got != want {
			t.Errorf("Issuer(%q) = %q, %v; want %q", api, got, err, want)
		}
	}
}

// TestVerify: a token of the issuer for the run's repository, run,
// attempt and a running job, with the audience of the host key about to
// be pinned, is believed; any other is not, and the error says why.
func TestVerify(t *testing.T) {
	fake, other := newFake(t), newFake(t)
	key := testutil.SSHPublicKey(t)
	want := Want{Issuer: fake.Issuer(), Repository: "octo/app", RunID: 7, RunAttempt: 1, JobIDs: []int64{70, 71}, HostKey: key}
	good := fake.JobClaims(7, 70, Audience(key))
	if c, err := Verify(context.Background(), fake.MintIDToken(good), want); err != nil || c.Actor != "octocat" || c.JobID != "70" {
		t.Fatalf("a good proof: %+v, %v", c, err)
	}
	with := func(k string, v any) string {
		c := fake.JobClaims(7, 70, Audience(key))
		c[k] = v
		return fake.MintIDToken(c)
	}
	for _, tc := range []struct {
		name, token, err string
		want             func(*Want)
	}{
		{name: "no proof", err: "carries no proof"},
		{name: "not a token", token: "garbage", err: "is not a token of " + fake.Issuer()},
		{name: "another key", token: with("aud", Audience(testutil.SSHPublicKey(t))), err: "is not a token of " + fake.Issuer() + " for host key " + ssh.FingerprintSHA256(key)},
		{name: "another run", token: with("run_id", "8"), err: `the proof is for run "8", not 7`},
		{name: "another attempt", token: with("run_attempt", "2"), err: `the proof is for attempt "2" of run 7, not its attempt 1`},
		{name: "another job", token: with("check_run_id", "99"), err: "the proof is for job 99, which is not a running job of run 7"},
		{name: "a job given as a number", token: with("check_run_id", 71)},
		{name: "no job", token: with("check_run_id", nil), err: "the proof names no job"},
		{name: "another repository", token: with("repository", "evil/fork"), err: `the proof is for repository "evil/fork", not octo/app`},
		{name: "expired", token: with("exp", time.Now().Add(-time.Minute).Unix()), err: "the proof expired at"},
		{name: "wrong issuer claim", token: with("iss", GitHubIssuer), err: "is not a token of " + fake.Issuer()},
		// Signed by another issuer's key, claiming to be this one's.
		{name: "forged signature", token: other.MintIDToken(good), err: "is not a token of " + fake.Issuer()},
		// The other issuer's own token, offered where this GitHub's is due.
		{name: "another issuer", token: other.MintIDToken(other.JobClaims(7, 70, Audience(key))), err: "is not a token of " + fake.Issuer()},
		{name: "an issuer that is not the GitHub's", token: fake.MintIDToken(good), want: func(w *Want) { w.Issuer = other.Issuer() },
			err: "is not a token of " + other.Issuer()},
		{name: "an issuer over plain http elsewhere", token: fake.MintIDToken(good), want: func(w *Want) { w.Issuer = "http://token.example.com/_services/token" },
			err: "is not https"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := want
			if tc.want != nil {
				tc.want(&w)
			}
			c, err := Verify(context.Background(), tc.token, w)
			if tc.err == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("got %+v, %v; want an error with %q", c, err, tc.err)
			}
		})
	}
}

// TestRequestNeedsThePermission: without the runner's request variables
// (no id-token: write) there is nothing to ask, and Request says why.
func TestRequestNeedsThePermission(t *testing.T) {
	if _, err := Request(context.Background(), "", "", "pitstop:x", nil); !errors.Is(err, ErrNotGranted) {
		t.Errorf("got %v; want ErrNotGranted", err)
	}
	if _, err := Request(context.Background(), "http://token.example.com/idtoken?api-version=2.0", "t", "pitstop:x", nil); err == nil || !strings.Contains(err.Error(), "is not https") {
		t.Errorf("a plain http token service: %v", err)
	}
}
