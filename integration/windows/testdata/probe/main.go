//go:build windows

// Command probe is the console program of the Windows tests: for each
// line it reads it prints the console's size, and Ctrl-C ends it with a
// message, so a test can see what a program on the pseudo console sees.
package main

import (
	"bufio"
	"fmt"
	"os"
	"os/signal"
	"time"

	"golang.org/x/sys/windows"
)

func main() {
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
	fmt.Println("probe: end of input")
	time.Sleep(10 * time.Second)
}
