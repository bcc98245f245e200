//go:build unix

package main

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/pitstopci/pitstop/injector"
	"github.com/pitstopci/pitstop/internal/testutil"
	"github.com/pitstopci/pitstop/workflows"
)

// corpusEnv names the directory of real workflow files, as for the
// injector's own corpus test.
const corpusEnv = "PITSTOP_WORKFLOW_CORPUS"

// corpusDir is $PITSTOP_WORKFLOW_CORPUS, else ../shared/workflow-corpus
// next to the checkout when it exists; "" when there is none.
func corpusDir(root string) string {
	if d := os.Getenv(corpusEnv); d != "" {
		return d
	}
	d := filepath.Join(filepath.Dir(root), "shared", "workflow-corpus")
	if fi, err := os.Stat(d); err == nil && fi.IsDir() {
		return d
	}
	return ""
}

// corpusRepeats is how often each file is rewritten; its fastest time
// counts, the one least disturbed by the rest of the machine.
const corpusRepeats = 5

// measureCorpus times injector.Insert, as `pitstop inject` calls it,
// after the middle step of the first job with steps of every workflow in
// the corpus, and reports the median over the files.
func (b *bench) measureCorpus() error {
	dir := corpusDir(b.lab.root)
	if dir == "" {
		b.rep.add(row{Name: "inject, time per workflow file", Unit: "µs",
			Note: "not measured: no corpus; set " + corpusEnv + " to a directory of workflow files"})
		return nil
	}
	b.progress("injector: every workflow under %s", dir)
	var perFile []float64
	skipped := 0
	err := testutil.WalkWorkflows(dir, func(path string) error {
		src, err := workflows.ReadFile(path)
		if err != nil {
			return fmt.Errorf("read %s: %w", path, err)
		}
		opts, ok := pauseTarget(path, src)
		if !ok {
			skipped++
			return nil
		}
		best := time.Duration(1<<63 - 1)
		for i := 0; i < corpusRepeats; i++ {
			start := time.Now()
			_, err := injector.Insert(path, src, opts)
			best = min(best, time.Since(start))
			if err != nil {
				// Refused on purpose (steps shared through an alias, say):
				// not a file a pause goes into.
				skipped++
				return nil
			}
		}
		perFile = append(perFile, float64(best.Nanoseconds())/1e3)
		return nil
	})
	if err != nil {
		return fmt.Errorf("injector corpus: %w", err)
	}
	if len(perFile) == 0 {
		return fmt.Errorf("injector corpus: no workflow with steps under %s", dir)
	}
	p90 := percentile(append([]float64(nil), perFile...), 90)
	x := row{Name: fmt.Sprintf("inject, time per workflow file (median of %d)", len(perFile)), Unit: "µs", Pitstop: median(perFile),
		Note: fmt.Sprintf("p90 %s µs; %d files are not workflows with a job to pause", num(p90), skipped)}
	b.rep.add(x)
	return nil
}

// pauseTarget is where the bench puts the pause in a file: after the
// middle step of its first job with steps.
func pauseTarget(path string, src []byte) (injector.Options, bool) {
	w, err := workflows.Parse(path, src)
	if err != nil {
		return injector.Options{}, false
	}
	for _, j := range w.Jobs {
		if len(j.Steps) > 0 && j.StepsShared == nil {
			return injector.Options{Job: j.ID, After: len(j.Steps) / 2}, true
		}
	}
	return injector.Options{}, false
}
