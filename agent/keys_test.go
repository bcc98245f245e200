package agent

import (
	"strings"
	"testing"
)

func TestParseKeyText(t *testing.T) {
	u := newTestUser(t, "dave")
	keys, err := parseKeyText(KeyText{Source: "keys.txt", Text: "# mine\n\n" + u.authorizedLine() + " dave@laptop\r\n"})
	if err != nil || len(keys) != 1 {
		t.Fatalf("keys %v, err %v", keys, err)
	}
	_, err = parseKeyText(KeyText{Source: "keys.txt", Text: u.authorizedLine() + "\nnot a key\n"})
	if err == nil || !strings.Contains(err.Error(), "keys.txt:2:") {
		t.Errorf("bad line: %v, want an error naming keys.txt:2", err)
	}
	_, err = parseKeyText(KeyText{Source: "k", Text: `from="10.0.0.0/8" ` + u.authorizedLine()})
	if err == nil || !strings.Contains(err.Error(), "options") {
		t.Errorf("options: %v, want them refused", err)
	}
}
