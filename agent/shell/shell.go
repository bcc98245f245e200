// Package shell knows how a job's shells find and start programs: the
// default shell of a "run:" step, a program's path on an environment's
// PATH, variables looked up as each system's shells do, and Windows
// command lines (see [RawArg]).
//
// It owns the rules, not their use: which shell a session runs and with
// which environment is agent's choice, and starting processes is
// agent's too. It imports nothing of pitstop's.
package shell

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// The sessions' shell, chosen as GitHub chooses the default shell of a
// "run:" step: bash on Linux and macOS (else /bin/sh), and on Windows
// pwsh when it is installed, else Windows PowerShell, else cmd.exe. The
// lookups take the operating system as an argument so that the Windows
// rules are tested on every system.

// Default is the shell for sessions on goos with the step's env.
func Default(goos string, env []string) string {
	if goos != "windows" {
		if p := LookPathFor(goos, "bash", env); p != "" {
			return p
		}
		return "/bin/sh"
	}
	for _, name := range []string{"pwsh", "powershell", "cmd"} {
		if p := LookPathFor(goos, name, env); p != "" {
			return p
		}
	}
	// cmd.exe is always there; COMSPEC says where.
	if p := Getenv(goos, env, "COMSPEC"); p != "" {
		return p
	}
	return `C:\Windows\System32\cmd.exe`
}

// LookPathFor finds prog on the PATH of env as goos's shells do. On
// Windows a program is a regular file, found with one of the extensions
// in PATHEXT unless prog has one already, and variable names are not
// case-sensitive; elsewhere it is a regular file with an execute bit.
func LookPathFor(goos, prog string, env []string) string {
	windows := goos == "windows"
	if strings.ContainsRune(prog, '/') || windows && strings.ContainsAny(prog, `\:`) {
		return prog
	}
	exts := []string{""}
	if windows && filepath.Ext(prog) == "" {
		exts = strings.Split(strings.ToLower(Getenv(goos, env, "PATHEXT")), ";")
		if exts[0] == "" {
			exts = []string{".com", ".exe", ".bat", ".cmd"}
		}
	}
	sep := ":"
	if windows {
		sep = ";"
	}
	for _, dir := range strings.Split(Getenv(goos, env, "PATH"), sep) {
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

// LookPath finds prog on the PATH of env, the way a shell with env
// would on this system, rather than on the calling program's own PATH.
func LookPath(prog string, env []string) string { return LookPathFor(runtime.GOOS, prog, env) }

// Getenv is the value of the variable name in env; on Windows, names
// differ in case only are the same variable ("Path" is PATH).
func Getenv(goos string, env []string, name string) string {
	val := ""
	for _, kv := range env {
		k, v, ok := strings.Cut(kv, "=")
		if ok && (k == name || goos == "windows" && strings.EqualFold(k, name)) {
			val = v // the last one wins, as in os/exec
		}
	}
	return val
}

// WindowsArgv is the program a session runs with cmd.exe or PowerShell,
// which take their commands differently from POSIX shells: exec for a
// command (else a shell), isPty for one on a terminal; ok is false for
// other shells. An exec's command goes on the command line as the
// client sent it, as with OpenSSH for Windows: both shells parse their
// command lines themselves.
func WindowsArgv(shell string, exec bool, command string, isPty bool) (argv []string, ok bool) {
	name := strings.TrimSuffix(strings.ToLower(filepath.Base(strings.ReplaceAll(shell, `\`, "/"))), ".exe")
	switch name {
	case "cmd":
		// /d: no AutoRun commands from the registry, as bash gets no rc
		// file. /s /c "...": cmd strips the outer quotes and runs the rest
		// as typed.
		if exec {
			return []string{shell, "/d", "/s", "/c", RawArg + `"` + command + `"`}, true
		}
		return []string{shell, "/d"}, true
	case "pwsh", "powershell":
		// -NoProfile, as bash runs with --noprofile: the step's PATH
		// stays what the next step would see.
		base := []string{shell, "-NoLogo", "-NoProfile"}
		switch {
		case exec:
			return append(base, "-Command", RawArg+command), true
		case isPty:
			return base, true
		default:
			// Commands come on stdin (ssh host < script.ps1).
			return append(base, "-Command", "-"), true
		}
	}
	return nil, false
}

// RawArg marks an argument of argv that goes into the command line
// as it is: the command an exec session gives cmd.exe or PowerShell, which
// parse the rest of their command line themselves, as on OpenSSH for
// Windows.
const RawArg = "\x00raw:"

// CommandLine joins argv into a Windows command line. Programs parse
// their own command lines; argv[0] and the arguments are quoted the way
// the C runtime parses them, except where the shell's arguments already
// are a command line (see RawArg).
func CommandLine(argv []string) string {
	var b strings.Builder
	for i, a := range argv {
		if i > 0 {
			b.WriteByte(' ')
		}
		if raw, ok := strings.CutPrefix(a, RawArg); ok {
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

// Env is an environment looked up by name. Later duplicates win, as
// with exec.Cmd.
type Env map[string]string

// ParseEnv reads kvs, in os.Environ's form; entries without "=" or a
// name are ignored.
func ParseEnv(kvs []string) Env {
	m := make(Env, len(kvs))
	for _, kv := range kvs {
		k, v, ok := strings.Cut(kv, "=")
		if ok && k != "" {
			m[k] = v
		}
	}
	return m
}

// Get is the value of k, "" when it is not set.
func (m Env) Get(k string) string { return m[k] }
