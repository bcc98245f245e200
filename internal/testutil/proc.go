package testutil

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Process is a process as its /proc/PID/stat line names it.
type Process struct {
	PID  int
	PPID int
	// Comm is the command name, as ps -o comm prints it.
	Comm string
}

// ProcessTree is root and every process descending from it, root first,
// as /proc shows them now. It follows parents rather than a process
// group or session, which daemons such as sshd leave for each
// connection. Processes that end while it reads are left out; root is
// always in it. Without /proc (macOS) it is root alone.
func ProcessTree(root int) []Process {
	procs := map[int]Process{}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...; comm may hold spaces and parentheses.
		s := string(b)
		open, end := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
		if open < 0 || end < open {
			continue
		}
		p := Process{PID: pid, Comm: s[open+1 : end]}
		if f := strings.Fields(s[end+1:]); len(f) > 1 {
			p.PPID, _ = strconv.Atoi(f[1])
		}
		procs[pid] = p
	}
	rootProc, ok := procs[root]
	if !ok {
		rootProc = Process{PID: root}
	}
	tree := []Process{rootProc}
	for i := 0; i < len(tree); i++ {
		for _, p := range procs {
			if p.PPID == tree[i].PID {
				tree = append(tree, p)
			}
		}
	}
	return tree
}
