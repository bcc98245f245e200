package actrun

import (
	"fmt"
	"runtime"
	"strings"
)

// foreignOS says, for a job whose runs-on labels name a Windows or macOS
// image that this machine is not, that act cannot run it as such: act
// runs every job on this machine (or in a Linux container), whatever its
// labels ask for, and without a word, so the user would be debugging the
// wrong system. "" when the labels ask for nothing of the kind.
func foreignOS(job string, labels []string, goos string) string {
	for _, l := range labels {
		want := ""
		switch ll := strings.ToLower(l); {
		case strings.HasPrefix(ll, "windows"):
			want = "windows"
		case strings.HasPrefix(ll, "macos"):
			want = "darwin"
		}
		if want == "" || want == goos {
			continue
		}
		name := map[string]string{"windows": "Windows", "darwin": "macOS"}[want]
		here := map[string]string{"windows": "Windows", "darwin": "macOS"}[goos]
		if here == "" {
			here = "Linux"
		}
		return fmt.Sprintf("pitstop act: job %q runs on %q, but act cannot run %s jobs on this machine: it runs the job here, as %s. "+
			"To debug it on %s, pause the job on GitHub (pitstop rerun).", job, l, name, here, name)
	}
	return ""
}

// warnForeignOS prints foreignOS's warning, if any, for this machine.
func (o *Options) warnForeignOS(job string, labels []string) {
	if w := foreignOS(job, labels, runtime.GOOS); w != "" {
		fmt.Fprintln(o.Stderr, w)
	}
}
