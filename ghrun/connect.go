package ghrun

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/pitstopci/pitstop/internal/local"
)

// knownHostsFile writes the pause's known_hosts line, as GitHub gave it,
// to a file under the user's cache directory that outlives this process
// (the printed command refers to it).
func knownHostsFile(cache string, p *Pause) (string, error) {
	dir := filepath.Join(cache, "pitstop")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("create %s: %w", dir, err)
	}
	path := filepath.Join(dir, fmt.Sprintf("known_hosts-%s-%s", p.RunID, branchSafe(p.Job)))
	if err := os.WriteFile(path, []byte(strings.TrimSpace(p.KnownHosts)+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("write %s: %w", path, err)
	}
	return path, nil
}

// sshArgs connects to the pause with its host key pinned to the line in
// knownHosts, through the jump host when there is one.
func (p *Pause) sshArgs(knownHosts string) ([]string, error) {
	host, port, err := net.SplitHostPort(p.Address)
	if err != nil {
		return nil, fmt.Errorf("the pause's address %q: %w", p.Address, err)
	}
	user := p.User
	if user == "" {
		user = "runner"
	}
	args := []string{"-o", "StrictHostKeyChecking=yes", "-o", "UserKnownHostsFile=" + knownHosts, "-o", "GlobalKnownHostsFile=/dev/null"}
	if p.Jump != "" {
		args = append(args, "-J", p.Jump)
	}
	if port != "22" {
		args = append(args, "-p", port)
	}
	return append(args, user+"@"+host), nil
}

// readyJSON is what --output json prints.
type readyJSON struct {
	RunID              string   `json:"run_id"`
	RunURL             string   `json:"run_url"`
	Job                string   `json:"job"`
	Label              string   `json:"label"`
	SSHCommand         string   `json:"ssh_command"`
	SSHArgs            []string `json:"ssh_args"`
	KnownHostsFile     string   `json:"known_hosts_file"`
	KnownHosts         string   `json:"known_hosts"`
	HostKeyFingerprint string   `json:"host_key_fingerprint"`
	Address            string   `json:"address"`
	User               string   `json:"user"`
	Jump               string   `json:"jump,omitempty"`
	Deadline           string   `json:"deadline"`
	Branch             string   `json:"branch,omitempty"`
	// Verified says that GitHub's OIDC token vouches for the host key;
	// false only with --trust-unverified.
	Verified bool `json:"verified"`
}

// Mode says what happens once the pause is ready.
type Mode int

const (
	// PrintCommand prints the ssh command on stdout (no terminal).
	PrintCommand Mode = iota
	// Connect runs ssh on the terminal.
	Connect
	// PrintJSON prints the ready information as JSON on stdout.
	PrintJSON
)

// ready acts on a ready pause. It returns ssh's exit status when it ran.
func (o *Options) ready(p *Pause, runURL, branch string) error {
	kh, err := knownHostsFile(o.cacheDir(), p)
	if err != nil {
		return err
	}
	args, err := p.sshArgs(kh)
	if err != nil {
		return err
	}
	line := "ssh " + shellJoin(args)
	switch o.Mode {
	case PrintJSON:
		enc := json.NewEncoder(o.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(readyJSON{
			RunID: p.RunID, RunURL: runURL, Job: p.Job, Label: p.Label, SSHCommand: line, SSHArgs: args,
			KnownHostsFile: kh, KnownHosts: p.KnownHosts, HostKeyFingerprint: p.HostKeyFingerprint,
			Address: p.Address, User: p.User, Jump: p.Jump, Deadline: p.Deadline.UTC().Format("2006-01-02T15:04:05Z"), Branch: branch,
			Verified: p.Verified,
		})
	case Connect:
		o.progress.line("connecting (host key %s, %s): %s", p.HostKeyFingerprint, p.trust(), line)
		// The user's keys by $HOME, as pitstop act offers them: ssh
		// itself looks in the home directory of the passwd entry.
		var ids []string
		for _, f := range local.IdentityFiles(o.home()) {
			ids = append(ids, "-i", f)
		}
		cmd := exec.Command(o.SSH, append(ids, args...)...)
		cmd.Env = o.Env
		cmd.Stdin, cmd.Stdout, cmd.Stderr = o.Stdin, o.Stdout, o.Stderr
		err := cmd.Run()
		var ee *exec.ExitError
		if errors.As(err, &ee) && ee.ExitCode() == 255 {
			o.progress.line("ssh could not connect; the pause waits until its timeout; connect with: %s", line)
			return nil
		}
		if err != nil && !errors.As(err, &ee) {
			return fmt.Errorf("run ssh: %w; connect yourself with: %s", err, line)
		}
		return nil
	default:
		o.progress.line("host key %s (%s); connect with the command on stdout", p.HostKeyFingerprint, p.trust())
		fmt.Fprintln(o.Stdout, line)
		return nil
	}
}

// trust says on what the pinned host key rests.
func (p *Pause) trust() string {
	if p.Verified {
		return "verified: GitHub's OIDC token for the job"
	}
	return "UNVERIFIED: trusted on first use"
}

// shellJoin quotes each word for a POSIX shell where needed.
func shellJoin(words []string) string {
	q := make([]string, len(words))
	for i, w := range words {
		if w != "" && strings.Trim(w, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789@%+=:,./_-") == "" {
			q[i] = w
		} else {
			q[i] = "'" + strings.ReplaceAll(w, "'", `'\''`) + "'"
		}
	}
	return strings.Join(q, " ")
}
