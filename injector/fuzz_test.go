package injector

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pitstopci/pitstop/workflows"
)

// FuzzInsert feeds arbitrary files to Insert and Remove. Neither may
// panic; an error must be a *workflows.Error; and every successful
// insertion must keep the promise checkInsert spells out. The job is
// chosen by index so that most inputs reach a real job.
func FuzzInsert(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/*/in.yml")
	errs, _ := filepath.Glob("testdata/err/*.yml")
	for _, name := range append(seeds, errs...) {
		src, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		for _, after := range []int{0, 1, 2} {
			f.Add(src, uint8(0), after)
		}
		f.Add(src, uint8(0x40), 1) // on failure
		f.Add(src, uint8(0x80), 0) // detached
	}
	f.Fuzz(func(t *testing.T, src []byte, jobIdx uint8, after int) {
		if rm, err := Remove("f.yml", src); err != nil {
			if !isWorkflowError(err) {
				t.Fatalf("Remove: error is %T: %v", err, err)
			}
		} else if rm.Removed == 0 && !bytes.Equal(rm.Out, src) {
			t.Fatal("Remove without a pause changed the input")
		}
		w, err := workflows.Parse("f.yml", src)
		if err != nil {
			if !isWorkflowError(err) {
				t.Fatalf("Parse: error is %T: %v", err, err)
			}
			return
		}
		// The two high bits of jobIdx choose the kind of pause: plain,
		// on failure, or detached (which inserts two steps).
		job := w.Jobs[int(jobIdx&0x3f)%len(w.Jobs)]
		opts := Options{Job: job.ID, After: after}
		switch jobIdx >> 6 {
		case 1:
			opts.OnFailure = true
		case 2, 3:
			opts.Detached = true
		}
		res, err := Insert("f.yml", src, opts)
		if err != nil {
			// Options that do not go together (a pause on failure
			// before step 1) are refused as such, whatever the file.
			var oe *OptionsError
			if !isWorkflowError(err) && !errors.As(err, &oe) {
				t.Fatalf("Insert: error is %T: %v", err, err)
			}
			if strings.Contains(err.Error(), "without changing something else") {
				t.Logf("refused: %v", err) // a refusal is safe, but worth seeing
			}
			return
		}
		clean, err := Remove("f.yml", src)
		if err != nil {
			t.Fatalf("Insert succeeded but Remove of the input fails: %v", err)
		}
		check := checkInsert
		if opts.Detached {
			check = checkDetached
		}
		if err := check("f.yml", clean.Out, res.Out, job.ID, after); err != nil {
			t.Fatal(err)
		}
	})
}
