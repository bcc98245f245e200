//go:build unix

package integration

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/pitstopci/pitstop/internal/testutil"
)

// imageShell has a shell and busybox's tools but nothing that downloads
// (no curl, wget or nc), and the C and C++ runtime a glibc build of
// Node.js needs, like distroless/cc with a shell (.ci/test-images).
const imageShell = "pitstop-test/shell:latest"

// fakeRelease writes a release archive of bin (as the pitstop binary)
// for linux/amd64 into mirror, and the release and checksums.txt files
// that pin it into the action's directory. It returns the archive's
// name and checksum.
func fakeRelease(t *testing.T, bin, mirror, action string) (string, string) {
	t.Helper()
	stage := t.TempDir()
	b, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(stage, "pitstop"), b, 0o755); err != nil {
		t.Fatal(err)
	}
	archive := "pitstop_1.2.3_linux_amd64.tar.gz"
	if out, err := exec.Command("tar", "-czf", filepath.Join(mirror, archive), "-C", stage, "pitstop").CombinedOutput(); err != nil {
		t.Fatalf("tar: %v\n%s", err, out)
	}
	data, err := os.ReadFile(filepath.Join(mirror, archive))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	hexSum := hex.EncodeToString(sum[:])
	for name, content := range map[string]string{
		"checksums.txt": hexSum + "  " + archive + "\n",
		"release":       "version=v1.2.3\nrepository=pitstopci/pitstop\n",
	} {
		if err := os.WriteFile(filepath.Join(action, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return archive, hexSum
}

// TestActionInstallToolCache: a verified download is kept in the
// runner's tool cache (TOOL/VERSION/ARCH, with the .complete marker) and
// taken from there the next time, when the release cannot be reached; a
// cached copy whose checksum is not the pinned one is never used.
func TestActionInstallToolCache(t *testing.T) {
	tool(t, "curl", "apt-get install curl")
	action := actionCopy(t)
	mirror, cache := t.TempDir(), t.TempDir()
	fake := filepath.Join(t.TempDir(), "pitstop")
	if err := os.WriteFile(fake, []byte("#!/bin/sh\necho released pitstop\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	archive, _ := fakeRelease(t, fake, mirror, action)
	url, trust := httpsMirror(t, mirror)
	env := map[string]string{
		"RUNNER_OS": "Linux", "RUNNER_ARCH": "X64", "RUNNER_TOOL_CACHE": cache,
		"PITSTOP_DOWNLOAD_URL": url,
		"PITSTOP_INSTALL":      "release",
		"PATH":                 "/usr/bin:/bin",
	}
	for k, v := range trust {
		env[k] = v
	}
	out, err, outputs := runScript(t, filepath.Join(action, "install.sh"), env)
	if err != nil {
		t.Fatalf("install.sh: %v\n%s", err, out)
	}
	cached := filepath.Join(cache, "pitstop", "1.2.3", "x64", archive)
	if !strings.Contains(out, "kept "+archive+" in the runner's tool cache") {
		t.Errorf("the download was not kept in the tool cache:\n%s", out)
	}
	if _, err := os.Stat(filepath.Join(cache, "pitstop", "1.2.3", "x64.complete")); err != nil {
		t.Errorf("no .complete marker: %v", err)
	}

	// The release is gone: the cached copy does.
	if err := os.Remove(filepath.Join(mirror, archive)); err != nil {
		t.Fatal(err)
	}
	out, err, outputs = runScript(t, filepath.Join(action, "install.sh"), env)
	if err != nil || !strings.Contains(out, "using "+archive+" from the runner's tool cache") {
		t.Fatalf("install.sh from the cache: %v\n%s", err, out)
	}
	if b, err := os.ReadFile(outputs["bin"]); err != nil || !strings.Contains(string(b), "released pitstop") {
		t.Errorf("installed binary %q: %q, %v", outputs["bin"], b, err)
	}

	// A cached copy that is not what was pinned is refused, and with no
	// release to download, nothing is installed.
	if err := os.WriteFile(cached, []byte("not the release"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err, outputs = runScript(t, filepath.Join(action, "install.sh"), env)
	if err == nil || !strings.Contains(out, "ignoring "+cached) || outputs["bin"] != "" {
		t.Errorf("a tampered cache: got %v, outputs %v, want a failure that ignores %s:\n%s", err, outputs, cached, out)
	}
}

// TestActionInstallNoDownloader: in an image with no curl, wget or
// Node.js, the release comes from the runner's tool cache, mounted at
// /__t as GitHub's runners mount it, checked against the pinned
// checksum; with an empty cache the step fails saying what the image
// lacks and what the options are.
func TestActionInstallNoDownloader(t *testing.T) {
	docker := dockerReady(t)
	static := staticPitstop(t)
	actionDir := actionCopy(t)
	mirror := t.TempDir()
	archive, _ := fakeRelease(t, static, mirror, actionDir)
	action := filepath.Dir(filepath.Dir(actionDir))

	run := func(cache string) string {
		script := `export GITHUB_OUTPUT=/tmp/out RUNNER_TEMP=/tmp RUNNER_OS=Linux RUNNER_ARCH=X64
for c in curl wget nc node; do command -v "$c" >/dev/null && echo "has-$c"; done
PITSTOP_INSTALL=release sh /action/agent/action/install.sh; echo "install-exit=[$?]"
bin=$(sed -n 's/^bin=//p' /tmp/out 2>/dev/null)
[ -z "$bin" ] || "$bin" version
`
		out, err := exec.Command(docker, "run", "--rm", "--network", "none",
			"-v", action+":/action:ro", "-v", cache+":/__t",
			imageShell, "sh", "-c", script).CombinedOutput()
		if err != nil {
			t.Fatalf("docker run: %v\n%s", err, out)
		}
		if strings.Contains(string(out), "has-") {
			t.Fatalf("the image has a way to download:\n%s", out)
		}
		return string(out)
	}

	out := run(t.TempDir())
	testutil.Contains(t, "with nothing to download with, the output", out,
		"install-exit=[1]",
		"this image has neither curl nor wget, and no Node.js runs in it",
		"/__e/node20/bin/node",
		"/__t/pitstop/1.2.3/x64/",
		"give its path as input install",
	)

	cache := t.TempDir()
	dir := filepath.Join(cache, "pitstop", "1.2.3", "x64")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(mirror, archive))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, archive), b, 0o644); err != nil {
		t.Fatal(err)
	}
	out = run(cache)
	testutil.Contains(t, "with the release in the tool cache, the output", out,
		"using "+archive+" from the runner's tool cache (/__t/pitstop/1.2.3/x64)",
		"install-exit=[0]",
		"pitstop ", // the installed binary runs
	)
}

// sourceCopy copies the pitstop source tree (the files git knows of or
// would add) into a fresh directory, for a test that changes the action.
func sourceCopy(t *testing.T) string {
	t.Helper()
	git := tool(t, "git", gitInstall)
	cmd := exec.Command(git, "ls-files", "-z", "--cached", "--others", "--exclude-standard")
	cmd.Dir = sourceRoot
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("git ls-files: %v", err)
	}
	dst := t.TempDir()
	for _, rel := range strings.Split(strings.TrimRight(string(out), "\x00"), "\x00") {
		from := filepath.Join(sourceRoot, rel)
		fi, err := os.Lstat(from)
		if err != nil || !fi.Mode().IsRegular() {
			continue // deleted in the work tree, or not a file
		}
		b, err := os.ReadFile(from)
		if err != nil {
			t.Fatal(err)
		}
		to := filepath.Join(dst, rel)
		if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(to, b, fi.Mode().Perm()); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

// TestActContainerNodeDownload: under the real act, a job in an image
// with nothing to download with (imageShell) pauses with a released
// pitstop all the same: the install step fetches the release with the
// runner's Node.js, mounted where GitHub's runners mount it
// (/__e/node20/bin/node, read-only), from an HTTPS mirror (a GitHub
// Enterprise Server's, with its own CA), checks it against the pinned
// checksum, and keeps it in the tool cache, mounted at /__t. The pause
// then works as in any image.
func TestActContainerNodeDownload(t *testing.T) {
	docker := dockerReady(t)
	tool(t, "ssh", sshInstall)
	node, err := filepath.EvalSymlinks(tool(t, "node", "apt-get install nodejs (a build linked only to the C and C++ runtime, as the runner's is)"))
	if err != nil {
		t.Fatal(err)
	}
	static := staticPitstop(t)
	source := sourceCopy(t)
	mirror := t.TempDir()
	archive, sum := fakeRelease(t, static, mirror, filepath.Join(source, "agent", "action"))

	var mu sync.Mutex
	var got []string
	files := http.FileServer(http.Dir(mirror))
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = append(got, r.Method+" "+r.URL.Path)
		mu.Unlock()
		files.ServeHTTP(w, r)
	}))
	defer srv.Close()
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o644); err != nil {
		t.Fatal(err)
	}
	cache := t.TempDir()

	name := "ctr-node-download"
	image := fmt.Sprintf(`{image: %s, volumes: ["%s:/__e/node20/bin/node:ro", "%s:/__t", "%s:/etc/mirror-ca.pem:ro"]}`, imageShell, node, cache, ca)
	env := "    env:\n      PITSTOP_DOWNLOAD_URL: " + srv.URL + "\n      RUNNER_TOOL_CACHE: /__t\n      NODE_EXTRA_CA_CERTS: /etc/mirror-ca.pem\n"
	e := newActRepo(t, map[string]string{".github/workflows/ci.yml": containerWorkflow(name, image, env)})
	r := e.start(t, "--job", "build", "--ssh-after-step", "1", "--wait-timeout", "3m", "--action-source", source, "--with", "install=release")
	line := r.connectLine(t)
	pauseSession(t, e, line)
	jobWentOn(t, r)
	noneLeft(t, docker, name)

	testutil.Contains(t, "the pause step's output", r.stderr.String(),
		"pitstop: downloading "+srv.URL+"/"+archive+" with /__e/node20/bin/node (no curl or wget here)",
		"pitstop: installed release v1.2.3 for linux/amd64 (sha256 "+sum,
		"pitstop: kept "+archive+" in the runner's tool cache (/__t/pitstop/1.2.3/x64)",
	)
	mu.Lock()
	if !slices.Contains(got, "GET /"+archive) {
		t.Errorf("the mirror was not asked for %s; it saw %v", archive, got)
	}
	mu.Unlock()
	b, err := os.ReadFile(filepath.Join(cache, "pitstop", "1.2.3", "x64", archive))
	if err != nil {
		t.Fatalf("not kept in the tool cache: %v", err)
	}
	if s := sha256.Sum256(b); hex.EncodeToString(s[:]) != sum {
		t.Errorf("the tool cache's copy is not the release")
	}
}
