package actrun

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pitstopci/pitstop/workflows"
)

func TestActNetwork(t *testing.T) {
	home := t.TempDir()
	env := []string{"HOME=" + home, "XDG_CONFIG_HOME=" + filepath.Join(home, "xdg"), "NET=from-env"}
	t.Chdir(t.TempDir()) // act also reads ./.actrc
	if got := actNetwork(env, []string{"push"}); got != "host" {
		t.Errorf("without --network: %q, want act's default host", got)
	}
	if err := os.WriteFile(filepath.Join(home, ".actrc"), []byte("-P ubuntu-latest=img\n--network $NET\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := actNetwork(env, nil); got != "from-env" {
		t.Errorf("~/.actrc's --network (with a variable, as act expands it): %q", got)
	}
	for _, args := range [][]string{
		{"--network", "mine"},
		{"--network=other", "push", "--network", "mine"},
		{"--network=mine"},
	} {
		if got := actNetwork(env, args); got != "mine" {
			t.Errorf("%q: %q, want the last one after --, mine", args, got)
		}
	}
}

func TestPauseListen(t *testing.T) {
	env := []string{"PATH=" + t.TempDir()} // no docker: names are not checked
	for _, tt := range []struct {
		network  string
		services []string
		listen   string
		err      string
	}{
		{"host", nil, HostListen, ""},
		{"host", []string{"db"}, "0.0.0.0:0", ""},
		{"mynet", nil, "0.0.0.0:0", ""},
		{"bridge", nil, "0.0.0.0:0", ""},
		{"mynet", []string{"db", "web"}, "", "act puts a job with services (db, web) on a network of its own and ignores --network mynet"},
		{"none", nil, "", "--network none leaves the job's container without a network"},
	} {
		listen, _, err := pauseListen(env, tt.network, tt.services)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("%s %v: got %q, %v, want an error saying %q", tt.network, tt.services, listen, err, tt.err)
			}
			continue
		}
		if err != nil || listen != tt.listen {
			t.Errorf("%s %v: got %q, %v, want %q", tt.network, tt.services, listen, err, tt.listen)
		}
	}
}

func TestOwnerAlive(t *testing.T) {
	me := os.Getpid()
	start := processStart(me)
	if start == "" {
		t.Fatal("no start time for this process")
	}
	if !ownerAlive(me, start) {
		t.Error("this process is taken for gone")
	}
	if ownerAlive(me, start+"1") {
		t.Error("a process with another start time (a reused PID) is taken for the owner")
	}
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	if ownerAlive(cmd.Process.Pid, "") {
		t.Errorf("an ended process (%d) is taken for alive", cmd.Process.Pid)
	}
}

func TestWithServiceOptions(t *testing.T) {
	in := "jobs:\n  b:\n    container: alpine\n    services:\n      web:\n        image: httpd\n      db: {image: pg, options: --cpus 1}\n  other:\n    services:\n      x: {image: y}\n"
	got, err := withServiceOptions([]byte(in), "b", "--label a=1")
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
