package proc

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
	"unsafe"

	"golang.org/x/sys/windows"
)

// watched holds a handle on each process processGone was asked about.
// A process's id is not reused while a handle on it is open, so once
// processGone has seen the process, a later call cannot mistake another
// for it, however long between polls.
var watched sync.Map // pid → windows.Handle

// processGone reports whether the process pid has ended: its handle is
// signalled once it has. A pid that names no process is gone; one that
// this user may not open is someone else's, and alive.
func processGone(pid int) bool {
	if pid <= 0 {
		return false // no process, as on Unix
	}
	h, ok := watched.Load(pid)
	if !ok {
		nh, err := windows.OpenProcess(windows.SYNCHRONIZE|windows.PROCESS_QUERY_LIMITED_INFORMATION, false, uint32(pid)) //nolint:gosec // a pid
		if err != nil {
			return errors.Is(err, windows.ERROR_INVALID_PARAMETER)
		}
		if h, ok = watched.LoadOrStore(pid, nh); ok {
			windows.CloseHandle(nh) //nolint:errcheck // another call stored its own first
		}
	}
	ev, err := windows.WaitForSingleObject(h.(windows.Handle), 0)
	return err == nil && ev == windows.WAIT_OBJECT_0
}

// runnerWorker is the program GitHub's runner starts for each job.
const runnerWorker = "Runner.Worker.exe"

// JobStart finds when the job started: the start of the nearest process
// among pid and its ancestors that runs Runner.Worker.exe, the program
// GitHub's runner starts for each job. what names it for the log; ok is
// false when there is none. See jobstart_linux.go.
func JobStart(pid int) (start time.Time, what string, ok bool) {
	worker, start, ok := findWorker(pid)
	if !ok {
		return time.Time{}, "", false
	}
	return start, fmt.Sprintf("%s (pid %d)", strings.TrimSuffix(runnerWorker, ".exe"), worker), true
}

// RunnerPID is the process that runs the job, found above from: the
// nearest Runner.Worker.exe among from and its ancestors. A detached
// pause started from Git Bash watches it, since the shell's own parent
// id ($PPID) is not a Windows process id.
func RunnerPID(from int) (pid int, ok bool) {
	pid, _, ok = findWorker(from)
	return pid, ok
}

// findWorker is the nearest Runner.Worker.exe among pid and its
// ancestors, and when it was created.
func findWorker(pid int) (worker int, created time.Time, ok bool) {
	procs, err := processTable()
	if err != nil {
		return 0, time.Time{}, false
	}
	// Windows keeps the parent's id of a process after the parent has
	// ended, and ids are reused: a "parent" that started after its child
	// is another process, and the chain ends there. The depth bound
	// guards against a loop all the same.
	var child time.Time
	for depth := 0; pid > 0 && depth < 64; depth++ {
		p, found := procs[uint32(pid)] //nolint:gosec // a pid
		if !found {
			return 0, time.Time{}, false
		}
		created, err := processCreated(pid)
		if err != nil || (!child.IsZero() && created.After(child)) {
			return 0, time.Time{}, false
		}
		if strings.EqualFold(p.exe, runnerWorker) {
			return pid, created, true
		}
		child = created
		pid = int(p.ppid)
	}
	return 0, time.Time{}, false
}

// winProcess is a process as a process snapshot lists it.
type winProcess struct {
	ppid uint32
	exe  string // the program file's name, without its folder
}

// processTable lists the processes running now, by id.
func processTable() (map[uint32]winProcess, error) {
	snap, err := windows.CreateToolhelp32Snapshot(windows.TH32CS_SNAPPROCESS, 0)
	if err != nil {
		return nil, fmt.Errorf("list processes: %w", err)
	}
	defer windows.CloseHandle(snap) //nolint:errcheck // nothing to do about it
	procs := map[uint32]winProcess{}
	e := windows.ProcessEntry32{Size: uint32(unsafe.Sizeof(windows.ProcessEntry32{}))}
	for err = windows.Process32First(snap, &e); err == nil; err = windows.Process32Next(snap, &e) {
		procs[e.ProcessID] = winProcess{ppid: e.ParentProcessID, exe: windows.UTF16ToString(e.ExeFile[:])}
	}
	if !errors.Is(err, windows.ERROR_NO_MORE_FILES) {
		return nil, fmt.Errorf("list processes: %w", err)
	}
	return procs, nil
}

// processCreated is when the process pid was created.
func processCreated(pid int) (time.Time, error) {
	h, err := windows.OpenProcess(windows.PROCESS_QUERY_LIMITED_INFORMATION, false, uint32(pid)) //nolint:gosec // a pid
	if err != nil {
		return time.Time{}, err
	}
	defer windows.CloseHandle(h) //nolint:errcheck // nothing to do about it
	var created, exited, kernel, user windows.Filetime
	if err := windows.GetProcessTimes(h, &created, &exited, &kernel, &user); err != nil {
		return time.Time{}, err
	}
	return time.Unix(0, created.Nanoseconds()), nil
}
