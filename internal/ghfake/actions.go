package ghfake

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/go-github/v62/github"

	"github.com/pitstopci/pitstop/workflows"
)

// run is one workflow run: one act process.
type run struct {
	id                      int64
	sha, branch, path, name string
	status, conclusion      string
	created, updated        time.Time
	jobs                    []*job
	cancelled               bool
	idToken                 string // the jobs' ACTIONS_ID_TOKEN_REQUEST_TOKEN; "" for none
	cancelOnce              sync.Once
	cancelCh, done          chan struct{}
}

type job struct {
	id                 int64
	key, name          string
	status, conclusion string
	idTokenWrite       bool // the job has permissions: id-token: write
	started, completed time.Time
	steps              []*github.TaskStep
	annotations        []*github.CheckRunAnnotation
	// byActID maps act's stepID (the step's id:, else its index) to
	// the step's index in steps.
	byActID map[string]int
}

func (r *run) cancel() { r.cancelOnce.Do(func() { close(r.cancelCh) }) }

// stepName is the name GitHub shows for a step.
func stepName(st *workflows.Step) string {
	switch {
	case st.Name != "":
		return st.Name
	case st.Uses != "":
		return "Run " + st.Uses
	default:
		line, _, _ := strings.Cut(strings.TrimSpace(st.Run), "\n")
		return "Run " + line
	}
}

// push starts a run for every workflow at sha that runs on push.
func (s *Server) push(branch, sha string) {
	for _, path := range s.workflowFiles(sha) {
		src, ok := s.readFile(sha, path)
		if !ok {
			continue
		}
		wf, err := workflows.Parse(path, src)
		if err != nil {
			s.o.Log("ghfake: %s: %v", path, err)
			continue
		}
		if !wf.HasEvent("push") {
			continue
		}
		s.mu.Lock()
		s.nextID++
		now := time.Now().UTC()
		r := &run{id: s.nextID, sha: sha, branch: branch, path: path, name: wf.Name, status: "queued",
			created: now, updated: now, cancelCh: make(chan struct{}), done: make(chan struct{})}
		if r.name == "" {
			r.name = path
		}
		for _, j := range wf.Jobs {
			s.nextID++
			name := j.Name
			if name == "" {
				name = j.ID
			}
			jb := &job{id: s.nextID, key: j.ID, name: name, status: "queued", byActID: map[string]int{}, idTokenWrite: grantsIDToken(wf, j)}
			add := func(n string) {
				jb.steps = append(jb.steps, &github.TaskStep{Name: github.String(n), Status: github.String("queued"), Number: github.Int64(int64(len(jb.steps) + 1))})
			}
			add("Set up job")
			for i, st := range j.Steps {
				key := strconv.Itoa(i)
				if st.ID != "" {
					key = st.ID
				}
				jb.byActID[key] = len(jb.steps)
				add(stepName(st))
			}
			add("Complete job")
			r.jobs = append(r.jobs, jb)
		}
		s.runs = append(s.runs, r)
		s.mu.Unlock()
		go s.execute(r)
	}
}

// execute runs act for r and keeps r's state in step with act's log.
func (s *Server) execute(r *run) {
	defer close(r.done)
	finish := func(conclusion string) {
		s.mu.Lock()
		defer s.mu.Unlock()
		now := time.Now().UTC()
		r.status, r.updated = "completed", now
		if r.cancelled {
			conclusion = "cancelled"
		}
		r.conclusion = conclusion
		for _, j := range r.jobs {
			if j.status != "completed" {
				j.status, j.completed = "completed", now
				j.conclusion = conclusion
				if j.started.IsZero() {
					j.conclusion = "skipped"
				}
			}
			for _, st := range j.steps {
				if st.GetStatus() != "completed" {
					st.Status, st.Conclusion = github.String("completed"), github.String("skipped")
				}
			}
		}
	}
	if s.o.QueueDelay != 0 {
		var wait <-chan time.Time
		if s.o.QueueDelay > 0 {
			wait = time.After(s.o.QueueDelay)
		}
		select {
		case <-wait:
		case <-r.cancelCh:
			s.mu.Lock()
			r.cancelled = true
			s.mu.Unlock()
			finish("cancelled")
			return
		}
	}
	work := filepath.Join(s.dir, fmt.Sprintf("run-%d", r.id))
	defer os.RemoveAll(work)
	if out, err := exec.Command("git", "clone", "-q", "--branch", r.branch, s.bare, work).CombinedOutput(); err != nil {
		s.o.Log("ghfake: clone: %v\n%s", err, out)
		finish("failure")
		return
	}
	args := []string{"push", "-W", filepath.Join(work, r.path), "-C", work, "--json",
		"-P", "ubuntu-latest=-self-hosted", "-P", "ubuntu-24.04=-self-hosted", "-P", "ubuntu-22.04=-self-hosted",
		"--actor", s.o.Actor, "-s", "GITHUB_TOKEN=" + s.jobToken,
		"--env", "GITHUB_API_URL=" + s.URL(), "--env", "GITHUB_SERVER_URL=" + s.srv.URL,
		"--env", "GITHUB_RUN_ID=" + strconv.FormatInt(r.id, 10),
		// act takes the repository from the clone's remote, a path here.
		"--env", "GITHUB_REPOSITORY=" + s.o.Owner + "/" + s.o.Repo,
	}
	args = append(args, s.idTokenEnv(r)...)
	if s.o.ActionSource != "" {
		args = append(args, "--local-repository", "pitstopci/pitstop@v1="+s.o.ActionSource)
	}
	cmd := exec.Command(s.o.Act, args...)
	cmd.Dir = work
	cmd.Env = actEnv(s.o.Env)
	startOwnGroup(cmd)
	out, err := cmd.StdoutPipe()
	if err != nil {
		finish("failure")
		return
	}
	cmd.Stderr = cmd.Stdout
	s.mu.Lock()
	r.status, r.updated = "in_progress", time.Now().UTC()
	s.mu.Unlock()
	if err := cmd.Start(); err != nil {
		s.o.Log("ghfake: start act: %v", err)
		finish("failure")
		return
	}
	exited := make(chan struct{})
	go func() {
		select {
		case <-r.cancelCh:
			s.mu.Lock()
			r.cancelled = true
			s.mu.Unlock()
			_ = cmd.Process.Signal(os.Interrupt)
			select {
			case <-exited:
			case <-time.After(30 * time.Second):
				killGroup(cmd)
			}
		case <-exited:
		}
	}()
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 64*1024), 4<<20)
	for sc.Scan() {
		s.actLine(r, sc.Bytes())
	}
	err = cmd.Wait()
	close(exited)
	if err != nil {
		finish("failure")
		return
	}
	finish("success")
}

// actEvent is the part of one act --json log line the fake reads.
type actEvent struct {
	JobID      string            `json:"jobID"`
	Msg        string            `json:"msg"`
	Stage      string            `json:"stage"`
	StepID     []string          `json:"stepID"`
	SetupID    []string          `json:"stepid"`
	StepResult string            `json:"stepResult"`
	Command    string            `json:"command"`
	Arg        string            `json:"arg"`
	KVPairs    map[string]string `json:"kvPairs"`
	JobResult  string            `json:"jobResult"`
	Raw        bool              `json:"raw_output"`
}

func (s *Server) actLine(r *run, line []byte) {
	if os.Getenv("GHFAKE_RAW") != "" {
		s.o.Log("raw: %s", line)
	}
	var ev actEvent
	if json.Unmarshal(line, &ev) != nil {
		s.o.Log("act: %s", line)
		return
	}
	s.o.Log("act[%d]: %s", r.id, strings.TrimRight(ev.Msg, "\n"))
	s.mu.Lock()
	defer s.mu.Unlock()
	var j *job
	for _, c := range r.jobs {
		if c.key == ev.JobID {
			j = c
		}
	}
	if j == nil {
		return
	}
	now := time.Now().UTC()
	if j.status == "queued" {
		j.status, j.started = "in_progress", now
	}
	var st *github.TaskStep
	switch {
	case len(ev.SetupID) == 1 && ev.SetupID[0] == "--setup-job":
		st = j.steps[0]
	case len(ev.SetupID) == 1 && ev.SetupID[0] == "--complete-job":
		st = j.steps[len(j.steps)-1]
	case ev.Stage == "Main" && len(ev.StepID) == 1:
		// A longer stepID is a step inside a composite action.
		if i, ok := j.byActID[ev.StepID[0]]; ok {
			st = j.steps[i]
		}
	}
	if ev.Command == "notice" || ev.Command == "warning" || ev.Command == "error" {
		// The runner turns workflow commands into annotations of the job's
		// check run (whose ID is the job's).
		j.annotations = append(j.annotations, &github.CheckRunAnnotation{
			Path: github.String(".github"), StartLine: github.Int(1), EndLine: github.Int(1),
			AnnotationLevel: github.String(map[string]string{"notice": "notice", "warning": "warning", "error": "failure"}[ev.Command]),
			Title:           github.String(ev.KVPairs["title"]), Message: github.String(ev.Arg),
		})
	}
	if ev.JobResult != "" {
		j.status, j.conclusion, j.completed = "completed", ev.JobResult, now
	}
	if st == nil || ev.Raw {
		return
	}
	if st.GetStatus() == "queued" {
		st.Status, st.StartedAt = github.String("in_progress"), &github.Timestamp{Time: now}
	}
	if ev.StepResult != "" {
		st.Status, st.Conclusion, st.CompletedAt = github.String("completed"), github.String(ev.StepResult), &github.Timestamp{Time: now}
	}
}

// actEnv drops an outer runner's variables, as pitstop act does.
func actEnv(env []string) []string {
	var out []string
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "GITHUB_") || strings.HasPrefix(k, "RUNNER_") || strings.HasPrefix(k, "ACTIONS_") {
			continue
		}
		out = append(out, kv)
	}
	return out
}

// runWithPath is a run as the API renders it: go-github v62 leaves out
// "path", the workflow file, which GitHub sends.
type runWithPath struct {
	*github.WorkflowRun
	Path string `json:"path"`
}

// runJSON renders r as the API does. Called with s.mu held.
func (s *Server) runJSON(r *run) runWithPath {
	wr := &github.WorkflowRun{
		ID: github.Int64(r.id), Name: github.String(r.name), HeadBranch: github.String(r.branch),
		HeadSHA: github.String(r.sha), Event: github.String("push"),
		Status: github.String(r.status), RunAttempt: github.Int(1),
		HTMLURL:   github.String(fmt.Sprintf("%s/actions/runs/%d", s.HTMLURL(), r.id)),
		CreatedAt: &github.Timestamp{Time: r.created}, UpdatedAt: &github.Timestamp{Time: r.updated},
		Actor: &github.User{Login: github.String(s.o.Actor)},
	}
	if r.conclusion != "" {
		wr.Conclusion = github.String(r.conclusion)
	}
	return runWithPath{wr, r.path}
}

func (s *Server) findRun(w http.ResponseWriter, req *http.Request) *run {
	id, _ := strconv.ParseInt(req.PathValue("id"), 10, 64)
	for _, r := range s.runs {
		if r.id == id {
			return r
		}
	}
	writeError(w, http.StatusNotFound, "Not Found")
	return nil
}

func (s *Server) listRuns(w http.ResponseWriter, req *http.Request, user bool) {
	q := req.URL.Query()
	s.mu.Lock()
	defer s.mu.Unlock()
	var res struct {
		TotalCount   int           `json:"total_count"`
		WorkflowRuns []runWithPath `json:"workflow_runs"`
	}
	res.WorkflowRuns = []runWithPath{}
	// Newest first, as GitHub lists them.
	for i := len(s.runs) - 1; i >= 0; i-- {
		r := s.runs[i]
		if (q.Get("branch") != "" && q.Get("branch") != r.branch) || (q.Get("head_sha") != "" && q.Get("head_sha") != r.sha) ||
			(q.Get("event") != "" && q.Get("event") != "push") {
			continue
		}
		res.WorkflowRuns = append(res.WorkflowRuns, s.runJSON(r))
	}
	res.TotalCount = len(res.WorkflowRuns)
	writeJSON(w, http.StatusOK, res)
}

func (s *Server) getRun(w http.ResponseWriter, req *http.Request, user bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r := s.findRun(w, req); r != nil {
		writeJSON(w, http.StatusOK, s.runJSON(r))
	}
}

func (s *Server) listJobs(w http.ResponseWriter, req *http.Request, user bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.findRun(w, req)
	if r == nil {
		return
	}
	res := &github.Jobs{Jobs: []*github.WorkflowJob{}}
	for _, j := range r.jobs {
		wj := &github.WorkflowJob{
			ID: github.Int64(j.id), RunID: github.Int64(r.id), Name: github.String(j.name), HeadSHA: github.String(r.sha),
			HeadBranch: github.String(r.branch), Status: github.String(j.status), WorkflowName: github.String(r.name),
			HTMLURL: github.String(fmt.Sprintf("%s/actions/runs/%d/job/%d", s.HTMLURL(), r.id, j.id)),
		}
		if j.conclusion != "" {
			wj.Conclusion = github.String(j.conclusion)
		}
		if !j.started.IsZero() {
			wj.StartedAt = &github.Timestamp{Time: j.started}
		}
		for _, st := range j.steps {
			c := *st
			wj.Steps = append(wj.Steps, &c)
		}
		res.Jobs = append(res.Jobs, wj)
	}
	res.TotalCount = github.Int(len(res.Jobs))
	writeJSON(w, http.StatusOK, res)
}

func (s *Server) cancelRun(w http.ResponseWriter, req *http.Request, user bool) {
	s.mu.Lock()
	r := s.findRun(w, req)
	s.mu.Unlock()
	if r == nil {
		return
	}
	if r.status == "completed" {
		writeError(w, http.StatusConflict, "Cannot cancel a workflow run that is completed.")
		return
	}
	r.cancel()
	writeJSON(w, http.StatusAccepted, map[string]any{})
}

func (s *Server) listAnnotations(w http.ResponseWriter, req *http.Request, user bool) {
	id, _ := strconv.ParseInt(req.PathValue("id"), 10, 64)
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range s.runs {
		for _, j := range r.jobs {
			if j.id == id {
				out := []*github.CheckRunAnnotation{}
				for _, a := range j.annotations {
					c := *a
					out = append(out, &c)
				}
				writeJSON(w, http.StatusOK, out)
				return
			}
		}
	}
	writeError(w, http.StatusNotFound, "Not Found")
}

// WaitIdle waits until every run has ended, for a test's check that
// nothing is left running.
func (s *Server) WaitIdle(ctx context.Context) error {
	s.mu.Lock()
	runs := append([]*run(nil), s.runs...)
	s.mu.Unlock()
	for _, r := range runs {
		select {
		case <-r.done:
		case <-ctx.Done():
			return fmt.Errorf("run %d still running: %w", r.id, ctx.Err())
		}
	}
	return nil
}

// Runs returns the runs so far as the API shows them, oldest first.
func (s *Server) Runs() []*github.WorkflowRun {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*github.WorkflowRun
	for _, r := range s.runs {
		out = append(out, s.runJSON(r).WorkflowRun)
	}
	return out
}
