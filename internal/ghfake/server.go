package ghfake

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-github/v62/github"
)

// Prefix is where the API is mounted on the test server, as GitHub
// Enterprise Server mounts it under /api/v3.
const Prefix = "/api/v3"

// Options describes the repository and who may use it.
type Options struct {
	// Owner and Repo name the one repository served.
	Owner, Repo string
	// Files are committed on main when the server starts.
	Files map[string]string
	// Tokens maps each user token to the scopes GitHub reports for it in
	// X-OAuth-Scopes (a classic token), e.g. "repo, workflow". A token
	// mapped to "-" is a fine-grained token: no header, and it may push
	// workflows only when listed in WorkflowWrite. Nil takes any token,
	// or none, as a user's (tests of key and permission lookups).
	Tokens map[string]string
	// WorkflowWrite lists the fine-grained tokens with "Workflows: write".
	WorkflowWrite []string
	// Actor is the login of the user behind the tokens; runs are theirs.
	Actor string
	// ActorKeys are the actor's public keys, served at /users/{actor}/keys.
	ActorKeys []string

	// Act is the act binary, ActionSource the pitstop source tree act
	// uses for the action, Env the environment act runs with.
	Act          string
	ActionSource string
	Env          []string
	// QueueDelay keeps a new run queued this long before act starts, so
	// tests can see a queued run. A negative value keeps runs queued for
	// ever (no runner picks them up).
	QueueDelay time.Duration
	// NoChecksWrite refuses check runs made with the job's token, as
	// GitHub does when the job lacks checks: write.
	NoChecksWrite bool
	// NoIDToken gives no job a way to request an OIDC token, even with
	// id-token: write (as a runner whose token service is down).
	NoIDToken bool
	// Log receives act's output, for the test log. Nil discards.
	Log func(format string, args ...any)
}

// Server is a running fake.
type Server struct {
	o    Options
	srv  *httptest.Server
	dir  string
	bare string

	gitMu sync.Mutex

	mu        sync.Mutex
	nextID    int64
	runs      []*run
	checkRuns []*github.CheckRun
	jobToken  string
	keys      map[string][]string          // user → published keys
	perms     map[string]map[string]string // OWNER/REPO → user → permission[/role]
	auth      []string                     // Authorization headers seen
	oidc      signer
	deleted   []string // branches deleted through the API
	requests  []string // request URIs below Prefix, with their queries

	// Mux serves whatever a test adds below Prefix (an error, a page of
	// keys): a request it has a pattern for goes to it, not to the fake.
	Mux *http.ServeMux
}

// New starts a fake for one repository and stops it when the test ends
// (cancelling runs and waiting for act to exit).
func New(t testing.TB, o Options) *Server {
	t.Helper()
	dir := t.TempDir()
	s := &Server{o: o, dir: dir, bare: dir + "/repo.git", nextID: 1000, jobToken: "ghs_jobtoken",
		keys: map[string][]string{}, Mux: http.NewServeMux()}
	if o.Actor != "" {
		s.keys[o.Actor] = o.ActorKeys
	}
	if s.o.Log == nil {
		s.o.Log = func(string, ...any) {}
	}
	if _, err := s.initRepo(o.Files); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	s.routes(mux)
	outer := http.NewServeMux()
	outer.Handle(Prefix+"/", http.StripPrefix(Prefix, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.requests = append(s.requests, r.URL.RequestURI())
		s.auth = append(s.auth, r.Header.Get("Authorization"))
		s.mu.Unlock()
		if _, pattern := s.Mux.Handler(r); pattern != "" {
			s.Mux.ServeHTTP(w, r)
			return
		}
		mux.ServeHTTP(w, r)
	})))
	s.oidcRoutes(outer)
	outer.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "request outside "+Prefix+": "+r.URL.Path, http.StatusTeapot)
	})
	// Assigned before serving: handlers read s.srv for URLs.
	s.srv = httptest.NewUnstartedServer(outer)
	s.srv.Start()
	t.Cleanup(s.close)
	return s
}

// URL is the API root, as GITHUB_API_URL would hold it.
func (s *Server) URL() string { return s.srv.URL + Prefix }

// HTMLURL is the repository's page, as a run URL starts.
func (s *Server) HTMLURL() string {
	return fmt.Sprintf("%s/%s/%s", s.srv.URL, s.o.Owner, s.o.Repo)
}

// Requests lists the path, with its query, of every request below
// Prefix so far.
func (s *Server) Requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.requests...)
}

// Auth lists the Authorization header of every request so far.
func (s *Server) Auth() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.auth...)
}

// SetKeys makes user's published keys exactly keys (authorized_keys
// lines); a user never set is unknown (404).
func (s *Server) SetKeys(user string, keys ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys[user] = keys
}

// AddKey adds one key to user's published keys.
func (s *Server) AddKey(user, key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys[user] = append(s.keys[user], key)
}

// ServePermissions answers the repository permission API for repo as
// GitHub does: perms maps a user to "permission" or
// "permission/role_name"; anyone else, or another repository, is a 404.
// Without it, the actor is an admin of the served repository.
func (s *Server) ServePermissions(repo string, perms map[string]string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.perms == nil {
		s.perms = map[string]map[string]string{}
	}
	s.perms[repo] = perms
}

func (s *Server) close() {
	s.mu.Lock()
	runs := append([]*run(nil), s.runs...)
	s.mu.Unlock()
	for _, r := range runs {
		r.cancel()
	}
	for _, r := range runs {
		<-r.done
	}
	s.srv.Close()
}

func (s *Server) routes(mux *http.ServeMux) {
	repo := "/repos/{owner}/{repo}"
	h := func(pattern string, f func(w http.ResponseWriter, r *http.Request, user bool)) {
		mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
			tok := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
			user := false
			if s.o.Tokens == nil {
				user = true
			} else if scopes, ok := s.o.Tokens[tok]; ok {
				user = true
				if scopes != "-" {
					w.Header().Set("X-OAuth-Scopes", scopes)
				}
			} else if tok != s.jobToken {
				writeError(w, http.StatusUnauthorized, "Bad credentials")
				return
			}
			if (strings.HasPrefix(pattern, "/repos/") || strings.Contains(pattern, " /repos/")) && !strings.HasSuffix(pattern, "/permission") {
				if r.PathValue("owner") != s.o.Owner || r.PathValue("repo") != s.o.Repo {
					writeError(w, http.StatusNotFound, "Not Found")
					return
				}
			}
			f(w, r, user)
		})
	}
	h("GET "+repo, s.getRepo)
	h("GET "+repo+"/git/ref/{ref...}", s.getRef)
	h("GET "+repo+"/git/commits/{sha}", s.getCommit)
	h("POST "+repo+"/git/trees", s.createTree)
	h("POST "+repo+"/git/commits", s.createCommit)
	h("POST "+repo+"/git/refs", s.createRef)
	h("DELETE "+repo+"/git/refs/{ref...}", s.deleteRef)
	h("GET "+repo+"/contents/{path...}", s.getContents)
	h("GET "+repo+"/actions/runs", s.listRuns)
	h("GET "+repo+"/actions/runs/{id}", s.getRun)
	h("GET "+repo+"/actions/runs/{id}/jobs", s.listJobs)
	h("POST "+repo+"/actions/runs/{id}/cancel", s.cancelRun)
	h("POST "+repo+"/check-runs", s.createCheckRun)
	h("PATCH "+repo+"/check-runs/{id}", s.updateCheckRun)
	h("GET "+repo+"/commits/{ref}/check-runs", s.listCheckRuns)
	h("GET "+repo+"/check-runs/{id}/annotations", s.listAnnotations)
	h("GET /users/{user}/keys", s.userKeys)
	h("GET "+repo+"/collaborators/{user}/permission", s.permission)
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// writeError answers as GitHub does: {"message": ..., "documentation_url": ...}.
func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]string{"message": msg, "documentation_url": "https://docs.github.com/rest"})
}

func (s *Server) getRepo(w http.ResponseWriter, r *http.Request, user bool) {
	writeJSON(w, http.StatusOK, &github.Repository{
		Name:          github.String(s.o.Repo),
		FullName:      github.String(s.o.Owner + "/" + s.o.Repo),
		DefaultBranch: github.String("main"),
		HTMLURL:       github.String(s.HTMLURL()),
	})
}

func (s *Server) userKeys(w http.ResponseWriter, r *http.Request, user bool) {
	s.mu.Lock()
	published, ok := s.keys[r.PathValue("user")]
	s.mu.Unlock()
	if !ok {
		writeError(w, http.StatusNotFound, "Not Found")
		return
	}
	keys := []*github.Key{}
	for i, k := range published {
		keys = append(keys, &github.Key{ID: github.Int64(int64(i + 1)), Key: github.String(k)})
	}
	writeJSON(w, http.StatusOK, keys)
}

func (s *Server) permission(w http.ResponseWriter, r *http.Request, user bool) {
	login, repo := r.PathValue("user"), r.PathValue("owner")+"/"+r.PathValue("repo")
	s.mu.Lock()
	perms := s.perms
	s.mu.Unlock()
	perm, role := "", ""
	switch {
	case perms != nil:
		p, ok := perms[repo][login]
		if ok {
			perm, role, _ = strings.Cut(p, "/")
			if role == "" {
				role = perm
			}
		}
	case login == s.o.Actor && repo == s.o.Owner+"/"+s.o.Repo:
		perm, role = "admin", "admin"
	}
	if perm == "" {
		writeError(w, http.StatusNotFound, "Not Found")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"permission": perm, "role_name": role, "user": map[string]any{"login": login, "id": 1, "type": "User"}})
}
