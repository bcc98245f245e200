package inputs

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/pitstopci/pitstop/agent"
	"github.com/pitstopci/pitstop/injector"
)

// CheckFor checks with against the inputs of the action uses names, as
// Check does for pitstop's own. Any reference to pitstop's action
// (injector.IsPitstopAction) is checked against the one embedded in this
// build: a fork that changed the inputs is not known here, its own
// action.yml being on GitHub. For a local action (./dir, relative to
// root, the repository the workflow runs in) it reads dir/action.yml or
// dir/action.yaml: the names are checked, and the values too when that
// file is pitstop's action (its name: is pitstop's). Any other action
// cannot be read here, and checked is false: the caller should say that
// the inputs went unchecked.
func CheckFor(uses, root string, with []injector.Input) (checked bool, err error) {
	if len(with) == 0 {
		return true, nil
	}
	if injector.IsPitstopAction(uses) {
		return true, Check(with)
	}
	if !strings.HasPrefix(uses, "./") {
		return false, nil
	}
	dir := filepath.Join(root, filepath.FromSlash(uses))
	for _, name := range []string{"action.yml", "action.yaml"} {
		file := filepath.Join(dir, name)
		data, err := os.ReadFile(file)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return false, fmt.Errorf("read the inputs of %s: %w", uses, err)
		}
		list, err := parse(data)
		if err != nil {
			return false, fmt.Errorf("%s: %w", file, err)
		}
		return true, check(list, isPitstopYAML(data), with)
	}
	return false, nil
}

// isPitstopYAML says whether an action.yml is pitstop's: it bears the
// name of the one embedded in this build, so its inputs take the values
// the agent takes.
func isPitstopYAML(data []byte) bool {
	var doc, own struct {
		Name string `yaml:"name"`
	}
	if yaml.Unmarshal(data, &doc) != nil || yaml.Unmarshal(agent.ActionYAML, &own) != nil {
		return false
	}
	return doc.Name != "" && doc.Name == own.Name
}
