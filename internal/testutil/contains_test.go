package testutil

import "testing"

// recorder is a testing.TB that keeps what a check reported.
type recorder struct {
	testing.TB
	errors, logs int
}

func (r *recorder) Helper()               {}
func (r *recorder) Errorf(string, ...any) { r.errors++ }
func (r *recorder) Logf(string, ...any)   { r.logs++ }

func TestContains(t *testing.T) {
	r := &recorder{TB: t}
	if !Contains(r, "out", "one two three", "one", "three") || r.errors != 0 || r.logs != 0 {
		t.Errorf("all there: %d errors, %d logs", r.errors, r.logs)
	}
	if Contains(r, "out", "one two three", "four", "two", "five") || r.errors != 2 || r.logs != 1 {
		t.Errorf("two missing: %d errors, %d logs; want 2 and the output once", r.errors, r.logs)
	}
}
