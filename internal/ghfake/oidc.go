package ghfake

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/hex"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/pitstopci/pitstop/workflows"
)

// The fake's token service stands in for GitHub Enterprise Server's: its
// issuer is SERVER/_services/token, with the discovery document and key
// set go-oidc reads, and jobs whose workflow grants id-token: write get
// ACTIONS_ID_TOKEN_REQUEST_URL and ACTIONS_ID_TOKEN_REQUEST_TOKEN as the
// runner sets them, and tokens signed by it (RS256, as GitHub signs).

const (
	issuerPath  = "/_services/token"
	requestPath = "/_services/pipelines/idtoken"
	keyID       = "ghfake-1"
)

// signer holds the token service's key, made on first use.
type signer struct {
	once sync.Once
	key  *rsa.PrivateKey
	sig  jose.Signer
	err  error
}

func (s *signer) get() (jose.Signer, *rsa.PrivateKey, error) {
	s.once.Do(func() {
		if s.key, s.err = rsa.GenerateKey(rand.Reader, 2048); s.err != nil {
			return
		}
		s.sig, s.err = jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: s.key, KeyID: keyID}},
			(&jose.SignerOptions{}).WithType("JWT"))
	})
	return s.sig, s.key, s.err
}

// Issuer is the token service's issuer URL, as proof.Issuer derives it
// from URL.
func (s *Server) Issuer() string { return s.srv.URL + issuerPath }

// MintIDToken signs claims as the token service does, for tests that
// need a token GitHub would sign for someone else (another run, an
// expired one). It panics if no key can be made.
func (s *Server) MintIDToken(claims map[string]any) string {
	sig, _, err := s.oidc.get()
	if err != nil {
		panic(err)
	}
	raw, err := jwt.Signed(sig).Claims(claims).Serialize()
	if err != nil {
		panic(err)
	}
	return raw
}

// JobClaims are the claims of a token for job jobID of run runID (attempt
// 1), with audience, valid for the next hour.
func (s *Server) JobClaims(runID, jobID int64, audience string) map[string]any {
	now := time.Now()
	return map[string]any{
		"iss": s.Issuer(), "aud": audience, "sub": "repo:" + s.o.Owner + "/" + s.o.Repo + ":ref:refs/heads/main",
		"iat": now.Unix(), "nbf": now.Add(-time.Minute).Unix(), "exp": now.Add(time.Hour).Unix(),
		"repository": s.o.Owner + "/" + s.o.Repo, "repository_owner": s.o.Owner, "actor": s.o.Actor,
		"run_id": strconv.FormatInt(runID, 10), "run_attempt": "1", "check_run_id": strconv.FormatInt(jobID, 10),
		"runner_environment": "self-hosted",
	}
}

func (s *Server) oidcRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET "+issuerPath+"/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{
			"issuer": s.Issuer(), "jwks_uri": s.Issuer() + "/.well-known/jwks",
			"subject_types_supported": []string{"public", "pairwise"}, "response_types_supported": []string{"id_token"},
			"claims_supported":                      []string{"sub", "aud", "exp", "iat", "iss", "repository", "run_id", "run_attempt", "check_run_id"},
			"id_token_signing_alg_values_supported": []string{"RS256"}, "scopes_supported": []string{"openid"},
		})
	})
	mux.HandleFunc("GET "+issuerPath+"/.well-known/jwks", func(w http.ResponseWriter, r *http.Request) {
		_, key, err := s.oidc.get()
		if err != nil {
			writeError(w, http.StatusInternalServerError, err.Error())
			return
		}
		writeJSON(w, http.StatusOK, jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: keyID, Algorithm: "RS256", Use: "sig"}}})
	})
	mux.HandleFunc("GET "+requestPath, s.mintForJob)
}

// mintForJob answers a job's token request. The request token names the
// run; the job is the run's one job in progress (act runs the fake's jobs
// one at a time, and a request from another would be ambiguous, so it is
// refused rather than guessed).
func (s *Server) mintForJob(w http.ResponseWriter, r *http.Request) {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "bearer ")
	if !ok {
		tok, _ = strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	}
	aud := r.URL.Query().Get("audience")
	s.mu.Lock()
	var run *run
	for _, c := range s.runs {
		if c.idToken != "" && c.idToken == tok {
			run = c
		}
	}
	var jobs []*job
	if run != nil {
		for _, j := range run.jobs {
			if j.status == "in_progress" {
				jobs = append(jobs, j)
			}
		}
	}
	s.mu.Unlock()
	switch {
	case run == nil:
		writeError(w, http.StatusUnauthorized, "Bad credentials")
	case len(jobs) != 1:
		writeError(w, http.StatusConflict, "ghfake: "+strconv.Itoa(len(jobs))+" jobs in progress; cannot tell whose token this is")
	case !jobs[0].idTokenWrite:
		writeError(w, http.StatusForbidden, "the job lacks permissions: id-token: write")
	case aud == "":
		writeError(w, http.StatusBadRequest, "audience is required")
	default:
		writeJSON(w, http.StatusOK, map[string]any{"count": 1, "value": s.MintIDToken(s.JobClaims(run.id, jobs[0].id, aud))})
	}
}

// idTokenEnv is what act passes the jobs of r so that they can request
// tokens, as the runner sets it for a job with id-token: write; nothing
// when no job of r has it, or the server was told to grant none.
func (s *Server) idTokenEnv(r *run) []string {
	granted := false
	for _, j := range r.jobs {
		granted = granted || j.idTokenWrite
	}
	if !granted || s.o.NoIDToken {
		return nil
	}
	var b [16]byte
	_, _ = rand.Read(b[:])
	s.mu.Lock()
	r.idToken = "ghfake_idtoken_" + hex.EncodeToString(b[:])
	tok := r.idToken
	s.mu.Unlock()
	return []string{
		"--env", "ACTIONS_ID_TOKEN_REQUEST_URL=" + s.srv.URL + requestPath + "?api-version=2.0",
		"--env", "ACTIONS_ID_TOKEN_REQUEST_TOKEN=" + tok,
	}
}

// grantsIDToken reports whether job j of wf has id-token: write: in its
// own permissions, else the workflow's ("write-all" too). The default
// permissions never include it.
func grantsIDToken(wf *workflows.Workflow, j *workflows.Job) bool {
	p := j.Permissions
	if p == nil {
		p = wf.Permissions
	}
	return p != nil && (p.All == "write-all" || p.Level("id-token") == "write")
}
