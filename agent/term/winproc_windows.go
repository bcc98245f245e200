package term

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/windows"

	"github.com/pitstopci/pitstop/agent/control"
	"github.com/pitstopci/pitstop/agent/shell"
)

// winProc is a session's program on Windows, in a job object of its own.
// Windows has no process groups to signal: the job holds the program and
// everything it starts, and ending the job ends them all, as SIGKILL to
// the group does on Unix. A job that closes kills what is left in it, so
// nothing a session started outlives the agent either.
type winProc struct {
	pid  int
	proc windows.Handle
	job  windows.Handle
}

// stdio are the handles a program gets for its standard input, output and
// error; zero handles when it runs on a pseudo console instead.
type stdio struct{ in, out, err windows.Handle }

// startProc starts argv in dir with env, on the pseudo console pc if it is
// not zero, else with io as its standard handles. The program is created
// suspended and put in its job before it runs, so not even its first child
// escapes the job.
func startProc(argv, env []string, dir string, pc windows.Handle, io stdio) (_ *winProc, err error) {
	if len(argv) == 0 {
		return nil, errors.New("no program to run")
	}
	job, err := newKillJob()
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			windows.CloseHandle(job) //nolint:errcheck // failing anyway
		}
	}()
	attrs, err := windows.NewProcThreadAttributeList(2)
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", argv[0], err)
	}
	defer attrs.Delete()
	si := &windows.StartupInfoEx{}
	si.Cb = uint32(unsafe.Sizeof(*si))
	inherit := false
	newConsole := uint32(0)
	handles := []windows.Handle{}
	if pc != 0 {
		// No standard handles and nothing inherited: the program gets
		// the console's own.
		if err := attrs.Update(windows.PROC_THREAD_ATTRIBUTE_PSEUDOCONSOLE, *(*unsafe.Pointer)(unsafe.Pointer(&pc)), unsafe.Sizeof(pc)); err != nil {
			return nil, fmt.Errorf("start %s on the console: %w", argv[0], err)
		}
	} else {
		// The handles are made inheritable for the time it takes to
		// create the process, under the lock os/exec takes for the same,
		// and listed so that nothing else is inherited.
		syscall.ForkLock.Lock()
		defer syscall.ForkLock.Unlock()
		for _, h := range []*windows.Handle{&io.in, &io.out, &io.err} {
			var dup windows.Handle
			p := windows.CurrentProcess()
			if err := windows.DuplicateHandle(p, *h, p, &dup, 0, true, windows.DUPLICATE_SAME_ACCESS); err != nil {
				return nil, fmt.Errorf("start %s: %w", argv[0], err)
			}
			defer windows.CloseHandle(dup) //nolint:errcheck // the child has its own
			*h = dup
			handles = append(handles, dup)
		}
		si.Flags = windows.STARTF_USESTDHANDLES
		si.StdInput, si.StdOutput, si.StdErr = io.in, io.out, io.err
		if err := attrs.Update(windows.PROC_THREAD_ATTRIBUTE_HANDLE_LIST, unsafe.Pointer(&handles[0]), uintptr(len(handles))*unsafe.Sizeof(handles[0])); err != nil {
			return nil, fmt.Errorf("start %s: %w", argv[0], err)
		}
		inherit = true
		// A console of its own, with no window, for Ctrl-C (see
		// interrupt) and so that a Ctrl-C in the agent's console is not
		// also the program's.
		newConsole = windows.CREATE_NO_WINDOW
	}
	si.ProcThreadAttributeList = attrs.List()

	cmdline, err := windows.UTF16PtrFromString(shell.CommandLine(argv))
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", argv[0], err)
	}
	var wdir *uint16
	if dir != "" {
		if wdir, err = windows.UTF16PtrFromString(dir); err != nil {
			return nil, fmt.Errorf("start %s: %w", argv[0], err)
		}
	}
	block, err := envBlock(env)
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", argv[0], err)
	}
	flags := uint32(windows.CREATE_UNICODE_ENVIRONMENT | windows.EXTENDED_STARTUPINFO_PRESENT | windows.CREATE_SUSPENDED | newConsole)
	var pi windows.ProcessInformation
	if err := windows.CreateProcess(nil, cmdline, nil, nil, inherit, flags, &block[0], wdir, &si.StartupInfo, &pi); err != nil {
		return nil, fmt.Errorf("start %s: %w", argv[0], err)
	}
	defer windows.CloseHandle(pi.Thread) //nolint:errcheck // only needed to resume it
	if err := windows.AssignProcessToJobObject(job, pi.Process); err != nil {
		windows.TerminateProcess(pi.Process, 255) //nolint:errcheck // it never ran
		windows.CloseHandle(pi.Process)           //nolint:errcheck // failing anyway
		return nil, fmt.Errorf("start %s: put it in a job object: %w", argv[0], err)
	}
	if _, err := windows.ResumeThread(pi.Thread); err != nil {
		windows.TerminateJobObject(job, 255) //nolint:errcheck // it never ran
		windows.CloseHandle(pi.Process)      //nolint:errcheck // failing anyway
		return nil, fmt.Errorf("start %s: %w", argv[0], err)
	}
	return &winProc{pid: int(pi.ProcessId), proc: pi.Process, job: job}, nil
}

// newKillJob is a job object that ends every process in it when its last
// handle closes: if the agent itself dies, its sessions' programs go too.
func newKillJob() (windows.Handle, error) {
	job, err := windows.CreateJobObject(nil, nil)
	if err != nil {
		return 0, fmt.Errorf("create job object: %w", err)
	}
	info := windows.JOBOBJECT_EXTENDED_LIMIT_INFORMATION{}
	info.BasicLimitInformation.LimitFlags = windows.JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE
	if _, err := windows.SetInformationJobObject(job, windows.JobObjectExtendedLimitInformation,
		uintptr(unsafe.Pointer(&info)), uint32(unsafe.Sizeof(info))); err != nil {
		windows.CloseHandle(job) //nolint:errcheck // failing anyway
		return 0, fmt.Errorf("set up job object: %w", err)
	}
	return job, nil
}

// wait waits for the program itself to exit and returns its exit code.
func (p *winProc) wait() int {
	if _, err := windows.WaitForSingleObject(p.proc, windows.INFINITE); err != nil {
		return 255
	}
	var code uint32
	if err := windows.GetExitCodeProcess(p.proc, &code); err != nil {
		return 255
	}
	return int(code)
}

// kill ends the program and everything it started.
func (p *winProc) kill() {
	windows.TerminateJobObject(p.job, 1) //nolint:errcheck // it may have ended already
}

// release closes the handles, which ends whatever is left in the job.
func (p *winProc) release() {
	windows.CloseHandle(p.job)  //nolint:errcheck // nothing to do about it
	windows.CloseHandle(p.proc) //nolint:errcheck // nothing to do about it
}

// envBlock is env as CreateProcess takes it: NUL-terminated KEY=VALUE
// strings, and a NUL at the end.
func envBlock(env []string) ([]uint16, error) {
	var out []uint16
	for _, kv := range env {
		if strings.IndexByte(kv, 0) >= 0 {
			return nil, fmt.Errorf("environment variable %q holds a NUL", kv)
		}
		out = append(out, windows.StringToUTF16(kv)...)
	}
	if len(out) == 0 {
		out = append(out, 0)
	}
	return append(out, 0), nil
}

// fileHandle is the Windows handle of f.
func fileHandle(f *os.File) windows.Handle { return windows.Handle(f.Fd()) }

// pipeSeq numbers the anonymous pipes pipePair makes.
var pipeSeq atomic.Uint64

// pipePair is a one-way pipe between the agent and a program: ours is the
// agent's end, reading when inbound, else writing; theirs is the
// program's, for its standard handles or a pseudo console. Ours is
// overlapped, so that closing it ends a read in progress: the Win32
// anonymous pipe (CreatePipe) is synchronous, and a read blocked on it
// survives Close for as long as a background program holds the other end.
func pipePair(inbound bool) (ours *os.File, theirs windows.Handle, err error) {
	name := fmt.Sprintf(`\\.\pipe\pitstop-%d-%d-%d`, os.Getpid(), pipeSeq.Add(1), time.Now().UnixNano())
	wname, err := windows.UTF16PtrFromString(name)
	if err != nil {
		return nil, 0, err
	}
	access, theirAccess := uint32(windows.PIPE_ACCESS_OUTBOUND), uint32(windows.GENERIC_READ)
	if inbound {
		access, theirAccess = windows.PIPE_ACCESS_INBOUND, windows.GENERIC_WRITE
	}
	sa, err := control.OwnerOnly()
	if err != nil {
		return nil, 0, fmt.Errorf("create pipe: %w", err)
	}
	h, err := windows.CreateNamedPipe(wname, access|windows.FILE_FLAG_OVERLAPPED|windows.FILE_FLAG_FIRST_PIPE_INSTANCE,
		windows.PIPE_TYPE_BYTE|windows.PIPE_READMODE_BYTE|windows.PIPE_WAIT|windows.PIPE_REJECT_REMOTE_CLIENTS,
		1, control.PipeBuffer, control.PipeBuffer, 0, sa)
	if err != nil {
		return nil, 0, fmt.Errorf("create pipe: %w", err)
	}
	theirs, err = windows.CreateFile(wname, theirAccess, 0, nil, windows.OPEN_EXISTING, 0, 0)
	if err != nil {
		windows.CloseHandle(h) //nolint:errcheck // failing anyway
		return nil, 0, fmt.Errorf("open pipe: %w", err)
	}
	// The client has opened it: connecting completes at once.
	if err := windows.ConnectNamedPipe(h, nil); err != nil && !errors.Is(err, windows.ERROR_PIPE_CONNECTED) {
		windows.CloseHandle(h)      //nolint:errcheck // failing anyway
		windows.CloseHandle(theirs) //nolint:errcheck // failing anyway
		return nil, 0, fmt.Errorf("connect pipe: %w", err)
	}
	return os.NewFile(uintptr(h), name), theirs, nil
}
