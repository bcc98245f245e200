package actrun

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
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
