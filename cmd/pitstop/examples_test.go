package main

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestExampleCommands runs the command each example suggests in its header
// comment ("#   pitstop inject ... examples/go.yml"), exactly as written, so
// the examples cannot drift from what the tool accepts.
func TestExampleCommands(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "..", "examples", "*.yml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no examples found (%v)", err)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			cmds := suggestedCommands(t, file)
			if len(cmds) == 0 {
				t.Fatal("the example's header suggests no pitstop command")
			}
			for _, args := range cmds {
				// The suggestion is run from the repository root.
				for i, a := range args {
					if strings.HasPrefix(a, "examples/") {
						args[i] = filepath.Join("..", "..", a)
					}
				}
				var out, errb bytes.Buffer
				code := Main(args, &IO{In: strings.NewReader(""), Out: &out, Err: &errb, Getenv: func(string) string { return "" }})
				if code != exitOK {
					t.Fatalf("pitstop %s: exit status %d\n%s", strings.Join(args, " "), code, errb.String())
				}
				if !strings.Contains(out.String(), "pitstopci/pitstop/agent@v1") {
					t.Errorf("pitstop %s: output does not show the pause step:\n%s", strings.Join(args, " "), out.String())
				}
			}
		})
	}
}

// suggestedCommands returns the arguments of every "#   pitstop inject ..."
// line in the file's leading comment. (Suggested pitstop act runs are
// followed end to end by the integration tests.)
func suggestedCommands(t *testing.T, file string) [][]string {
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var cmds [][]string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "#") {
			break
		}
		fields := strings.Fields(strings.TrimPrefix(line, "#"))
		if len(fields) > 1 && fields[0] == "pitstop" && fields[1] == "inject" {
			cmds = append(cmds, fields[1:])
		}
	}
	return cmds
}
