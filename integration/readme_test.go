//go:build unix

package integration

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// readme returns the README's lines.
func readme(t *testing.T) []string { return docLines(t, "README.md") }

// docLines returns the lines of a documentation file, named from the
// repository's root (README.md, docs/act.md).
func docLines(t *testing.T, name string) []string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(sourceRoot, filepath.FromSlash(name)))
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(string(data), "\n")
}

// TestReadmeConsoleExamples runs every "$ pitstop inject ..." line of the
// console blocks in the README and under docs/ from the repository root
// and compares what it prints with the lines shown under it, so the
// documentation cannot drift from what the tool does. docs/modes.md has
// its own test, below.
func TestReadmeConsoleExamples(t *testing.T) {
	docs, err := filepath.Glob(filepath.Join(sourceRoot, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	ran := consoleBlocks(t, readme(t))
	for _, d := range docs {
		if filepath.Base(d) == "modes.md" {
			continue
		}
		ran += consoleBlocks(t, docLines(t, "docs/"+filepath.Base(d)))
	}
	if ran == 0 {
		t.Fatal("the README and docs/ have no console examples to check")
	}
}

// TestModesConsoleExamples does the same for docs/modes.md, which shows
// one example for each mode.
func TestModesConsoleExamples(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(sourceRoot, "docs", "modes.md"))
	if err != nil {
		t.Fatal(err)
	}
	if n := consoleBlocks(t, strings.Split(string(data), "\n")); n < 6 {
		t.Fatalf("docs/modes.md has %d console commands to check, want two for each of the three modes", n)
	}
	// The hand-written detached pause is what the injector writes (its
	// golden output), line for line.
	golden, err := os.ReadFile(filepath.Join(sourceRoot, "injector", "testdata", "detached-before-first", "want.yml"))
	if err != nil {
		t.Fatal(err)
	}
	_, block, ok := strings.Cut(string(data), "```yaml\n")
	block, _, _ = strings.Cut(block, "```")
	if !ok || strings.TrimSpace(block) == "" {
		t.Fatal("docs/modes.md shows no yaml block of a detached pause")
	}
	for _, l := range strings.Split(strings.TrimRight(block, "\n"), "\n") {
		if !strings.HasPrefix(strings.TrimSpace(l), "#") && !strings.Contains(string(golden), l+"\n") {
			t.Errorf("docs/modes.md's detached pause has %q, which the injector does not write", l)
		}
	}
}

// consoleBlocks checks every console block in lines and returns how many
// commands it ran.
func consoleBlocks(t *testing.T, lines []string) int {
	ran := 0
	for i := 0; i < len(lines); i++ {
		if strings.TrimSpace(lines[i]) != "```console" {
			continue
		}
		// Collect the block's commands, each with the output under it. The
		// commands of one block run one after the other in one directory
		// holding a copy of the examples, as a reader would run them.
		dir := t.TempDir()
		copyDir(t, filepath.Join(sourceRoot, "examples"), filepath.Join(dir, "examples"))
		var cmd string
		var want []string
		flush := func() {
			if cmd == "" {
				return
			}
			checkConsoleCommand(t, dir, cmd, strings.Join(want, "\n"))
			ran++
			cmd, want = "", nil
		}
		for i++; i < len(lines) && strings.TrimSpace(lines[i]) != "```"; i++ {
			if rest, ok := strings.CutPrefix(lines[i], "$ "); ok {
				flush()
				cmd = rest
				continue
			}
			if cmd != "" {
				want = append(want, lines[i])
			}
		}
		flush()
	}
	return ran
}

func checkConsoleCommand(t *testing.T, dir, line, want string) {
	t.Helper()
	args := strings.Fields(line)
	if len(args) < 2 || args[0] != "pitstop" || args[1] != "inject" {
		t.Errorf("README console example %q: only pitstop inject examples can run here; show others in sh blocks", line)
		return
	}
	cmd := exec.Command(pitstopBin, args[1:]...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Errorf("README example %q failed: %v\n%s", line, err, out)
		return
	}
	got := strings.TrimRight(string(out), "\n")
	if got != strings.TrimRight(want, "\n") {
		t.Errorf("README example %q prints:\n%s\nbut the README shows:\n%s", line, got, want)
	}
}

// TestReadmeQuickStart checks the quick start's two commands: the first
// (inject into an example, with a diff) runs and shows the pause, and the
// second is exactly what CI runs.
func TestReadmeQuickStart(t *testing.T) {
	var goRun []string
	sc := bufio.NewScanner(strings.NewReader(strings.Join(readme(t), "\n")))
	for sc.Scan() {
		if l := sc.Text(); strings.HasPrefix(l, "go run ") {
			goRun = append(goRun, l)
		}
	}
	if len(goRun) < 2 {
		t.Fatalf("the README shows %d 'go run' commands; the quick start needs the main one and the test one", len(goRun))
	}
	main, test := goRun[0], goRun[1]

	args := strings.Fields(main)
	if len(args) < 4 || args[2] != "./cmd/pitstop" {
		t.Fatalf("the quick start's first command %q does not run ./cmd/pitstop", main)
	}
	cmd := exec.Command(pitstopBin, args[3:]...)
	cmd.Dir = sourceRoot
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", main, err, out)
	}
	if !strings.Contains(string(out), "+        uses: pitstopci/pitstop/agent@v1") {
		t.Errorf("%s does not show the pause step being added:\n%s", main, out)
	}

	ci, err := os.ReadFile(filepath.Join(sourceRoot, ".ci", "run"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(ci), "\n"+test+"\n") {
		t.Errorf("the README's test command %q is not what .ci/run runs", test)
	}
}

// copyDir copies a directory tree, so
// a -w example rewrites the copy and never the checkout's files.
func copyDir(t *testing.T, from, to string) {
	t.Helper()
	if err := os.CopyFS(to, os.DirFS(from)); err != nil {
		t.Fatal(err)
	}
}
