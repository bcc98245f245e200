package actrun

import (
	"strings"
	"testing"
)

func TestForeignOS(t *testing.T) {
	for _, tc := range []struct {
		labels []string
		goos   string
		want   string // a part of the warning; "" for none
	}{
		{[]string{"windows-latest"}, "linux", `job "build" runs on "windows-latest", but act cannot run Windows jobs on this machine: it runs the job here, as Linux`},
		{[]string{"self-hosted", "macos-14"}, "linux", "cannot run macOS jobs on this machine: it runs the job here, as Linux"},
		{[]string{"macos-latest"}, "windows", "as Windows"},
		{[]string{"ubuntu-latest"}, "linux", ""},
		{[]string{"windows-2022"}, "windows", ""},
		{[]string{"macos-15"}, "darwin", ""},
		{nil, "linux", ""},
	} {
		got := foreignOS("build", tc.labels, tc.goos)
		if tc.want == "" && got != "" || tc.want != "" && !strings.Contains(got, tc.want) {
			t.Errorf("foreignOS(%q, %s) = %q, want %q", tc.labels, tc.goos, got, tc.want)
		}
	}
}
