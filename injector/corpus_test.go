package injector

import (
	"os"
	"testing"

	"github.com/pitstopci/pitstop/internal/testutil"
	"github.com/pitstopci/pitstop/workflows"
)

// corpusEnv names a directory of real workflow files (searched
// recursively) for TestCorpus and BenchmarkInsertCorpus.
const corpusEnv = "PITSTOP_WORKFLOW_CORPUS"

type corpusFile struct {
	path string
	src  []byte
}

// loadCorpus reads every *.yml and *.yaml file under $PITSTOP_WORKFLOW_CORPUS.
// Most are dot-files (".github__workflows__ci.yml"), which WalkDir visits.
func loadCorpus(tb testing.TB) []corpusFile {
	dir := os.Getenv(corpusEnv)
	if dir == "" {
		tb.Skipf("%s is not set; run with %s=/path/to/workflow-corpus go test ./injector", corpusEnv, corpusEnv)
	}
	var files []corpusFile
	err := testutil.WalkWorkflows(dir, func(path string) error {
		src, err := workflows.ReadFile(path)
		if err != nil {
			return err
		}
		files = append(files, corpusFile{path, src})
		return nil
	})
	if err != nil {
		tb.Fatalf("read corpus %s: %v", dir, err)
	}
	if len(files) == 0 {
		tb.Fatalf("no *.yml or *.yaml files under %s=%s", corpusEnv, dir)
	}
	return files
}

// TestCorpus inserts a pause before the first step, after the middle step
// and after the last step of every job of every real workflow in the
// corpus, and a detached pause, and checks each result: only added text, the same document apart
// from the new step, and Remove restoring the input byte for byte.
func TestCorpus(t *testing.T) {
	files := loadCorpus(t)
	var invalid, jobs, checked, shared, failures int
	fail := func(format string, args ...any) {
		failures++
		if failures <= 20 {
			t.Errorf(format, args...)
		}
	}
	for _, f := range files {
		rel := f.path
		w, err := workflows.Parse(rel, f.src)
		if err != nil {
			// Not every file is a workflow a pause fits in; it must be a
			// clean error, and Insert must give the same one.
			invalid++
			if !isWorkflowError(err) {
				fail("%s: parse error is %T, not *workflows.Error: %v", rel, err, err)
			}
			if _, ierr := Insert(rel, f.src, Options{}); ierr == nil {
				fail("%s: Parse fails (%v) but Insert succeeds", rel, err)
			}
			continue
		}
		for _, j := range w.Jobs {
			if j.Uses != "" || (len(j.Steps) == 0 && !j.StepsFlow) {
				continue
			}
			jobs++
			n := len(j.Steps)
			for _, after := range dedupe(0, (n+1)/2, n) {
				res, err := Insert(rel, f.src, Options{Job: j.ID, After: after})
				if err != nil {
					if j.StepsShared != nil && isWorkflowError(err) {
						shared++ // refused on purpose: the steps are an alias
						continue
					}
					fail("%s: job %q after %d: %v", rel, j.ID, after, err)
					continue
				}
				if err := checkInsert(rel, f.src, res.Out, j.ID, after); err != nil {
					fail("%s: job %q after %d: %v", rel, j.ID, after, err)
					continue
				}
				checked++
			}
			// A detached pause adds two steps: the pause before step 1
			// and the hold at the end.
			res, err := Insert(rel, f.src, Options{Job: j.ID, Detached: true})
			switch {
			case err != nil && j.StepsShared != nil && isWorkflowError(err):
			case err != nil:
				fail("%s: job %q detached: %v", rel, j.ID, err)
			default:
				if err := checkDetached(rel, f.src, res.Out, j.ID, 0); err != nil {
					fail("%s: job %q detached: %v", rel, j.ID, err)
				} else {
					checked++
				}
			}
		}
	}
	t.Logf("corpus: %d files (%d not valid workflows, each a clean error), %d jobs with steps, %d insertions checked, %d refused as shared through an alias, %d failures",
		len(files), invalid, jobs, checked, shared, failures)
	if checked == 0 {
		t.Error("no insertion was checked")
	}
}

func dedupe(ns ...int) []int {
	var out []int
	for _, n := range ns {
		if len(out) == 0 || out[len(out)-1] != n {
			out = append(out, n)
		}
	}
	return out
}

// BenchmarkInsertCorpus measures one insertion (after the middle step of a
// file's first job with steps, checked as Insert always checks) per
// operation, cycling through the corpus: ns/op is the time per file.
func BenchmarkInsertCorpus(b *testing.B) {
	type job struct {
		f     corpusFile
		id    string
		after int
	}
	var jobs []job
	for _, f := range loadCorpus(b) {
		w, err := workflows.Parse(f.path, f.src)
		if err != nil {
			continue
		}
		for _, j := range w.Jobs {
			if len(j.Steps) > 0 && j.StepsShared == nil {
				jobs = append(jobs, job{f, j.ID, len(j.Steps) / 2})
				break
			}
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		j := jobs[i%len(jobs)]
		if _, err := Insert(j.f.path, j.f.src, Options{Job: j.id, After: j.after}); err != nil {
			b.Fatal(err)
		}
	}
}
