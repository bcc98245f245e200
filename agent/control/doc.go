// Package control is the agent's control protocol: how programs run
// inside a session ("pitstop continue", "extend", "status", "attach", and
// a detached pause's end-of-job step) reach the agent that serves them,
// and what they say and hear.
//
// It owns the socket's transport (a Unix socket in the agent's private
// directory; on Windows a named pipe with an owner-only DACL: [Address],
// [Listen], [Dial]; [ListenAgent] makes the same kind for an agent
// forwarded by "ssh -A"), the requests and answers ([Request], [Response],
// [Status] with the sessions and terminals in it, and the job [Step] a
// pause stands for), and the clients ([Continue], [Extend],
// [QueryStatus], [Hold], [Cancel], [WaitGone], and [Attach] and
// [RunAttach], which join a terminal and show it on the caller's own,
// in raw mode; on Windows its console, read key by key). The frames an
// attached client sends are defined here once: [Attachment] writes them,
// [ReadFrames] reads them for the agent.
//
// It does not serve the requests: agent does, since only the server
// holds the pause and the terminals it answers about. It never imports
// agent.
package control
