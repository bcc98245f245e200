package agent

import (
	"bytes"
	"strings"
	"testing"

	gossh "golang.org/x/crypto/ssh"
)

func TestParseKeyLines(t *testing.T) {
	u := newTestUser(t, "dave")
	keys, comments, err := parseKeyLines(KeyText{Source: "keys.txt", Text: "# mine\n\n" + u.authorizedLine() + " dave@laptop\r\n"})
	if err != nil || len(keys) != 1 || len(comments) != 1 {
		t.Fatalf("keys %v, comments %q, err %v", keys, comments, err)
	}
	if !bytes.Equal(keys[0].Marshal(), u.signer.PublicKey().Marshal()) || comments[0] != "dave@laptop" {
		t.Errorf("got key %s comment %q, want dave's key with comment %q", gossh.FingerprintSHA256(keys[0]), comments[0], "dave@laptop")
	}
	_, _, err = parseKeyLines(KeyText{Source: "keys.txt", Text: u.authorizedLine() + "\nnot a key\n"})
	if err == nil || !strings.Contains(err.Error(), "keys.txt:2:") {
		t.Errorf("bad line: %v, want an error naming keys.txt:2", err)
	}
	_, _, err = parseKeyLines(KeyText{Source: "k", Text: `from="10.0.0.0/8" ` + u.authorizedLine()})
	if err == nil || !strings.Contains(err.Error(), "options") {
		t.Errorf("options: %v, want them refused", err)
	}
}
