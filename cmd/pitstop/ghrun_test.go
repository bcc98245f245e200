package main

import (
	"bytes"
	"strings"
	"testing"
)

// TestPrompt: on a terminal rerun lists the failed jobs and asks again
// until a number in range is typed.
func TestPrompt(t *testing.T) {
	var errOut bytes.Buffer
	io := &IO{In: strings.NewReader("x\n9\n2\n"), Err: &errOut}
	n, err := prompt(io, "Which failed job?", []string{"test (ubuntu-latest)", "lint"})
	if err != nil || n != 1 {
		t.Fatalf("got %d, %v; want 1 (the second job)", n, err)
	}
	for _, want := range []string{"Which failed job?\n", "  1) test (ubuntu-latest)\n", "  2) lint\n", "Number (1-2): "} {
		if !strings.Contains(errOut.String(), want) {
			t.Errorf("the prompt lacks %q:\n%s", want, errOut.String())
		}
	}
	if _, err := prompt(&IO{In: strings.NewReader(""), Err: &errOut}, "Which?", []string{"a"}); err == nil {
		t.Error("no answer (end of input) must be an error")
	}
}
