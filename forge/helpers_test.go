package forge

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"
)

// testUser is a forge user with a fresh ed25519 key.
type testUser struct {
	name   string
	signer gossh.Signer
}

func newTestUser(t *testing.T, name string) testUser {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := gossh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return testUser{name: name, signer: signer}
}

// authorizedLine is the user's public key as an authorized_keys line.
func (u testUser) authorizedLine() string {
	return strings.TrimSpace(string(gossh.MarshalAuthorizedKey(u.signer.PublicKey())))
}

// apiPrefix is where the fake GitHub API is mounted, as in go-github's
// own tests: a client that builds absolute paths misses it and fails.
const apiPrefix = "/api-v3"

// fakeGitHub answers GET /users/{user}/keys as GitHub does.
type fakeGitHub struct {
	srv    *httptest.Server
	apiURL string
	mux    *http.ServeMux

	mu    sync.Mutex
	keys  map[string][]string
	calls []string // request paths with query, in order
	auth  []string // Authorization headers seen
}

func newFakeGitHub(t *testing.T, users ...testUser) *fakeGitHub {
	t.Helper()
	f := &fakeGitHub{keys: map[string][]string{}, mux: http.NewServeMux()}
	for _, u := range users {
		f.keys[u.name] = append(f.keys[u.name], u.authorizedLine())
	}
	f.mux.HandleFunc("GET /users/{user}/keys", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		keys, ok := f.keys[r.PathValue("user")]
		f.mu.Unlock()
		if !ok {
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprint(w, `{"message":"Not Found","documentation_url":"https://docs.github.com/rest"}`)
			return
		}
		var out []map[string]any
		for i, k := range keys {
			out = append(out, map[string]any{"id": i + 1, "key": k})
		}
		if out == nil {
			out = []map[string]any{}
		}
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		json.NewEncoder(w).Encode(out) //nolint:errcheck // test server
	})
	root := http.NewServeMux()
	root.HandleFunc(apiPrefix+"/", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.calls = append(f.calls, strings.TrimPrefix(r.URL.RequestURI(), apiPrefix))
		f.auth = append(f.auth, r.Header.Get("Authorization"))
		f.mu.Unlock()
		http.StripPrefix(apiPrefix, f.mux).ServeHTTP(w, r)
	})
	root.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("request outside the API prefix: %s (an absolute path was used?)", r.URL)
		http.Error(w, "outside the API prefix", http.StatusInternalServerError)
	})
	f.srv = httptest.NewServer(root)
	f.apiURL = f.srv.URL + apiPrefix
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeGitHub) setKeys(user string, keys ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.keys[user] = keys
}

func (f *fakeGitHub) requests() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

// checkGoroutines fails the test if goroutines started during it are
// still running once its cleanups ran. Register it first: cleanups run
// last-in first-out, so it then runs after everything else.
func checkGoroutines(t *testing.T) {
	before := runtime.NumGoroutine()
	t.Cleanup(func() {
		deadline := time.Now().Add(5 * time.Second)
		for runtime.NumGoroutine() > before {
			if time.Now().After(deadline) {
				buf := make([]byte, 1<<20)
				n := runtime.Stack(buf, true)
				t.Errorf("goroutine leak: %d before the test, %d after\n%s", before, runtime.NumGoroutine(), buf[:n])
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
}
