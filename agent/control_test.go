package agent

import (
	"context"
	"errors"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pitstopci/pitstop/agent/control"
)

// recordingHandler answers the control socket's requests and records
// them, one line each, so a test sees which request reached which method.
type recordingHandler struct {
	calls chan string
}

func (h *recordingHandler) status() control.Status {
	return control.Status{Label: "test", Mode: control.ModePause}
}
func (h *recordingHandler) continuePause() { h.calls <- "continue" }
func (h *recordingHandler) extendPause(d time.Duration) error {
	if d > time.Hour {
		return errors.New("too long")
	}
	h.calls <- "extend " + d.String()
	return nil
}
func (h *recordingHandler) endOfJob(r HoldRequest) error {
	h.calls <- "hold " + r.Hold + " " + r.JobStatus
	return nil
}
func (h *recordingHandler) cancelEndOfJob() { h.calls <- "cancel" }
func (h *recordingHandler) controlAttach(conn net.Conn, req control.AttachRequest) {
	h.calls <- "attach"
}

// TestControlServerRoutesRequests: each request on the socket reaches the
// one handler method meant for it, and its answer reaches the client; a
// handler's error goes back as the request's error.
func TestControlServerRoutesRequests(t *testing.T) {
	checkGoroutines(t)
	socket := filepath.Join(t.TempDir(), "control.sock")
	ln, err := control.Listen(socket)
	if err != nil {
		t.Fatal(err)
	}
	h := &recordingHandler{calls: make(chan string, 1)}
	c := &controlServer{ln: ln, h: h}
	c.serve()
	defer c.close()
	ctx := context.Background()

	for _, tt := range []struct {
		call func() (control.Status, error)
		want string // "" when the handler is not called: a status alone
	}{
		{func() (control.Status, error) { return control.QueryStatus(ctx, socket) }, ""},
		{func() (control.Status, error) { return control.Extend(ctx, socket, 30*time.Minute) }, "extend 30m0s"},
		{func() (control.Status, error) {
			return control.Hold(ctx, socket, HoldRequest{Hold: "always", JobStatus: "failure"})
		}, "hold always failure"},
		{func() (control.Status, error) { return control.Cancel(ctx, socket) }, "cancel"},
		{func() (control.Status, error) { return control.Continue(ctx, socket) }, "continue"},
	} {
		st, err := tt.call()
		if err != nil || st.Label != "test" {
			t.Fatalf("want %q: got %+v, %v", tt.want, st, err)
		}
		if tt.want == "" {
			continue
		}
		select {
		case got := <-h.calls:
			if got != tt.want {
				t.Errorf("the handler got %q, want %q", got, tt.want)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("the handler was not called for %q", tt.want)
		}
	}
	if _, err := control.Extend(ctx, socket, 2*time.Hour); err == nil || !strings.Contains(err.Error(), "too long") {
		t.Errorf("extend refused by the handler: got %v, want its error", err)
	}
}
