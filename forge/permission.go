package forge

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// Repository permission levels, weakest first, as GitHub names them.
var permissionLevels = []string{"none", "read", "triage", "write", "maintain", "admin"}

// PermissionLevels returns the repository permission levels GitHub
// knows, weakest first: none, read, triage, write, maintain, admin.
func PermissionLevels() []string { return slices.Clone(permissionLevels) }

// PermissionSource tells how much access a user has to a repository.
// GitHubAPI implements it.
type PermissionSource interface {
	// RepoPermission returns the user's permission on repo ("owner/name"):
	// one of none, read, triage, write, maintain, admin. A user who is
	// not a collaborator is an error, as are API failures.
	RepoPermission(ctx context.Context, repo, user string) (string, error)
}

// RepoPermission asks GET /repos/{owner}/{repo}/collaborators/{user}/permission.
//
// The request is built with go-github but decoded here: the answer's
// "permission" field folds maintain into write and triage into read, and
// only "role_name", which go-github's RepositoryPermissionLevel does not
// carry, tells them apart.
func (g *GitHubAPI) RepoPermission(ctx context.Context, repo, user string) (string, error) {
	owner, name, ok := strings.Cut(repo, "/")
	if !ok || owner == "" || name == "" || strings.Contains(name, "/") {
		return "", fmt.Errorf("repository %q is not OWNER/NAME", repo)
	}
	what := fmt.Sprintf("read the permission of %q on %s", user, repo)
	u := fmt.Sprintf("repos/%s/%s/collaborators/%s/permission", url.PathEscape(owner), url.PathEscape(name), url.PathEscape(user))
	req, err := g.client.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		return "", fmt.Errorf("%s: %w", what, err)
	}
	var answer struct {
		Permission string `json:"permission"`
		RoleName   string `json:"role_name"`
	}
	if _, err := g.client.Do(ctx, req, &answer); err != nil {
		return "", g.Explain(what, "not a collaborator, or no such user or repository (404)", err)
	}
	// A custom role's name is not a level; its base permission is.
	if slices.Contains(permissionLevels, answer.RoleName) {
		return answer.RoleName, nil
	}
	if slices.Contains(permissionLevels, answer.Permission) {
		return answer.Permission, nil
	}
	return "", fmt.Errorf("%s from %s: the API answered an unknown permission %q", what, g.apiURL, answer.Permission)
}
