// Command pitstop pauses a CI job after step N and lets the person who
// triggered the run SSH into the live runner. See the README for a tour.
package main

import (
	"os"

	"github.com/pitstopci/pitstop/agent/term"
)

func main() {
	// On Windows the agent starts terminals' shells through pitstop.exe.
	term.RunConsoleHelper(os.Args)
	os.Exit(Main(os.Args[1:], stdio()))
}
