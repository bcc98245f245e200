package main

import (
	"fmt"
	"runtime/debug"
)

// version is set at release time with -ldflags "-X main.version=v1.2.3".
var version = ""

func runVersion(io *IO, args []string) error {
	fs := flagSet("version", "Usage: pitstop version\n\nPrints the version of pitstop.\n", io)
	if _, err := parseArgs(fs, args); err != nil {
		return err
	}
	fmt.Fprintf(io.Out, "pitstop %s\n", versionString())
	return nil
}

func versionString() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "devel"
}
