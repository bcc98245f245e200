package access

import (
	"bytes"
	"strings"
	"testing"

	gossh "golang.org/x/crypto/ssh"

	"github.com/pitstopci/pitstop/internal/testutil"
)

func TestParseKeyLines(t *testing.T) {
	key := testutil.SSHPublicKey(t)
	line := strings.TrimSpace(string(gossh.MarshalAuthorizedKey(key)))
	keys, comments, err := parseKeyLines(KeyText{Source: "keys.txt", Text: "# mine\n\n" + line + " dave@laptop\r\n"})
	if err != nil || len(keys) != 1 || len(comments) != 1 {
		t.Fatalf("keys %v, comments %q, err %v", keys, comments, err)
	}
	if !bytes.Equal(keys[0].Marshal(), key.Marshal()) || comments[0] != "dave@laptop" {
		t.Errorf("got key %s comment %q, want dave's key with comment %q", gossh.FingerprintSHA256(keys[0]), comments[0], "dave@laptop")
	}
	_, _, err = parseKeyLines(KeyText{Source: "keys.txt", Text: line + "\nnot a key\n"})
	if err == nil || !strings.Contains(err.Error(), "keys.txt:2:") {
		t.Errorf("bad line: %v, want an error naming keys.txt:2", err)
	}
	_, _, err = parseKeyLines(KeyText{Source: "k", Text: `from="10.0.0.0/8" ` + line})
	if err == nil || !strings.Contains(err.Error(), "options") {
		t.Errorf("options: %v, want them refused", err)
	}
}
