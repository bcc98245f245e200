package actrun

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
)

// Ready is what the agent writes to its ready file once it listens. Only
// the fields pitstop act needs are read; the agent may write more.
type Ready struct {
	// Address is the host:port the user dials.
	Address string `json:"address"`
	// KnownHosts is a known_hosts line for exactly Address.
	KnownHosts string `json:"known_hosts"`
	// HostKeyFingerprint is the SHA256 fingerprint of the host key.
	HostKeyFingerprint string `json:"host_key_fingerprint"`
	// User is the login name shown in the agent's own connect command.
	// The agent accepts any name; it only makes the command look familiar.
	User string `json:"user,omitempty"`
}

// errNotReady means the ready file is absent or not complete yet. The agent
// writes it atomically, but a partial file is still treated as "not yet"
// so that a writer without that care cannot make pitstop act give up.
var errNotReady = errors.New("not ready")

// ReadReady reads and checks the agent's ready file. It returns an error
// wrapping errNotReady while the file does not exist or is incomplete.
func ReadReady(path string) (*Ready, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("read ready file: %w", errNotReady)
	}
	if err != nil {
		return nil, fmt.Errorf("read ready file: %w", err)
	}
	var r Ready
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("parse ready file %s: %w (%w)", path, errNotReady, err)
	}
	if r.Address == "" || r.KnownHosts == "" {
		return nil, fmt.Errorf("ready file %s lacks address or known_hosts: %w", path, errNotReady)
	}
	if _, _, err := net.SplitHostPort(r.Address); err != nil {
		return nil, fmt.Errorf("ready file %s: address %q: %w", path, r.Address, err)
	}
	return &r, nil
}

// SSHArgs returns the arguments (without the program name) that connect
// to the pause with strict host key checking against knownHostsFile, which
// must hold r.KnownHosts. The user's own ssh configuration and keys still
// apply; only the host key is pinned.
func (r *Ready) SSHArgs(knownHostsFile string) []string {
	host, port, _ := net.SplitHostPort(r.Address) // checked by ReadReady
	user := r.User
	if user == "" {
		user = "runner"
	}
	args := []string{}
	if port != "22" {
		args = append(args, "-p", port)
	}
	return append(args,
		"-o", "StrictHostKeyChecking=yes",
		"-o", "UserKnownHostsFile="+knownHostsFile,
		// A one-off host key on a reused 127.0.0.1 port must not be
		// recorded in, or checked against, the system-wide list.
		"-o", "GlobalKnownHostsFile=/dev/null",
		user+"@"+host,
	)
}

// SSHCommand is SSHArgs as one line a POSIX shell runs as it is, starting
// with "ssh ".
func (r *Ready) SSHCommand(knownHostsFile string) string {
	return "ssh " + shellJoin(r.SSHArgs(knownHostsFile))
}

// shellJoin quotes each word for a POSIX shell where needed.
func shellJoin(words []string) string {
	quoted := make([]string, len(words))
	for i, w := range words {
		quoted[i] = shellQuote(w)
	}
	return strings.Join(quoted, " ")
}

func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789@%+=:,./_-") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
