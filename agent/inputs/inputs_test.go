package inputs

import (
	"strings"
	"testing"

	"github.com/pitstopci/pitstop/injector"
)

func TestAllReadsActionYAML(t *testing.T) {
	list, err := All()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]Input{}
	for _, in := range list {
		got[in.Name] = in
	}
	if got["max-duration"].Default != "1h" || got["allow-untrusted-prs"].Default != "false" || got["github-token"].Description == "" {
		t.Errorf("inputs = %+v", list)
	}
	// The words an enum input takes are the ones its description names.
	for name, words := range enums {
		in, ok := got[name]
		if !ok {
			t.Errorf("enum input %q is not in action.yml", name)
			continue
		}
		for _, w := range words {
			if !strings.Contains(in.Description, "`"+w+"`") {
				t.Errorf("input %q: action.yml's description does not name %q", name, w)
			}
		}
	}
}

func TestCheck(t *testing.T) {
	for _, tc := range []struct {
		with []injector.Input
		want string // "" for no error
	}{
		{[]injector.Input{{Key: "wait-timeout", Value: "5m"}, {Key: "allow-untrusted-prs", Value: "true"}, {Key: "log-format", Value: "json"}}, ""},
		{[]injector.Input{{Key: "install", Value: "/usr/local/bin/pitstop"}, {Key: "min-permission", Value: "read"}, {Key: "listen", Value: "0.0.0.0:2222"}}, ""},
		{[]injector.Input{{Key: "wait-timeout", Value: "${{ inputs.wait }}"}, {Key: "max-duration", Value: ""}}, ""},
		{[]injector.Input{{Key: "wait-timout", Value: "5m"}}, `--with wait-timout: the action has no input "wait-timout"; did you mean "wait-timeout"?`},
		{[]injector.Input{{Key: "colour", Value: "x"}}, `--with colour: the action has no input "colour"; its inputs are: github-token, `},
		{[]injector.Input{{Key: "wait-timeout", Value: "5"}}, `--with wait-timeout=5: want a duration such as 15m or 1h30m (with its unit)`},
		{[]injector.Input{{Key: "max-duration", Value: "-1h"}}, `--with max-duration=-1h: want a duration such as 1h or 1h30m (with its unit)`},
		{[]injector.Input{{Key: "allow-agent-forwarding", Value: "yes"}}, `--with allow-agent-forwarding=yes: want true or false`},
		{[]injector.Input{{Key: "log-format", Value: "text"}}, `--with log-format=text: want one of console, json`},
		{[]injector.Input{{Key: "job-timeout-minutes", Value: "30"}, {Key: "job-timeout-minutes", Value: "7.5"}}, ""},
		{[]injector.Input{{Key: "job-timeout-minutes", Value: "30m"}}, `--with job-timeout-minutes=30m: want a number of minutes such as 30`},
		{[]injector.Input{{Key: "job-timeout-minutes", Value: "0"}}, `--with job-timeout-minutes=0: want a number of minutes such as 30`},
		{[]injector.Input{{Key: "install", Value: "binary"}}, `--with install=binary: want one of auto, release, source, or the absolute path of a pitstop binary`},
	} {
		err := Check(tc.with)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("Check(%v) = %v, want nil", tc.with, err)
		case tc.want != "" && (err == nil || !strings.HasPrefix(err.Error(), tc.want)):
			t.Errorf("Check(%v) = %v, want %q", tc.with, err, tc.want)
		}
	}
}
