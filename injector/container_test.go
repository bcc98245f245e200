package injector

import (
	"strings"
	"testing"

	"github.com/pitstopci/pitstop/workflows"
)

func TestWithContainerOptions(t *testing.T) {
	const opts = "-v '/tmp/p s:/tmp/p s' --label pitstop.act=x"
	for _, tt := range []struct {
		name, in, want string
	}{
		{
			"plain image",
			"jobs:\n  b:\n    container: node:20 # the image\n    steps: []\n",
			"jobs:\n  b:\n    container: {image: \"node:20\", options: \"-v '/tmp/p s:/tmp/p s' --label pitstop.act=x\"} # the image\n    steps: []\n",
		},
		{
			"quoted expression",
			"jobs:\n  b:\n    container: \"${{ matrix.img }}\"\n",
			"jobs:\n  b:\n    container: {image: \"${{ matrix.img }}\", options: \"-v '/tmp/p s:/tmp/p s' --label pitstop.act=x\"}\n",
		},
		{
			"mapping without options",
			"jobs:\n  b:\n    container:\n      image: 'alpine'\n      env: {A: b}\n",
			"jobs:\n  b:\n    container:\n      options: \"-v '/tmp/p s:/tmp/p s' --label pitstop.act=x\"\n      image: 'alpine'\n      env: {A: b}\n",
		},
		{
			"mapping with options",
			"jobs:\n  b:\n    container:\n      image: alpine\n      options: --cpus 1\n",
			"jobs:\n  b:\n    container:\n      image: alpine\n      options: \"--cpus 1 -v '/tmp/p s:/tmp/p s' --label pitstop.act=x\"\n",
		},
		{
			"flow mapping",
			"jobs:\n  b:\n    container: {image: alpine}\n",
			"jobs:\n  b:\n    container: {options: \"-v '/tmp/p s:/tmp/p s' --label pitstop.act=x\", image: alpine}\n",
		},
	} {
		got, err := ContainerOptions("ci.yml", []byte(tt.in), "b", opts)
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if string(got) != tt.want {
			t.Errorf("%s:\n got %q\nwant %q", tt.name, got, tt.want)
			continue
		}
		// What act will read: the same image, and the options.
		wf, err := workflows.Parse("ci.yml", got)
		if err != nil {
			t.Errorf("%s: the result does not parse: %v", tt.name, err)
			continue
		}
		if c := wf.Jobs[0].Container; c == nil || !strings.HasSuffix(c.Options, opts) || c.Image == "" {
			t.Errorf("%s: act would read the container %+v", tt.name, c)
		}
	}

	for _, in := range []string{
		"jobs:\n  b:\n    steps: []\n",
		"jobs:\n  b:\n    container: null\n    steps: []\n",
		"jobs:\n  b:\n    container:\n      image: alpine\n      options: >\n        --cpus 1\n",
	} {
		if got, err := ContainerOptions("ci.yml", []byte(in), "b", opts); err == nil {
			t.Errorf("%q: got %q, want an error", in, got)
		}
	}
}

func TestWithServiceOptions(t *testing.T) {
	in := "jobs:\n  b:\n    container: alpine\n    services:\n      web:\n        image: httpd\n      db: {image: pg, options: --cpus 1}\n  other:\n    services:\n      x: {image: y}\n"
	got, err := ServiceOptions("ci.yml", []byte(in), "b", "--label a=1")
	if err != nil {
		t.Fatal(err)
	}
	wf, err := workflows.Parse("ci.yml", got)
	if err != nil {
		t.Fatalf("the result does not parse: %v\n%s", err, got)
	}
	services := func(job string) map[string]workflows.Container {
		j, err := wf.Job(job)
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]workflows.Container{}
		for _, s := range j.Services {
			m[s.ID] = *s
		}
		return m
	}
	b, _ := wf.Job("b")
	if sv := services("b"); sv["web"].Options != "--label a=1" || sv["web"].Image != "httpd" ||
		sv["db"].Options != "--cpus 1 --label a=1" || sv["db"].Image != "pg" || b.Container.Image != "alpine" {
		t.Errorf("job b as act reads it: %+v\n%s", sv, got)
	}
	if o := services("other")["x"].Options; o != "" {
		t.Errorf("another job's service was changed: %q", o)
	}
}
