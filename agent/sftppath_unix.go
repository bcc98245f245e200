//go:build !windows

package agent

// sftpPath is a path of this system as SFTP clients see it: the same.
func sftpPath(p string) string { return p }

// localPath is an SFTP path as this system's: the same.
func localPath(p string) string { return p }
