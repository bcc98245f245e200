package access

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
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
type Platform int

const (
	PlatformOther  Platform = iota // neither GitHub Actions nor act
	PlatformGitHub                 // a real GitHub Actions runner
	PlatformAct                    // nektos/act
)

func (p Platform) String() string {
	switch p {
	case PlatformGitHub:
		return "github"
	case PlatformAct:
		return "act"
	default:
		return "other"
	}
}

// Plan is whose keys must be fetched, decided before any network
// traffic so the rules can be tested on their own.
type Plan struct {
	Platform Platform
	Actor    string   // the triggering user, "" if none is known
	Users    []string // forge users to look up; each must have a key
	// ActorSkipped explains why the actor is not looked up (rule 3).
	ActorSkipped string
}

// validUser matches the user names of GitHub (letters, digits, hyphens)
// and of GitLab/Gitea (also dots and underscores). Anything else could
// change the path of the request it is put into.
var validUser = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$`)

// PlanAccess applies rules 1 to 6 to the job: whose keys must be
// fetched, given the forge users named with --github-user and how many
// keys were given directly. It fails with ErrNoKeys when nobody could
// log in.
func PlanAccess(j Job, extraUsers []string, directKeys int) (Plan, error) {
	p := Plan{Platform: j.Platform, Actor: j.Actor}
	seen := map[string]bool{}
	add := func(u string) {
		if !seen[strings.ToLower(u)] {
			seen[strings.ToLower(u)] = true
			p.Users = append(p.Users, u)
		}
	}
	switch {
	case p.Platform == PlatformGitHub:
		if p.Actor == "" {
			return p, fmt.Errorf("%w: GITHUB_ACTOR is not set on a GitHub Actions run, so the triggering user is unknown", ErrNoKeys)
		}
		if !validUser.MatchString(p.Actor) {
			return p, fmt.Errorf("%w: triggering user %q is not a valid user name", ErrNoKeys, p.Actor)
		}
		add(p.Actor)
	case p.Platform == PlatformAct && directKeys > 0:
		p.ActorSkipped = "running under act with keys given directly"
	case p.Actor != "":
		if !validUser.MatchString(p.Actor) {
			hint := ""
			if p.Platform == PlatformAct {
				hint = "; act has no GitHub API: pass keys with --authorized-keys (pitstop act does this)"
			}
			return p, fmt.Errorf("%w: triggering user %q is not a valid user name%s", ErrNoKeys, p.Actor, hint)
		}
		add(p.Actor)
	}
	for _, u := range extraUsers {
		if !validUser.MatchString(u) {
			return p, fmt.Errorf("user %q is not a valid user name", u)
		}
		add(u)
	}
	if len(p.Users) == 0 && directKeys == 0 {
		return p, fmt.Errorf("%w: no triggering user in the environment (GITHUB_ACTOR), no --github-user and no --authorized-keys", ErrNoKeys)
	}
	return p, nil
}

// Key is one key that may log in, and whose it is.
type Key struct {
	Key         gossh.PublicKey
	Owner       string // forge user, or the KeyText source for direct keys
	Forge       bool   // Owner is a forge user
	Fingerprint string // SHA256:..., as ssh-keygen -l shows it
	// Name is who the key is to people (pitstop status, the summary):
	// the forge user, or a direct key's comment (me@laptop), else the
	// base name of its source. A source is often a path deep in a
	// temporary directory, which says nothing about who logged in.
	Name string
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

// Keyring is the complete, fixed set of keys that may log in.
type Keyring struct {
	keys  []Key
	byKey map[string]int // index into keys, by wire encoding
}

func NewKeyring() *Keyring { return &Keyring{byKey: map[string]int{}} }

func (r *Keyring) add(k gossh.PublicKey, owner string, forge bool) {
	r.put(Key{Key: k, Owner: owner, Forge: forge, Name: owner})
}

// addNamed adds a key given directly, from source, known to people as
// name.
func (r *Keyring) addNamed(k gossh.PublicKey, source, name string) {
	r.put(Key{Key: k, Owner: source, Name: name})
}

func (r *Keyring) put(ak Key) {
	if ak.Name = displayName(ak.Name); ak.Name == "" {
		ak.Name = "(unnamed key)"
	}
	id := string(ak.Key.Marshal())
	if _, dup := r.byKey[id]; dup {
		return
	}
	ak.Fingerprint = gossh.FingerprintSHA256(ak.Key)
	r.byKey[id] = len(r.keys)
	r.keys = append(r.keys, ak)
}

// Lookup returns the authorized key equal to k. Certificates never match:
// their encoding differs from any plain key's.
func (r *Keyring) Lookup(k gossh.PublicKey) (Key, bool) {
	i, ok := r.byKey[string(k.Marshal())]
	if !ok {
		return Key{}, false
	}
	return r.keys[i], true
}

// Len is how many keys may log in.
func (r *Keyring) Len() int { return len(r.keys) }

// Keys lists the keys that may log in, in the order they were added.
func (r *Keyring) Keys() []Key { return slices.Clone(r.keys) }

// Owners lists who may log in, in the order they were added.
func (r *Keyring) Owners() []string {
	var out []string
	seen := map[string]bool{}
	for _, k := range r.keys {
		if !seen[k.Owner] {
			seen[k.Owner] = true
			out = append(out, k.Owner)
		}
	}
	return out
}

// PublicKeys are the keys that may log in, which an uptermd relay is
// asked to admit.
func (r *Keyring) PublicKeys() []gossh.PublicKey {
	keys := make([]gossh.PublicKey, 0, len(r.keys))
	for _, k := range r.keys {
		keys = append(keys, k.Key)
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

// LoadKeys applies the access rules and fetches every key. It fails
// closed: any lookup error, or a required user without keys, is an error.
func LoadKeys(ctx context.Context, cfg Config, j Job) (*Keyring, Plan, error) {
	ring := NewKeyring()
	direct := 0
	for _, kt := range cfg.AuthorizedKeys {
		keys, comments, err := parseKeyLines(kt)
		if err != nil {
			return nil, Plan{}, fmt.Errorf("read authorized keys: %w", err)
		}
		for i, k := range keys {
			ring.addNamed(k, kt.Source, directName(kt.Source, comments[i]))
		}
		direct += len(keys)
	}
	plan, err := PlanAccess(j, cfg.GitHubUsers, direct)
	if err != nil {
		return nil, plan, err
	}
	if len(plan.Users) == 0 {
		return ring, plan, nil
	}
	src, done, err := cfg.keySource()
	if err != nil {
		return nil, plan, err
	}
	defer done()
	ctx, cancel := context.WithTimeout(ctx, cfg.LookupTimeout)
	defer cancel()
	for _, u := range plan.Users {
		lines, err := src.UserKeys(ctx, u)
		if err != nil {
			return nil, plan, fmt.Errorf("%w for %q: %w%s", ErrNoKeys, u, err, cfg.timedOut(ctx))
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
			return nil, plan, fmt.Errorf("%w: user %q has no usable SSH keys; %s and re-run the job", ErrNoKeys, u, cfg.addKeyHint(j.ServerURL))
		}
	}
	return ring, plan, nil
}
