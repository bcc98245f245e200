package term

import (
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/windows"

	"github.com/pitstopci/pitstop/agent/shell"
)

// A program started on a pseudo console gets the console as its standard
// handles on Windows, but not under wine 8, where it gets the agent's own
// and so never sees the console's input. Programs are therefore started
// on the console through pitstop itself: "pitstop.exe ConsoleHelperArg
// COMMAND LINE" opens the console it runs on (CONIN$, CONOUT$), runs the
// command line with them, and exits with the program's status. One way
// everywhere, so the one the tests run is the one the runners run.

// ConsoleHelperArg is the first argument of pitstop's console helper.
const ConsoleHelperArg = "__pitstop-console"

// consoleArgv is argv started through the console helper.
func consoleArgv(argv []string) ([]string, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	return []string{self, ConsoleHelperArg, shell.RawArg + shell.CommandLine(argv)}, nil
}

// ctrlCHelperArg is the first argument of pitstop's Ctrl-C helper, which
// types Ctrl-C into the console of the process whose id follows.
const ctrlCHelperArg = "__pitstop-ctrl-c"

// RunConsoleHelper runs the console helper or the Ctrl-C helper when args
// (os.Args) ask for one, and then does not return; otherwise it returns
// at once. main calls it first.
func RunConsoleHelper(args []string) {
	if len(args) == 3 && args[1] == ctrlCHelperArg {
		runCtrlCHelper(args[2])
	}
	if len(args) < 3 || args[1] != ConsoleHelperArg {
		return
	}
	// The program's command line as the agent made it, unparsed: cmd.exe
	// and PowerShell parse their own (see shell.RawArg).
	full := windows.UTF16PtrToString(windows.GetCommandLine())
	_, line, ok := strings.Cut(full, " "+ConsoleHelperArg+" ")
	if !ok {
		os.Exit(255)
	}
	in, err1 := os.OpenFile("CONIN$", os.O_RDWR, 0)
	out, err2 := os.OpenFile("CONOUT$", os.O_RDWR, 0)
	if err1 != nil || err2 != nil {
		os.Exit(255)
	}
	// Ctrl-C reaches everything on the console: it is for the program,
	// which decides what to do with it, not for the helper. Not
	// signal.Ignore: on Windows, Go's console handler passes an ignored
	// Ctrl-C on to the default handler, which ends the process, and with
	// it the session, before the program has had its say. A signal that
	// is notified counts as handled; nobody needs to read it.
	signal.Notify(make(chan os.Signal, 1), os.Interrupt)
	cmd := exec.Command(args[2])
	cmd.SysProcAttr = &syscall.SysProcAttr{CmdLine: line}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = in, out, out
	if err := cmd.Start(); err != nil {
		out.WriteString("pitstop: " + err.Error() + "\r\n") //nolint:errcheck // exiting anyway
		os.Exit(127)
	}
	cmd.Wait() //nolint:errcheck // the status is what counts
	os.Exit(cmd.ProcessState.ExitCode())
}

// An exec session's program runs on a console of its own, with no
// window (CREATE_NO_WINDOW), and its standard handles on the session's
// pipes. A client's SIGINT is then a Ctrl-C in that console, which is
// what Ctrl-C is to a console program: its handler runs, or it ends.
// Only a process on a console can raise Ctrl-C in it, and the agent's
// own console, if it has one, must stay its own: a helper process does
// it, "pitstop.exe __pitstop-ctrl-c PID", started without a console.

// interrupt raises Ctrl-C in the console of the process pid, through the
// Ctrl-C helper.
func interrupt(pid int) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	cmd := exec.Command(self, ctrlCHelperArg, strconv.Itoa(pid))
	cmd.SysProcAttr = &syscall.SysProcAttr{CreationFlags: windows.DETACHED_PROCESS}
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("ctrl-c to process %d: %w: %s", pid, err, strings.TrimSpace(string(b)))
	}
	return nil
}

// runCtrlCHelper joins the console of process pid and raises Ctrl-C in
// it, for every process there but itself; it exits 0 if it could.
func runCtrlCHelper(pid string) {
	n, err := strconv.ParseUint(pid, 10, 32)
	if err == nil {
		procFreeConsole.Call() //nolint:errcheck // started without one
		err = attachConsole(uint32(n))
	}
	if err == nil {
		// Ignored here: the helper must live to report.
		err = setConsoleCtrlHandler(0, true)
	}
	if err == nil {
		err = windows.GenerateConsoleCtrlEvent(windows.CTRL_C_EVENT, 0)
	}
	if err != nil {
		os.Stderr.WriteString(err.Error()) //nolint:errcheck // exiting anyway
		os.Exit(1)
	}
	os.Exit(0)
}

var (
	procFreeConsole           = windows.NewLazySystemDLL("kernel32.dll").NewProc("FreeConsole")
	procAttachConsole         = windows.NewLazySystemDLL("kernel32.dll").NewProc("AttachConsole")
	procSetConsoleCtrlHandler = windows.NewLazySystemDLL("kernel32.dll").NewProc("SetConsoleCtrlHandler")
)

// attachConsole is kernel32's AttachConsole, which x/sys/windows lacks,
// as it lacks FreeConsole and SetConsoleCtrlHandler.
func attachConsole(pid uint32) error {
	if r, _, err := procAttachConsole.Call(uintptr(pid)); r == 0 {
		return fmt.Errorf("attach to the console of process %d: %w", pid, err)
	}
	return nil
}

// setConsoleCtrlHandler is kernel32's SetConsoleCtrlHandler.
func setConsoleCtrlHandler(handler uintptr, add bool) error {
	a := uintptr(0)
	if add {
		a = 1
	}
	if r, _, err := procSetConsoleCtrlHandler.Call(handler, a); r == 0 {
		return fmt.Errorf("ignore ctrl-c: %w", err)
	}
	return nil
}
