package ghfake

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/google/go-github/v62/github"
)

// The app GitHub names as the author of check runs made with a job's
// GITHUB_TOKEN.
var actionsApp = &github.App{ID: github.Int64(15368), Slug: github.String("github-actions"), Name: github.String("GitHub Actions")}

func (s *Server) createCheckRun(w http.ResponseWriter, r *http.Request, user bool) {
	if user {
		// Only GitHub Apps (and a job's token) may create check runs.
		writeError(w, http.StatusForbidden, "You must authenticate via a GitHub App.")
		return
	}
	if s.o.NoChecksWrite {
		writeError(w, http.StatusForbidden, "Resource not accessible by integration")
		return
	}
	var o github.CreateCheckRunOptions
	if err := json.NewDecoder(r.Body).Decode(&o); err != nil || o.Name == "" || o.HeadSHA == "" {
		writeError(w, http.StatusUnprocessableEntity, "name and head_sha are required")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nextID++
	now := github.Timestamp{Time: time.Now().UTC()}
	cr := &github.CheckRun{
		ID: github.Int64(s.nextID), Name: github.String(o.Name), HeadSHA: github.String(o.HeadSHA),
		Status: github.String("queued"), App: actionsApp, StartedAt: &now, Output: o.Output, ExternalID: o.ExternalID,
	}
	if o.Status != nil {
		cr.Status = o.Status
	}
	cr.Conclusion = o.Conclusion
	s.checkRuns = append(s.checkRuns, cr)
	writeJSON(w, http.StatusCreated, cr)
}

func (s *Server) updateCheckRun(w http.ResponseWriter, r *http.Request, user bool) {
	if user {
		writeError(w, http.StatusForbidden, "You must authenticate via a GitHub App.")
		return
	}
	var o github.UpdateCheckRunOptions
	if err := json.NewDecoder(r.Body).Decode(&o); err != nil {
		writeError(w, http.StatusUnprocessableEntity, "Problems parsing JSON")
		return
	}
	id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, cr := range s.checkRuns {
		if cr.GetID() == id {
			if o.Status != nil {
				cr.Status = o.Status
			}
			if o.Conclusion != nil {
				cr.Conclusion = o.Conclusion
			}
			if o.Output != nil {
				cr.Output = o.Output
			}
			writeJSON(w, http.StatusOK, cr)
			return
		}
	}
	writeError(w, http.StatusNotFound, "Not Found")
}

func (s *Server) listCheckRuns(w http.ResponseWriter, r *http.Request, user bool) {
	ref := r.PathValue("ref")
	sha, err := s.git(nil, nil, "rev-parse", "--verify", "-q", ref+"^{commit}")
	if err != nil {
		writeError(w, http.StatusNotFound, "No commit found for SHA: "+ref)
		return
	}
	name := r.URL.Query().Get("check_name")
	s.mu.Lock()
	defer s.mu.Unlock()
	res := &github.ListCheckRunsResults{CheckRuns: []*github.CheckRun{}}
	for i := len(s.checkRuns) - 1; i >= 0; i-- {
		cr := s.checkRuns[i]
		if cr.GetHeadSHA() == sha && (name == "" || cr.GetName() == name) {
			c := *cr
			res.CheckRuns = append(res.CheckRuns, &c)
		}
	}
	res.Total = github.Int(len(res.CheckRuns))
	writeJSON(w, http.StatusOK, res)
}

// AddCheckRun stores a check run as if another app had made it, for
// tests of what the CLI accepts.
func (s *Server) AddCheckRun(cr *github.CheckRun) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.checkRuns = append(s.checkRuns, cr)
}
