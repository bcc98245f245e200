package testutil

import (
	"bufio"
	"encoding/json"
	"strings"
	"testing"
)

// JSONLines parses a log of one JSON object per line, as the agent's
// JSON log and its audit file are, and fails the test at a line that is
// not one.
func JSONLines(t testing.TB, text string) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("log line is not one JSON object: %q: %v", sc.Text(), err)
		}
		out = append(out, m)
	}
	return out
}
