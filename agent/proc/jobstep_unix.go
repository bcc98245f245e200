//go:build unix

package proc

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// CurrentStep describes what the job runs now: the processes the runner
// (pid parent) has started, by the GITHUB_ACTION the runner gave them and
// the first line of the script they run. It reads /proc, so it says
// nothing where there is none (macOS); a detached pause works the same.
func CurrentStep(parent int) string {
	if parent <= 0 {
		return ""
	}
	dirs, err := os.ReadDir("/proc")
	if err != nil {
		return ""
	}
	self := os.Getpid()
	for _, d := range dirs {
		pid, err := strconv.Atoi(d.Name())
		if err != nil || pid == self || ppidOf(pid) != parent {
			continue
		}
		if desc := describeStep(pid); desc != "" {
			return desc
		}
	}
	return ""
}

// ppidOf reads the parent pid from /proc/PID/stat; the command name in
// parentheses may hold spaces, so the fields after the last ")" count.
func ppidOf(pid int) int {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return 0
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 2 {
		return 0
	}
	n, _ := strconv.Atoi(f[1])
	return n
}

// describeStep is "STEP: first line of its script" for a step process,
// or "" when pid is not one (it has no GITHUB_ACTION).
func describeStep(pid int) string {
	dir := filepath.Join("/proc", strconv.Itoa(pid))
	env, err := os.ReadFile(filepath.Join(dir, "environ"))
	if err != nil {
		return ""
	}
	action := ""
	for _, kv := range bytes.Split(env, []byte{0}) {
		if v, ok := bytes.CutPrefix(kv, []byte("GITHUB_ACTION=")); ok {
			action = string(v)
		}
	}
	if action == "" {
		return ""
	}
	cmd, _ := os.ReadFile(filepath.Join(dir, "cmdline"))
	args := strings.Split(strings.TrimRight(string(cmd), "\x00"), "\x00")
	what := strings.Join(args, " ")
	if line := scriptLine(args[len(args)-1]); line != "" {
		what = line
	}
	if len(what) > 100 {
		what = what[:97] + "..."
	}
	return action + ": " + what
}

// scriptLine is the first line of the script file a run: step executes
// that is not a shebang or blank, or "" when name is no such file.
func scriptLine(name string) string {
	fi, err := os.Stat(name)
	if err != nil || !fi.Mode().IsRegular() || fi.Size() > 1<<20 {
		return ""
	}
	f, err := os.Open(name)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line != "" && !strings.HasPrefix(line, "#!") {
			return line
		}
	}
	return ""
}
