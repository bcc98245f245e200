package proof

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/crypto/ssh"

	"github.com/pitstopci/pitstop/forge"
)

// AudiencePrefix starts the audience of every proof: "pitstop:" and the
// host key's SHA256 fingerprint, as ssh prints it.
const AudiencePrefix = "pitstop:"

// Audience is the audience a proof of key carries: a token for one key
// proves nothing about another.
func Audience(key ssh.PublicKey) string {
	return AudiencePrefix + ssh.FingerprintSHA256(key)
}

// GitHubIssuer is the issuer of github.com's Actions tokens.
const GitHubIssuer = "https://token.actions.githubusercontent.com"

// Issuer is the issuer of the Actions tokens of the GitHub whose REST API
// is at apiURL: github.com's for https://api.github.com, else the
// server's own token service, https://HOST/_services/token, as GitHub
// Enterprise Server runs it.
func Issuer(apiURL string) (string, error) {
	u, err := url.Parse(apiURL)
	if err != nil || u.Host == "" {
		return "", fmt.Errorf("API URL %q has no host", apiURL)
	}
	if strings.EqualFold(u.Host, "api.github.com") {
		return GitHubIssuer, nil
	}
	return u.Scheme + "://" + u.Host + "/_services/token", nil
}

// ErrNotGranted is wrapped by Request when the job may not request a
// token: the runner sets ACTIONS_ID_TOKEN_REQUEST_URL and _TOKEN only for
// a job with id-token: write.
var ErrNotGranted = errors.New("the job may not request an OIDC token (it lacks permissions: id-token: write)")

// maxToken bounds the answer to a token request: GitHub's tokens are
// about a kilobyte.
const maxToken = 64 << 10

// Request asks the runner's token service (requestURL and requestToken,
// from ACTIONS_ID_TOKEN_REQUEST_URL and ACTIONS_ID_TOKEN_REQUEST_TOKEN)
// for a token with audience. hc may be nil.
func Request(ctx context.Context, requestURL, requestToken, audience string, hc *http.Client) (string, error) {
	if requestURL == "" || requestToken == "" {
		return "", ErrNotGranted
	}
	client, _, err := forge.HTTPClient(requestURL, hc, maxToken)
	if err != nil {
		return "", fmt.Errorf("request an OIDC token: %w", err)
	}
	sep := "&"
	if !strings.Contains(requestURL, "?") {
		sep = "?"
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, requestURL+sep+"audience="+url.QueryEscape(audience), nil)
	if err != nil {
		return "", fmt.Errorf("request an OIDC token: %w", err)
	}
	req.Header.Set("Authorization", "bearer "+requestToken)
	req.Header.Set("Accept", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return "", fmt.Errorf("request an OIDC token: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", fmt.Errorf("request an OIDC token: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("request an OIDC token: the token service answered %s: %.200q", resp.Status, body)
	}
	var v struct {
		Value string `json:"value"`
	}
	if err := json.Unmarshal(body, &v); err != nil || v.Value == "" {
		return "", fmt.Errorf("request an OIDC token: the answer has no token (%.200q)", body)
	}
	return v.Value, nil
}

// Want is what a proof must say to be believed.
type Want struct {
	// Issuer is the token service's issuer URL (see Issuer).
	Issuer string
	// Repository is OWNER/REPO.
	Repository string
	// RunID and RunAttempt are the run and its attempt being attached to.
	RunID      int64
	RunAttempt int
	// JobIDs are the jobs (check run IDs) the pause may be in: the run's
	// jobs that are running, and that --job names if it was given.
	JobIDs []int64
	// HostKey is the key that is about to be pinned.
	HostKey ssh.PublicKey
	// Client fetches the issuer's configuration and keys; nil for
	// http.DefaultClient's settings, guarded as forge guards the API.
	Client *http.Client
	// Now is the clock for the token's expiry; nil for time.Now.
	Now func() time.Time
}

// Claims are the claims of a proof that pitstop checks.
type Claims struct {
	Repository string `json:"repository"`
	RunID      string `json:"run_id"`
	RunAttempt string `json:"run_attempt"`
	// JobID is check_run_id: the job's own ID, which is its check run's.
	JobID flexID `json:"check_run_id"`
	Actor string `json:"actor"`
}

// flexID reads an ID GitHub may send as a string or a number.
type flexID string

// UnmarshalJSON implements json.Unmarshaler.
func (f *flexID) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*f = flexID(s)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("check_run_id is neither a string nor a number: %s", b)
	}
	*f = flexID(n.String())
	return nil
}

// Verify checks token against want: its signature against the issuer's
// published keys, its issuer, expiry and audience (want.HostKey's), and
// that it names want's repository, run, attempt and one of want's jobs.
// Any failure is an error that says which, for the user.
func Verify(ctx context.Context, token string, want Want) (*Claims, error) {
	if token == "" {
		return nil, errors.New("the pause carries no proof (its job may lack permissions: id-token: write)")
	}
	client, _, err := forge.HTTPClient(want.Issuer, want.Client, forge.MaxAnswer)
	if err != nil {
		return nil, fmt.Errorf("the token issuer: %w", err)
	}
	ctx = oidc.ClientContext(ctx, client)
	provider, err := oidc.NewProvider(ctx, want.Issuer)
	if err != nil {
		return nil, fmt.Errorf("read the token issuer %s: %w", want.Issuer, err)
	}
	aud := Audience(want.HostKey)
	idt, err := provider.Verifier(&oidc.Config{ClientID: aud, Now: want.Now}).Verify(ctx, token)
	if err != nil {
		var expired *oidc.TokenExpiredError
		if errors.As(err, &expired) {
			return nil, fmt.Errorf("the proof expired at %s", expired.Expiry.UTC().Format(time.RFC3339))
		}
		return nil, fmt.Errorf("the proof is not a token of %s for host key %s: %w", want.Issuer, ssh.FingerprintSHA256(want.HostKey), err)
	}
	var c Claims
	if err := idt.Claims(&c); err != nil {
		return nil, fmt.Errorf("read the proof's claims: %w", err)
	}
	switch {
	case !strings.EqualFold(c.Repository, want.Repository):
		return nil, fmt.Errorf("the proof is for repository %q, not %s", c.Repository, want.Repository)
	case c.RunID != strconv.FormatInt(want.RunID, 10):
		return nil, fmt.Errorf("the proof is for run %q, not %d", c.RunID, want.RunID)
	case c.RunAttempt != strconv.Itoa(want.RunAttempt):
		return nil, fmt.Errorf("the proof is for attempt %q of run %d, not its attempt %d", c.RunAttempt, want.RunID, want.RunAttempt)
	}
	id, err := strconv.ParseInt(string(c.JobID), 10, 64)
	if err != nil {
		return nil, fmt.Errorf("the proof names no job (check_run_id %q)", c.JobID)
	}
	for _, j := range want.JobIDs {
		if j == id {
			return &c, nil
		}
	}
	return nil, fmt.Errorf("the proof is for job %d, which is not a running job of run %d that was asked for", id, want.RunID)
}
