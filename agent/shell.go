package agent

import (
	"os"
	"path/filepath"
	"strings"
)

// The sessions' shell, chosen as GitHub chooses the default shell of a
// "run:" step: bash on Linux and macOS (else /bin/sh), and on Windows
// pwsh when it is installed, else Windows PowerShell, else cmd.exe. The
// lookups take the operating system as an argument so that the Windows
// rules are tested on every system.

// defaultShell is the shell for sessions on goos with the step's env.
func defaultShell(goos string, env []string) string {
	if goos != "windows" {
		if p := lookPathFor(goos, "bash", env); p != "" {
			return p
		}
		return "/bin/sh"
	}
	for _, name := range []string{"pwsh", "powershell", "cmd"} {
		if p := lookPathFor(goos, name, env); p != "" {
			return p
		}
	}
	// cmd.exe is always there; COMSPEC says where.
	if p := envGet(goos, env, "COMSPEC"); p != "" {
		return p
	}
	return `C:\Windows\System32\cmd.exe`
}

// lookPathFor finds prog on the PATH of env as goos's shells do. On
// Windows a program is a regular file, found with one of the extensions
// in PATHEXT unless prog has one already, and variable names are not
// case-sensitive; elsewhere it is a regular file with an execute bit.
func lookPathFor(goos, prog string, env []string) string {
	windows := goos == "windows"
	if strings.ContainsRune(prog, '/') || windows && strings.ContainsAny(prog, `\:`) {
		return prog
	}
	exts := []string{""}
	if windows && filepath.Ext(prog) == "" {
		exts = strings.Split(strings.ToLower(envGet(goos, env, "PATHEXT")), ";")
		if exts[0] == "" {
			exts = []string{".com", ".exe", ".bat", ".cmd"}
		}
	}
	sep := ":"
	if windows {
		sep = ";"
	}
	for _, dir := range strings.Split(envGet(goos, env, "PATH"), sep) {
		if dir == "" {
			continue
		}
		for _, ext := range exts {
			p := filepath.Join(dir, prog+ext)
			fi, err := os.Stat(p)
			if err == nil && fi.Mode().IsRegular() && (windows || fi.Mode()&0o111 != 0) {
				return p
			}
		}
	}
	return ""
}

// envGet is the value of the variable name in env; on Windows, names
// differ in case only are the same variable ("Path" is PATH).
func envGet(goos string, env []string, name string) string {
	val := ""
	for _, kv := range env {
		k, v, ok := strings.Cut(kv, "=")
		if ok && (k == name || goos == "windows" && strings.EqualFold(k, name)) {
			val = v // the last one wins, as in os/exec
		}
	}
	return val
}

// windowsArgv is the program a session runs with cmd.exe or PowerShell,
// which take their commands differently from POSIX shells; ok is false
// for other shells. An exec's command goes on the command line as the
// client sent it, as with OpenSSH for Windows: both shells parse their
// command lines themselves.
func windowsArgv(shell, kind, command string, isPty bool) (argv []string, ok bool) {
	name := strings.TrimSuffix(strings.ToLower(filepath.Base(strings.ReplaceAll(shell, `\`, "/"))), ".exe")
	switch name {
	case "cmd":
		// /d: no AutoRun commands from the registry, as bash gets no rc
		// file. /s /c "...": cmd strips the outer quotes and runs the rest
		// as typed.
		if kind == kindExec {
			return []string{shell, "/d", "/s", "/c", rawArgPrefix + `"` + command + `"`}, true
		}
		return []string{shell, "/d"}, true
	case "pwsh", "powershell":
		// -NoProfile, as bash runs with --noprofile: the step's PATH
		// stays what the next step would see.
		base := []string{shell, "-NoLogo", "-NoProfile"}
		switch {
		case kind == kindExec:
			return append(base, "-Command", rawArgPrefix+command), true
		case isPty:
			return base, true
		default:
			// Commands come on stdin (ssh host < script.ps1).
			return append(base, "-Command", "-"), true
		}
	}
	return nil, false
}

// rawArgPrefix marks an argument of argv that goes into the command line
// as it is: the command an exec session gives cmd.exe or PowerShell, which
// parse the rest of their command line themselves, as on OpenSSH for
// Windows.
const rawArgPrefix = "\x00raw:"

// commandLine joins argv into a Windows command line. Programs parse
// their own command lines; argv[0] and the arguments are quoted the way
// the C runtime parses them, except where the shell's arguments already
// are a command line (see rawArg).
func commandLine(argv []string) string {
	var b strings.Builder
	for i, a := range argv {
		if i > 0 {
			b.WriteByte(' ')
		}
		if raw, ok := strings.CutPrefix(a, rawArgPrefix); ok {
			b.WriteString(raw)
			continue
		}
		b.WriteString(escapeArg(a))
	}
	return b.String()
}

// escapeArg quotes s as the C runtime's parser of Windows command lines
// reads it back (windows.EscapeArg, which exists on Windows only).
func escapeArg(s string) string {
	if s == "" {
		return `""`
	}
	if !strings.ContainsAny(s, " \t\"") {
		return s
	}
	var b strings.Builder
	b.WriteByte('"')
	slashes := 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\':
			slashes++
		case '"':
			// The backslashes before a quote are doubled, and it is escaped.
			b.WriteString(strings.Repeat(`\`, slashes+1))
			slashes = 0
		default:
			slashes = 0
		}
		b.WriteByte(s[i])
	}
	// Backslashes before the closing quote are doubled too.
	b.WriteString(strings.Repeat(`\`, slashes))
	b.WriteByte('"')
	return b.String()
}
