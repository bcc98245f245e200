package shell

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pitstopci/pitstop/internal/testutil"
)

// The default shell on Windows follows GitHub's for run: steps: pwsh,
// else Windows PowerShell, else cmd.exe, found on the step's Path (any
// case) with PATHEXT's extensions. Files stand in for the programs.
func TestDefaultShellWindows(t *testing.T) {
	dir := testutil.LooseTempDir(t)
	mk := func(name string) string {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, nil, 0o644); err != nil { // no execute bit: Windows has none
			t.Fatal(err)
		}
		return p
	}
	cmd := mk("sys/cmd.exe")
	ps := mk("ps/powershell.exe")
	pwsh := mk("pwsh/pwsh.exe")
	mk("decoy/pwsh") // no extension from PATHEXT: not a program
	env := func(path ...string) []string {
		return []string{"Path=" + strings.Join(path, ";"), "PATHEXT=.COM;.EXE;.BAT;.CMD", `COMSPEC=C:\Windows\system32\cmd.exe`}
	}
	for _, tc := range []struct {
		name string
		env  []string
		want string
	}{
		{"pwsh first", env(filepath.Dir(cmd), filepath.Dir(ps), filepath.Dir(pwsh)), pwsh},
		{"powershell without pwsh", env(filepath.Dir(cmd), filepath.Dir(ps)), ps},
		{"cmd without either", env(filepath.Join(dir, "decoy"), filepath.Dir(cmd)), cmd},
		{"COMSPEC when nothing is on Path", env(filepath.Join(dir, "decoy")), `C:\Windows\system32\cmd.exe`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Default("windows", tc.env); got != tc.want {
				t.Errorf("Default = %q, want %q", got, tc.want)
			}
		})
	}
	// Elsewhere a name differing in case is another variable, and a file
	// without an execute bit is no program.
	if got := Default("linux", env(filepath.Dir(pwsh))); got != "/bin/sh" {
		t.Errorf("on linux Default = %q, want /bin/sh", got)
	}
}

// cmd.exe and PowerShell get the exec's command line as the client sent
// it; other shells keep the POSIX way.
func TestWindowsArgv(t *testing.T) {
	for _, tc := range []struct {
		shell   string
		exec    bool
		command string
		pty     bool
		want    string // CommandLine of argv; "" for not ok
	}{
		{`C:\Windows\System32\cmd.exe`, true, `echo "a b" & exit /b 3`, false, `C:\Windows\System32\cmd.exe /d /s /c "echo "a b" & exit /b 3"`},
		{`C:\Windows\System32\CMD.EXE`, false, "", true, `C:\Windows\System32\CMD.EXE /d`},
		{`C:\Program Files\PowerShell\7\pwsh.exe`, true, `Get-ChildItem "C:\x y"`, false, `"C:\Program Files\PowerShell\7\pwsh.exe" -NoLogo -NoProfile -Command Get-ChildItem "C:\x y"`},
		{`powershell.exe`, false, "", true, `powershell.exe -NoLogo -NoProfile`},
		{`powershell.exe`, false, "", false, `powershell.exe -NoLogo -NoProfile -Command -`},
		{`C:\Program Files\Git\bin\bash.exe`, true, "ls", false, ""},
	} {
		argv, ok := WindowsArgv(tc.shell, tc.exec, tc.command, tc.pty)
		got := ""
		if ok {
			got = CommandLine(argv)
		}
		if got != tc.want {
			t.Errorf("WindowsArgv(%q, exec %v, %q, pty %v):\n got %s\nwant %s", tc.shell, tc.exec, tc.command, tc.pty, got, tc.want)
		}
	}
}
