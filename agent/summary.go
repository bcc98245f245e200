package agent

import (
	"fmt"
	"os"
	"strings"
	"time"
	"unicode"
)

// appendSummary appends markdown to the step summary at path
// (GITHUB_STEP_SUMMARY on GitHub Actions); "" means there is none.
func appendSummary(path, md string) error {
	if path == "" {
		return nil
	}
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("open step summary: %w", err)
	}
	if _, err := f.WriteString(md); err != nil {
		f.Close()
		return fmt.Errorf("write step summary: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write step summary: %w", err)
	}
	return nil
}

func summaryStart(cfg Config, r Ready) string {
	var b strings.Builder
	fmt.Fprintf(&b, "### pitstop: %s was paused\n\n", cfg.Label)
	fmt.Fprintf(&b, "Connect with:\n\n```sh\n%s\n```\n\n", r.SSHCommand)
	if r.Relay != "" {
		// Said here because the command names a relay: what it can see.
		fmt.Fprintf(&b, "Through the relay `%s`, which carries the session encrypted end to end with the agent: it cannot read it or pose as the agent, whose host key you check.\n\n", r.Relay)
	}
	fmt.Fprintf(&b, "Host key `%s`; for strict checking add to `known_hosts`:\n\n```\n%s\n```\n\n", r.HostKeyFingerprint, r.KnownHosts)
	who := "keys given directly"
	if len(r.AuthorizedUsers) > 0 {
		who = "`" + strings.Join(r.AuthorizedUsers, "`, `") + "`"
	}
	keys := "keys"
	if len(r.AuthorizedKeyFingerprints) == 1 {
		keys = "key"
	}
	fmt.Fprintf(&b, "May log in: %s (%d %s).\n\n", who, len(r.AuthorizedKeyFingerprints), keys)
	return b.String()
}

func summaryEnd(reason EndReason, logins []string, d time.Duration) string {
	var b strings.Builder
	if len(logins) == 0 {
		b.WriteString("Nobody logged in. ")
	} else {
		fmt.Fprintf(&b, "Logged in: %s. ", strings.Join(logins, ", "))
	}
	fmt.Fprintf(&b, "The pause ended after %s: %s.\n\n", d.Round(time.Second), reason.Describe())
	return b.String()
}

// markdownText is s as literal text in markdown: a name from a key's
// comment must not turn into a link, an image, HTML or a heading in the
// summary everyone with access to the run reads. Every ASCII punctuation
// character is backslash-escaped (CommonMark lets any of them be), and
// line breaks, which a name has none of (displayName), become spaces.
func markdownText(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '\n' || r == '\r':
			b.WriteByte(' ')
		case r < 0x80 && (unicode.IsPunct(r) || unicode.IsSymbol(r)):
			b.WriteByte('\\')
			b.WriteRune(r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}
