package proc

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// userHZ is the unit of the start times in /proc/PID/stat: clock ticks
// of 1/100 s on every architecture Go supports (USER_HZ, which the kernel
// keeps at 100 for user space whatever its own HZ).
const userHZ = 100

// JobStart finds when the job started: the start of the process that runs
// it, the nearest one among pid and its ancestors that is either the
// runner's worker (Runner.Worker, started by GitHub's runner for each
// job) or pitstop act. what names it for the log; ok is false when no
// such process is found (a job container, which sees no process outside
// it, or a job run some other way).
func JobStart(pid int) (start time.Time, what string, ok bool) {
	boot, err := bootTime()
	if err != nil {
		return time.Time{}, "", false
	}
	// The depth bound guards against a loop in a /proc that changes while
	// it is read; real chains are a handful of processes long.
	for depth := 0; pid > 1 && depth < 64; depth++ {
		st, err := readStat(pid)
		if err != nil {
			return time.Time{}, "", false
		}
		if name := jobProcess(pid, st.comm); name != "" {
			at := boot.Add(time.Duration(st.startTicks) * time.Second / userHZ)
			return at, fmt.Sprintf("%s (pid %d)", name, pid), true
		}
		pid = st.ppid
	}
	return time.Time{}, "", false
}

// jobProcess names pid when it is the process a job runs under, or is "".
func jobProcess(pid int, comm string) string {
	if comm == "Runner.Worker" {
		return comm
	}
	// pitstop act runs act, which runs the job: its start is the job's.
	// It is found by its command line, whatever the binary is called,
	// as long as it is called pitstop or is this very binary.
	cmdline, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "cmdline"))
	if err != nil {
		return ""
	}
	args := strings.Split(strings.TrimRight(string(cmdline), "\x00"), "\x00")
	if len(args) < 2 || args[1] != "act" {
		return ""
	}
	if filepath.Base(args[0]) == "pitstop" || sameExecutable(pid) {
		return "pitstop act"
	}
	return ""
}

// sameExecutable says whether pid runs this process's own binary.
func sameExecutable(pid int) bool {
	self, err1 := os.Stat("/proc/self/exe")
	other, err2 := os.Stat(filepath.Join("/proc", strconv.Itoa(pid), "exe"))
	return err1 == nil && err2 == nil && os.SameFile(self, other)
}

// procStat is what JobStart needs of /proc/PID/stat.
type procStat struct {
	comm       string
	ppid       int
	startTicks uint64 // since boot, in 1/userHZ s
}

func readStat(pid int) (procStat, error) {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return procStat{}, err
	}
	// The command name is in parentheses and may hold anything, spaces
	// and parentheses included: the fields after the last ")" are
	// state (field 3 of proc(5)), ppid (4), ..., starttime (22).
	open, end := bytes.IndexByte(b, '('), bytes.LastIndexByte(b, ')')
	if open < 0 || end < open {
		return procStat{}, fmt.Errorf("read /proc/%d/stat: no command name", pid)
	}
	f := strings.Fields(string(b[end+1:]))
	if len(f) < 20 {
		return procStat{}, fmt.Errorf("read /proc/%d/stat: %d fields", pid, len(f)+2)
	}
	ppid, err1 := strconv.Atoi(f[1])
	start, err2 := strconv.ParseUint(f[19], 10, 64)
	if err1 != nil || err2 != nil {
		return procStat{}, fmt.Errorf("read /proc/%d/stat: bad ppid or start time", pid)
	}
	return procStat{comm: string(b[open+1 : end]), ppid: ppid, startTicks: start}, nil
}

// bootTime is when the system booted, from the btime line of /proc/stat,
// to the second.
func bootTime() (time.Time, error) {
	f, err := os.Open("/proc/stat")
	if err != nil {
		return time.Time{}, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "btime "); ok {
			n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			if err != nil {
				return time.Time{}, fmt.Errorf("read /proc/stat: btime %q", v)
			}
			return time.Unix(n, 0), nil
		}
	}
	if err := sc.Err(); err != nil {
		return time.Time{}, err
	}
	return time.Time{}, fmt.Errorf("read /proc/stat: no btime")
}
