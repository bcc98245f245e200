//go:build windows

// Command probe is the console program of the Windows tests: for each
// line it reads it prints the console's size, and Ctrl-C ends it with a
// message, so a test can see what a program on the pseudo console sees.
// "probe agent" lists the keys of the agent SSH_AUTH_SOCK names, as
// OpenSSH for Windows' ssh-add -l does: wine has no OpenSSH of its own.
package main

import (
	"bufio"
	"fmt"
	"os"
	"os/signal"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
	"golang.org/x/sys/windows"
)

// note appends what happened to the file PROBE_NOTES names, if any: a
// record that does not depend on the console's output reaching anyone.
func note(s string) {
	name := os.Getenv("PROBE_NOTES")
	if name == "" {
		return
	}
	f, err := os.OpenFile(name, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return
	}
	fmt.Fprintln(f, s)
	f.Close()
}

func main() {
	if len(os.Args) == 2 && os.Args[1] == "agent" {
		listAgent()
		return
	}
	ints := make(chan os.Signal, 1)
	signal.Notify(ints, os.Interrupt)
	go func() {
		<-ints
		fmt.Println("probe: interrupted")
		os.Exit(130)
	}()
	fmt.Println("probe: ready")
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		var info windows.ConsoleScreenBufferInfo
		if err := windows.GetConsoleScreenBufferInfo(windows.Handle(os.Stdout.Fd()), &info); err != nil {
			fmt.Println("probe: no console:", err)
			continue
		}
		w := info.Window
		fmt.Printf("probe: size %dx%d\n", w.Right-w.Left+1, w.Bottom-w.Top+1)
	}
	// A console read that Ctrl-C interrupts ends like end of input; on
	// Windows the Ctrl-C event then comes to the handler above.
	// Noted first: under wine the console may be closing by now, and
	// a write to it may not return before the probe is ended.
	note("end of input")
	fmt.Println("probe: end of input")
	time.Sleep(10 * time.Second)
}

// listAgent prints the fingerprint of each key of the agent whose pipe
// SSH_AUTH_SOCK names.
func listAgent() {
	name, err := windows.UTF16PtrFromString(os.Getenv("SSH_AUTH_SOCK"))
	if err != nil {
		fmt.Println("probe: no agent:", err)
		os.Exit(1)
	}
	// Overlapped, so that the runtime's poller reads it: under wine, a
	// plain blocking read of the pipe could miss the agent's answer when
	// the machine was busy, and wait forever (seen in about one run of
	// two with other work beside it; none in 16 overlapped).
	h, err := windows.CreateFile(name, windows.GENERIC_READ|windows.GENERIC_WRITE, 0, nil, windows.OPEN_EXISTING, windows.FILE_FLAG_OVERLAPPED, 0)
	if err != nil {
		fmt.Printf("probe: open agent pipe %q: %v\n", os.Getenv("SSH_AUTH_SOCK"), err)
		os.Exit(1)
	}
	pipe := os.NewFile(uintptr(h), "agent")
	defer pipe.Close()
	keys, err := agent.NewClient(pipe).List()
	if err != nil {
		fmt.Println("probe: list agent keys:", err)
		os.Exit(1)
	}
	for _, k := range keys {
		fmt.Println("probe: agent key", ssh.FingerprintSHA256(k))
	}
}
