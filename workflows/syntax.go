package workflows

import (
	"errors"

	goyaml "github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/parser"
)

// syntaxError places a YAML syntax error that yaml.v3 rejected.
//
// yaml.v3 reports the line where the enclosing block starts (line 3 for a
// bad indentation on line 7) and never a column, which sends the user to
// the wrong place. goccy/go-yaml reports the offending token's line and
// column, so it is asked where the problem is. yaml.v3 stays the parser of
// record: if the second parser finds nothing wrong, or fails in a way that
// gives no position, yaml.v3's own message is used.
func syntaxError(file string, src []byte, v3err error) (err error) {
	defer func() {
		// Only an error path runs this; a panic in the second parser must
		// not turn a clear "invalid YAML" into a crash.
		if recover() != nil {
			err = yamlError(file, v3err)
		}
	}()
	_, perr := parser.ParseBytes(src, 0)
	var se *goyaml.SyntaxError
	if errors.As(perr, &se) && se.Token != nil && se.Token.Position != nil && se.Token.Position.Line > 0 {
		p := se.Token.Position
		return errorf(file, Pos{Line: p.Line, Col: p.Column}, "invalid YAML: %s", se.Message)
	}
	return yamlError(file, v3err)
}
