package actrun

import (
	"net"
	"strings"

	"github.com/pitstopci/pitstop/internal/wire"
)

// SSHArgs returns the arguments (without the program name) that connect
// to the pause r describes with strict host key checking against
// knownHostsFile, which must hold r.KnownHosts. The user's own ssh configuration and keys still
// apply; only the host key is pinned.
func SSHArgs(r *wire.Ready, knownHostsFile string) []string {
	host, port, _ := net.SplitHostPort(r.Address) // checked by wire.ReadReady
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
func SSHCommand(r *wire.Ready, knownHostsFile string) string {
	return "ssh " + shellJoin(SSHArgs(r, knownHostsFile))
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
