// Package limits is the agent's limiter of connections that have not
// logged in yet: how many may be open, exchanging keys or authenticating
// (in all and per address), the queue they wait in, the places stalled
// connections give up, and the delay of failed logins past an address's
// budget. The agent's SSH server asks it at each stage of a connection
// ([Limiter.Arrive], [Limiter.Place], [Limiter.Keyed], [Limiter.Vouched],
// [Limiter.Release], [Limiter.Failed]); it keeps the time of the clock it
// is given (agent/clock), so tests can advance it.
//
// It never imports agent.
package limits
