package control_test

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/pitstopci/pitstop/agent/control"
)

// Inside a session, "pitstop extend 30m" is this.
func ExampleExtend() {
	st, err := control.Extend(context.Background(), os.Getenv(control.SocketEnv), 30*time.Minute)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return
	}
	fmt.Printf("%s left\n", st.Remaining().Round(time.Second))
}
