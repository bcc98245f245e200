package agent

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"

	gossh "golang.org/x/crypto/ssh"

	"github.com/pitstopci/pitstop/agent/audit"
)

func TestOnlyAuthorizedKeysGetIn(t *testing.T) {
	h := startAgent(t, nil)
	bob := newTestUser(t, "bob") // has keys on GitHub, but is not the actor
	h.gh.SetKeys("bob", bob.authorizedLine())
	stranger := newTestUser(t, "stranger")

	c := h.mustDial(h.alice)
	if out, _, status := run(t, c, "echo in"); out != "in\n" || status != 0 {
		t.Fatalf("alice: %q, status %d", out, status)
	}
	for _, u := range []testUser{bob, stranger} {
		if c, err := h.dial(u); err == nil {
			c.Close()
			t.Errorf("%s's key was admitted", u.name)
		}
	}
	for _, u := range []testUser{bob, stranger} {
		if !h.audited(audit.KeyRefused, map[string]any{"key_fingerprint": u.fingerprint()}) {
			t.Errorf("%s's refused key is not in the log:\n%s", u.name, h.logs)
		}
	}
}

// TestNoOtherAuthMethods: gliderlabs admits everyone when it has no auth
// handler; ours must refuse no-auth, passwords and keyboard-interactive.
func TestNoOtherAuthMethods(t *testing.T) {
	h := startAgent(t, nil)
	methods := map[string][]gossh.AuthMethod{
		"none":     nil,
		"password": {gossh.Password("hunter2"), gossh.Password("")},
		"keyboard-interactive": {gossh.KeyboardInteractive(func(string, string, []string, []bool) ([]string, error) {
			return []string{"yes"}, nil
		})},
	}
	for name, auth := range methods {
		c, err := gossh.Dial("tcp", h.ready.Address, h.clientConfig(auth...))
		if err == nil {
			c.Close()
			t.Errorf("%s: logged in", name)
			continue
		}
		if !strings.Contains(err.Error(), "unable to authenticate") {
			t.Errorf("%s: %v, want an authentication failure", name, err)
		}
	}
}

func TestOpenSSHRefusesPasswordAndStrangers(t *testing.T) {
	ssh := openSSH(t)
	h := startAgent(t, nil)
	stranger := newTestUser(t, "stranger")
	cases := map[string][]string{
		"stranger's key": h.sshArgs(stranger.keyFile, "true"),
		"password and keyboard-interactive": h.sshArgs(h.alice.keyFile,
			"-o", "PubkeyAuthentication=no", "-o", "PreferredAuthentications=password,keyboard-interactive", "true"),
	}
	for name, args := range cases {
		var stderr bytes.Buffer
		cmd := exec.Command(ssh, args...)
		cmd.Stderr = &stderr
		err := cmd.Run()
		if err == nil {
			t.Errorf("%s: logged in", name)
			continue
		}
		// "(publickey)" is the list of methods the server offers: only that.
		if !strings.Contains(stderr.String(), "Permission denied (publickey)") {
			t.Errorf("%s: stderr %q, want Permission denied (publickey)", name, stderr.String())
		}
	}
}

// TestAlgorithms checks the negotiated algorithms are the explicit,
// modern ones: weak choices offered alone are refused, and so are the
// ciphers an offer leaves out. Both cipher offers are tried, whatever
// this machine's CPU would pick (ciphers.go).
func TestAlgorithms(t *testing.T) {
	for name, offer := range map[string][]string{"aes": aesCipherOffer, "portable": portableCipherOffer} {
		t.Run(name, func(t *testing.T) {
			saved := cipherAlgorithms
			cipherAlgorithms = offer
			t.Cleanup(func() { cipherAlgorithms = saved })
			testAlgorithms(t, offer)
		})
	}
}

func testAlgorithms(t *testing.T, offer []string) {
	h := startAgent(t, nil)
	try := func(edit func(*gossh.ClientConfig)) error {
		cfg := h.clientConfig(gossh.PublicKeys(h.alice.signer))
		edit(cfg)
		c, err := gossh.Dial("tcp", h.ready.Address, cfg)
		if err == nil {
			c.Close()
		}
		return err
	}
	ciphers := func(names ...string) func(*gossh.ClientConfig) {
		return func(c *gossh.ClientConfig) { c.Ciphers = names }
	}
	refused := map[string]func(*gossh.ClientConfig){
		"ecdh-sha2-nistp256": func(c *gossh.ClientConfig) { c.KeyExchanges = []string{gossh.KeyExchangeECDHP256} },
		"diffie-hellman-group14-sha1": func(c *gossh.ClientConfig) {
			c.KeyExchanges = []string{gossh.InsecureKeyExchangeDH14SHA1}
		},
		"aes128-cbc": ciphers(gossh.InsecureCipherAES128CBC),
		// CTR, where it is offered, only with ETM MACs.
		"hmac-sha1": func(c *gossh.ClientConfig) {
			c.Ciphers = []string{gossh.CipherAES128CTR}
			c.MACs = []string{gossh.HMACSHA1}
		},
		"hmac-sha2-256 without ETM": func(c *gossh.ClientConfig) {
			c.Ciphers = []string{gossh.CipherAES128CTR}
			c.MACs = []string{gossh.HMACSHA256}
		},
	}
	accepted := map[string]func(*gossh.ClientConfig){
		"mlkem768x25519-sha256": func(c *gossh.ClientConfig) { c.KeyExchanges = []string{gossh.KeyExchangeMLKEM768X25519} },
		"curve25519-sha256":     func(c *gossh.ClientConfig) { c.KeyExchanges = []string{gossh.KeyExchangeCurve25519} },
	}
	for _, name := range portableCipherOffer {
		if slices.Contains(offer, name) {
			accepted[name] = ciphers(name)
		} else {
			refused[name] = ciphers(name)
		}
	}
	if slices.Contains(offer, gossh.CipherAES256CTR) {
		accepted["aes256-ctr with hmac-sha2-512-etm"] = func(c *gossh.ClientConfig) {
			c.Ciphers = []string{gossh.CipherAES256CTR}
			c.MACs = []string{gossh.HMACSHA512ETM}
		}
	}
	for name, edit := range refused {
		if err := try(edit); err == nil {
			t.Errorf("%s was accepted", name)
		}
	}
	for name, edit := range accepted {
		if err := try(edit); err != nil {
			t.Errorf("%s was refused: %v", name, err)
		}
	}
}

func TestReadyFile(t *testing.T) {
	h := startAgent(t, nil)
	r := h.ready
	if !strings.HasPrefix(r.Address, "127.0.0.1:") || r.Port == 0 {
		t.Errorf("address %q port %d", r.Address, r.Port)
	}
	if want := "[127.0.0.1]:"; !strings.HasPrefix(r.KnownHosts, want) || !strings.Contains(r.KnownHosts, "ssh-ed25519 ") {
		t.Errorf("known_hosts %q", r.KnownHosts)
	}
	if got := gossh.FingerprintSHA256(h.hostKey()); got != r.HostKeyFingerprint || !strings.HasPrefix(got, "SHA256:") {
		t.Errorf("fingerprint %q, host key's is %q", r.HostKeyFingerprint, got)
	}
	if r.PID != os.Getpid() || r.ControlSocket == "" || r.SSHCommand == "" {
		t.Errorf("ready %+v", r)
	}
	if len(r.AuthorizedUsers) != 1 || r.AuthorizedUsers[0] != "alice" || len(r.AuthorizedKeyFingerprints) != 1 {
		t.Errorf("authorized %v %v", r.AuthorizedUsers, r.AuthorizedKeyFingerprints)
	}
	// A fresh host key per run.
	h2 := startAgent(t, nil)
	if h2.ready.HostKeyFingerprint == r.HostKeyFingerprint {
		t.Error("two runs share a host key")
	}
	// The connect command is on the run page, escaped as the runner wants.
	if n := h.notices.String(); !strings.HasPrefix(n, "::notice title=pitstop%3A ") || !strings.Contains(n, r.SSHCommand) {
		t.Errorf("notice %q", n)
	}
	summary, err := os.ReadFile(h.summary)
	if err != nil || !strings.Contains(string(summary), r.SSHCommand) || !strings.Contains(string(summary), r.KnownHosts) {
		t.Errorf("step summary %q, %v", summary, err)
	}
}

// TestKeyTypes: RSA (with SHA-2 signatures) and ECDSA keys log in; a
// security key's public key (sk-ssh-ed25519@openssh.com), as GitHub lists
// it, is read and authorized.
func TestKeyTypes(t *testing.T) {
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	var signers []gossh.Signer
	for _, k := range []any{rsaKey, ecKey} {
		s, err := gossh.NewSignerFromKey(k)
		if err != nil {
			t.Fatal(err)
		}
		signers = append(signers, s)
	}
	// The wire form of an sk-ssh-ed25519 public key: type, key, application.
	edPub, _, _ := ed25519.GenerateKey(rand.Reader)
	skBlob := gossh.Marshal(struct {
		Type        string
		Key         []byte
		Application string
	}{gossh.KeyAlgoSKED25519, edPub, "ssh:"})
	skKey, err := gossh.ParsePublicKey(skBlob)
	if err != nil {
		t.Fatal(err)
	}

	h := startAgent(t, func(h *harness) {
		var lines []string
		for _, s := range signers {
			lines = append(lines, strings.TrimSpace(string(gossh.MarshalAuthorizedKey(s.PublicKey()))))
		}
		lines = append(lines, strings.TrimSpace(string(gossh.MarshalAuthorizedKey(skKey))))
		h.gh.SetKeys("alice", lines...)
	})
	if !slices.Contains(h.ready.AuthorizedKeyFingerprints, gossh.FingerprintSHA256(skKey)) {
		t.Errorf("the security key is not authorized: %v", h.ready.AuthorizedKeyFingerprints)
	}
	for _, s := range signers {
		c, err := gossh.Dial("tcp", h.ready.Address, h.clientConfig(gossh.PublicKeys(s)))
		if err != nil {
			t.Errorf("%s key refused: %v", s.PublicKey().Type(), err)
			continue
		}
		c.Close()
	}
}
