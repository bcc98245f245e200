//go:build !windows

package sftpfs

// Path is a path of this system as SFTP clients see it: the same.
func Path(p string) string { return p }

// Local is an SFTP path as this system's: the same.
func Local(p string) string { return p }
