package forge

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
)

// testRepo is the repository of the runs in these tests.
const testRepo = "octo-org/app"

// servePermissions makes the fake GitHub answer the repository
// permission API for testRepo, as GitHub does: perms maps a user to
// "permission" or "permission/role_name"; anyone else is a 404.
func servePermissions(f *fakeGitHub, perms map[string]string) {
	f.mux.HandleFunc("GET /repos/{owner}/{repo}/collaborators/{user}/permission", func(w http.ResponseWriter, r *http.Request) {
		p, ok := perms[r.PathValue("user")]
		if !ok || r.PathValue("owner")+"/"+r.PathValue("repo") != testRepo {
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprint(w, `{"message":"Not Found","documentation_url":"https://docs.github.com/rest/collaborators/collaborators#get-repository-permissions-for-a-user","status":"404"}`)
			return
		}
		perm, role, _ := strings.Cut(p, "/")
		if role == "" {
			role = perm
		}
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		json.NewEncoder(w).Encode(map[string]any{ //nolint:errcheck // test server
			"permission": perm, "role_name": role,
			"user": map[string]any{"login": r.PathValue("user"), "id": 1, "type": "User"},
		})
	})
}

func TestRepoPermission(t *testing.T) {
	f := newFakeGitHub(t)
	servePermissions(f, map[string]string{
		"ada": "admin", "max": "write/maintain", "wes": "write", "tri": "read/triage", "rea": "read", "non": "none",
		"cus": "write/security-reviewer", "odd": "superuser/superuser",
	})
	f.mux.HandleFunc("GET /repos/octo-org/app/collaborators/down/permission", func(w http.ResponseWriter, r *http.Request) {
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
	f.mu.Lock()
	defer f.mu.Unlock()
	if !slices.Contains(f.calls, "/repos/octo-org/app/collaborators/ada/permission") {
		t.Errorf("requests %q do not include the permission API path", f.calls)
	}
	for _, a := range f.auth {
		if a != "Bearer secret-token" {
			t.Errorf("Authorization %q, want the token", a)
		}
	}
}
