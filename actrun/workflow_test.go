package actrun

import (
	"slices"
	"strings"
	"testing"
)

const buildWorkflow = `name: ci
on: push
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - run: make
  lint:
    runs-on: [self-hosted, linux]
    steps:
      - run: make lint
`

// TestRunsOn: the labels are the job's literal ones (workflows reads
// every form of runs-on; see its TestSettings), and a job that is not
// there has none.
func TestRunsOn(t *testing.T) {
	src := []byte(buildWorkflow)
	for job, want := range map[string][]string{
		"build":  {"ubuntu-latest"},
		"lint":   {"self-hosted", "linux"},
		"absent": nil,
	} {
		if got := runsOn(src, job); !slices.Equal(got, want) {
			t.Errorf("runsOn(%s) = %q, want %q", job, got, want)
		}
	}
}

func TestGate(t *testing.T) {
	var out strings.Builder
	g := &gate{w: &out}
	g.Write([]byte("one\n"))
	g.hold()
	g.Write([]byte("two\n"))
	if out.String() != "one\n" {
		t.Fatalf("held output leaked: %q", out.String())
	}
	g.release()
	g.Write([]byte("three\n"))
	g.release() // a second release is harmless
	if out.String() != "one\ntwo\nthree\n" {
		t.Errorf("got %q", out.String())
	}
}
