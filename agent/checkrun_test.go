package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-github/v62/github"
	"github.com/rs/zerolog"

	"github.com/pitstopci/pitstop/internal/wire"
)

// TestCheckRun: on GitHub with a token, the pause is published as a check
// run on the head commit with everything needed to connect, and marked
// completed when the pause ends; a refusal only warns.
func TestCheckRun(t *testing.T) {
	var mu sync.Mutex
	var got []string
	var created github.CreateCheckRunOptions
	status := http.StatusCreated
	mux := http.NewServeMux()
	mux.HandleFunc("/api/v3/repos/octo/app/check-runs", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, r.Method+" "+r.Header.Get("Authorization"))
		_ = json.NewDecoder(r.Body).Decode(&created)
		if status != http.StatusCreated {
			http.Error(w, `{"message":"Resource not accessible by integration"}`, status)
			return
		}
		w.WriteHeader(status)
		_, _ = w.Write([]byte(`{"id": 42, "name": "pitstop: build"}`))
	})
	mux.HandleFunc("PATCH /api/v3/repos/octo/app/check-runs/42", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		var u map[string]any
		_ = json.NewDecoder(r.Body).Decode(&u)
		got = append(got, "PATCH "+u["status"].(string)+" "+u["conclusion"].(string)+" "+u["name"].(string))
		_, _ = w.Write([]byte(`{"id": 42}`))
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	var log bytes.Buffer
	cfg := Config{
		Token: "ghs_job", APIURL: srv.URL + "/api/v3", Label: "build after step 1", Log: zerolog.New(&log),
		Env: []string{"GITHUB_ACTIONS=true", "GITHUB_REPOSITORY=octo/app", "GITHUB_SHA=abc123", "GITHUB_RUN_ID=77", "GITHUB_JOB=build"},
	}
	ready := Ready{Address: "203.0.113.7:2222", User: "runner", SSHCommand: "ssh -p 2222 runner@203.0.113.7",
		KnownHosts: "[203.0.113.7]:2222 ssh-ed25519 AAAA", HostKeyFingerprint: "SHA256:xyz"}
	cr := publishCheckRun(context.Background(), cfg, ReadJob(cfg.Env), ready)
	if cr == nil {
		t.Fatalf("no check run published; log:\n%s", log.String())
	}
	var info wire.CheckRunInfo
	if err := json.Unmarshal([]byte(created.Output.GetText()), &info); err != nil {
		t.Fatal(err)
	}
	if created.Name != "pitstop: build" || created.HeadSHA != "abc123" || created.GetStatus() != "in_progress" ||
		info.RunID != "77" || info.Job != "build" || info.KnownHosts != ready.KnownHosts || info.Address != ready.Address {
		t.Errorf("created %+v with %+v", created, info)
	}
	cr.finish(cfg, EndShellsExited)
	mu.Lock()
	if len(got) != 2 || got[0] != "POST Bearer ghs_job" || got[1] != "PATCH completed neutral pitstop: build" {
		t.Errorf("requests: %q", got)
	}
	status, got = http.StatusForbidden, nil
	mu.Unlock()

	// Without checks: write the pause goes on, with a warning.
	if publishCheckRun(context.Background(), cfg, ReadJob(cfg.Env), ready) != nil || !strings.Contains(log.String(), "grant the job checks: write") {
		t.Errorf("a refused check run should only warn; log:\n%s", log.String())
	}
	// Outside GitHub Actions, or without a token, nothing is asked.
	for _, c := range []Config{{Token: "", APIURL: cfg.APIURL, Env: cfg.Env}, {Token: "t", APIURL: cfg.APIURL, Env: cfg.Env[1:]}} {
		if publishCheckRun(context.Background(), c, ReadJob(c.Env), ready) != nil {
			t.Error("published without a token or outside GitHub Actions")
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 1 {
		t.Errorf("requests after the first pause: %q, want only the refused one", got)
	}
}
