package workflows

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// TestMatrixLegs expands matrices the way GitHub documents it: the
// product of the values, less exclude, with include merged into every
// leg it does not contradict, or added as a leg of its own.
func TestMatrixLegs(t *testing.T) {
	for _, tc := range []struct{ name, matrix, want string }{
		{"product", "os: [linux, mac]\n        go: ['1.22', 1.23]", "go=1.22 os=linux|go=1.22 os=mac|go=1.23 os=linux|go=1.23 os=mac"},
		{"exclude", "os: [linux, mac]\n        go: [a, b]\n        exclude:\n          - {os: mac, go: b}", "go=a os=linux|go=a os=mac|go=b os=linux"},
		{"exclude partial", "os: [linux, mac]\n        go: [a, b]\n        exclude:\n          - os: mac", "go=a os=linux|go=b os=linux"},
		{"include merges", "os: [linux, mac]\n        include:\n          - {os: mac, arch: arm}", "arch=arm os=mac|os=linux"},
		{"include adds", "os: [linux, mac]\n        include:\n          - {os: windows}\n          - {extra: x}", "extra=x os=linux|extra=x os=mac|os=windows"},
		{"include only", "include:\n          - {os: a}\n          - {os: b}", "os=a|os=b"},
		{"expression value", "os: ${{ fromJSON(needs.a.outputs.os) }}", "unknown"},
		{"object value", "cfg: [{os: a}]", "unknown"},
		{"expression include", "os: [a]\n        include: ${{ fromJSON('[]') }}", "unknown"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := "on: push\njobs:\n  j:\n    runs-on: x\n    strategy:\n      matrix:\n        " + tc.matrix + "\n    steps:\n      - run: a\n"
			w, err := Parse("ci.yml", []byte(src))
			if err != nil {
				t.Fatal(err)
			}
			legs := w.Jobs[0].Matrix.Legs
			got := "unknown"
			if legs != nil {
				var ls []string
				for _, l := range legs {
					var kv []string
					for k, v := range l {
						kv = append(kv, fmt.Sprintf("%s=%s", k, v))
					}
					slices.Sort(kv)
					ls = append(ls, strings.Join(kv, " "))
				}
				slices.Sort(ls)
				got = strings.Join(ls, "|")
			}
			if got != tc.want {
				t.Errorf("legs\n got %s\nwant %s", got, tc.want)
			}
		})
	}
}
