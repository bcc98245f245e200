package agent

import (
	"fmt"
	"time"

	"github.com/pitstopci/pitstop/agent/control"
)

// banner greets an interactive session.
func (s *server) banner() string {
	t := s.pause.times()
	left := t.Deadline.Sub(s.cfg.Now()).Round(time.Second)
	if t.Detached && !t.Holding {
		return fmt.Sprintf("pitstop: you are in %s, which runs on (detached); %s left (until %s).\n"+
			"  You have the environment of the step the pause started at. At the end of the job\n"+
			"  it holds while you are connected; to let it end without you: pitstop continue\n"+
			"  Which step runs now, time left: pitstop status    More time: pitstop extend 30m\n",
			s.cfg.Label, left, t.Deadline.UTC().Format("15:04 MST"))
	}
	return fmt.Sprintf("pitstop: you are in %s, paused; %s left (until %s).\n"+
		"  The job goes on when you exit the last shell, or run: pitstop continue\n"+
		"  More time: pitstop extend 30m    Who is here, time left: pitstop status\n",
		s.cfg.Label, left, t.Deadline.UTC().Format("15:04 MST")) + stepBanner(s.cfg.Step)
}

// stepBanner points to the step the pause stands for, whose environment
// the session has.
func stepBanner(st *control.Step) string {
	if st == nil {
		return ""
	}
	how := "show it: pitstop step    run it as the runner would: pitstop step run"
	if st.Uses != "" {
		how = "show it and its inputs: pitstop step"
	}
	return fmt.Sprintf("  %s; you have its environment.\n  %s\n", st.Describe(), how)
}
