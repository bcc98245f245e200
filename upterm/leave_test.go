package upterm_test

import (
	"io"
	"runtime"
	"testing"
	"time"

	"github.com/pitstopci/pitstop/internal/testutil"
	"github.com/pitstopci/pitstop/internal/uptermtest"
)

// TestGuestsWhoLeaveLeaveNothingBehind: a hundred guests come and go.
// Through a relay that never says that one left (uptermd), the host
// aborts each inner connection, as the agent does once keepalives go
// unanswered; through one that closes both ends, it closes it when it
// reads the end. Either way the relay's login for each guest is closed,
// and nothing of any guest is left running on either side.
func TestGuestsWhoLeaveLeaveNothingBehind(t *testing.T) {
	for _, mode := range []struct {
		name string
		opts uptermtest.Options
	}{{"uptermd", uptermtest.Options{NoRecord: true}}, {"closes-both", uptermtest.Options{NoRecord: true, CloseBoth: true}}} {
		t.Run(mode.name, func(t *testing.T) {
			relay := uptermtest.Start(t, mode.opts)
			actor := testutil.NewSSHSigner(t)
			s, _ := dialHost(t, relay, actor.PublicKey())
			base := runtime.NumGoroutine()
			for i := 0; i < 100; i++ {
				g, err := guest(t, relay, s.SSHUser, actor)
				if err != nil {
					t.Fatal(err)
				}
				c, err := g.Dial("tcp", "pitstop:22")
				if err != nil {
					t.Fatal(err)
				}
				inner, err := s.Accept()
				if err != nil {
					t.Fatal(err)
				}
				// One byte each way: the inner connection is up.
				c.Write([]byte{1}) //nolint:errcheck // checked by the read
				if _, err := io.ReadFull(inner, make([]byte, 1)); err != nil {
					t.Fatal(err)
				}
				inner.Write([]byte{2}) //nolint:errcheck // checked by the read
				if _, err := io.ReadFull(c, make([]byte, 1)); err != nil {
					t.Fatal(err)
				}
				g.Close()
				if mode.opts.CloseBoth {
					if _, err := io.ReadAll(inner); err != nil {
						t.Fatalf("guest %d: the host read %v, want the end", i, err)
					}
					inner.Close()
				} else {
					inner.(interface{ Abort() }).Abort()
				}
			}
			deadline := time.Now().Add(20 * time.Second)
			for runtime.NumGoroutine() > base {
				if time.Now().After(deadline) {
					buf := make([]byte, 1<<20)
					t.Fatalf("%d goroutines after 100 guests left, %d before:\n%s", runtime.NumGoroutine(), base, buf[:runtime.Stack(buf, true)])
				}
				time.Sleep(20 * time.Millisecond)
			}
		})
	}
}
