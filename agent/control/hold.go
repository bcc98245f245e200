package control

import (
	"context"
	"errors"
	"os"
	"time"

	"github.com/pitstopci/pitstop/internal/wire"
)

// Hold sends the end-of-job request to a detached agent and returns its
// status: Mode is ModeHolding when the job now holds; otherwise the
// pause is ending.
func Hold(ctx context.Context, socket string, r wire.HoldRequest) (Status, error) {
	return call(ctx, socket, Request{Op: "hold", Hold: r.Hold, JobStatus: r.JobStatus})
}

// Cancel ends the pause as cancelled, as when the job is.
func Cancel(ctx context.Context, socket string) (Status, error) {
	return call(ctx, socket, Request{Op: "cancel"})
}

// WaitGone returns once the agent listening on socket has exited (its
// socket is gone), polling every interval, or when ctx is done.
func WaitGone(ctx context.Context, socket string, every time.Duration) error {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if _, err := os.Stat(socket); errors.Is(err, os.ErrNotExist) {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}
