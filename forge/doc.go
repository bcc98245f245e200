// Package forge asks a forge what the agent needs to know about its
// users: the SSH public keys a user has published, from the GitHub REST
// API ([GitHubAPI]) or from a URL serving plain authorized_keys text
// ([KeysURL], as GitLab, Gitea and Forgejo do), a user's permission on a
// repository ([GitHubAPI.RepoPermission]), and the check run a paused job
// publishes on its commit.
//
// Every answer decides who logs in, so the clients are guarded: URLs must
// be https (plain http only to a loopback host), a redirect that would
// leave the API's scheme and host (and hand over its token) or lead a key
// list to plain http is refused, and no answer may be larger than
// [MaxAnswer]. Errors say what the person reading the job log can do.
//
// It does not decide who may log in, nor whether a permission is enough:
// the caller (the agent) does, and fails closed on any error from here.
// It does not import the agent.
package forge
