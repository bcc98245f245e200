package ghfake

import (
	"net/http"
	"reflect"
	"testing"

	"github.com/pitstopci/pitstop/workflows"
)

// TestGrantsIDToken: a job may request tokens with id-token: write in
// its own permissions, or in the workflow's when it has none of its own
// (write-all too); never by default.
func TestGrantsIDToken(t *testing.T) {
	for src, want := range map[string]map[string]bool{
		`on: push
permissions:
  id-token: write
jobs:
  inherits: {runs-on: x, steps: [{run: a}]}
  narrows:
    runs-on: x
    permissions: {contents: read}
    steps: [{run: a}]
  all:
    runs-on: x
    permissions: write-all
    steps: [{run: a}]
  reads:
    runs-on: x
    permissions: {id-token: read}
    steps: [{run: a}]
`: {"inherits": true, "narrows": false, "all": true, "reads": false},
		"on: push\njobs:\n  b: {runs-on: x, steps: [{run: a}]}\n": {"b": false},
	} {
		wf, err := workflows.Parse("ci.yml", []byte(src))
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]bool{}
		for _, j := range wf.Jobs {
			got[j.ID] = grantsIDToken(wf, j)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("got %v, want %v", got, want)
		}
	}
}

// TestMintRefusesStrangers: the token service mints only for a run's own
// request token.
func TestMintRefusesStrangers(t *testing.T) {
	s := New(t, Options{Owner: "octo", Repo: "app", Files: map[string]string{"README": "x\n"}})
	for _, auth := range []string{"", "bearer nope"} {
		req, err := http.NewRequest(http.MethodGet, s.srv.URL+requestPath+"?api-version=2.0&audience=pitstop:x", nil)
		if err != nil {
			t.Fatal(err)
		}
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("Authorization %q: %s, want 401", auth, resp.Status)
		}
	}
}
