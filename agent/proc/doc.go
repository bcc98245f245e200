// Package proc follows the processes around a pause, read from outside:
// when the job's process started ([JobStart], which the job's time limit
// counts from), when a process has ended ([Watch]; a zombie has ended),
// and what the job runs now ([CurrentStep], for a detached pause's
// status). It reads /proc where there is one and falls back to signal 0
// elsewhere.
//
// It does not start or signal anything: the programs a session runs, and
// their ptys, belong to the agent.
package proc
