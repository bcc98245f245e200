package proc

import (
	"context"
	"os"
	"time"
)

// Watch calls gone once the process pid has ended, checking every
// interval, and returns then or when ctx is done. A process that has
// exited but not yet been reaped by its parent (a zombie) has ended: it
// runs nothing more, and its parent may take a long time to reap it, or
// never do so.
//
// It serves both ways a pause follows the job: a detached agent watches
// the runner's process (--watch-pid), and the agent that pitstop act
// starts watches its parent, act. When pid is this process's parent, a
// change of parent also counts as its end: the kernel reparents us the
// moment the parent exits, which also covers a parent that has been
// reaped and whose pid was reused. For any other pid a reused pid would
// look alive; a runner's pid is not reused within one poll in practice.
//
// A pid of 0 or less names no process that can be watched: a process
// started by docker exec has parent pid 0, its parent being outside the
// container. Watch then returns at once and gone is never called.
func Watch(ctx context.Context, pid int, every time.Duration, gone func()) {
	if pid <= 0 {
		return
	}
	parent := pid == os.Getppid()
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if processGone(pid) || parent && os.Getppid() != pid {
				gone()
				return
			}
		}
	}
}
