package testutil

import (
	"strings"
	"testing"
)

// Contains reports as an error of t each of wants that out lacks, naming
// out as what ("act's output", "stderr"), then shows out once. It
// returns whether out has them all.
func Contains(t testing.TB, what, out string, wants ...string) bool {
	t.Helper()
	ok := true
	for _, w := range wants {
		if !strings.Contains(out, w) {
			t.Errorf("%s lacks %q", what, w)
			ok = false
		}
	}
	if !ok {
		t.Logf("%s:\n%s", what, out)
	}
	return ok
}
