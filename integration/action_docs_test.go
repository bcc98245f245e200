//go:build unix

package integration

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// TestReadmeDocumentsEveryActionInput keeps docs/action.md's tables of the
// action's inputs and outputs in step with agent/action.yml: each one is
// listed, with the default the action really has.
func TestReadmeDocumentsEveryActionInput(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(sourceRoot, "agent", "action.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var action struct {
		Inputs map[string]struct {
			Default string `yaml:"default"`
		} `yaml:"inputs"`
		Outputs map[string]any `yaml:"outputs"`
	}
	if err := yaml.Unmarshal(data, &action); err != nil {
		t.Fatalf("agent/action.yml: %v", err)
	}
	if len(action.Inputs) == 0 || len(action.Outputs) == 0 {
		t.Fatal("agent/action.yml declares no inputs or no outputs")
	}
	doc := strings.Join(docLines(t, "docs/action.md"), "\n")
	for name, in := range action.Inputs {
		def := "—"
		if in.Default != "" {
			def = "`" + in.Default + "`"
		}
		if row := "| `" + name + "` | " + def + " |"; !strings.Contains(doc, row) {
			t.Errorf("docs/action.md's input table has no row starting %q", row)
		}
	}
	for name := range action.Outputs {
		if row := "| `" + name + "` |"; !strings.Contains(doc, row) {
			t.Errorf("docs/action.md's output table has no row for %q", name)
		}
	}
}
