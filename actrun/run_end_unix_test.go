//go:build unix

package actrun

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pitstopci/pitstop/injector"
	"github.com/pitstopci/pitstop/internal/testutil"
)

// runWith runs pitstop act with act replaced by script.
func runWith(t *testing.T, f *fixture, script string) (int, string) {
	t.Helper()
	act := filepath.Join(t.TempDir(), "act")
	writeExecutable(t, act, script)
	f.opts.Act = act
	code, err := Run(context.Background(), f.opts)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	return code, f.stderr.String()
}

func TestRunPauseNotReached(t *testing.T) {
	for _, tc := range []struct {
		name, workflow, act string
		code                int
		want                string
	}{{
		name: "act does nothing",
		act:  "#!/bin/sh\nexit 0\n",
		code: 1,
		want: `pitstop: the pause was not reached: act ran no step of job "build" (act exited with status 0)`,
	}, {
		name:     "job skipped",
		workflow: "on: push\njobs:\n  build:\n    if: ${{ github.event_name == 'release' }}\n    runs-on: ubuntu-latest\n    steps:\n      - run: make\n",
		act:      "#!/bin/sh\nexit 0\n",
		code:     1,
		want:     `pitstop: the pause was not reached: act ran no step of job "build": its if: (${{ github.event_name == 'release' }}) was false, so the job was skipped`,
	}, {
		name: "pause step failed",
		act: "#!/bin/sh\necho '[ci/build] ⭐ Run Main make'\necho '[ci/build]   ❌  Failure - Main make [21ms]'\n" +
			"echo '[ci/build]   \033[31m❌  Failure - Main Pause for SSH debugging (pitstop) [1.5s]\033[0m'\necho '[ci/build] 🏁  Job failed'\nexit 1\n",
		code: 1,
		want: `pitstop: the pause was not reached: the pause step itself failed before the agent was ready (see its output above)`,
	}, {
		name: "step failed",
		act:  "#!/bin/sh\necho '[ci/build] ⭐ Run Main make'\necho '[ci/build]   ❌  Failure - Main make [21ms]'\necho '[ci/build] 🏁  Job failed'\nexit 0\n",
		code: 1,
		want: `pitstop: the pause was not reached: step "make" failed before it`,
	}, {
		name: "act fails",
		act:  "#!/bin/sh\necho '[ci/build] ⭐ Run Set up job'\nexit 4\n",
		code: 4,
		want: `pitstop: the pause was not reached: job "build" ended before it (act exited with status 4)`,
	}} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			if tc.workflow != "" {
				testutil.WriteTree(t, f.repo, map[string]string{".github/workflows/ci.yml": tc.workflow})
			}
			code, stderr := runWith(t, f, tc.act)
			if code != tc.code || !strings.Contains(stderr, tc.want+"\n") {
				t.Errorf("exit status %d, want %d; stderr should say\n%s\ngot:\n%s", code, tc.code, tc.want, stderr)
			}
		})
	}
}

func TestRunStripsColourOffTerminal(t *testing.T) {
	f := newFixture(t)
	f.opts.NoColor = true
	script := "#!/bin/sh\nprintf '[ci/build] ⭐ Run Main make\\n[ci/build]   | \\033[90m04:39:33\\033[0m \\033[32mINF\\033[0m \\033[1mwaiting\\033[0m\\n'\nprintf 'no newline'\nexit 2\n"
	_, stderr := runWith(t, f, script)
	if strings.Contains(stderr, "\x1b") || !strings.Contains(stderr, "[ci/build]   | 04:39:33 INF waiting\n") || !strings.Contains(stderr, "no newline") {
		t.Errorf("colour codes should be gone, the text kept:\n%q", stderr)
	}
}

// TestRunHangup: a closed terminal reaches act as SIGTERM (act's own
// SIGHUP handling would be to die on the spot, leaving the job's
// processes behind), and act is killed if it does not end in time.
func TestRunHangup(t *testing.T) {
	for _, tc := range []struct {
		name, trap string
		code       int
	}{
		{"act ends", `trap 'echo TERM > "$FAKE_LOG/signal"; exit 143' TERM`, 143},
		{"act hangs", `trap 'echo TERM > "$FAKE_LOG/signal"' TERM; trap '' HUP`, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			sigs := make(chan os.Signal, 1)
			f.opts.Interrupt = sigs
			f.opts.KillAfter = 300 * time.Millisecond
			script := "#!/bin/sh\n" + tc.trap + "\necho '[ci/build] ⭐ Run Main make'\ntouch \"$FAKE_LOG/started\"\nwhile :; do sleep 0.05; done\n"
			done := make(chan int, 1)
			go func() {
				code, _ := runWith(t, f, script)
				done <- code
			}()
			for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
				if _, err := os.Stat(filepath.Join(f.log, "started")); err == nil {
					break
				}
				if time.Now().After(deadline) {
					t.Fatal("act did not start")
				}
			}
			sigs <- syscall.SIGHUP
			select {
			case code := <-done:
				if code != tc.code {
					t.Errorf("exit status %d, want %d", code, tc.code)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("pitstop act did not end after SIGHUP")
			}
			if got := f.read(t, "signal"); got != "TERM\n" {
				t.Errorf("act got %q, want SIGTERM", got)
			}
			if strings.Contains(f.stderr.String(), "not reached") {
				t.Errorf("a hangup is not a pause that was not reached:\n%s", f.stderr.String())
			}
		})
	}
}

// loginAct is fakeAct whose agent logs a login when the fake ssh asks
// (file "login"), as the real agent does when a key is accepted.
const loginAct = `#!/bin/sh
wf=""; prev=""
for a in "$@"; do [ "$prev" = "-W" ] && wf="$a"; prev="$a"; done
echo "[ci/build] ⭐ Run Main make"
ready=$(sed -n 's/.*ready-file: "\(.*\)"$/\1/p' "$wf")
printf '{"address":"127.0.0.1:40123","known_hosts":"[127.0.0.1]:40123 ssh-ed25519 AAAAtest","host_key_fingerprint":"SHA256:test"}' > "$ready"
d=$(dirname "$wf")
while [ ! -e "$d/continue" ]; do
	if [ -e "$FAKE_LOG/login" ]; then
		rm "$FAKE_LOG/login"
		printf '[ci/build]   | \033[90m04:39:33\033[0m \033[32mINF\033[0m \033[1mlogged in\033[0m key_fingerprint=SHA256:x\n'
		touch "$FAKE_LOG/logged"
	fi
	sleep 0.02
done
exit 0
`

// dropSSH fails as ssh does (255): the first time when the connection
// drops after a login, the second time without getting in; the third
// time it lets the job go on.
const dropSSH = `#!/bin/sh
n=$(cat "$FAKE_LOG/ssh-count" 2>/dev/null || echo 0); n=$((n+1)); echo $n > "$FAKE_LOG/ssh-count"
for a in "$@"; do
	case "$a" in UserKnownHostsFile=*) kh="${a#UserKnownHostsFile=}" ;; esac
done
case $n in
1) touch "$FAKE_LOG/login"; while [ ! -e "$FAKE_LOG/logged" ]; do sleep 0.02; done
   echo "client_loop: send disconnect: Broken pipe" >&2; exit 255 ;;
2) echo "Connection refused" >&2; exit 255 ;;
*) touch "$(dirname "$kh")/continue" ;;
esac
`

func TestRunNoLogin(t *testing.T) {
	f := newFixture(t)
	f.opts.Connect = true
	// ssh fails without logging in, and notes where the job's files are.
	// The job goes on until pitstop has said how to connect: ended as ssh
	// fails, it would leave nothing to connect to, and pitstop rightly
	// says nothing then.
	writeExecutable(t, f.opts.SSH, "#!/bin/sh\ndirname \"$(echo \"$@\" | sed 's/.*UserKnownHostsFile=\\([^ ]*\\).*/\\1/')\" > \"$FAKE_LOG/jobdir\"\nexit 255\n")
	go func() {
		// Bounded, so that a missing line fails the test below instead of
		// holding the job for ever.
		for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
			if strings.Contains(f.stderr.String(), "pitstop: connect with: ") {
				break
			}
		}
		dir, _ := os.ReadFile(filepath.Join(f.log, "jobdir"))
		os.WriteFile(filepath.Join(strings.TrimSpace(string(dir)), "continue"), nil, 0o644) //nolint:errcheck // a job that does not end fails the test
	}()
	code, stderr := runWith(t, f, fakeAct)
	want := "pitstop: ssh could not log in to the pause; it waits for a first connection for 2m0s after it started\n"
	if code != 3 || !strings.Contains(stderr, want) || !strings.Contains(stderr, "pitstop: connect with: ssh -p 40123") {
		t.Errorf("exit status %d, want 3; stderr should say %q:\n%s", code, want, stderr)
	}
}

func TestRunReconnectAfterDrop(t *testing.T) {
	f := newFixture(t)
	f.opts.Connect = true
	writeExecutable(t, f.opts.SSH, dropSSH)
	// A file, as a terminal is: ssh then reads it itself (io.Pipe would
	// make exec copy it, and wait for that copy to end).
	stdin, typed, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stdin.Close(); typed.Close() })
	f.opts.Stdin = stdin
	f.opts.Stdout = io.Discard
	done := make(chan int, 1)
	go func() {
		code, _ := runWith(t, f, loginAct)
		done <- code
	}()
	enter := func(after string) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); !strings.Contains(f.stderr.String(), after); time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("stderr never said %q:\n%s", after, f.stderr.String())
			}
		}
		if _, err := typed.Write([]byte("\n")); err != nil {
			t.Fatal(err)
		}
	}
	enter("pitstop: the connection to the pause dropped; the pause waits 5m0s for you to reconnect (then the job goes on)\n" +
		"pitstop: press Enter to connect again, or connect yourself with: ssh ")
	enter("pitstop: ssh could not log in again; the pause waits 5m0s after the last session ended for you to reconnect\n" +
		"pitstop: press Enter to connect again, or connect yourself with: ssh ")
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("exit status %d, want 0", code)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("the third ssh was not started:\n%s", f.stderr.String())
	}
	if n := strings.TrimSpace(f.read(t, "ssh-count")); n != "3" {
		t.Errorf("ssh ran %s times, want 3", n)
	}
	if strings.Contains(f.stderr.String(), "could not connect") {
		t.Errorf("a dropped connection is not one that could not connect:\n%s", f.stderr.String())
	}
}

// TestRunUsesItsOwnBinary: on this machine the pause runs pitstop act's
// own binary rather than building the action's source, unless the user
// chose another install. (In Docker it runs a static build instead; the
// container tests in integration check that.)
func TestRunUsesItsOwnBinary(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		with []injector.Input
		want string
	}{
		{"host", nil, `install: "` + exe + `"`},
		{"chosen", []injector.Input{{Key: "install", Value: "source"}}, `install: "source"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.opts.With = tc.with
			runWith(t, f, "#!/bin/sh\nfor a in \"$@\"; do [ \"$prev\" = -W ] && cp \"$a\" \"$FAKE_LOG/workflow.yml\"; prev=\"$a\"; done\n")
			wf := f.read(t, "workflow.yml")
			if n := strings.Count(wf, "install:"); tc.want == "" && n != 0 || tc.want != "" && (n != 1 || !strings.Contains(wf, tc.want)) {
				t.Errorf("want %q once in the injected workflow, got:\n%s", tc.want, wf)
			}
		})
	}
}

const matrixWorkflow = `on: push
jobs:
  build:
    runs-on: ubuntu-latest
    strategy:
      matrix:
        node: [20, 22]
    steps:
      - run: make
`

// TestRunMatrix: --matrix chooses the leg act runs and the one the pause
// is in; act's own --matrix does the same, with no warning that every
// leg will pause.
func TestRunMatrix(t *testing.T) {
	record := "#!/bin/sh\nprintf '%s\\n' \"$@\" > \"$FAKE_LOG/args\"\nfor a in \"$@\"; do [ \"$prev\" = -W ] && cp \"$a\" \"$FAKE_LOG/workflow.yml\"; prev=\"$a\"; done\n"
	for _, tc := range []struct {
		name    string
		matrix  []injector.Input
		actArgs []string
	}{
		{"ours", []injector.Input{{Key: "node", Value: "22"}}, nil},
		{"act's", nil, []string{"--matrix", "node:22"}},
		{"act's with =", nil, []string{"--matrix=node:22"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			testutil.WriteTree(t, f.repo, map[string]string{".github/workflows/ci.yml": matrixWorkflow})
			f.opts.Matrix, f.opts.ActArgs = tc.matrix, tc.actArgs
			_, stderr := runWith(t, f, record)
			if strings.Contains(stderr, "every leg will pause") {
				t.Errorf("warned that every leg pauses:\n%s", stderr)
			}
			if wf := f.read(t, "workflow.yml"); !strings.Contains(wf, "matrix.node == '22'") {
				t.Errorf("the pause is not limited to the leg:\n%s", wf)
			}
			if args := f.read(t, "args"); !strings.Contains(args, "--matrix\nnode:22\n") && !strings.Contains(args, "--matrix=node:22\n") {
				t.Errorf("act is not told the leg:\n%s", args)
			}
		})
	}
	f := newFixture(t)
	testutil.WriteTree(t, f.repo, map[string]string{".github/workflows/ci.yml": matrixWorkflow})
	f.opts.Matrix = []injector.Input{{Key: "node", Value: "18"}}
	f.opts.Act = "/bin/true"
	if _, err := Run(context.Background(), f.opts); err == nil || !strings.Contains(err.Error(), `no leg of job "build"'s matrix has node=18`) {
		t.Errorf("a leg the matrix does not have: got %v", err)
	}
}

// TestRunMatrixChoosesOneLeg: without --matrix, act runs one leg (the
// first for this host) and pitstop act says which and how to pick
// another; macOS and Windows legs are left out with a note. A matrix
// known only at run time is refused.
func TestRunMatrixChoosesOneLeg(t *testing.T) {
	record := "#!/bin/sh\nprintf '%s\\n' \"$@\" > \"$FAKE_LOG/args\"\nfor a in \"$@\"; do [ \"$prev\" = -W ] && cp \"$a\" \"$FAKE_LOG/workflow.yml\"; prev=\"$a\"; done\n"
	f := newFixture(t)
	testutil.WriteTree(t, f.repo, map[string]string{".github/workflows/ci.yml": `on: push
jobs:
  build:
    runs-on: ${{ matrix.os }}
    strategy:
      matrix:
        os: [macos-latest, ubuntu-latest, windows-latest]
        node: [20, 22]
    steps:
      - run: make
`})
	_, stderr := runWith(t, f, record)
	for _, want := range []string{
		`pitstop: job "build" is a matrix job with 6 legs; act runs and pauses only --matrix os=ubuntu-latest --matrix node=20. Another: --matrix os=ubuntu-latest --matrix node=22` + "\n",
		"pitstop: left out, as they are for macOS or Windows runners: --matrix os=macos-latest --matrix node=20; --matrix os=macos-latest --matrix node=22; --matrix os=windows-latest",
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	if strings.Contains(stderr, "every leg will pause") {
		t.Errorf("warned that every leg pauses:\n%s", stderr)
	}
	if args := f.read(t, "args"); !strings.Contains(args, "--matrix\nos:ubuntu-latest\n") || !strings.Contains(args, "--matrix\nnode:20\n") {
		t.Errorf("act is not told the leg:\n%s", args)
	}
	if wf := f.read(t, "workflow.yml"); !strings.Contains(wf, "matrix.os == 'ubuntu-latest' && matrix.node == '20'") {
		t.Errorf("the pause is not limited to the leg:\n%s", wf)
	}

	f = newFixture(t)
	testutil.WriteTree(t, f.repo, map[string]string{".github/workflows/ci.yml": `on: push
jobs:
  build:
    runs-on: ubuntu-latest
    strategy:
      matrix: ${{ fromJSON(vars.LEGS) }}
    steps:
      - run: make
`})
	f.opts.Act = "/bin/true"
	if _, err := Run(context.Background(), f.opts); err == nil || !strings.Contains(err.Error(), "legs are only known when it runs; act would run and pause every one of them: choose one with --matrix KEY=VALUE") {
		t.Errorf("a matrix known only at run time: got %v", err)
	}
}

// TestRunCloneHints: act's "Unable to clone" gets the hint that fits:
// for pitstop's own action, --action-source; for another action, what act
// needs and where docs/act.md explains it, with or without a local
// source for pitstop's action.
func TestRunCloneHints(t *testing.T) {
	act := "#!/bin/sh\n" +
		"echo '[ci/build] Unable to clone https://github.com/actions/setup-go refs/tags/v5: authentication required' >&2\n" +
		"echo '[ci/build] Unable to clone https://github.com/pitstopci/pitstop refs/tags/v1: no route' >&2\nexit 1\n"
	ours := "pitstop: act could not fetch pitstopci/pitstop/agent@v1 (offline?); point pitstop act at a pitstop source tree with --action-source DIR"
	other := `pitstop: act could not fetch an action the job uses (https://github.com/actions/setup-go refs/tags/v5): offline, a private repository, or GitHub's rate limit (set GITHUB_TOKEN)? act fetches every action the job runs; see "Actions act cannot fetch" in docs/act.md`

	f := newFixture(t)
	_, stderr := runWith(t, f, act)
	if !strings.Contains(stderr, other) || strings.Contains(stderr, ours) {
		t.Errorf("with --action-source, want only the hint for the other action:\n%s", stderr)
	}

	f = newFixture(t)
	f.opts.ActionSource = ""
	_, stderr = runWith(t, f, act)
	if !strings.Contains(stderr, other) || !strings.Contains(stderr, ours) {
		t.Errorf("without a source, want both hints:\n%s", stderr)
	}
	if strings.Contains(stderr, "pitstopci/pitstop refs/tags/v1):") {
		t.Errorf("pitstop's own action is named among the others:\n%s", stderr)
	}
}

// TestRunSSHKilled: an ssh killed by a signal (not ssh's own failure, 255,
// nor the remote shell's status) is said to have ended, with the
// terminal restored and the pause waiting for a reconnect.
func TestRunSSHKilled(t *testing.T) {
	f := newFixture(t)
	f.opts.Connect = true
	writeExecutable(t, f.opts.SSH, "#!/bin/sh\ntouch \"$(dirname \"$(echo \"$@\" | sed 's/.*UserKnownHostsFile=\\([^ ]*\\).*/\\1/')\")/continue\"\nkill -KILL $$\n")
	_, stderr := runWith(t, f, fakeAct)
	if want := "pitstop: ssh ended (signal: killed); the terminal's settings are restored, and the pause waits for you to reconnect\n"; !strings.Contains(stderr, want) {
		t.Errorf("stderr should say %q:\n%s", want, stderr)
	}
}

// TestRunLeftDetached: leaving a detached pause says that the job runs
// on, and offers to connect again; Enter does.
func TestRunLeftDetached(t *testing.T) {
	f := newFixture(t)
	f.opts.Connect, f.opts.Detached = true, true
	// The first ssh ends as the remote shell did; the second lets the job end.
	writeExecutable(t, f.opts.SSH, `#!/bin/sh
n=$(cat "$FAKE_LOG/ssh-count" 2>/dev/null || echo 0); n=$((n+1)); echo $n > "$FAKE_LOG/ssh-count"
for a in "$@"; do
	case "$a" in UserKnownHostsFile=*) kh="${a#UserKnownHostsFile=}" ;; esac
done
[ $n -ge 2 ] && touch "$(dirname "$kh")/continue"
exit 0
`)
	in, enter, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	defer enter.Close()
	enter.WriteString("\n") // read once the offer is made
	f.opts.Stdin = in
	_, stderr := runWith(t, f, fakeAct)
	for _, want := range []string{
		"pitstop: you left the detached pause; the job runs on, and its end holds while someone is connected\n",
		"pitstop: press Enter to connect again, or connect yourself with: ssh ",
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	if n := f.read(t, "ssh-count"); n != "2\n" {
		t.Errorf("ssh ran %q times, want 2", n)
	}
}
