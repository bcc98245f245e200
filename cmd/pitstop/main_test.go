package main

import (
	"errors"
	"flag"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

var update = flag.Bool("update", false, "rewrite the expected output in testdata/script")

// TestMain lets the test binary stand in for the pitstop binary, so the
// scripts run the real command line, flags, exit codes and all.
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"pitstop": func() { os.Exit(Main(os.Args[1:], stdio())) },
	})
}

// TestScripts runs the command-line scenarios in testdata/script: each is
// what a user would type and see.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:           "testdata/script",
		UpdateScripts: *update,
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"exitcode": cmdExitCode,
			"binfile":  cmdBinFile,
			"bigfile":  cmdBigFile,
		},
		Setup: func(env *testscript.Env) error {
			// The examples are part of the product: scripts use the real files.
			env.Setenv("EXAMPLES", examplesDir(t))
			return nil
		},
	})
}

// cmdExitCode runs a command and checks its exact exit status:
//
//	exitcode 2 pitstop inject --bogus
//
// testscript's own "! exec" only tells zero from non-zero, but usage
// mistakes (2) and failures (1) are promised to differ.
func cmdExitCode(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: exitcode N command [args...]")
	}
	want, err := strconv.Atoi(args[0])
	if err != nil {
		ts.Fatalf("exitcode: bad status %q", args[0])
	}
	got := 0
	if err := ts.Exec(args[1], args[2:]...); err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			ts.Fatalf("exitcode: %v", err)
		}
		got = ee.ExitCode()
	}
	if got != want {
		ts.Fatalf("exit status %d, want %d", got, want)
	}
}

func examplesDir(t *testing.T) string {
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	return dir + "/../../examples"
}

// cmdBinFile writes a file that starts like YAML but holds NUL bytes, as a
// compiled binary or an image renamed to .yml would.
func cmdBinFile(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: binfile NAME")
	}
	data := append([]byte("on: push\njobs:\n"), 0, 1, 2, 0xff, 0xfe, 0)
	ts.Check(os.WriteFile(ts.MkAbs(args[0]), data, 0o644))
}

// cmdBigFile writes a syntactically valid workflow of at least SIZE bytes.
func cmdBigFile(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: bigfile NAME SIZE")
	}
	size, err := strconv.Atoi(args[1])
	ts.Check(err)
	var b strings.Builder
	b.WriteString("on: push\njobs:\n  build:\n    runs-on: ubuntu-latest\n    steps:\n")
	for b.Len() < size {
		b.WriteString("      - run: echo padding padding padding padding padding\n")
	}
	ts.Check(os.WriteFile(ts.MkAbs(args[0]), []byte(b.String()), 0o644))
}
