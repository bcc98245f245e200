package actrun

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	gossh "golang.org/x/crypto/ssh"
)

// ErrNoLocalKeys means neither ~/.ssh nor the ssh-agent has a public key
// to authorize, so nobody could log in to the pause.
var ErrNoLocalKeys = errors.New("no public SSH key found")

// LocalKeys collects the public keys of the local user, in authorized_keys
// format, one per line: every ~/.ssh/*.pub under home and every key the
// ssh-agent holds (agentKeys, usually SSHAgentKeys). Duplicates and lines
// that are not public keys are dropped; a missing agent is not an error.
func LocalKeys(home string, agentKeys func() ([]byte, error)) ([]byte, error) {
	var out bytes.Buffer
	seen := map[string]bool{}
	add := func(text []byte) {
		sc := bufio.NewScanner(bytes.NewReader(text))
		sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
		for sc.Scan() {
			line := bytes.TrimSpace(sc.Bytes())
			if len(line) == 0 || line[0] == '#' {
				continue
			}
			key, comment, _, _, err := gossh.ParseAuthorizedKey(line)
			if err != nil {
				continue // e.g. a certificate authority file or junk
			}
			id := string(key.Marshal())
			if seen[id] {
				continue
			}
			seen[id] = true
			out.Write(bytes.TrimSpace(gossh.MarshalAuthorizedKey(key)))
			if comment != "" {
				out.WriteString(" " + strings.ReplaceAll(comment, "\n", " "))
			}
			out.WriteByte('\n')
		}
	}

	files, err := filepath.Glob(filepath.Join(home, ".ssh", "*.pub"))
	if err != nil {
		return nil, fmt.Errorf("list public keys: %w", err)
	}
	sort.Strings(files)
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("read public key: %w", err)
		}
		add(data)
	}
	if agentKeys != nil {
		if data, err := agentKeys(); err == nil {
			add(data)
		}
	}
	if out.Len() == 0 {
		return nil, fmt.Errorf("%w in %s or the ssh-agent; create one with: ssh-keygen -t ed25519",
			ErrNoLocalKeys, filepath.Join(home, ".ssh", "*.pub"))
	}
	return out.Bytes(), nil
}

// SSHAgentKeys returns the output of `ssh-add -L` run with env, or an error
// when there is no agent or it holds no keys (ssh-add then exits non-zero).
func SSHAgentKeys(env []string) func() ([]byte, error) {
	return func() ([]byte, error) {
		if lookup(env, "SSH_AUTH_SOCK") == "" {
			return nil, errors.New("no ssh-agent: SSH_AUTH_SOCK is not set")
		}
		// An agent that does not answer (a stale forwarded socket) must not
		// hold up the run.
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, "ssh-add", "-L")
		cmd.Env = env
		out, err := cmd.Output()
		if err != nil {
			return nil, fmt.Errorf("list ssh-agent keys: %w", err)
		}
		return out, nil
	}
}

// lookup returns the last value of key in env, as exec does.
func lookup(env []string, key string) string {
	v := ""
	for _, kv := range env {
		if k, val, ok := strings.Cut(kv, "="); ok && k == key {
			v = val
		}
	}
	return v
}
