package actrun

import (
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/pitstopci/pitstop/injector"
)

// dockerOptions are the docker run options pitstop act adds to the job's
// container: its shared directory, at the same path inside, and labels
// that find the container again for cleaning up.
func dockerOptions(share string, labels []string) string {
	return "-v " + shellQuote(share+":"+share) + " " + labelOptions(labels)
}

// labelOptions are docker run options that put labels on a container.
func labelOptions(labels []string) string {
	opts := make([]string, len(labels))
	for i, l := range labels {
		opts[i] = "--label " + shellQuote(l)
	}
	return strings.Join(opts, " ")
}

// platformsConfigured reports whether act will get a -P from its
// configuration files (the places act reads, in its order) or from args.
// Without one, act asks on its first run which images to use, a question
// that reads from a terminal pitstop act does not give it.
func platformsConfigured(env []string, args []string) bool {
	for _, a := range args {
		if a == "-P" || a == "--platform" || strings.HasPrefix(a, "-P") || strings.HasPrefix(a, "--platform=") {
			return true
		}
	}
	for _, f := range actrcFiles(env) {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n") {
			line = strings.TrimSpace(line)
			if strings.HasPrefix(line, "-P") || strings.HasPrefix(line, "--platform") {
				return true
			}
		}
	}
	return false
}

// defaultPlatforms are the images act's first-run question offers as its
// default ("Medium"), for the runs-on labels it maps.
var defaultPlatforms = []string{
	"ubuntu-latest=catthehacker/ubuntu:act-latest",
	"ubuntu-24.04=catthehacker/ubuntu:act-24.04",
	"ubuntu-22.04=catthehacker/ubuntu:act-22.04",
	"ubuntu-20.04=catthehacker/ubuntu:act-20.04",
}

// errNoDocker is wrapped by checkDocker's error.
var errNoDocker = errors.New("no Docker daemon answers")

// checkDocker tells whether a Docker daemon answers where act will look:
// DOCKER_HOST, else the usual sockets. A remote or unusual DOCKER_HOST is
// left to act.
func checkDocker(env []string) error {
	var tried []string
	if h := lookup(env, "DOCKER_HOST"); h != "" {
		network, addr, ok := strings.Cut(h, "://")
		if !ok || (network != "unix" && network != "tcp") {
			return nil
		}
		if dial(network, addr) {
			return nil
		}
		return fmt.Errorf("%w at DOCKER_HOST=%s", errNoDocker, h)
	}
	socks := []string{"/var/run/docker.sock"}
	if x := lookup(env, "XDG_RUNTIME_DIR"); x != "" {
		socks = append(socks, filepath.Join(x, "docker.sock"))
	}
	if home := lookup(env, "HOME"); home != "" {
		socks = append(socks,
			filepath.Join(home, ".docker", "run", "docker.sock"),
			filepath.Join(home, ".docker", "desktop", "docker.sock"),
			filepath.Join(home, ".colima", "default", "docker.sock"),
			filepath.Join(home, ".colima", "docker.sock"))
	}
	for _, s := range socks {
		if dial("unix", s) {
			return nil
		}
		tried = append(tried, s)
	}
	return fmt.Errorf("%w (tried %s; or set DOCKER_HOST)", errNoDocker, strings.Join(tried, ", "))
}

func dial(network, addr string) bool {
	c, err := net.DialTimeout(network, addr, 3*time.Second)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// stageAction copies the action's own files (agent/action.yml and
// agent/action/) from the source tree into dir, laid out the same, for
// act to copy into the job's container in place of the whole checkout.
func stageAction(source, dir string) error {
	for _, rel := range []string{"agent/action.yml", "agent/action"} {
		from := filepath.Join(source, filepath.FromSlash(rel))
		err := filepath.Walk(from, func(p string, fi os.FileInfo, err error) error {
			if err != nil {
				return err
			}
			r, err := filepath.Rel(source, p)
			if err != nil {
				return err
			}
			to := filepath.Join(dir, r)
			if fi.IsDir() {
				return os.MkdirAll(to, 0o755)
			}
			if !fi.Mode().IsRegular() {
				return nil
			}
			if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
				return err
			}
			return copyFile(p, to, fi.Mode().Perm())
		})
		if err != nil {
			return fmt.Errorf("copy the action for the job's container: %w", err)
		}
	}
	return nil
}

func copyFile(from, to string, perm os.FileMode) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, perm)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// staticBinary puts a pitstop that runs in any Linux container at dst: a
// build of source with cgo off when there is a source tree and a Go
// toolchain, else the running binary when it is a static Linux build.
func staticBinary(env []string, source, dst string, log io.Writer) error {
	if source != "" {
		if goBin, err := lookPath("go", env); err == nil {
			fmt.Fprintf(log, "pitstop: building a static pitstop (linux/%s) for the job's container from %s\n", runtime.GOARCH, source)
			cmd := exec.Command(goBin, "build", "-buildvcs=false", "-o", dst, "./cmd/pitstop")
			cmd.Dir = source
			cmd.Env = append(without(env, "GOOS", "GOARCH", "CGO_ENABLED", "GOFLAGS", "GOWORK"),
				"CGO_ENABLED=0", "GOOS=linux", "GOARCH="+runtime.GOARCH)
			if out, err := cmd.CombinedOutput(); err != nil {
				return fmt.Errorf("build a static pitstop for the job's container: %w\n%s", err, out)
			}
			return nil
		}
	}
	exe, err := os.Executable()
	if err == nil {
		exe, err = filepath.EvalSymlinks(exe)
	}
	if err != nil {
		return fmt.Errorf("find the pitstop binary for the job's container: %w", err)
	}
	if runtime.GOOS != "linux" || !isStatic(exe) {
		return fmt.Errorf("the job runs in a container, which needs a static Linux pitstop: %s is not one, and there is no pitstop source (--action-source) and Go toolchain to build one; build it with CGO_ENABLED=0", exe)
	}
	return copyFile(exe, dst, 0o755)
}

// isStatic reports whether an ELF file needs no dynamic loader.
func isStatic(path string) bool {
	f, err := elf.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return false
		}
	}
	return true
}

func lookPath(name string, env []string) (string, error) {
	for _, d := range filepath.SplitList(lookup(env, "PATH")) {
		if d == "" {
			continue
		}
		p := filepath.Join(d, name)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s not found on PATH", name)
}

// without returns env minus the given variables.
func without(env []string, keys ...string) []string {
	out := make([]string, 0, len(env))
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		drop := false
		for _, key := range keys {
			if k == key {
				drop = true
			}
		}
		if !drop {
			out = append(out, kv)
		}
	}
	return out
}

// removeContainers removes the containers with label, which act left
// behind when it was stopped before it could clean up. It needs the
// docker command; without it there is nothing more pitstop act can do.
func removeContainers(env []string, label string, log io.Writer) {
	docker, err := lookPath("docker", env)
	if err != nil {
		return
	}
	cmd := exec.Command(docker, "ps", "-aq", "--filter", "label="+label)
	cmd.Env = env
	out, err := cmd.Output()
	if err != nil {
		return
	}
	ids := strings.Fields(string(out))
	if len(ids) == 0 {
		return
	}
	fmt.Fprintf(log, "pitstop: removing the job's container act left behind (%s)\n", strings.Join(ids, " "))
	rm := exec.Command(docker, append([]string{"rm", "-f", "-v"}, ids...)...)
	rm.Env = env
	if out, err := rm.CombinedOutput(); err != nil {
		fmt.Fprintf(log, "pitstop: docker rm: %v\n%s", err, out)
	}
}

// pauseInputs are the pause step's inputs that depend on where the job runs.
type pauseInputs struct {
	listen    string // the agent's listen address
	readyFile string // where the agent writes its ready file
	install   string // the action's install input, "" for its default
}

// containerSetup is what a job that runs in Docker needs.
type containerSetup struct {
	pause     pauseInputs
	share     string   // shared with the job's container at the same path
	actionDir string   // the action's files for act to copy in, or ""
	label     string   // on the job's container, to find it again
	labels    []string // label and the owner's: on every container act starts
	options   string   // docker options for the job's container
	docker    bool     // --docker: platform images too, not only container:
	platforms []string
}

// jobSpec reads the container and services of the job pitstop act runs
// (the one job when o.Job is empty). Errors are the injector's to report.
func (o *Options) jobSpec(workflow string) jobSpec {
	src, err := os.ReadFile(workflow)
	if err != nil {
		return jobSpec{}
	}
	return readJobSpec(src, o.Job)
}

// setupContainer prepares a job that runs in Docker: it checks that Docker
// answers, puts a static pitstop and the action's files in a directory
// the job's container shares, and decides where the agent listens.
func (o *Options) setupContainer(tmp string, spec jobSpec, source string) (*containerSetup, error) {
	why := "--docker runs the job in Docker"
	if spec.Image != "" {
		why = fmt.Sprintf("the job runs in a container (container: %s)", spec.Image)
	}
	if err := checkDocker(o.Env); err != nil {
		return nil, fmt.Errorf("%s, which needs Docker: %w. Start Docker; pitstop act without --docker runs other jobs on this machine without it", why, err)
	}
	// What runs of pitstop act that were killed left behind goes first,
	// so that containers do not pile up.
	removeOrphans(o.Env, o.Stderr)
	listen, why, err := pauseListen(o.Env, actNetwork(o.Env, o.ActArgs), spec.Services)
	if err != nil {
		return nil, err
	}
	c := &containerSetup{
		share:  filepath.Join(tmp, "share"),
		label:  "pitstop.act=" + filepath.Base(tmp),
		docker: o.Docker,
	}
	c.labels = append([]string{c.label}, ownerLabels()...)
	// The container may run as any user (options: --user 1000), so what
	// it needs from the shared directory is open to all users: the binary
	// to read and run, and a directory to write the ready file in. Nobody
	// else on this machine gets there: tmp is the user's own (0700), and
	// the container sees only the shared directory, mounted at its path.
	// Nothing else in it is writable but by its owner. Modes are set
	// explicitly, as the user's umask may take bits away.
	if err := os.Mkdir(c.share, 0o755); err != nil {
		return nil, fmt.Errorf("create the directory shared with the job's container: %w", err)
	}
	readyDir := filepath.Join(c.share, "ready")
	if err := os.Mkdir(readyDir, 0o777); err != nil {
		return nil, fmt.Errorf("create the directory shared with the job's container: %w", err)
	}
	bin := filepath.Join(c.share, "pitstop")
	if err := staticBinary(o.Env, source, bin, o.Stderr); err != nil {
		return nil, err
	}
	for _, m := range []struct {
		path string
		mode os.FileMode
	}{{c.share, 0o755}, {readyDir, 0o777}, {bin, 0o555}} {
		if err := os.Chmod(m.path, m.mode); err != nil {
			return nil, fmt.Errorf("open the directory shared with the job's container to its user: %w", err)
		}
	}
	if source != "" {
		c.actionDir = filepath.Join(tmp, "action")
		if err := stageAction(source, c.actionDir); err != nil {
			return nil, err
		}
	}
	c.options = dockerOptions(c.share, c.labels)
	c.pause = pauseInputs{listen: listen, readyFile: filepath.Join(readyDir, "ready.json"), install: bin}
	if why != "" {
		fmt.Fprintf(o.Stderr, "pitstop: %s\n", why)
	}
	if o.Docker && !platformsConfigured(o.Env, o.ActArgs) {
		c.platforms = defaultPlatforms
		fmt.Fprintf(o.Stderr, "pitstop: no act configuration names images (-P); using act's default, %s (choose others with -- -P LABEL=IMAGE or in ~/.actrc)\n", strings.Join(defaultPlatforms, ", "))
	}
	return c, nil
}

// editWorkflow adds to the workflow copy the docker options act reads
// from it: for a job with container:, the shared directory and labels
// (act gives such a job no --container-options), and for services the
// labels, so that every container of the job can be found again.
func (c *containerSetup) editWorkflow(injected []byte, job string, spec jobSpec) ([]byte, error) {
	var err error
	if spec.Image != "" {
		if injected, err = injector.ContainerOptions("workflow", injected, job, c.options); err != nil {
			return nil, fmt.Errorf("give the job's container pitstop's directory: %w", err)
		}
	}
	if len(spec.Services) > 0 {
		if injected, err = injector.ServiceOptions("workflow", injected, job, labelOptions(c.labels)); err != nil {
			return nil, fmt.Errorf("label the job's services: %w", err)
		}
	}
	return injected, nil
}

// configure adds what running in Docker needs to act's command line.
func (c *containerSetup) configure(cfg *actConfig) {
	cfg.Containers = true
	cfg.Platforms = c.platforms
	if c.docker {
		cfg.ContainerOptions = c.options
	}
}
