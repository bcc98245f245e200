// Package proof is the GitHub OIDC token that proves a pause's host key:
// the agent requests it ([Request]) with an audience that binds the host
// key ([Audience]), and pitstop run, rerun and ssh check it ([Verify])
// before they trust the address and key a check run or annotation names.
//
// A check run can be written by any job of the repository with checks:
// write, on any commit; a relay can forge a notice. Only GitHub can sign
// a token whose claims name the repository, the run, its attempt and the
// job (check_run_id), so a pause that carries one for the key it serves
// is the job's own, as GitHub says. The token is checked with go-oidc
// against the issuer's published keys: token.actions.githubusercontent.com
// for github.com, https://HOST/_services/token for GitHub Enterprise
// Server.
//
// It does not decide what to do with an unverified pause (the caller
// does: pitstop ssh says why and goes on only when told to), nor hold the
// user's token: neither the issuer nor the token request sees it.
package proof
