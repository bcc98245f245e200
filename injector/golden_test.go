package injector

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// TestGolden runs every case in testdata/<case>: in.yml edited as the
// flags in args say must give want.yml, with the warnings in want.stderr.
func TestGolden(t *testing.T) {
	ins, err := filepath.Glob("testdata/*/in.yml")
	if err != nil || len(ins) == 0 {
		t.Fatalf("no golden cases in testdata (%v)", err)
	}
	for _, in := range ins {
		dir := filepath.Dir(in)
		t.Run(filepath.Base(dir), func(t *testing.T) {
			src := readFile(t, in)
			args := strings.TrimSpace(string(readFile(t, filepath.Join(dir, "args"))))
			opts, remove, err := parseArgs(args)
			if err != nil {
				t.Fatalf("args: %v", err)
			}
			var res *Result
			if remove {
				res, err = Remove("in.yml", src)
			} else {
				res, err = Insert("in.yml", src, opts)
			}
			if err != nil {
				t.Fatalf("%s: %v", args, err)
			}
			var stderr bytes.Buffer
			for _, w := range res.Warnings {
				stderr.WriteString(w.String() + "\n")
			}
			golden(t, filepath.Join(dir, "want.yml"), res.Out)
			golden(t, filepath.Join(dir, "want.stderr"), stderr.Bytes())

			if remove {
				again, err := Remove("in.yml", res.Out)
				if err != nil || again.Removed != 0 || !bytes.Equal(again.Out, res.Out) {
					t.Errorf("a second remove changed something (removed %d, err %v)", again.Removed, err)
				}
				return
			}
			// Taking the pause out gives back the input without any
			// pause; inserting the same pause again changes nothing.
			clean, err := Remove("in.yml", src)
			if err != nil {
				t.Fatal(err)
			}
			check, steps := checkInsert, 1
			if opts.Detached {
				check, steps = checkDetached, 2
			}
			if err := check("in.yml", clean.Out, res.Out, res.Job, res.After); err != nil {
				t.Error(err)
			}
			again, err := Insert("in.yml", res.Out, opts)
			if err != nil {
				t.Fatalf("insert into the output: %v", err)
			}
			if !bytes.Equal(again.Out, res.Out) || again.Removed != steps {
				t.Errorf("inserting the same pause again changed the output (removed %d)", again.Removed)
			}
		})
	}
}

// TestErrors runs every case in testdata/err: <case>.yml edited with the
// flags in <case>.args (default "--ssh-after-step 1") must fail with the
// message in <case>.out.
func TestErrors(t *testing.T) {
	ymls, err := filepath.Glob("testdata/err/*.yml")
	if err != nil || len(ymls) == 0 {
		t.Fatalf("no error cases in testdata/err (%v)", err)
	}
	for _, file := range ymls {
		base := strings.TrimSuffix(file, ".yml")
		t.Run(filepath.Base(base), func(t *testing.T) {
			src := readFile(t, file)
			args := "--ssh-after-step 1"
			if b, err := os.ReadFile(base + ".args"); err == nil {
				args = strings.TrimSpace(string(b))
			}
			opts, remove, err := parseArgs(args)
			if err != nil {
				t.Fatalf("args: %v", err)
			}
			name := filepath.Base(file)
			if remove {
				_, err = Remove(name, src)
			} else {
				_, err = Insert(name, src, opts)
			}
			if err == nil {
				t.Fatalf("%s: no error", args)
			}
			// Options that cannot work in any file are the command line's
			// mistake, and name no file.
			var oe *OptionsError
			if !isWorkflowError(err) && !errors.As(err, &oe) {
				t.Errorf("error is %T, want *workflows.Error or *OptionsError", err)
			}
			golden(t, base+".out", []byte(err.Error()+"\n"))
		})
	}
}

func readFile(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// golden compares got with the file name, or rewrites it with -update. An
// empty want is the same as no file, so cases without warnings need no
// want.stderr.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	if *update {
		if len(got) == 0 {
			if err := os.Remove(name); err != nil && !os.IsNotExist(err) {
				t.Fatal(err)
			}
			return
		}
		if err := os.WriteFile(name, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(name)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (run go test ./injector -update to accept)\n--- got:\n%s\n--- want:\n%s", name, got, want)
	}
}
