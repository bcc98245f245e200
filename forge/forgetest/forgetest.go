// Package forgetest is a fake GitHub API for tests of code that looks up
// keys and permissions through package forge: an httptest server that
// answers as GitHub documents, mounted under a path prefix as GitHub
// Enterprise Server's API is, so a client that builds absolute paths
// misses it and the test fails.
package forgetest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// apiPrefix is where the API is mounted, as in go-github's own tests.
const apiPrefix = "/api-v3"

// GitHub answers GET /users/{user}/keys from the keys it was given; a
// test adds other endpoints to Mux.
type GitHub struct {
	// URL is the API root to hand to forge.NewGitHubAPI.
	URL string
	// Mux serves the API, below the prefix.
	Mux *http.ServeMux

	mu    sync.Mutex
	keys  map[string][]string
	calls []string // request paths with query, in order
	auth  []string // Authorization headers seen
}

// New starts a fake GitHub that knows no users yet; it stops when the
// test ends. A request outside the API prefix fails the test.
func New(t testing.TB) *GitHub {
	t.Helper()
	g := &GitHub{keys: map[string][]string{}, Mux: http.NewServeMux()}
	g.Mux.HandleFunc("GET /users/{user}/keys", func(w http.ResponseWriter, r *http.Request) {
		g.mu.Lock()
		keys, ok := g.keys[r.PathValue("user")]
		g.mu.Unlock()
		if !ok {
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprint(w, `{"message":"Not Found","documentation_url":"https://docs.github.com/rest"}`)
			return
		}
		out := []map[string]any{}
		for i, k := range keys {
			out = append(out, map[string]any{"id": i + 1, "key": k})
		}
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		json.NewEncoder(w).Encode(out) //nolint:errcheck // test server
	})
	root := http.NewServeMux()
	root.HandleFunc(apiPrefix+"/", func(w http.ResponseWriter, r *http.Request) {
		g.mu.Lock()
		g.calls = append(g.calls, strings.TrimPrefix(r.URL.RequestURI(), apiPrefix))
		g.auth = append(g.auth, r.Header.Get("Authorization"))
		g.mu.Unlock()
		http.StripPrefix(apiPrefix, g.Mux).ServeHTTP(w, r)
	})
	root.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("request outside the API prefix: %s (an absolute path was used?)", r.URL)
		http.Error(w, "outside the API prefix", http.StatusInternalServerError)
	})
	srv := httptest.NewServer(root)
	g.URL = srv.URL + apiPrefix
	t.Cleanup(srv.Close)
	return g
}

// SetKeys makes user's published keys exactly keys (authorized_keys
// lines); a user never set is unknown (404).
func (g *GitHub) SetKeys(user string, keys ...string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.keys[user] = keys
}

// AddKey adds one key to user's published keys.
func (g *GitHub) AddKey(user, key string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.keys[user] = append(g.keys[user], key)
}

// Requests are the paths, with their queries, of every request so far.
func (g *GitHub) Requests() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]string(nil), g.calls...)
}

// Auth are the Authorization headers of every request so far.
func (g *GitHub) Auth() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]string(nil), g.auth...)
}

// ServePermissions answers the repository permission API for repo as
// GitHub does: perms maps a user to "permission" or
// "permission/role_name"; anyone else, or another repository, is a 404.
func (g *GitHub) ServePermissions(repo string, perms map[string]string) {
	g.Mux.HandleFunc("GET /repos/{owner}/{repo}/collaborators/{user}/permission", func(w http.ResponseWriter, r *http.Request) {
		p, ok := perms[r.PathValue("user")]
		if !ok || r.PathValue("owner")+"/"+r.PathValue("repo") != repo {
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
