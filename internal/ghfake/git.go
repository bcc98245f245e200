package ghfake

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// git runs git in the bare repository and returns its trimmed stdout.
func (s *Server) git(stdin []byte, env []string, args ...string) (string, error) {
	out, err := s.gitBytes(stdin, env, args...)
	return strings.TrimSpace(string(out)), err
}

// gitBytes runs git in the bare repository and returns its stdout as is.
func (s *Server) gitBytes(stdin []byte, env []string, args ...string) ([]byte, error) {
	cmd := exec.Command("git", args...)
	cmd.Dir = s.bare
	cmd.Env = append(os.Environ(), env...)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("git %s: %w: %s", strings.Join(args, " "), err, errb.String())
	}
	return out.Bytes(), nil
}

// initRepo makes the bare repository with one commit on main holding files.
func (s *Server) initRepo(files map[string]string) (string, error) {
	if out, err := exec.Command("git", "init", "-q", "--bare", "-b", "main", s.bare).CombinedOutput(); err != nil {
		return "", fmt.Errorf("git init: %w: %s", err, out)
	}
	return s.Commit("main", files, "initial commit")
}

// Commit commits files (slash-separated paths) on top of branch, creating
// the branch if needed, without running any workflow. It returns the
// commit's SHA.
func (s *Server) Commit(branch string, files map[string]string, msg string) (string, error) {
	s.gitMu.Lock()
	defer s.gitMu.Unlock()
	parent, _ := s.git(nil, nil, "rev-parse", "--verify", "-q", "refs/heads/"+branch)
	index := filepath.Join(s.dir, "index")
	env := []string{"GIT_INDEX_FILE=" + index}
	defer os.Remove(index)
	if parent != "" {
		if _, err := s.git(nil, env, "read-tree", parent); err != nil {
			return "", err
		}
	} else {
		os.Remove(index)
	}
	for path, content := range files {
		blob, err := s.git([]byte(content), nil, "hash-object", "-w", "--stdin")
		if err != nil {
			return "", err
		}
		if _, err := s.git(nil, env, "update-index", "--add", "--cacheinfo", "100644,"+blob+","+path); err != nil {
			return "", err
		}
	}
	tree, err := s.git(nil, env, "write-tree")
	if err != nil {
		return "", err
	}
	args := []string{"commit-tree", tree, "-m", msg}
	if parent != "" {
		args = append(args, "-p", parent)
	}
	sha, err := s.git(nil, commitEnv, args...)
	if err != nil {
		return "", err
	}
	if _, err := s.git(nil, nil, "update-ref", "refs/heads/"+branch, sha); err != nil {
		return "", err
	}
	return sha, nil
}

var commitEnv = []string{
	"GIT_AUTHOR_NAME=Octo Cat", "GIT_AUTHOR_EMAIL=octocat@example.com",
	"GIT_COMMITTER_NAME=Octo Cat", "GIT_COMMITTER_EMAIL=octocat@example.com",
}

// Branches lists the repository's branches.
func (s *Server) Branches() ([]string, error) {
	out, err := s.git(nil, nil, "for-each-ref", "--format=%(refname:short)", "refs/heads/")
	if err != nil || out == "" {
		return nil, err
	}
	return strings.Split(out, "\n"), nil
}

// BareRepo is the path of the bare repository, for a test's own clone.
func (s *Server) BareRepo() string { return s.bare }

// readFile returns a file's content at a commit, or ok=false.
func (s *Server) readFile(sha, path string) ([]byte, bool) {
	out, err := s.gitBytes(nil, nil, "cat-file", "blob", sha+":"+path)
	if err != nil {
		return nil, false
	}
	return out, true
}

// workflowFiles lists .github/workflows/*.y*ml at a commit.
func (s *Server) workflowFiles(sha string) []string {
	out, err := s.git(nil, nil, "ls-tree", "--name-only", sha, ".github/workflows/")
	if err != nil || out == "" {
		return nil
	}
	var files []string
	for _, f := range strings.Split(out, "\n") {
		if strings.HasSuffix(f, ".yml") || strings.HasSuffix(f, ".yaml") {
			files = append(files, f)
		}
	}
	return files
}

func encodeBase64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

// Push commits files on top of branch, as a git push of that commit would
// leave it, and starts the workflows that run on push. It returns the
// runs started, newest first.
func (s *Server) Push(branch string, files map[string]string, msg string) (string, error) {
	sha, err := s.Commit(branch, files, msg)
	if err != nil {
		return "", err
	}
	s.push(branch, sha)
	return sha, nil
}
