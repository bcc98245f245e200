package forge

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
)

// testRepo is the repository of the runs in these tests.
const testRepo = "octo-org/app"

func TestRepoPermission(t *testing.T) {
	f := newFakeGitHub(t)
	f.ServePermissions(testRepo, map[string]string{
		"ada": "admin", "max": "write/maintain", "wes": "write", "tri": "read/triage", "rea": "read", "non": "none",
		"cus": "write/security-reviewer", "odd": "superuser/superuser",
	})
	f.Mux.HandleFunc("GET /repos/octo-org/app/collaborators/down/permission", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadGateway)
		fmt.Fprint(w, `{"message":"Server Error"}`)
	})
	api := newAPI(t, f, "secret-token")
	for user, want := range map[string]string{
		"ada": "admin", "max": "maintain", "wes": "write", "tri": "triage", "rea": "read", "non": "none",
		// A custom role counts as the permission it is based on.
		"cus": "write",
	} {
		got, err := api.RepoPermission(context.Background(), testRepo, user)
		if err != nil || got != want {
			t.Errorf("%s: %q, %v; want %q", user, got, err, want)
		}
	}
	for user, want := range map[string][]string{
		"stranger": {`"stranger"`, testRepo, "not a collaborator", "404"},
		"down":     {`"down"`, testRepo, "the API failed (502)"},
		"odd":      {`"odd"`, "unknown permission", `"superuser"`},
	} {
		got, err := api.RepoPermission(context.Background(), testRepo, user)
		if err == nil {
			t.Errorf("%s: %q, want an error", user, got)
			continue
		}
		for _, w := range want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q does not say %q", user, err, w)
			}
		}
	}
	if _, err := api.RepoPermission(context.Background(), "no-slash", "ada"); err == nil {
		t.Error("a repository without an owner was accepted")
	}
	if calls := f.Requests(); !slices.Contains(calls, "/repos/octo-org/app/collaborators/ada/permission") {
		t.Errorf("requests %q do not include the permission API path", calls)
	}
	for _, a := range f.Auth() {
		if a != "Bearer secret-token" {
			t.Errorf("Authorization %q, want the token", a)
		}
	}
}
