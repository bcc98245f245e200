package agent

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"unicode"

	"github.com/charmbracelet/x/ansi"
	gossh "golang.org/x/crypto/ssh"

	"github.com/pitstopci/pitstop/forge"
	"github.com/pitstopci/pitstop/internal/wire"
)

// Who may log in — the rules, in one place:
//
//  1. The triggering user is GITHUB_TRIGGERING_ACTOR (set on re-runs), else
//     GITHUB_ACTOR.
//  2. On a real GitHub run the triggering user's published keys are always
//     required: their lookup must succeed and find at least one key, or the
//     agent refuses to start. --authorized-keys and --github-user only add.
//  3. Under act, and only when keys were given directly (--authorized-keys),
//     the triggering user is not looked up: act has no API, and its actor
//     ("nektos/act") is not a real user.
//  4. Anywhere else (a laptop, another CI) the triggering user is looked up
//     when the environment names one.
//  5. Every user named with --github-user must have at least one key.
//  6. If, after all that, no key may log in, the agent refuses to start.
//
// A run is under act when ACT=true and RUNNER_ENVIRONMENT is unset
// (ReadJob decides, in job.go). The GitHub runner always sets
// RUNNER_ENVIRONMENT (github-hosted or self-hosted) and act never does,
// so a workflow that sets ACT=true on GitHub still gets rule 2: the
// relaxation cannot leak onto a real run.
// Gitea and Forgejo runners, built on act, look the same as act does; so
// rule 3 is the only relaxation, and it admits no more than the keys that
// whoever wrote the step gave. Who may debug (permission.go) is checked
// the same way everywhere.

// platform is where the agent runs, as far as the environment tells.
type platform int

const (
	platformOther  platform = iota // neither GitHub Actions nor act
	platformGitHub                 // a real GitHub Actions runner
	platformAct                    // nektos/act
)

func (p platform) String() string {
	switch p {
	case platformGitHub:
		return "github"
	case platformAct:
		return "act"
	default:
		return "other"
	}
}

// accessPlan is whose keys must be fetched, decided before any network
// traffic so the rules can be tested on their own.
type accessPlan struct {
	platform platform
	actor    string   // the triggering user, "" if none is known
	users    []string // forge users to look up; each must have a key
	// actorSkipped explains why the actor is not looked up (rule 3).
	actorSkipped string
}

// validUser matches the user names of GitHub (letters, digits, hyphens)
// and of GitLab/Gitea (also dots and underscores). Anything else could
// change the path of the request it is put into.
var validUser = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$`)

func planAccess(j Job, extraUsers []string, directKeys int) (accessPlan, error) {
	p := accessPlan{platform: j.platform, actor: j.actor}
	seen := map[string]bool{}
	add := func(u string) {
		if !seen[strings.ToLower(u)] {
			seen[strings.ToLower(u)] = true
			p.users = append(p.users, u)
		}
	}
	switch {
	case p.platform == platformGitHub:
		if p.actor == "" {
			return p, fmt.Errorf("%w: GITHUB_ACTOR is not set on a GitHub Actions run, so the triggering user is unknown", errNoKeys)
		}
		if !validUser.MatchString(p.actor) {
			return p, fmt.Errorf("%w: triggering user %q is not a valid user name", errNoKeys, p.actor)
		}
		add(p.actor)
	case p.platform == platformAct && directKeys > 0:
		p.actorSkipped = "running under act with keys given directly"
	case p.actor != "":
		if !validUser.MatchString(p.actor) {
			hint := ""
			if p.platform == platformAct {
				hint = "; act has no GitHub API: pass keys with --authorized-keys (pitstop act does this)"
			}
			return p, fmt.Errorf("%w: triggering user %q is not a valid user name%s", errNoKeys, p.actor, hint)
		}
		add(p.actor)
	}
	for _, u := range extraUsers {
		if !validUser.MatchString(u) {
			return p, fmt.Errorf("user %q is not a valid user name", u)
		}
		add(u)
	}
	if len(p.users) == 0 && directKeys == 0 {
		return p, fmt.Errorf("%w: no triggering user in the environment (GITHUB_ACTOR), no --github-user and no --authorized-keys", errNoKeys)
	}
	return p, nil
}

// authorizedKey is one key that may log in, and whose it is.
type authorizedKey struct {
	key         gossh.PublicKey
	owner       string // forge user, or the KeyText source for direct keys
	forge       bool   // owner is a forge user
	fingerprint string
	// name is who the key is to people (pitstop status, the summary):
	// the forge user, or a direct key's comment (me@laptop), else the
	// base name of its source. A source is often a path deep in a
	// temporary directory, which says nothing about who logged in.
	name string
}

// directName is the name of a key given directly: its comment, else the
// base name of where it came from.
func directName(source, comment string) string {
	if c := displayName(comment); c != "" {
		return c
	}
	if strings.ContainsRune(source, '/') {
		return filepath.Base(source)
	}
	return source
}

// maxDisplayName caps a name shown to people, in runes.
const maxDisplayName = 64

// displayName is s as it may be shown to other users, on their terminals
// (join announcements, the banner, pitstop status) and in the job's
// summary: without escape sequences and control characters (a key
// comment with them would otherwise clear their screens, retitle their
// windows or write their clipboards) nor invisible formatting ones
// (bidirectional overrides that make a name read as another), valid
// UTF-8, trimmed and cut to maxDisplayName runes.
func displayName(s string) string {
	var b strings.Builder
	n := 0
	for _, r := range ansi.Strip(strings.ToValidUTF8(s, "?")) {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			continue
		}
		if n++; n > maxDisplayName {
			b.WriteString("...")
			break
		}
		b.WriteRune(r)
	}
	return strings.TrimSpace(b.String())
}

// keyring is the complete, fixed set of keys that may log in.
type keyring struct {
	keys  []authorizedKey
	byKey map[string]int // index into keys, by wire encoding
}

func newKeyring() *keyring { return &keyring{byKey: map[string]int{}} }

func (r *keyring) add(k gossh.PublicKey, owner string, forge bool) {
	r.put(authorizedKey{key: k, owner: owner, forge: forge, name: owner})
}

// addNamed adds a key given directly, from source, known to people as
// name.
func (r *keyring) addNamed(k gossh.PublicKey, source, name string) {
	r.put(authorizedKey{key: k, owner: source, name: name})
}

func (r *keyring) put(ak authorizedKey) {
	if ak.name = displayName(ak.name); ak.name == "" {
		ak.name = "(unnamed key)"
	}
	id := string(ak.key.Marshal())
	if _, dup := r.byKey[id]; dup {
		return
	}
	ak.fingerprint = gossh.FingerprintSHA256(ak.key)
	r.byKey[id] = len(r.keys)
	r.keys = append(r.keys, ak)
}

// lookup returns the authorized key equal to k. Certificates never match:
// their encoding differs from any plain key's.
func (r *keyring) lookup(k gossh.PublicKey) (authorizedKey, bool) {
	i, ok := r.byKey[string(k.Marshal())]
	if !ok {
		return authorizedKey{}, false
	}
	return r.keys[i], true
}

// owners lists who may log in, in the order they were added.
func (r *keyring) owners() []string {
	var out []string
	seen := map[string]bool{}
	for _, k := range r.keys {
		if !seen[k.owner] {
			seen[k.owner] = true
			out = append(out, k.owner)
		}
	}
	return out
}

// publicKeys are the keys that may log in, which an uptermd relay is
// asked to admit.
func (r *keyring) publicKeys() []gossh.PublicKey {
	keys := make([]gossh.PublicKey, 0, len(r.keys))
	for _, k := range r.keys {
		keys = append(keys, k.key)
	}
	return keys
}

// keySource builds the KeySource the configuration asks for. done
// closes its idle connections: the lookup happens once, and kept-alive
// connections would otherwise outlive it for the whole pause.
func (cfg Config) keySource() (src forge.KeySource, done func(), err error) {
	if cfg.KeySource != nil {
		return cfg.KeySource, func() {}, nil
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	hc := &http.Client{Transport: tr}
	if cfg.KeysURL != "" {
		return forge.KeysURL{Template: cfg.KeysURL, Client: hc}, tr.CloseIdleConnections, nil
	}
	api, err := forge.NewGitHubAPI(cfg.APIURL, cfg.Token, hc)
	if err != nil {
		return nil, nil, err
	}
	return api, tr.CloseIdleConnections, nil
}

// addKeyHint says where a user adds an SSH key on the forge in use;
// server is the job's GITHUB_SERVER_URL, if any.
func (cfg Config) addKeyHint(server string) string {
	if cfg.KeysURL != "" {
		if u, err := url.Parse(cfg.KeysURL); err == nil && u.Host != "" {
			return "add an SSH key to your account on " + u.Scheme + "://" + u.Host
		}
		return "add an SSH key to your account on the forge"
	}
	if server == "" {
		server = defaultServerURL
	}
	return "add an SSH key at " + strings.TrimRight(server, "/") + "/settings/keys"
}

// loadKeys applies the access rules and fetches every key. It fails
// closed: any lookup error, or a required user without keys, is an error.
func loadKeys(ctx context.Context, cfg Config, j Job) (*keyring, accessPlan, error) {
	ring := newKeyring()
	direct := 0
	for _, kt := range cfg.AuthorizedKeys {
		keys, comments, err := parseKeyLines(kt)
		if err != nil {
			return nil, accessPlan{}, fmt.Errorf("read authorized keys: %w", err)
		}
		for i, k := range keys {
			ring.addNamed(k, kt.Source, directName(kt.Source, comments[i]))
		}
		direct += len(keys)
	}
	plan, err := planAccess(j, cfg.GitHubUsers, direct)
	if err != nil {
		return nil, plan, err
	}
	if len(plan.users) == 0 {
		return ring, plan, nil
	}
	src, done, err := cfg.keySource()
	if err != nil {
		return nil, plan, err
	}
	defer done()
	ctx, cancel := context.WithTimeout(ctx, cfg.LookupTimeout)
	defer cancel()
	for _, u := range plan.users {
		lines, err := src.UserKeys(ctx, u)
		if err != nil {
			return nil, plan, fmt.Errorf("%w for %q: %w", errNoKeys, u, err)
		}
		n := 0
		for _, line := range lines {
			k, _, options, _, err := gossh.ParseAuthorizedKey([]byte(line))
			if err != nil {
				// A key type this server cannot parse is one the user
				// cannot log in with; the others still work.
				cfg.Log.Warn().Str("github_user", u).Err(err).Msg("skipping a published key this server cannot read")
				continue
			}
			if len(options) > 0 {
				// GitHub publishes none, but a --keys-url server may:
				// from= or command= dropped would grant more than was
				// written, and cert-authority names a CA, not a key.
				cfg.Log.Warn().Str("github_user", u).Str("key_fingerprint", gossh.FingerprintSHA256(k)).
					Str("options", wire.PeerText(strings.Join(options, ","), wire.MaxPeerError)).
					Msg("skipping a published key with options (from=, command=, cert-authority...), which pitstop does not enforce")
				continue
			}
			ring.add(k, u, true)
			n++
		}
		if n == 0 {
			return nil, plan, fmt.Errorf("%w: user %q has no usable SSH keys; %s and re-run the job", errNoKeys, u, cfg.addKeyHint(j.serverURL))
		}
	}
	return ring, plan, nil
}
