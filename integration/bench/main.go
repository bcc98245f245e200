//go:build unix

package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

func main() {
	os.Exit(benchMain(os.Args[1:], os.Stdout, os.Stderr))
}

// options are the bench's flags; the defaults are the published run.
type options struct {
	json         bool
	runs         int
	bulkSize     int64
	sftpSize     int64
	keystrokes   int
	readyRuns    int
	openSessions int
	concurrent   int
	terminals    int
	only         map[string]bool
	keep         bool
}

// measurements, in the order they run; --only picks some.
var measurements = []struct {
	name string
	run  func(*bench) error
}{
	{"bulk", (*bench).measureBulk},
	{"sftp", (*bench).measureSFTP},
	{"default", (*bench).measureDefaults},
	{"latency", (*bench).measureLatency},
	{"relay", (*bench).measureRelay},
	{"ready", (*bench).measureReady},
	{"act", (*bench).measureActCold},
	{"memory", (*bench).measureMemory},
	{"binary", (*bench).measureBinary},
	{"concurrent", (*bench).measureConcurrent},
	{"terminals", (*bench).measureTerminals},
	{"inject", (*bench).measureCorpus},
}

func parseOptions(args []string, stderr io.Writer) (*options, error) {
	o := &options{}
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, `Usage: go run ./integration/bench [flags]

Measures pitstop agent side by side with OpenSSH's sshd on this machine and
prints a table with the project's targets (PASS/MISS). Run it from the
repository; it needs ssh, sftp and sshd (task system installs them).

Flags:
`)
		fs.PrintDefaults()
	}
	var bulk, sftp, only string
	fs.BoolVar(&o.json, "json", false, "print the results as JSON on stdout (the table goes to stderr)")
	fs.IntVar(&o.runs, "runs", 5, "timed transfers per server and cipher, alternating between the servers")
	fs.StringVar(&bulk, "bulk-size", "1G", "bytes each exec transfer moves (head -c `size`)")
	fs.StringVar(&sftp, "sftp-size", "256M", "`size` of the file sftp downloads")
	fs.IntVar(&o.keystrokes, "keystrokes", 300, "keystrokes timed per server")
	fs.IntVar(&o.readyRuns, "ready-runs", 10, "agent starts timed")
	fs.IntVar(&o.openSessions, "open-sessions", 20, "sessions held open while memory is read")
	fs.IntVar(&o.concurrent, "concurrent", 50, "exec sessions started at once")
	fs.IntVar(&o.terminals, "terminals", 20, "interactive shells under output while memory is read")
	fs.StringVar(&only, "only", "", "comma-separated `measurements` to run, of: "+measurementNames())
	fs.BoolVar(&o.keep, "keep", false, "keep the work directory (logs, configurations) and print where it is")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	var err error
	if o.bulkSize, err = parseSize(bulk); err != nil {
		return nil, fmt.Errorf("--bulk-size: %w", err)
	}
	if o.sftpSize, err = parseSize(sftp); err != nil {
		return nil, fmt.Errorf("--sftp-size: %w", err)
	}
	for _, n := range []struct {
		flag string
		v    int
	}{{"--runs", o.runs}, {"--keystrokes", o.keystrokes}, {"--ready-runs", o.readyRuns}, {"--open-sessions", o.openSessions}, {"--concurrent", o.concurrent}, {"--terminals", o.terminals}} {
		if n.v <= 0 {
			return nil, fmt.Errorf("%s must be positive, not %d", n.flag, n.v)
		}
	}
	if only != "" {
		o.only = map[string]bool{}
		for _, m := range strings.Split(only, ",") {
			if !strings.Contains(","+measurementNames()+",", ","+m+",") {
				return nil, fmt.Errorf("--only: unknown measurement %q; choose from %s", m, measurementNames())
			}
			o.only[m] = true
		}
	}
	return o, nil
}

func measurementNames() string {
	var names []string
	for _, m := range measurements {
		names = append(names, m.name)
	}
	return strings.Join(names, ",")
}

// bench is one run: the lab, both servers and the report being filled.
type bench struct {
	opts   *options
	lab    *lab
	agent  *server
	sshd   *server
	rep    *report
	stderr io.Writer
	start  time.Time
}

// progress tells what runs now, and how long the run has taken so far.
func (b *bench) progress(format string, args ...any) {
	fmt.Fprintf(b.stderr, "bench: %5.1fs: %s\n", time.Since(b.start).Seconds(), fmt.Sprintf(format, args...))
}

func benchMain(args []string, stdout, stderr io.Writer) int {
	o, err := parseOptions(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "bench: %v\n", err)
		return 2
	}
	rep, err := runBench(o, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "bench: %v\n", err)
		return 1
	}
	if o.json {
		rep.writeTable(stderr)
		if err := rep.writeJSON(stdout); err != nil {
			fmt.Fprintf(stderr, "bench: %v\n", err)
			return 1
		}
	} else {
		rep.writeTable(stdout)
	}
	if n := rep.misses(); n > 0 {
		fmt.Fprintf(stderr, "bench: %d of the targets missed\n", n)
	}
	return 0
}

func runBench(o *options, stderr io.Writer) (*report, error) {
	root, err := moduleRoot()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "pitstop-bench-")
	if err != nil {
		return nil, fmt.Errorf("create work directory: %w", err)
	}
	if o.keep {
		fmt.Fprintf(stderr, "bench: work directory %s\n", dir)
	} else {
		defer os.RemoveAll(dir)
	}
	b := &bench{opts: o, stderr: stderr, rep: &report{Runs: map[string]any{}}, start: time.Now()}
	b.rep.Settings = map[string]any{
		"runs": o.runs, "bulk_bytes": o.bulkSize, "sftp_bytes": o.sftpSize, "keystrokes": o.keystrokes,
		"ready_runs": o.readyRuns, "open_sessions": o.openSessions, "concurrent": o.concurrent,
		"terminals": o.terminals,
	}
	b.rep.Machine = describeMachine()
	b.progress("building pitstop")
	if b.lab, err = newLab(dir, root); err != nil {
		return nil, err
	}
	defer b.lab.close()
	if b.agent, err = b.lab.startAgent("agent"); err != nil {
		return nil, err
	}
	defer b.agent.stop()
	if b.sshd, err = b.lab.startSSHD(); err != nil {
		return nil, err
	}
	defer b.sshd.stop()
	for _, m := range measurements {
		if o.only != nil && !o.only[m.name] {
			continue
		}
		if err := m.run(b); err != nil {
			return nil, err
		}
	}
	b.rep.Machine.LoadAfter = loadAverage()
	b.progress("done")
	return b.rep, nil
}

// moduleRoot is the directory of the module the bench is run in.
func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("find the module: go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", errors.New("run the bench from the pitstop repository (no go.mod found)")
	}
	return filepath.Dir(mod), nil
}

// machine is what the numbers were measured on.
type machine struct {
	CPU        string `json:"cpu"`
	CPUs       int    `json:"cpus"`
	Kernel     string `json:"kernel"`
	Go         string `json:"go"`
	OpenSSH    string `json:"openssh"`
	LoadBefore string `json:"load_before"`
	LoadAfter  string `json:"load_after"`
	Date       string `json:"date"`
}

func (m machine) String() string {
	return fmt.Sprintf("%s, %d CPUs, Linux %s, %s, %s; load average %s before, %s after (%s)",
		m.CPU, m.CPUs, m.Kernel, m.Go, m.OpenSSH, m.LoadBefore, m.LoadAfter, m.Date)
}

func describeMachine() machine {
	m := machine{CPUs: runtime.NumCPU(), Go: runtime.Version(), LoadBefore: loadAverage(), Date: time.Now().UTC().Format("2006-01-02 15:04 MST")}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	if out, err := exec.Command("ssh", "-V").CombinedOutput(); err == nil {
		m.OpenSSH = strings.TrimSpace(strings.SplitN(string(out), ",", 2)[0])
	}
	return m
}

// loadAverage is the one-minute load average: how busy the machine was
// with other work.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	return strings.Fields(string(b))[0]
}
