package ghrun

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// TestClientKeepsTheTokenOnItsHost: the user's token goes through
// forge's guarded client: a redirect to another host, or to plain http,
// is refused before the other server sees a request, and an http API
// URL is only taken for loopback.
func TestClientKeepsTheTokenOnItsHost(t *testing.T) {
	var mu sync.Mutex
	var got []string
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = append(got, r.URL.Path+" "+r.Header.Get("Authorization"))
		mu.Unlock()
	}))
	t.Cleanup(other.Close)
	api := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+r.URL.Path, http.StatusFound)
	}))
	t.Cleanup(api.Close)
	c, err := NewClient(api.URL+"/api/v3", "ghp_secret", Repo{Host: "ghe.example.com", Owner: "octo", Name: "app"}, api.Client())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.getRun(context.Background(), 7); err == nil || !strings.Contains(err.Error(), "refusing a redirect") {
		t.Errorf("got %v; want the redirect refused", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 0 {
		t.Errorf("the other server got %q", got)
	}
	if _, err := NewClient("http://ghe.example.com/api/v3", "ghp_secret", Repo{}, nil); err == nil || !strings.Contains(err.Error(), "is not https") {
		t.Errorf("an http API URL elsewhere than loopback: %v", err)
	}
}
