package workflows

import (
	"strings"
	"testing"
)

func TestStringValue(t *testing.T) {
	for _, c := range []struct {
		text, want string
		ok         bool
	}{
		{"hello world", "hello world", true},
		{`"true"`, "true", true},
		{"'it''s'", "it's", true},
		{"|\n  a\n  b\n", "a\nb\n", true},
		{"|-\n  a\n", "a", true},
		{"true", "", false},
		{"1.10", "", false},
		{"null", "", false},
		{"[a]", "", false},
		{"{a: b}", "", false},
		{"a: b", "", false},
		{`"open`, "", false},
	} {
		got, ok := StringValue(c.text)
		if got != c.want || ok != c.ok {
			t.Errorf("StringValue(%q) = %q, %v; want %q, %v", c.text, got, ok, c.want, c.ok)
		}
	}
}

func TestEndsWithRun(t *testing.T) {
	const head = "on: push\njobs:\n  a:\n    runs-on: x\n    steps:\n"
	for in, want := range map[string]bool{
		head + "      - run: |\n          make":         true,
		head + "      - run: make\n":                    true,
		head + "      - run: make\n        shell: sh\n": false,
		head + "      - uses: a/b@v1\n":                 false,
		head + "      - run: make\n    env: {run: x}\n": true, // a "run" key all the same: the check is on the text's last value
	} {
		w, err := Parse("ci.yml", []byte(in))
		if err != nil {
			t.Fatal(err)
		}
		if got := w.EndsWithRun(); got != want {
			t.Errorf("EndsWithRun(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestCompareExcept(t *testing.T) {
	parse := func(s string) *Workflow {
		t.Helper()
		w, err := Parse("ci.yml", []byte(s))
		if err != nil {
			t.Fatal(err)
		}
		return w
	}
	const jobs = "jobs:\n  a:\n    runs-on: x\n    permissions:\n      contents: read\n    steps: [{run: x}]\n"
	a := parse("on: push\n" + jobs)
	for _, c := range []struct {
		b    string
		path []string
		err  string
	}{
		{"on: [pull_request]\n" + jobs, []string{"on"}, ""},
		{"on: push\n" + strings.Replace(jobs, "contents: read", "contents: read\n      checks: write", 1), []string{"jobs", "a", "permissions"}, ""},
		{"on: push\n" + strings.Replace(jobs, "runs-on: x", "runs-on: y", 1), []string{"on"}, "ci.yml:4:14: the value differs"},
		{"on: [pull_request]\n" + jobs, []string{"jobs", "a", "permissions"}, "ci.yml:1:5: the kind of node differs"},
		{"on: push\n" + jobs, []string{"permissions"}, "no permissions in both documents"},
	} {
		err := CompareExcept(a, parse(c.b), c.path...)
		if (err == nil) != (c.err == "") || (err != nil && !strings.Contains(err.Error(), c.err)) {
			t.Errorf("CompareExcept(.., %q) on\n%s= %v, want %q", c.path, c.b, err, c.err)
		}
	}
}
