package agent

import (
	"fmt"
	"strings"
)

// escapeData escapes a workflow command's message, as the runner expects.
func escapeData(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A").Replace(s)
}

// escapeProperty escapes a workflow command's property value.
func escapeProperty(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C").Replace(s)
}

// notice writes the ::notice:: annotation that puts the connect command on
// the run's page. Only a runner reads it: Run calls it on GitHub Actions.
func notice(cfg Config, r Ready) {
	if cfg.Annotations == nil {
		return
	}
	fmt.Fprintf(cfg.Annotations, "::notice title=%s::%s\n", escapeProperty("pitstop: "+cfg.Label+" is paused"),
		escapeData(fmt.Sprintf("%s   (host key %s)", r.SSHCommand, r.HostKeyFingerprint)+
			// The line pitstop run and ssh pin when no check run could be made.
			"\nknown_hosts: "+r.KnownHosts))
}
