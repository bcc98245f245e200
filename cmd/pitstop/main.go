// Command pitstop pauses a CI job after step N and lets the person who
// triggered the run SSH into the live runner. See the README for a tour.
package main

import "os"

func main() {
	os.Exit(Main(os.Args[1:], stdio()))
}
