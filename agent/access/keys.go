package access

import (
	"bufio"
	"fmt"
	"strings"

	gossh "golang.org/x/crypto/ssh"

	"github.com/pitstopci/pitstop/forge"
)

// maxKeysBody bounds a line of authorized_keys text: no key is longer
// than the largest key list a forge may answer.
const maxKeysBody = forge.MaxAnswer

// parseKeyLines reads authorized_keys text and returns each key with its
// comment. Options (from=, command=, ...) are refused rather than ignored:
// pitstop does not enforce them, and silently dropping a restriction
// would grant more than was written.
func parseKeyLines(kt KeyText) ([]gossh.PublicKey, []string, error) {
	var keys []gossh.PublicKey
	var comments []string
	sc := bufio.NewScanner(strings.NewReader(kt.Text))
	sc.Buffer(make([]byte, 64*1024), maxKeysBody)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		key, comment, options, _, err := gossh.ParseAuthorizedKey([]byte(line))
		if err != nil {
			return nil, nil, fmt.Errorf("%s:%d: not a public key line: %w", kt.Source, n, err)
		}
		if len(options) > 0 {
			return nil, nil, fmt.Errorf("%s:%d: key options (%s) are not supported; remove them", kt.Source, n, strings.Join(options, ","))
		}
		keys = append(keys, key)
		comments = append(comments, comment)
	}
	if err := sc.Err(); err != nil {
		return nil, nil, fmt.Errorf("read %s: %w", kt.Source, err)
	}
	return keys, comments, nil
}
