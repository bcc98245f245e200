package main

// commands is every subcommand pitstop has, in one place, so the whole
// command line can be read at a glance and a new command is one line here
// plus its run function in a file of its own. "pitstop help" lists them
// sorted by name, whatever their order here.
var commands = []command{
	{name: "act", summary: "run a job locally with act, paused after step N, and SSH into it", run: runAct},
	{name: "agent", summary: "hold the job and let the triggering user in over SSH", run: runAgent},
	{name: "attach", summary: "inside a session: join another terminal (pitstop attach 2 --read-only)", run: runAttach},
	{name: "continue", summary: "inside a session: end the pause, let the job go on", run: runContinue},
	{name: "extend", summary: "inside a session: add time to the pause (pitstop extend 30m)", run: runExtend},
	{name: "hold", summary: "end-of-job step of a detached pause: hold the job for the people connected", run: runHold},
	{name: "inject", summary: "insert (or move, or remove) the SSH pause in a workflow file", run: runInject},
	{name: "rerun", summary: "rerun a failed GitHub job paused before the failed step, and SSH into it", run: runRerun},
	{name: "run", summary: "run a job on GitHub paused after step N, and SSH into it", run: runRun},
	{name: "ssh", summary: "SSH into a pause running in a GitHub run", run: runSSH},
	{name: "step", summary: "inside a session: show the step the pause stands for; step run runs it", run: runStep},
	{name: "status", summary: "inside a session: who is connected, how much time is left", run: runStatus},
	{name: "version", summary: "print the version of pitstop", run: runVersion},
}
