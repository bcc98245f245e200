package ghfake

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/google/go-github/v62/github"
)

func (s *Server) getRef(w http.ResponseWriter, r *http.Request, user bool) {
	ref := "refs/" + r.PathValue("ref")
	sha, err := s.git(nil, nil, "rev-parse", "--verify", "-q", ref)
	if err != nil || sha == "" {
		writeError(w, http.StatusNotFound, "Not Found")
		return
	}
	writeJSON(w, http.StatusOK, &github.Reference{Ref: github.String(ref), Object: &github.GitObject{Type: github.String("commit"), SHA: github.String(sha)}})
}

func (s *Server) getCommit(w http.ResponseWriter, r *http.Request, user bool) {
	sha := r.PathValue("sha")
	tree, err := s.git(nil, nil, "rev-parse", "--verify", "-q", sha+"^{tree}")
	if err != nil {
		writeError(w, http.StatusNotFound, "Not Found")
		return
	}
	full, _ := s.git(nil, nil, "rev-parse", sha+"^{commit}")
	msg, _ := s.git(nil, nil, "log", "-1", "--format=%B", full)
	c := &github.Commit{SHA: github.String(full), Tree: &github.Tree{SHA: github.String(tree)}, Message: github.String(msg)}
	if parents, err := s.git(nil, nil, "log", "-1", "--format=%P", full); err == nil && parents != "" {
		for _, p := range strings.Fields(parents) {
			c.Parents = append(c.Parents, &github.Commit{SHA: github.String(p)})
		}
	}
	writeJSON(w, http.StatusOK, c)
}

func (s *Server) createTree(w http.ResponseWriter, r *http.Request, user bool) {
	var body struct {
		BaseTree string              `json:"base_tree"`
		Tree     []*github.TreeEntry `json:"tree"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		writeError(w, http.StatusBadRequest, "Problems parsing JSON")
		return
	}
	s.gitMu.Lock()
	defer s.gitMu.Unlock()
	index := filepath.Join(s.dir, "tree-index")
	defer os.Remove(index)
	env := []string{"GIT_INDEX_FILE=" + index}
	os.Remove(index)
	if body.BaseTree != "" {
		if _, err := s.git(nil, env, "read-tree", body.BaseTree); err != nil {
			writeError(w, http.StatusUnprocessableEntity, "base_tree is not a valid tree")
			return
		}
	}
	for _, e := range body.Tree {
		if e.Content == nil || e.GetType() != "blob" || e.GetMode() != "100644" {
			writeError(w, http.StatusUnprocessableEntity, "this fake takes only blob entries with content and mode 100644")
			return
		}
		blob, err := s.git([]byte(e.GetContent()), nil, "hash-object", "-w", "--stdin")
		if err == nil {
			_, err = s.git(nil, env, "update-index", "--add", "--cacheinfo", "100644,"+blob+","+e.GetPath())
		}
		if err != nil {
			writeError(w, http.StatusUnprocessableEntity, err.Error())
			return
		}
	}
	tree, err := s.git(nil, env, "write-tree")
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	writeJSON(w, http.StatusCreated, &github.Tree{SHA: github.String(tree)})
}

func (s *Server) createCommit(w http.ResponseWriter, r *http.Request, user bool) {
	var body struct {
		Message string   `json:"message"`
		Tree    string   `json:"tree"`
		Parents []string `json:"parents"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil || body.Tree == "" || body.Message == "" {
		writeError(w, http.StatusUnprocessableEntity, "message and tree are required")
		return
	}
	args := []string{"commit-tree", body.Tree, "-m", body.Message}
	for _, p := range body.Parents {
		args = append(args, "-p", p)
	}
	sha, err := s.git(nil, commitEnv, args...)
	if err != nil {
		writeError(w, http.StatusUnprocessableEntity, err.Error())
		return
	}
	writeJSON(w, http.StatusCreated, &github.Commit{SHA: github.String(sha), Tree: &github.Tree{SHA: github.String(body.Tree)}})
}

// mayWriteWorkflows applies GitHub's rule: a ref update that changes a
// workflow file needs the workflow scope (classic tokens) or Workflows:
// write (fine-grained ones).
func (s *Server) mayWriteWorkflows(r *http.Request) bool {
	tok := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	scopes := s.o.Tokens[tok]
	if scopes == "-" {
		return slices.Contains(s.o.WorkflowWrite, tok)
	}
	for _, sc := range strings.Split(scopes, ",") {
		if strings.TrimSpace(sc) == "workflow" {
			return true
		}
	}
	return false
}

func (s *Server) createRef(w http.ResponseWriter, r *http.Request, user bool) {
	var body struct {
		Ref string `json:"ref"`
		SHA string `json:"sha"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil || !strings.HasPrefix(body.Ref, "refs/heads/") || body.SHA == "" {
		writeError(w, http.StatusUnprocessableEntity, "ref must start with refs/heads/ and sha is required")
		return
	}
	if old, _ := s.git(nil, nil, "rev-parse", "--verify", "-q", body.Ref); old != "" {
		writeError(w, http.StatusUnprocessableEntity, "Reference already exists")
		return
	}
	changed, err := s.git(nil, nil, "diff-tree", "--no-commit-id", "--name-only", "-r", "--root", body.SHA)
	if err != nil {
		writeError(w, http.StatusUnprocessableEntity, "Object does not exist")
		return
	}
	for _, f := range strings.Split(changed, "\n") {
		if strings.HasPrefix(f, ".github/workflows/") && user && !s.mayWriteWorkflows(r) {
			writeError(w, http.StatusForbidden, fmt.Sprintf("refusing to allow a Personal Access Token to create or update workflow `%s` without `workflow` scope", f))
			return
		}
	}
	if _, err := s.git(nil, nil, "update-ref", body.Ref, body.SHA, ""); err != nil {
		writeError(w, http.StatusUnprocessableEntity, err.Error())
		return
	}
	branch := strings.TrimPrefix(body.Ref, "refs/heads/")
	s.push(branch, body.SHA)
	writeJSON(w, http.StatusCreated, &github.Reference{Ref: github.String(body.Ref), Object: &github.GitObject{Type: github.String("commit"), SHA: github.String(body.SHA)}})
}

func (s *Server) deleteRef(w http.ResponseWriter, r *http.Request, user bool) {
	ref := "refs/" + r.PathValue("ref")
	if old, _ := s.git(nil, nil, "rev-parse", "--verify", "-q", ref); old == "" {
		writeError(w, http.StatusUnprocessableEntity, "Reference does not exist")
		return
	}
	if _, err := s.git(nil, nil, "update-ref", "-d", ref); err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	s.mu.Lock()
	s.deleted = append(s.deleted, strings.TrimPrefix(ref, "refs/heads/"))
	s.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

// Deleted lists the branches deleted through the API.
func (s *Server) Deleted() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.deleted...)
}

func (s *Server) getContents(w http.ResponseWriter, r *http.Request, user bool) {
	ref := r.URL.Query().Get("ref")
	if ref == "" {
		ref = "main"
	}
	path := r.PathValue("path")
	data, ok := s.readFile(ref, path)
	if !ok {
		writeError(w, http.StatusNotFound, "Not Found")
		return
	}
	writeJSON(w, http.StatusOK, &github.RepositoryContent{
		Type: github.String("file"), Encoding: github.String("base64"), Path: github.String(path),
		Name: github.String(filepath.Base(path)), Size: github.Int(len(data)),
		Content: github.String(encodeBase64(data)),
	})
}
