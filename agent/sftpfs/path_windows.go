package sftpfs

import (
	"path/filepath"
	"strings"
)

// SFTP paths are POSIX paths: absolute ones start with "/". A Windows path
// C:\Users\x is /C:/Users/x to clients, as OpenSSH for Windows shows it,
// so that "cd ..", relative names and "~" work the way clients expect.

// Path is the Windows path p as SFTP clients see it.
func Path(p string) string {
	p = filepath.ToSlash(p)
	if len(p) >= 2 && p[1] == ':' {
		return "/" + p
	}
	return p
}

// Local is the SFTP path p as a Windows path.
func Local(p string) string {
	if len(p) >= 3 && p[0] == '/' && p[2] == ':' {
		p = p[1:]
	}
	if strings.HasSuffix(p, ":") {
		p += "/" // the root of the drive, not its current directory
	}
	return filepath.FromSlash(p)
}
