//go:build unix

package integration

import (
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// httpsMirror serves dir over https on loopback, as a GitHub Enterprise
// Server's mirror with its own CA would, and returns its URL and the
// variables that make curl, GNU wget and Node.js trust it.
func httpsMirror(t *testing.T, dir string) (string, map[string]string) {
	t.Helper()
	srv := httptest.NewTLSServer(http.FileServer(http.Dir(dir)))
	t.Cleanup(srv.Close)
	return srv.URL, caEnv(t, srv)
}

// caEnv makes curl, GNU wget and Node.js trust srv's certificate.
func caEnv(t *testing.T, srv *httptest.Server) map[string]string {
	t.Helper()
	tmp := t.TempDir()
	ca := filepath.Join(tmp, "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o644); err != nil {
		t.Fatal(err)
	}
	rc := filepath.Join(tmp, "wgetrc")
	if err := os.WriteFile(rc, []byte("ca_certificate = "+ca+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return map[string]string{"CURL_CA_BUNDLE": ca, "WGETRC": rc, "NODE_EXTRA_CA_CERTS": ca}
}

// onlyDownloader makes a PATH with every command of /usr/bin and /bin
// but the downloaders other than keep ("curl", "wget" or "node"), so that
// install.sh has to use that one.
func onlyDownloader(t *testing.T, keep string) string {
	t.Helper()
	bin := t.TempDir()
	for _, dir := range []string{"/usr/bin", "/bin"} {
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			name := e.Name()
			if (name == "curl" || name == "wget" || strings.HasPrefix(name, "node")) && name != keep {
				continue
			}
			if _, err := os.Lstat(filepath.Join(bin, name)); err == nil {
				continue
			}
			if err := os.Symlink(filepath.Join(dir, name), filepath.Join(bin, name)); err != nil {
				t.Fatal(err)
			}
		}
	}
	return bin
}

// TestActionInstallHTTPSOnly: curl, GNU wget and Node.js alike download
// the release over https only: a plain http or file: URL is refused, and
// so is a redirect to plain http, before the http server is asked
// anything; a redirect to another https URL is followed.
func TestActionInstallHTTPSOnly(t *testing.T) {
	tool(t, "curl", "apt-get install curl")
	tool(t, "wget", "apt-get install wget")
	tool(t, "node", "apt-get install nodejs")
	mirror := t.TempDir()
	fake := filepath.Join(t.TempDir(), "pitstop")
	if err := os.WriteFile(fake, []byte("#!/bin/sh\necho released pitstop\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	action := actionCopy(t)
	archive, _ := fakeRelease(t, fake, mirror, action)

	var mu sync.Mutex
	var plain []string
	insecure := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		plain = append(plain, r.URL.Path)
		mu.Unlock()
		http.FileServer(http.Dir(mirror)).ServeHTTP(w, r)
	}))
	t.Cleanup(insecure.Close)
	files := http.FileServer(http.Dir(mirror))
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasPrefix(r.URL.Path, "/to-http/"):
			http.Redirect(w, r, insecure.URL+"/"+archive, http.StatusFound)
		case strings.HasPrefix(r.URL.Path, "/moved/"):
			// A relative redirect, as release downloads get one.
			http.Redirect(w, r, "/"+archive, http.StatusFound)
		default:
			files.ServeHTTP(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	trust := caEnv(t, srv)

	for _, dl := range []string{"curl", "wget", "node"} {
		t.Run(dl, func(t *testing.T) {
			path := onlyDownloader(t, dl)
			run := func(url string) (string, error, map[string]string) {
				env := map[string]string{"RUNNER_OS": "Linux", "RUNNER_ARCH": "X64", "RUNNER_TOOL_CACHE": "",
					"PITSTOP_DOWNLOAD_URL": url, "PITSTOP_INSTALL": "release", "PATH": path}
				for k, v := range trust {
					env[k] = v
				}
				return runScript(t, filepath.Join(action, "install.sh"), env)
			}
			out, err, outputs := run(srv.URL + "/moved")
			if err != nil || outputs["bin"] == "" {
				t.Fatalf("https with a redirect on https: %v, outputs %v\n%s", err, outputs, out)
			}
			if want := map[string]string{"curl": "pitstop: downloading " + srv.URL, "wget": "with wget", "node": "no curl or wget here"}[dl]; !strings.Contains(out, want) {
				t.Errorf("not downloaded with %s (%q):\n%s", dl, want, out)
			}
			for _, url := range []string{srv.URL + "/to-http", insecure.URL, "file://" + mirror} {
				out, err, outputs := run(url)
				if err == nil || outputs["bin"] != "" || !strings.Contains(out, "could not download "+url+"/"+archive) {
					t.Errorf("%s was not refused: %v, outputs %v\n%s", url, err, outputs, out)
				}
			}
			mu.Lock()
			defer mu.Unlock()
			if len(plain) != 0 {
				t.Errorf("the plain http server was asked for %q", plain)
			}
		})
	}
}
