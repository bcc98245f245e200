package agent

import (
	"os"
	"os/exec"
	"os/signal"
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

// RunConsoleHelper runs the console helper when args (os.Args) ask for
// it, and then does not return; otherwise it returns at once. main calls
// it first.
func RunConsoleHelper(args []string) {
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
	// which decides what to do with it, not for the helper.
	signal.Ignore(os.Interrupt)
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
