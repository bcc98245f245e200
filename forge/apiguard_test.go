package forge

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// requestLog is a server that records every request it gets, with the
// Authorization header, and answers with an empty key list.
type requestLog struct {
	srv *httptest.Server
	mu  sync.Mutex
	got []string // "URL Authorization"
}

func newRequestLog(t *testing.T, tls bool) *requestLog {
	l := &requestLog{}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		l.mu.Lock()
		l.got = append(l.got, r.URL.String()+" "+r.Header.Get("Authorization"))
		l.mu.Unlock()
		fmt.Fprint(w, `[{"id":1,"key":"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHf6AkEJRSwUEwmIYw2TF7UdE5lb6gMKr5Jpq4lsDpq6"}]`)
	})
	if tls {
		l.srv = httptest.NewTLSServer(h)
	} else {
		l.srv = httptest.NewServer(h)
	}
	t.Cleanup(l.srv.Close)
	return l
}

func (l *requestLog) requests() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.got...)
}

// TestGitHubAPIRefusesRedirectsElsewhere: a redirect to another host, or
// from https to http, fails the lookup, and the token never reaches the
// other server (its request log is empty).
func TestGitHubAPIRefusesRedirectsElsewhere(t *testing.T) {
	for _, tt := range []struct {
		name     string
		otherTLS bool
	}{{"another host", true}, {"plain http", false}} {
		t.Run(tt.name, func(t *testing.T) {
			other := newRequestLog(t, tt.otherTLS)
			api := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, other.srv.URL+r.URL.Path, http.StatusFound)
			}))
			t.Cleanup(api.Close)
			hc := api.Client()
			if tt.otherTLS {
				hc.Transport.(*http.Transport).TLSClientConfig.RootCAs.AddCert(other.srv.Certificate())
			}
			g, err := NewGitHubAPI(api.URL, "ghs_secret", hc)
			if err != nil {
				t.Fatal(err)
			}
			keys, err := g.UserKeys(context.Background(), "alice")
			if err == nil || !strings.Contains(err.Error(), "refusing a redirect") {
				t.Errorf("keys %q, error %v; want the redirect refused", keys, err)
			}
			if got := other.requests(); len(got) != 0 {
				t.Errorf("the other server got %q", got)
			}
		})
	}
}

// TestGitHubAPIFollowsRedirectsOnItsHost: a redirect within the API's own
// host is followed, with the token.
func TestGitHubAPIFollowsRedirectsOnItsHost(t *testing.T) {
	l := newRequestLog(t, false)
	mux := http.NewServeMux()
	mux.HandleFunc("/api/users/alice/keys", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/moved/keys", http.StatusMovedPermanently)
	})
	mux.Handle("/moved/", l.srv.Config.Handler)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	g, err := NewGitHubAPI(srv.URL+"/api", "ghs_secret", nil)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := g.UserKeys(context.Background(), "alice")
	if err != nil || len(keys) != 1 {
		t.Fatalf("keys %q, %v", keys, err)
	}
	if got := l.requests(); len(got) != 1 || !strings.HasSuffix(got[0], "Bearer ghs_secret") {
		t.Errorf("requests after the redirect: %q", got)
	}
}

// TestNewGitHubAPIRefusesPlainHTTPElsewhere: an http API URL is only
// accepted for a loopback host.
func TestNewGitHubAPIRefusesPlainHTTPElsewhere(t *testing.T) {
	if _, err := NewGitHubAPI("http://ghe.example.com/api/v3", "t", nil); err == nil || !strings.Contains(err.Error(), "is not https") {
		t.Errorf("http to another host: %v", err)
	}
	for _, u := range []string{"http://127.0.0.1:8080/api", "http://localhost/api", "http://[::1]:1/", "https://ghe.example.com/api/v3"} {
		if _, err := NewGitHubAPI(u, "t", nil); err != nil {
			t.Errorf("%s: %v", u, err)
		}
	}
}

// TestGitHubAPIAnswerCap: an answer larger than maxAPIAnswer fails the
// lookup, whether its length is announced or not.
func TestGitHubAPIAnswerCap(t *testing.T) {
	for _, announce := range []bool{true, false} {
		t.Run(fmt.Sprintf("content-length %v", announce), func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				const size = 100 << 20
				if announce {
					w.Header().Set("Content-Length", fmt.Sprint(size+2))
				}
				w.Write([]byte(`["`))        //nolint:errcheck // test server
				io.CopyN(w, letters{}, size) //nolint:errcheck // the client hangs up
			}))
			t.Cleanup(srv.Close)
			g, err := NewGitHubAPI(srv.URL, "", nil)
			if err != nil {
				t.Fatal(err)
			}
			_, err = g.UserKeys(context.Background(), "alice")
			if err == nil || !strings.Contains(err.Error(), "larger than 1048576 bytes") {
				t.Errorf("error %v, want the answer refused as too large", err)
			}
		})
	}
}

// TestKeysURLAnswerCap: a key list larger than maxKeysBody fails rather
// than being cut, perhaps in the middle of a key.
func TestKeysURLAnswerCap(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(w, strings.NewReader(strings.Repeat("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHf6AkEJRSwUEwmIYw2TF7UdE5lb6gMKr5Jpq4lsDpq6\n", 20000))) //nolint:errcheck // test server
	}))
	t.Cleanup(srv.Close)
	_, err := KeysURL{Template: srv.URL + "/{user}.keys"}.UserKeys(context.Background(), "alice")
	if err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("error %v, want the list refused as too large", err)
	}
}

// letters reads as an endless run of "A".
type letters struct{}

func (letters) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'A'
	}
	return len(p), nil
}

// TestRepoPermissionAnswerCap: the permission answer is capped too.
func TestRepoPermissionAnswerCap(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"permission":"admin","padding":"`)) //nolint:errcheck // test server
		io.CopyN(w, letters{}, 2*maxAPIAnswer)               //nolint:errcheck // the client hangs up
	}))
	t.Cleanup(srv.Close)
	g, err := NewGitHubAPI(srv.URL, "ghs_secret", nil)
	if err != nil {
		t.Fatal(err)
	}
	if p, err := g.RepoPermission(context.Background(), "octo-org/app", "alice"); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("permission %q, error %v; want the answer refused as too large", p, err)
	}
}

// TestHTTPClientTimesOut: an API that stops answering mid-body fails the
// request after the client's timeout rather than hanging the caller; the
// body counts, not only the headers.
func TestHTTPClientTimesOut(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, "[")
		w.(http.Flusher).Flush()
		<-r.Context().Done() // the client gave up
	}))
	t.Cleanup(srv.Close)
	hc, _, err := HTTPClient(srv.URL+"/api", &http.Client{Timeout: 50 * time.Millisecond}, MaxAnswer)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := hc.Get(srv.URL + "/api/users/alice/keys")
	if err == nil {
		_, err = io.ReadAll(resp.Body)
		resp.Body.Close()
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("got %v; want the deadline exceeded", err)
	}
}
