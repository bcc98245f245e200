package local

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/pitstopci/pitstop/workflows"
)

// RepoRoot returns the repository that contains dir: the nearest parent
// (or dir itself) holding .git, else dir. act copies this directory into
// the job's workspace.
func RepoRoot(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("find repository: %w", err)
	}
	for d := abs; ; {
		if _, err := os.Stat(filepath.Join(d, ".git")); err == nil {
			return d, nil
		}
		parent := filepath.Dir(d)
		if parent == d {
			return abs, nil
		}
		d = parent
	}
}

// FindWorkflow picks the workflow under root/.github/workflows that defines
// job, for when no -W was given. Exactly one file must have it; otherwise
// the error lists what there is, so the user can pass -W.
func FindWorkflow(root, job string) (string, error) {
	dir := filepath.Join(root, ".github", "workflows")
	var files []string
	for _, pat := range []string{"*.yml", "*.yaml"} {
		m, err := filepath.Glob(filepath.Join(dir, pat))
		if err != nil {
			return "", fmt.Errorf("list workflows: %w", err)
		}
		files = append(files, m...)
	}
	sort.Strings(files)
	if len(files) == 0 {
		return "", fmt.Errorf("no workflow files in %s; name one with -W", dir)
	}
	if job == "" {
		if len(files) == 1 {
			return files[0], nil
		}
		return "", fmt.Errorf("%d workflow files in %s; name one with -W, or the job with --job", len(files), dir)
	}
	var with []string
	var jobsByFile []string
	for _, f := range files {
		ids, err := jobIDs(f)
		if err != nil {
			// A broken file elsewhere in the folder is not the user's
			// concern now, unless nothing else matches (reported below).
			jobsByFile = append(jobsByFile, fmt.Sprintf("  %s: %v", rel(root, f), err))
			continue
		}
		for _, id := range ids {
			if id == job {
				with = append(with, f)
			}
		}
		jobsByFile = append(jobsByFile, fmt.Sprintf("  %s: %s", rel(root, f), strings.Join(ids, ", ")))
	}
	switch len(with) {
	case 1:
		return with[0], nil
	case 0:
		return "", fmt.Errorf("no workflow in %s has a job %q; the jobs are:\n%s", dir, job, strings.Join(jobsByFile, "\n"))
	default:
		names := make([]string, len(with))
		for i, f := range with {
			names[i] = rel(root, f)
		}
		return "", fmt.Errorf("job %q is in %d workflows (%s); choose one with -W", job, len(with), strings.Join(names, ", "))
	}
}

func jobIDs(file string) ([]string, error) {
	src, err := workflows.ReadFile(file)
	if err != nil {
		return nil, err
	}
	wf, err := workflows.Parse(file, src)
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(wf.Jobs))
	for i, j := range wf.Jobs {
		ids[i] = j.ID
	}
	return ids, nil
}

func rel(root, path string) string {
	if r, err := filepath.Rel(root, path); err == nil && !strings.HasPrefix(r, "..") {
		return r
	}
	return path
}

// IdentityFiles returns the private keys next to the ~/.ssh/*.pub files
// under home, the keys whose public halves pitstop authorizes. ssh is given them with -i when
// pitstop act connects: ssh looks for its default keys in the home
// directory of the passwd entry, not in $HOME, and never tries a key with
// a name of its own (~/.ssh/work) unless told to.
func IdentityFiles(home string) []string {
	pubs, _ := filepath.Glob(filepath.Join(home, ".ssh", "*.pub"))
	sort.Strings(pubs)
	var files []string
	for _, pub := range pubs {
		priv := strings.TrimSuffix(pub, ".pub")
		if fi, err := os.Stat(priv); err == nil && fi.Mode().IsRegular() {
			files = append(files, priv)
		}
	}
	return files
}
