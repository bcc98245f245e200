package wire

import (
	"fmt"
	"strings"
)

// Notice is the ::notice:: annotation a pause writes on the run's page:
// the connect details for a person reading the page, and for pitstop run
// and ssh when no check run could be made (the job lacks checks: write).
// Its title is "pitstop: LABEL is paused"; its message is the ssh command
// with the host key's fingerprint, then a "known_hosts: " line and, when
// the job could request one, a "proof: " line with the OIDC token.
type Notice struct {
	Label              string
	SSHCommand         string
	HostKeyFingerprint string
	KnownHosts         string
	Proof              string // "" when the job may not request a token
}

const (
	noticeSuffix   = " is paused"
	noticeHostKey  = "   (host key "
	noticeKnown    = "known_hosts: "
	noticeProof    = "proof: "
	noticeLevelCmd = "::notice title="
)

// Title is the annotation's title.
func (n Notice) Title() string { return CheckRunPrefix + n.Label + noticeSuffix }

// Message is the annotation's text. A token is about a kilobyte, well
// within an annotation's 64 KiB.
func (n Notice) Message() string {
	m := fmt.Sprintf("%s%s%s)\n%s%s", n.SSHCommand, noticeHostKey, n.HostKeyFingerprint, noticeKnown, n.KnownHosts)
	if n.Proof != "" {
		m += "\n" + noticeProof + n.Proof
	}
	return m
}

// Command is the workflow command that makes the runner write n, with
// its title and text escaped, ending in a newline.
func (n Notice) Command() string {
	return noticeLevelCmd + EscapeProperty(n.Title()) + "::" + EscapeData(n.Message()) + "\n"
}

// ParseNotice reads a pause's notice back from an annotation's title and
// message, as GitHub stores them (unescaped). ok is false when the
// annotation is not a pause's notice, or lacks the ssh command or the
// known_hosts line, without which nobody can connect safely.
func ParseNotice(title, message string) (n Notice, ok bool) {
	label, ok := strings.CutPrefix(title, CheckRunPrefix)
	if !ok {
		return Notice{}, false
	}
	if n.Label, ok = strings.CutSuffix(label, noticeSuffix); !ok {
		return Notice{}, false
	}
	lines := strings.Split(message, "\n")
	for _, l := range lines[1:] {
		if v, ok := strings.CutPrefix(strings.TrimSpace(l), noticeKnown); ok {
			n.KnownHosts = strings.TrimSpace(v)
		}
		if v, ok := strings.CutPrefix(strings.TrimSpace(l), noticeProof); ok {
			n.Proof = v
		}
	}
	cmd, fp, _ := strings.Cut(lines[0], noticeHostKey)
	n.SSHCommand = strings.TrimSpace(cmd)
	n.HostKeyFingerprint = strings.TrimSuffix(strings.TrimSpace(fp), ")")
	return n, n.SSHCommand != "" && n.KnownHosts != ""
}
