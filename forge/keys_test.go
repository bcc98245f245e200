package forge

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pitstopci/pitstop/internal/ghfake"
)

// newAPI returns a GitHubAPI pointed at the fake server, with its own
// transport so no keep-alive connection outlives the test.
func newAPI(t *testing.T, f *ghfake.Server, token string) *GitHubAPI {
	t.Helper()
	tr := http.DefaultTransport.(*http.Transport).Clone()
	t.Cleanup(tr.CloseIdleConnections)
	api, err := NewGitHubAPI(f.URL(), token, &http.Client{Transport: tr})
	if err != nil {
		t.Fatal(err)
	}
	return api
}

func TestGitHubAPIFollowsEveryPage(t *testing.T) {
	checkGoroutines(t)
	f := newFakeGitHub(t)
	// Three pages linked the way GitHub links them, with absolute URLs
	// under the API prefix.
	f.Mux.HandleFunc("GET /users/pager/keys", func(w http.ResponseWriter, r *http.Request) {
		page, _ := strconv.Atoi(r.URL.Query().Get("page"))
		if page == 0 {
			page = 1
		}
		if got := r.URL.Query().Get("per_page"); got != "100" {
			t.Errorf("per_page = %q, want 100 (fewest requests)", got)
		}
		if page < 3 {
			next := fmt.Sprintf("%s/users/pager/keys?per_page=100&page=%d", f.URL(), page+1)
			last := fmt.Sprintf("%s/users/pager/keys?per_page=100&page=3", f.URL())
			w.Header().Set("Link", fmt.Sprintf(`<%s>; rel="next", <%s>; rel="last"`, next, last))
		}
		fmt.Fprintf(w, `[{"id":%d,"key":"ssh-ed25519 KEY%d"},{"id":%d,"key":"ssh-ed25519 KEY%db"}]`, page, page, page+10, page)
	})
	keys, err := newAPI(t, f, "tok123").UserKeys(context.Background(), "pager")
	if err != nil {
		t.Fatal(err)
	}
	want := "ssh-ed25519 KEY1,ssh-ed25519 KEY1b,ssh-ed25519 KEY2,ssh-ed25519 KEY2b,ssh-ed25519 KEY3,ssh-ed25519 KEY3b"
	if got := strings.Join(keys, ","); got != want {
		t.Errorf("keys = %s\nwant   %s", got, want)
	}
	if n := len(f.Requests()); n != 3 {
		t.Errorf("%d requests, want 3: %v", n, f.Requests())
	}
	for _, a := range f.Auth() {
		if a != "Bearer tok123" {
			t.Errorf("Authorization = %q, want the token", a)
		}
	}
}

func TestGitHubAPIWithoutTokenSendsNoAuthorization(t *testing.T) {
	checkGoroutines(t)
	u := newTestUser(t, "bob")
	f := newFakeGitHub(t, u)
	keys, err := newAPI(t, f, "").UserKeys(context.Background(), "bob")
	if err != nil || len(keys) != 1 || keys[0] != u.authorizedLine() {
		t.Fatalf("keys = %q, %v", keys, err)
	}
	if f.Auth()[0] != "" {
		t.Errorf("Authorization = %q without a token", f.Auth()[0])
	}
}

func TestGitHubAPIUserWithoutKeys(t *testing.T) {
	checkGoroutines(t)
	f := newFakeGitHub(t)
	f.SetKeys("nokeys")
	keys, err := newAPI(t, f, "").UserKeys(context.Background(), "nokeys")
	if err != nil || len(keys) != 0 {
		t.Fatalf("keys = %q, %v; want none and no error", keys, err)
	}
}

// TestGitHubAPIErrorsSayWhatToDo covers the ways the API fails; each
// error must name the user and suggest a next step.
func TestGitHubAPIErrorsSayWhatToDo(t *testing.T) {
	reset := time.Now().Add(17 * time.Minute).Unix()
	tests := []struct {
		name    string
		token   string
		timeout time.Duration
		handler http.HandlerFunc
		want    []string
	}{
		{
			name: "404",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(http.StatusNotFound)
				fmt.Fprint(w, `{"message":"Not Found"}`)
			},
			want: []string{`"ghost"`, "no such user (404)", "check the user name"},
		},
		{
			name: "500",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(http.StatusInternalServerError)
				fmt.Fprint(w, `{"message":"Server Error"}`)
			},
			want: []string{`"ghost"`, "the API failed (500)", "re-run the job later"},
		},
		{
			name: "rate limited without a token",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("X-RateLimit-Limit", "60")
				w.Header().Set("X-RateLimit-Remaining", "0")
				w.Header().Set("X-RateLimit-Reset", strconv.FormatInt(reset, 10))
				w.WriteHeader(http.StatusForbidden)
				fmt.Fprint(w, `{"message":"API rate limit exceeded for 203.0.113.9."}`)
			},
			want: []string{`"ghost"`, "rate limit exceeded", "resets at", "pass a token"},
		},
		{
			name:  "rate limited with a token",
			token: "t",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("X-RateLimit-Remaining", "0")
				w.Header().Set("X-RateLimit-Reset", strconv.FormatInt(reset, 10))
				w.WriteHeader(http.StatusForbidden)
				fmt.Fprint(w, `{"message":"API rate limit exceeded"}`)
			},
			want: []string{"rate limit exceeded", "after the limit resets"},
		},
		{
			name: "401",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(http.StatusUnauthorized)
				fmt.Fprint(w, `{"message":"Bad credentials"}`)
			},
			token: "bad",
			want:  []string{"token was refused (401)"},
		},
		{
			name: "malformed JSON",
			handler: func(w http.ResponseWriter, r *http.Request) {
				fmt.Fprint(w, `<html>captive portal</html>`)
			},
			want: []string{`"ghost"`, "not the JSON", "GITHUB_API_URL"},
		},
		{
			name: "wrong JSON shape",
			handler: func(w http.ResponseWriter, r *http.Request) {
				fmt.Fprint(w, `{"keys":"nope"}`)
			},
			want: []string{"not the JSON"},
		},
		{
			name:    "slow answer",
			timeout: 200 * time.Millisecond,
			handler: func(w http.ResponseWriter, r *http.Request) {
				// A server that does answer, much later: a client that
				// did not give up at its deadline gets keys, and no error.
				select {
				case <-r.Context().Done():
				case <-time.After(10 * time.Second):
					fmt.Fprint(w, `[{"id":1,"key":"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"}]`)
				}
			},
			want: []string{`"ghost"`, "no answer in time"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkGoroutines(t)
			f := newFakeGitHub(t)
			f.Mux.Handle("GET /users/ghost/keys", tt.handler)
			ctx := context.Background()
			if tt.timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tt.timeout)
				defer cancel()
			}
			keys, err := newAPI(t, f, tt.token).UserKeys(ctx, "ghost")
			if err == nil {
				t.Fatalf("no error; keys %q", keys)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestNewGitHubAPIRejectsBadURLs(t *testing.T) {
	for _, u := range []string{"ftp://example.com", "://bad"} {
		if _, err := NewGitHubAPI(u, "", nil); err == nil {
			t.Errorf("NewGitHubAPI(%q) accepted it", u)
		}
	}
}

func TestKeysURL(t *testing.T) {
	checkGoroutines(t)
	u := newTestUser(t, "carol")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/carol.keys":
			fmt.Fprintf(w, "%s\n\n# comment\n%s\n", u.authorizedLine(), "ssh-ed25519 AAAAsecond")
		case "/slow.keys":
			<-r.Context().Done()
		case "/broken.keys":
			w.WriteHeader(http.StatusBadGateway)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	tr := http.DefaultTransport.(*http.Transport).Clone()
	defer tr.CloseIdleConnections()
	src := KeysURL{Template: srv.URL + "/{user}.keys", Client: &http.Client{Transport: tr}}

	keys, err := src.UserKeys(context.Background(), "carol")
	if err != nil || len(keys) != 2 || keys[0] != u.authorizedLine() {
		t.Fatalf("keys = %q, %v", keys, err)
	}
	if _, err := src.UserKeys(context.Background(), "nobody"); err == nil || !strings.Contains(err.Error(), "no such user (404)") {
		t.Errorf("unknown user: %v", err)
	}
	if _, err := src.UserKeys(context.Background(), "broken"); err == nil || !strings.Contains(err.Error(), "502") {
		t.Errorf("502: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := src.UserKeys(ctx, "slow"); err == nil || !strings.Contains(err.Error(), "no answer in time") {
		t.Errorf("slow: %v", err)
	}
}

// TestKeysURLNeedsHTTPS: a key list fetched over plain http could be
// rewritten by anyone in the path, who would then hold a key that may
// log in. Only loopback hosts, where nobody is in the path, may use http.
func TestKeysURLNeedsHTTPS(t *testing.T) {
	for tmpl, ok := range map[string]bool{
		"https://gitlab.com/{user}.keys":       true,
		"HTTPS://gitlab.example/{user}.keys":   true,
		"http://127.0.0.1:8080/{user}.keys":    true,
		"http://127.1.2.3/{user}.keys":         true,
		"http://[::1]:3000/{user}.keys":        true,
		"http://localhost:3000/{user}.keys":    true,
		"http://gitlab.example/{user}.keys":    false,
		"http://10.0.0.5/{user}.keys":          false,
		"http://localhost.evil.example/{user}": false,
		"http://127.0.0.1.evil.example/{user}": false,
		"ftp://gitlab.example/{user}.keys":     false,
		"gitlab.example/{user}.keys":           false,
	} {
		err := CheckKeysURL(tmpl)
		if ok && err != nil {
			t.Errorf("%s: %v, want it accepted", tmpl, err)
		}
		if !ok && (err == nil || !strings.Contains(err.Error(), "https")) {
			t.Errorf("%s: %v, want an error asking for https", tmpl, err)
		}
	}

	// UserKeys itself refuses, without a request, and so do redirects
	// from an allowed URL to a plain http one elsewhere.
	asked := make(chan string, 10)
	tr := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		asked <- r.URL.String()
		return nil, errors.New("no network in this test")
	})
	src := KeysURL{Template: "http://gitlab.example/{user}.keys", Client: &http.Client{Transport: tr}}
	if _, err := src.UserKeys(context.Background(), "carol"); err == nil || !strings.Contains(err.Error(), "https") {
		t.Errorf("plain http: %v, want an error asking for https", err)
	}
	if len(asked) != 0 {
		t.Errorf("asked %s over plain http", <-asked)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://gitlab.example/carol.keys", http.StatusFound)
	}))
	defer srv.Close()
	plain := http.DefaultTransport.(*http.Transport).Clone()
	defer plain.CloseIdleConnections()
	src = KeysURL{Template: srv.URL + "/{user}.keys", Client: &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		if r.URL.Host != strings.TrimPrefix(srv.URL, "http://") {
			return tr(r)
		}
		return plain.RoundTrip(r)
	})}}
	if _, err := src.UserKeys(context.Background(), "carol"); err == nil || !strings.Contains(err.Error(), "https") {
		t.Errorf("redirect to plain http: %v, want an error asking for https", err)
	}
	if len(asked) != 0 {
		t.Errorf("followed the redirect to %s", <-asked)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
